"""Alembic's environment: always run by issuer.store.schema on a connection it has locked."""

from alembic import context
from sqlalchemy import Connection

from issuer.store.models import Base

connection: Connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things: Alembic rebuilds the table instead ("batch" mode).
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()

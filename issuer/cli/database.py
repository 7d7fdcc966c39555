"""Which database a command uses, and the refusal to make a new one by mistake.

Opening SQLite creates the file, and opening any database upgrades its schema
(ISSUER_DB_AUTO_UPGRADE): run from the wrong directory or with the wrong environment, an admin
command would make an empty database, work on it and exit 0. So every command but `serve` and
`db upgrade` first checks that the database is there (SQLite: the file; PostgreSQL: the
issuer's schema, its Alembic version table) and otherwise names what it looked for and how to
point at the right one.
"""

from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import URL, make_url

from issuer.config import IssuerSettings
from issuer.wiring import database_engine

HOW_TO_POINT = (
    "set ISSUER_DATA_DIR or ISSUER_DATABASE_URL (or pass --env-file) as the server has them, "
    "or create a new database with `python -m issuer db upgrade`"
)
# Alembic's table (issuer/store/schema.py): a database whose schema was made or adopted.
VERSION_TABLE = "alembic_version"


class DatabaseMissing(Exception):
    """No database where the settings point; the message says where that is and what to do."""


def _sqlite_file(url: URL) -> Path | None:
    """The database file, absolute; None for an in-memory database."""
    if not url.database or url.database == ":memory:":
        return None
    return Path(url.database).absolute()


def describe_database(settings: IssuerSettings) -> str:
    """The database as `-v` names it: SQLite's absolute path, or the URL without its password."""
    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() != "sqlite":
        return f"{url.render_as_string(hide_password=True)} (PostgreSQL)"
    path = _sqlite_file(url)
    return f"{path} (SQLite)" if path is not None else "in memory (SQLite)"


def require_database(settings: IssuerSettings, *, schema: bool = True) -> None:
    """Raises DatabaseMissing unless the database exists: for SQLite its file, for PostgreSQL
    (with `schema`) the issuer's tables. Creates nothing."""
    url = make_url(settings.sqlalchemy_url)
    if url.get_backend_name() == "sqlite":
        path = _sqlite_file(url)
        if path is not None and not path.is_file():
            raise DatabaseMissing(f"no database at {path}: {HOW_TO_POINT}")
        return
    if not schema:
        return
    engine = database_engine(settings)
    try:
        if not _has_schema(engine):
            shown = url.render_as_string(hide_password=True)
            raise DatabaseMissing(f"no issuer schema in {shown}: {HOW_TO_POINT}")
    finally:
        engine.dispose()


def _has_schema(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(inspect(connection).has_table(VERSION_TABLE))

"""Hold up, round 2: sign-ins that end with the user's credentials, native clients, spraying
counters, and the issuer's own secrets.

- users.credential_generation: bumped by a password change (and `sessions revoke --user`); a
  sign-in session remembers the generation it started under and ends when they differ.
- sign_in_sessions.session_id: a public id for `sessions list` and `sessions revoke --sign-in`
  (the primary key is the cookie's hash, which must not be shown); existing rows get one.
- clients.native: RFC 8252 native apps, whose loopback redirect URIs may vary in port only.
- login_failures.network: the client address's /24 (IPv4) or /64 (IPv6), with indexes for
  counting failures per address and per network across accounts (password spraying).
- issuer_secrets: secrets every issuer process shares (the CSRF tokens' HMAC key), made once.

Revision ID: 0007
Revises: 0006
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.add_column(
            sa.Column("credential_generation", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("sign_in_sessions") as table:
        table.add_column(
            sa.Column("credential_generation", sa.Integer(), nullable=False, server_default="0")
        )
        table.add_column(sa.Column("session_id", sa.String(36), nullable=True))
    connection = op.get_bind()
    sessions = sa.table(
        "sign_in_sessions", sa.column("session_hash", sa.String), sa.column("session_id")
    )
    for (session_hash,) in connection.execute(sa.select(sessions.c.session_hash)).all():
        connection.execute(
            sa.update(sessions)
            .where(sessions.c.session_hash == session_hash)
            .values(session_id=str(uuid.uuid4()))
        )
    with op.batch_alter_table("sign_in_sessions") as table:
        table.alter_column("session_id", existing_type=sa.String(36), nullable=False)
        table.create_unique_constraint("uq_sign_in_sessions_session_id", ["session_id"])
    with op.batch_alter_table("clients") as table:
        table.add_column(sa.Column("native", sa.Boolean(), nullable=False, server_default="0"))
    with op.batch_alter_table("login_failures") as table:
        table.add_column(sa.Column("network", sa.String(64), nullable=False, server_default=""))
    op.create_index("ix_login_failures_address_at", "login_failures", ["address", "at"])
    op.create_index("ix_login_failures_network_at", "login_failures", ["network", "at"])
    op.create_table(
        "issuer_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("issuer_secrets")
    op.drop_index("ix_login_failures_network_at", "login_failures")
    op.drop_index("ix_login_failures_address_at", "login_failures")
    with op.batch_alter_table("login_failures") as table:
        table.drop_column("network")
    with op.batch_alter_table("clients") as table:
        table.drop_column("native")
    with op.batch_alter_table("sign_in_sessions") as table:
        table.drop_constraint("uq_sign_in_sessions_session_id", type_="unique")
        table.drop_column("session_id")
        table.drop_column("credential_generation")
    with op.batch_alter_table("users") as table:
        table.drop_column("credential_generation")

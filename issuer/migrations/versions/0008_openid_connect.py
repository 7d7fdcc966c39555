"""OpenID Connect: users' standard claims, what ID tokens need of codes and refresh
families, clients' consent and logout metadata, consents, the clients of each sign-in, and the
back-channel logout outbox.

- users: name, given_name, family_name, email, email_verified, locale, updated_at (Core §5.1).
- authorization_codes: nonce, auth_time, sid (Core §3.1.2.1, §2).
- refresh_tokens: auth_time, sid of the sign-in the family started from (Core §12.2;
  Back-Channel Logout 1.0 §2.7). Existing families keep NULL: they get no ID token on refresh.
- clients: consent_required (false: first-party, as every existing client is),
  post_logout_redirect_uris, backchannel_logout_uri, backchannel_logout_session_required.
- consents(user_id, client_id): the scopes a user allowed a third-party client.
- sign_in_session_clients(session_id, client_id): who to tell when a sign-in ends.
- backchannel_logouts: logout tokens still to deliver, with their retry state.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_CLAIMS = (
    ("name", 255),
    ("given_name", 255),
    ("family_name", 255),
    ("email", 254),
    ("locale", 35),
)


def upgrade() -> None:
    with op.batch_alter_table("users") as table:
        for name, length in _CLAIMS:
            table.add_column(sa.Column(name, sa.String(length), nullable=True))
        table.add_column(
            sa.Column("email_verified", sa.Boolean(), nullable=False, server_default="0")
        )
        table.add_column(sa.Column("updated_at", sa.Float(), nullable=True))
    with op.batch_alter_table("authorization_codes") as table:
        table.add_column(sa.Column("nonce", sa.Text(), nullable=True))
        table.add_column(sa.Column("auth_time", sa.Integer(), nullable=True))
        table.add_column(sa.Column("sid", sa.String(36), nullable=True))
    with op.batch_alter_table("refresh_tokens") as table:
        table.add_column(sa.Column("auth_time", sa.Integer(), nullable=True))
        table.add_column(sa.Column("sid", sa.String(36), nullable=True))
    op.create_index("ix_refresh_tokens_sid", "refresh_tokens", ["sid"])
    with op.batch_alter_table("clients") as table:
        table.add_column(
            sa.Column("consent_required", sa.Boolean(), nullable=False, server_default="0")
        )
        table.add_column(
            sa.Column("post_logout_redirect_uris", sa.Text(), nullable=False, server_default="")
        )
        table.add_column(sa.Column("backchannel_logout_uri", sa.Text(), nullable=True))
        table.add_column(
            sa.Column(
                "backchannel_logout_session_required",
                sa.Boolean(),
                nullable=False,
                server_default="0",
            )
        )
    op.create_table(
        "consents",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("client_id", sa.String(150), primary_key=True),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "sign_in_session_clients",
        sa.Column("session_id", sa.String(36), primary_key=True),
        sa.Column("client_id", sa.String(150), primary_key=True),
    )
    op.create_table(
        "backchannel_logouts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(150), nullable=False),
        sa.Column("sub", sa.String(36), nullable=False),
        sa.Column("sid", sa.String(36), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Float(), nullable=True),
        sa.Column("delivered_at", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index(
        "ix_backchannel_logouts_next_attempt_at", "backchannel_logouts", ["next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_backchannel_logouts_next_attempt_at", "backchannel_logouts")
    op.drop_table("backchannel_logouts")
    op.drop_table("sign_in_session_clients")
    op.drop_table("consents")
    with op.batch_alter_table("clients") as table:
        table.drop_column("backchannel_logout_session_required")
        table.drop_column("backchannel_logout_uri")
        table.drop_column("post_logout_redirect_uris")
        table.drop_column("consent_required")
    op.drop_index("ix_refresh_tokens_sid", "refresh_tokens")
    with op.batch_alter_table("refresh_tokens") as table:
        table.drop_column("sid")
        table.drop_column("auth_time")
    with op.batch_alter_table("authorization_codes") as table:
        table.drop_column("sid")
        table.drop_column("auth_time")
        table.drop_column("nonce")
    with op.batch_alter_table("users") as table:
        table.drop_column("updated_at")
        table.drop_column("email_verified")
        for name, _ in reversed(_CLAIMS):
            table.drop_column(name)

"""Clients that register themselves: RFC 7591 dynamic registration, RFC 7592 management,
client ID metadata documents, and RFC 8707 `resource` at /authorize.

- clients.registration: how the client came to be: 'cli' (`clients add`, every existing row),
  'dynamic' (POST /register) or 'metadata_document' (a client ID metadata document).
- clients: the RFC 7591 §2 display metadata (client_name, client_uri, logo_uri, tos_uri,
  policy_uri, contacts, software_id, software_version), NULL for existing rows.
- clients.registration_token_salt/_hash: the RFC 7592 registration access token, hashed as
  client secrets are (HMAC-SHA-256 under a per-client salt); NULL for clients made by the CLI.
- clients.registered_address: the client address that registered it (the throttle's and the
  operator's clue); clients.first_used_at: the first token issued to it (never-used dynamic
  registrations expire after ISSUER_REGISTRATION_UNUSED_TTL).
- clients.metadata_expires_at: a metadata-document client's cached document is fetched again
  after this (its Cache-Control).
- registration_tokens: RFC 7591 §3 initial access tokens (`clients registration-token
  create`), by the SHA-256 of their value.
- registration_attempts: one registration per row, counted per address in a sliding window
  (ISSUER_REGISTRATION_RATE_*), shared by every replica through the database.
- authorization_codes.resource, refresh_tokens.resource: the RFC 8707 resource the
  authorization request named (NULL: none, as for every existing code and family).
- consents.resources: the RFC 8707 resources (space-separated URIs) the user allowed the
  client tokens for (D); '' for existing consents, which cover requests without one only.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_CLIENT_COLUMNS = (
    ("client_name", sa.String(200)),
    ("client_uri", sa.String(2000)),
    ("logo_uri", sa.String(2000)),
    ("tos_uri", sa.String(2000)),
    ("policy_uri", sa.String(2000)),
    ("contacts", sa.Text()),
    ("software_id", sa.String(255)),
    ("software_version", sa.String(255)),
    ("registration_token_salt", sa.LargeBinary()),
    ("registration_token_hash", sa.LargeBinary()),
    ("registered_address", sa.String(64)),
    ("first_used_at", sa.Float()),
    ("metadata_expires_at", sa.Float()),
)


def upgrade() -> None:
    with op.batch_alter_table("clients") as table:
        table.add_column(
            sa.Column("registration", sa.String(24), nullable=False, server_default="cli")
        )
        for name, type_ in _CLIENT_COLUMNS:
            table.add_column(sa.Column(name, type_, nullable=True))
    op.create_index("ix_clients_registration_created_at", "clients", ["registration", "created_at"])
    op.create_table(
        "registration_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("label", sa.String(200), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("uses_left", sa.Integer(), nullable=True),
    )
    op.create_table(
        "registration_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )
    op.create_index(
        "ix_registration_attempts_address_at", "registration_attempts", ["address", "at"]
    )
    with op.batch_alter_table("authorization_codes") as table:
        table.add_column(sa.Column("resource", sa.Text(), nullable=True))
    with op.batch_alter_table("refresh_tokens") as table:
        table.add_column(sa.Column("resource", sa.Text(), nullable=True))
    with op.batch_alter_table("consents") as table:
        table.add_column(sa.Column("resources", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("consents") as table:
        table.drop_column("resources")
    with op.batch_alter_table("refresh_tokens") as table:
        table.drop_column("resource")
    with op.batch_alter_table("authorization_codes") as table:
        table.drop_column("resource")
    op.drop_index("ix_registration_attempts_address_at", "registration_attempts")
    op.drop_table("registration_attempts")
    op.drop_table("registration_tokens")
    op.drop_index("ix_clients_registration_created_at", "clients")
    with op.batch_alter_table("clients") as table:
        for name, _ in reversed(_CLIENT_COLUMNS):
            table.drop_column(name)
        table.drop_column("registration")

"""Service identities: registered clients, resources (RFC 8707), used client-assertion ids.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("client_id", sa.String(150), primary_key=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("auth_method", sa.String(32), nullable=False),
        sa.Column("grants", sa.Text(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("audiences", sa.Text(), nullable=False),
        sa.Column("jwks", sa.Text(), nullable=True),
        sa.Column("secret_salt", sa.LargeBinary(), nullable=True),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=True),
        sa.Column("old_secret_salt", sa.LargeBinary(), nullable=True),
        sa.Column("old_secret_hash", sa.LargeBinary(), nullable=True),
        sa.Column("old_secret_expires_at", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "resources",
        sa.Column("uri", sa.String(2000), primary_key=True),
        sa.Column("audience", sa.String(200), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
    )
    op.create_table(
        "client_assertions",
        sa.Column("client_id", sa.String(150), primary_key=True),
        sa.Column("jti", sa.String(255), primary_key=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("client_assertions")
    op.drop_table("resources")
    op.drop_table("clients")

"""Holding up under attack: brute-force counters and the key-encryption KDF row.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_encryption",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("r", sa.Integer(), nullable=False),
        sa.Column("p", sa.Integer(), nullable=False),
        sa.Column("check_value", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(150), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
    )
    op.create_index("ix_login_failures_account_at", "login_failures", ["account", "at"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_account_at", "login_failures")
    op.drop_table("login_failures")
    op.drop_table("key_encryption")

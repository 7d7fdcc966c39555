"""Signing algorithms: each key records the one it signs with (RS256 for every earlier key).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("signing_keys") as table:
        table.add_column(
            sa.Column("algorithm", sa.String(16), nullable=False, server_default="RS256")
        )


def downgrade() -> None:
    with op.batch_alter_table("signing_keys") as table:
        table.drop_column("algorithm")

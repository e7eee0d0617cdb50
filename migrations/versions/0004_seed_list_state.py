"""Seed lists: when each was last read, with what outcome.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("seeds") as batch:
        batch.add_column(
            sa.Column(
                "last_fetched",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="seed lists: last read",
            )
        )
        batch.add_column(
            sa.Column(
                "status",
                sa.String(16),
                nullable=True,
                comment="seed lists: ok, invalid, unreachable...",
            )
        )
        batch.add_column(
            sa.Column(
                "message", sa.Text(), nullable=True, comment="seed lists: what the last read found"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("seeds") as batch:
        batch.drop_column("message")
        batch.drop_column("status")
        batch.drop_column("last_fetched")

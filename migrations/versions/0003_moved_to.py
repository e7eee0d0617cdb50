"""servers.moved_to: where a migrated server's metadata URL redirects (CDSC-WG1-01 section 5).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("servers") as batch:
        batch.add_column(
            sa.Column(
                "moved_to",
                sa.Text(),
                nullable=True,
                comment="migration target while status is moved",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("servers") as batch:
        batch.drop_column("moved_to")

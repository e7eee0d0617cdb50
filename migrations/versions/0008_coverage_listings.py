"""The state of each coverage listing for incremental re-polls: the watermark (its newest
`updated`), when it was last read whole and last spot-checked, and whether it keeps the
newest-first order.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "coverage_listings",
        sa.Column("url", sa.Text(), nullable=False, comment="the listing's first page"),
        sa.Column(
            "watermark",
            TIMESTAMP,
            nullable=True,
            comment="the newest `updated` of its entries: a re-poll stops paging there",
        ),
        sa.Column("swept_at", TIMESTAMP, nullable=True, comment="when it was last read whole"),
        sa.Column(
            "checked_at",
            TIMESTAMP,
            nullable=True,
            comment="when it was last read whole or spot-checked by id",
        ),
        sa.Column(
            "ordered",
            sa.Boolean(),
            nullable=False,
            comment="newest first, as section 4.1 requires",
        ),
        sa.PrimaryKeyConstraint("url", name="pk_coverage_listings"),
    )


def downgrade() -> None:
    op.drop_table("coverage_listings")

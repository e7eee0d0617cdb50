"""The daemon's persisted schedule: when each metadata URL is due and the interval that made
it so, and per host the earliest due time, the lease of the worker polling it, and any pause;
and each origin's robots.txt as last read.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "schedule",
        sa.Column("url", sa.Text(), nullable=False, comment="a metadata URL the daemon polls"),
        sa.Column(
            "host", sa.Text(), nullable=False, comment="host:port, the unit of leases and limits"
        ),
        sa.Column(
            "seed_id",
            sa.Integer(),
            sa.ForeignKey("seeds.id", name="fk_schedule_seed_id_seeds", ondelete="CASCADE"),
            nullable=True,
            comment="the seed it is, if any (removing the seed stops its polls)",
        ),
        sa.Column("via", sa.Text(), nullable=True, comment="the URL whose document linked it"),
        sa.Column(
            "depth", sa.Integer(), nullable=False, comment="related_metadata hops from a seed"
        ),
        sa.Column("next_poll_at", TIMESTAMP, nullable=False),
        sa.Column(
            "interval_s",
            sa.Float(),
            nullable=False,
            comment="the interval next_poll_at came from",
        ),
        sa.Column("failures", sa.Integer(), nullable=False, comment="consecutive failed polls"),
        sa.Column("last_polled_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("url", name="pk_schedule"),
    )
    op.create_index("ix_schedule_host_next_poll_at", "schedule", ["host", "next_poll_at"])
    op.create_table(
        "hosts",
        sa.Column("host", sa.Text(), nullable=False, comment="host:port"),
        sa.Column("next_due", TIMESTAMP, nullable=False, comment="its earliest next_poll_at"),
        sa.Column("lease_owner", sa.Text(), nullable=True, comment="the worker polling it now"),
        sa.Column("lease_expires_at", TIMESTAMP, nullable=True),
        sa.Column("paused_until", TIMESTAMP, nullable=True, comment="Retry-After, or failing"),
        sa.Column(
            "failures",
            sa.Integer(),
            nullable=False,
            comment="consecutive batches that all failed",
        ),
        sa.PrimaryKeyConstraint("host", name="pk_hosts"),
    )
    op.create_index("ix_hosts_next_due", "hosts", ["next_due"])
    op.create_table(
        "robots_txt",
        sa.Column("origin", sa.Text(), nullable=False, comment="scheme://host[:port]"),
        sa.Column(
            "text", sa.Text(), nullable=True, comment="null: it had none (a 4xx), so no rules"
        ),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("read_at", TIMESTAMP, nullable=False, comment="kept for a day from then"),
        sa.PrimaryKeyConstraint("origin", name="pk_robots_txt"),
    )


def downgrade() -> None:
    op.drop_table("robots_txt")
    op.drop_table("hosts")
    op.drop_table("schedule")

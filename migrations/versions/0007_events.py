"""Change events (a transactional outbox) and each sink's delivery progress.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column(
            "id", BIG_ID, primary_key=True, comment="the sequence: events --after ID pages by it"
        ),
        sa.Column("event_id", sa.String(36), nullable=False, comment="CloudEvents id"),
        sa.Column("type", sa.String(48), nullable=False, comment="cds.server.changed, ..."),
        sa.Column(
            "subject",
            sa.Text(),
            nullable=False,
            comment="the metadata URL (#ENTRY_ID for entries)",
        ),
        sa.Column(
            "server_id",
            sa.Integer(),
            sa.ForeignKey("servers.id", ondelete="SET NULL", name="fk_events_server_id_servers"),
            nullable=True,
        ),
        sa.Column("time", TIMESTAMP, nullable=False, comment="when the change was observed"),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column(
            "crawl_id",
            sa.Integer(),
            sa.ForeignKey("crawls.id", ondelete="SET NULL", name="fk_events_crawl_id_crawls"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    )
    op.create_index("ix_events_subject", "events", ["subject"])
    op.create_table(
        "sink_progress",
        sa.Column("name", sa.String(200), nullable=False, comment="the sink, as configured"),
        sa.Column(
            "last_event_id", sa.BigInteger(), nullable=False, comment="delivered up to this id"
        ),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_sink_progress"),
    )


def downgrade() -> None:
    op.drop_table("sink_progress")
    op.drop_table("events")

"""Change events (a transactional outbox), each sink's delivery state and dead letters, the
outcome of each server's latest fetch (a 404 is a removal only after another 404), and the
validators of coverage pages, so that unchanged pages are asked for conditionally.

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
    with op.batch_alter_table("servers") as batch:
        batch.add_column(
            sa.Column("last_outcome", sa.String(24), nullable=True, comment="of the latest fetch")
        )
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
        sa.Column(
            "attempts", sa.Integer(), nullable=False, comment="failed attempts at the next batch"
        ),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True, comment="no delivery before then"),
        sa.Column(
            "disabled", sa.Boolean(), nullable=False, comment="the endpoint answered 410 Gone"
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_sink_progress"),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column("sink", sa.String(200), nullable=False),
        sa.Column(
            "event_id",
            sa.BigInteger(),
            sa.ForeignKey("events.id", ondelete="CASCADE", name="fk_dead_letters_event_id_events"),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False, comment="the last failure"),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
        sa.UniqueConstraint("sink", "event_id", name="uq_dead_letters_sink_event_id"),
    )

    op.create_table(
        "coverage_pages",
        sa.Column("listing_url", sa.Text(), nullable=False, comment="the listing's first page"),
        sa.Column("url", sa.Text(), nullable=False, comment="this page"),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column(
            "document_sha256",
            sa.String(64),
            sa.ForeignKey("documents.sha256", name="fk_coverage_pages_document_sha256_documents"),
            nullable=False,
        ),
        sa.Column("fetched_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("listing_url", "url", name="pk_coverage_pages"),
    )


def downgrade() -> None:
    op.drop_table("coverage_pages")
    op.drop_table("dead_letters")
    op.drop_table("sink_progress")
    op.drop_table("events")
    with op.batch_alter_table("servers") as batch:
        batch.drop_column("last_outcome")

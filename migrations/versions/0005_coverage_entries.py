"""Coverage entries, versioned per (server, entry id), each version valid from/to a time.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "coverage_entries",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column(
            "server_id",
            sa.Integer(),
            sa.ForeignKey(
                "servers.id", ondelete="CASCADE", name="fk_coverage_entries_server_id_servers"
            ),
            nullable=False,
        ),
        sa.Column("entry_id", sa.Text(), nullable=False, comment="the entry's id in the listing"),
        sa.Column(
            "version", sa.Integer(), nullable=False, comment="1, 2, ... per (server, entry id)"
        ),
        sa.Column(
            "sha256",
            sa.String(64),
            nullable=False,
            comment="SHA-256 of the entry's canonical JSON",
        ),
        sa.Column("content", DOCUMENT, nullable=False, comment="the entry as published"),
        sa.Column(
            "model", sa.JSON(), nullable=False, comment="the entry mapped onto the current draft"
        ),
        sa.Column("type", sa.String(32), nullable=True),
        sa.Column("role", sa.String(32), nullable=True),
        sa.Column("country", sa.String(8), nullable=True),
        sa.Column("entity_name", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column(
            "valid", sa.Boolean(), nullable=False, comment="false when it has error findings"
        ),
        sa.Column("valid_from", TIMESTAMP, nullable=False, comment="first read with this content"),
        sa.Column("valid_to", TIMESTAMP, nullable=True, comment="null while current"),
        sa.Column("last_confirmed_at", TIMESTAMP, nullable=False),
        sa.Column(
            "crawl_id",
            sa.Integer(),
            sa.ForeignKey(
                "crawls.id", ondelete="SET NULL", name="fk_coverage_entries_crawl_id_crawls"
            ),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_coverage_entries"),
        sa.UniqueConstraint(
            "server_id",
            "entry_id",
            "version",
            name="uq_coverage_entries_server_id_entry_id_version",
        ),
    )
    op.create_index(
        "ix_coverage_entries_server_id_valid_to", "coverage_entries", ["server_id", "valid_to"]
    )
    op.create_index("ix_coverage_entries_country", "coverage_entries", ["country"])


def downgrade() -> None:
    op.drop_table("coverage_entries")

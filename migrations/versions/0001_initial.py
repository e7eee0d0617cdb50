"""Initial schema: seeds, servers, documents, versions, findings, fetch log, crawls.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "seeds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "kind",
            sa.String(16),
            nullable=False,
            comment="metadata: a metadata URL; list: a seed list",
        ),
        sa.Column("url", sa.Text(), nullable=False, comment="normalised URL that is fetched"),
        sa.Column("target", sa.Text(), nullable=False, comment="what the operator gave"),
        sa.Column("tags", sa.JSON(), nullable=False, comment="array of operator tags"),
        sa.Column("source", sa.Text(), nullable=False, comment="cli, file:PATH, or list:URL"),
        sa.Column(
            "list_seed_id",
            sa.Integer(),
            sa.ForeignKey("seeds.id", ondelete="CASCADE", name="fk_seeds_list_seed_id_seeds"),
            nullable=True,
            comment="the remote seed list this seed was read from, if any",
        ),
        sa.Column("added_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_seeds"),
        sa.UniqueConstraint("kind", "url", name="uq_seeds_kind_url"),
    )
    op.create_table(
        "crawls",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True, comment="the crawl --json summary"),
        sa.PrimaryKeyConstraint("id", name="pk_crawls"),
    )
    op.create_table(
        "servers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False, comment="the metadata URL fetched"),
        sa.Column(
            "canonical_url", sa.Text(), nullable=True, comment="cds_metadata_url of the document"
        ),
        sa.Column("name", sa.Text(), nullable=True, comment="name of the current document"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_since", TIMESTAMP, nullable=False),
        sa.Column("first_seen", TIMESTAMP, nullable=False),
        sa.Column("last_fetched", TIMESTAMP, nullable=False),
        sa.Column(
            "last_changed", TIMESTAMP, nullable=True, comment="when a new version was stored"
        ),
        sa.Column("etag", sa.Text(), nullable=True, comment="validator sent back as If-None-Match"),
        sa.Column(
            "last_modified", sa.Text(), nullable=True, comment="sent back as If-Modified-Since"
        ),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column(
            "discovered_via", sa.Text(), nullable=False, comment="seed target or linking URL"
        ),
        sa.Column(
            "seed_id",
            sa.Integer(),
            sa.ForeignKey("seeds.id", ondelete="SET NULL", name="fk_servers_seed_id_seeds"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_servers"),
        sa.UniqueConstraint("url", name="uq_servers_url"),
    )
    op.create_index("ix_servers_status", "servers", ["status"])
    op.create_table(
        "documents",
        sa.Column("sha256", sa.String(64), nullable=False, comment="SHA-256 of the canonical JSON"),
        sa.Column("content", DOCUMENT, nullable=False, comment="the document as published"),
        sa.Column("size_bytes", sa.Integer(), nullable=False, comment="size of the canonical JSON"),
        sa.Column("first_seen_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("sha256", name="pk_documents"),
    )
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "server_id",
            sa.Integer(),
            sa.ForeignKey("servers.id", ondelete="CASCADE", name="fk_versions_server_id_servers"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False, comment="1, 2, ... per server"),
        sa.Column(
            "document_sha256",
            sa.String(64),
            sa.ForeignKey("documents.sha256", name="fk_versions_document_sha256_documents"),
            nullable=False,
        ),
        sa.Column(
            "fetched_at", TIMESTAMP, nullable=False, comment="first fetched with this content"
        ),
        sa.Column("last_confirmed_at", TIMESTAMP, nullable=False, comment="last seen unchanged"),
        sa.Column(
            "draft", sa.String(16), nullable=False, comment="spec draft the document follows"
        ),
        sa.Column(
            "valid", sa.Boolean(), nullable=False, comment="false when it has error findings"
        ),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column(
            "crawl_id",
            sa.Integer(),
            sa.ForeignKey("crawls.id", ondelete="SET NULL", name="fk_versions_crawl_id_crawls"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_versions"),
        sa.UniqueConstraint("server_id", "version", name="uq_versions_server_id_version"),
    )
    op.create_index("ix_versions_document_sha256", "versions", ["document_sha256"])
    op.create_table(
        "findings",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column(
            "server_id",
            sa.Integer(),
            sa.ForeignKey("servers.id", ondelete="CASCADE", name="fk_findings_server_id_servers"),
            nullable=False,
        ),
        sa.Column(
            "version_id",
            sa.Integer(),
            sa.ForeignKey(
                "versions.id", ondelete="CASCADE", name="fk_findings_version_id_versions"
            ),
            nullable=True,
            comment="null: about the latest fetch attempt, not a stored version",
        ),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("pointer", sa.Text(), nullable=False),
        sa.Column("section", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_findings"),
    )
    op.create_index("ix_findings_server_id_version_id", "findings", ["server_id", "version_id"])
    op.create_index("ix_findings_version_id", "findings", ["version_id"])
    op.create_index("ix_findings_rule", "findings", ["rule"])
    op.create_table(
        "fetch_log",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column(
            "crawl_id",
            sa.Integer(),
            sa.ForeignKey("crawls.id", ondelete="SET NULL", name="fk_fetch_log_crawl_id_crawls"),
            nullable=True,
        ),
        sa.Column(
            "server_id",
            sa.Integer(),
            sa.ForeignKey("servers.id", ondelete="CASCADE", name="fk_fetch_log_server_id_servers"),
            nullable=True,
        ),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("error_class", sa.Text(), nullable=True),
        sa.Column(
            "redirects", sa.JSON(), nullable=True, comment="[{url, status_code, location}, ...]"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_fetch_log"),
    )
    op.create_index("ix_fetch_log_started_at", "fetch_log", ["started_at"])
    op.create_index("ix_fetch_log_server_id_started_at", "fetch_log", ["server_id", "started_at"])


def downgrade() -> None:
    for table in ("fetch_log", "findings", "versions", "documents", "servers", "crawls", "seeds"):
        op.drop_table(table)

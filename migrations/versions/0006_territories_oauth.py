"""Territories (each coverage entry's GeoJSON as geometry) and OAuth metadata, both versioned.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _server_id(table: str) -> sa.Column[int]:
    return sa.Column(
        "server_id",
        sa.Integer(),
        sa.ForeignKey("servers.id", ondelete="CASCADE", name=f"fk_{table}_server_id_servers"),
        nullable=False,
    )


def _crawl_id(table: str) -> sa.Column[int]:
    return sa.Column(
        "crawl_id",
        sa.Integer(),
        sa.ForeignKey("crawls.id", ondelete="SET NULL", name=f"fk_{table}_crawl_id_crawls"),
        nullable=True,
    )


def _validity() -> list[sa.Column[object]]:
    return [
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("valid_from", TIMESTAMP, nullable=False),
        sa.Column("valid_to", TIMESTAMP, nullable=True, comment="null while current"),
        sa.Column("last_confirmed_at", TIMESTAMP, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "territories",
        sa.Column("id", BIG_ID, primary_key=True),
        _server_id("territories"),
        sa.Column("entry_id", sa.Text(), nullable=False, comment="the coverage entry it maps"),
        sa.Column(
            "version", sa.Integer(), nullable=False, comment="1, 2, ... per (server, entry id)"
        ),
        sa.Column("url", sa.Text(), nullable=False, comment="the entry's geojson_resource"),
        sa.Column("sha256", sa.String(64), nullable=False, comment="SHA-256 of the normalised WKB"),
        sa.Column("geometry", sa.LargeBinary(), nullable=False, comment="WKB, WGS 84 lon/lat"),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("area_km2", sa.Float(), nullable=False),
        sa.Column("vertices", sa.Integer(), nullable=False),
        sa.Column(
            "findings", sa.JSON(), nullable=False, comment="findings about the GeoJSON resource"
        ),
        *_validity(),
        _crawl_id("territories"),
        sa.PrimaryKeyConstraint("id", name="pk_territories"),
        sa.UniqueConstraint(
            "server_id", "entry_id", "version", name="uq_territories_server_id_entry_id_version"
        ),
    )
    op.create_index("ix_territories_server_id_valid_to", "territories", ["server_id", "valid_to"])
    op.create_index("ix_territories_valid_to", "territories", ["valid_to"])
    op.create_table(
        "oauth_metadata",
        sa.Column("id", BIG_ID, primary_key=True),
        _server_id("oauth_metadata"),
        sa.Column("version", sa.Integer(), nullable=False, comment="1, 2, ... per server"),
        sa.Column("url", sa.Text(), nullable=False, comment="where it was read"),
        sa.Column(
            "well_known", sa.Boolean(), nullable=False, comment="read at the RFC 8414 location"
        ),
        sa.Column(
            "document_sha256",
            sa.String(64),
            sa.ForeignKey("documents.sha256", name="fk_oauth_metadata_document_sha256_documents"),
            nullable=False,
        ),
        sa.Column(
            "valid", sa.Boolean(), nullable=False, comment="false when it has error findings"
        ),
        sa.Column("summary", sa.JSON(), nullable=False, comment="issuer, registration, scopes ..."),
        sa.Column("findings", sa.JSON(), nullable=False, comment="findings about the document"),
        *_validity(),
        _crawl_id("oauth_metadata"),
        sa.PrimaryKeyConstraint("id", name="pk_oauth_metadata"),
        sa.UniqueConstraint("server_id", "version", name="uq_oauth_metadata_server_id_version"),
    )
    op.create_index(
        "ix_oauth_metadata_server_id_valid_to", "oauth_metadata", ["server_id", "valid_to"]
    )


def downgrade() -> None:
    op.drop_table("oauth_metadata")
    op.drop_table("territories")

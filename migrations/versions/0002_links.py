"""Links: which version of which document links to which URL (the crawl's provenance).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("id", BIG_ID, primary_key=True),
        sa.Column(
            "version_id",
            sa.Integer(),
            sa.ForeignKey("versions.id", ondelete="CASCADE", name="fk_links_version_id_versions"),
            nullable=False,
            comment="the version of the document that makes the link",
        ),
        sa.Column(
            "server_id",
            sa.Integer(),
            sa.ForeignKey("servers.id", ondelete="CASCADE", name="fk_links_server_id_servers"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False, comment="related_metadata, ..."),
        sa.Column("url", sa.Text(), nullable=False, comment="the normalised URL linked to"),
        sa.Column("position", sa.Integer(), nullable=False, comment="order within the document"),
        sa.PrimaryKeyConstraint("id", name="pk_links"),
    )
    op.create_index("ix_links_version_id", "links", ["version_id"])
    op.create_index("ix_links_url", "links", ["url"])


def downgrade() -> None:
    op.drop_table("links")

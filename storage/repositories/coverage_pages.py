"""The pages of coverage listings as last read, so that an unchanged page answers 304."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import upsert
from storage.schema import coverage_pages, documents


@dataclass(frozen=True, slots=True)
class StoredPage:
    etag: str | None
    last_modified: str | None
    content: Any  # the page as last read


async def of_listing(conn: AsyncConnection, listing_url: str) -> dict[str, StoredPage]:
    """The stored pages of the listing that starts at `listing_url`, by page URL."""
    p = coverage_pages.c
    query = (
        select(p.url, p.etag, p.last_modified, documents.c.content)
        .join(documents, documents.c.sha256 == p.document_sha256)
        .where(p.listing_url == listing_url)
    )
    return {
        row.url: StoredPage(row.etag, row.last_modified, row.content)
        for row in await conn.execute(query)
    }


async def save(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Record pages (listing_url, url, etag, last_modified, document_sha256, fetched_at)."""
    unique = list({(r["listing_url"], r["url"]): r for r in rows}.values())
    await upsert(conn, coverage_pages, unique, ["listing_url", "url"])

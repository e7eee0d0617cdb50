"""OAuth authorization server metadata (CDSC-WG1-02 3): one row per version per server."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repositories.history import StoredResource
from storage.schema import oauth_metadata


async def current(conn: AsyncConnection, server_ids: Sequence[int]) -> dict[int, StoredResource]:
    """The current OAuth metadata of those of these servers that have one."""
    if not server_ids:
        return {}
    o = oauth_metadata.c
    query = select(
        o.id,
        o.server_id,
        o.url,
        o.document_sha256,
        o.etag,
        o.last_modified,
        o.findings,
    ).where(o.server_id.in_(list(server_ids)), o.valid_to.is_(None))
    return {
        row.server_id: StoredResource.from_row(row, row.document_sha256)
        for row in await conn.execute(query)
    }

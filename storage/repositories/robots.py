"""Each origin's robots.txt as last read, shared by crawls and workers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import upsert
from storage.schema import robots_txt


async def load(conn: AsyncConnection, origin: str) -> dict[str, Any] | None:
    r = robots_txt.c
    query = select(r.text, r.etag, r.last_modified, r.read_at).where(r.origin == origin)
    row = (await conn.execute(query)).first()
    return None if row is None else dict(row._mapping)


async def save(
    conn: AsyncConnection,
    origin: str,
    text: str | None,
    etag: str | None,
    last_modified: str | None,
    read_at: datetime,
) -> None:
    row = {
        "origin": origin,
        "text": text,
        "etag": etag,
        "last_modified": last_modified,
        "read_at": read_at,
    }
    await upsert(conn, robots_txt, [row], ["origin"])

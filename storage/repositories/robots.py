"""Each origin's robots.txt as last read, shared by crawls and workers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import among, upsert
from storage.schema import robots_txt


async def load(conn: AsyncConnection, origin: str) -> dict[str, Any] | None:
    r = robots_txt.c
    query = select(r.text, r.etag, r.last_modified, r.read_at).where(r.origin == origin)
    row = (await conn.execute(query)).first()
    return None if row is None else dict(row._mapping)


async def load_many(conn: AsyncConnection, origins: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored files of these origins, by origin (those without one are left out)."""
    if not origins:
        return {}
    r = robots_txt.c
    query = select(r.origin, r.text, r.etag, r.last_modified, r.read_at).where(
        among(conn, r.origin, origins)
    )
    found: dict[str, dict[str, Any]] = {}
    for row in await conn.execute(query):
        values = dict(row._mapping)
        found[values.pop("origin")] = values
    return found


async def save(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Keep robots.txt files: rows of origin, text, etag, last_modified, read_at."""
    unique = list({row["origin"]: row for row in rows}.values())
    await upsert(conn, robots_txt, unique, ["origin"])

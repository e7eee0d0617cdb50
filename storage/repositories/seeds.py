"""Seeds: the metadata URLs and seed lists that operators asked to crawl."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import seeds

METADATA = "metadata"
LIST = "list"


@dataclass(frozen=True, slots=True)
class NewSeed:
    url: str
    target: str
    tags: tuple[str, ...]
    source: str
    kind: str = METADATA


@dataclass(frozen=True, slots=True)
class SeedRow:
    id: int
    kind: str
    url: str
    target: str
    tags: list[str]
    source: str
    added_at: datetime


async def add(conn: AsyncConnection, new: Sequence[NewSeed], now: datetime) -> list[bool]:
    """Insert each seed or merge its tags into the existing one; True where it was new."""
    existing = await _by_key(conn, {(s.kind, s.url) for s in new})
    added: list[bool] = []
    for seed in new:
        row = existing.get((seed.kind, seed.url))
        if row is None:
            values = {
                "kind": seed.kind,
                "url": seed.url,
                "target": seed.target,
                "tags": sorted(set(seed.tags)),
                "source": seed.source,
                "added_at": now,
            }
            result = await conn.execute(seeds.insert().values(values).returning(seeds.c.id))
            existing[(seed.kind, seed.url)] = _row(
                SimpleNamespace(id=result.scalar_one(), **values)
            )
            added.append(True)
            continue
        merged = sorted(set(row.tags) | set(seed.tags))
        if merged != row.tags:
            await conn.execute(update(seeds).where(seeds.c.id == row.id).values(tags=merged))
            row.tags[:] = merged
        added.append(False)
    return added


async def _by_key(
    conn: AsyncConnection, keys: set[tuple[str, str]]
) -> dict[tuple[str, str], SeedRow]:
    if not keys:
        return {}
    urls = {url for _, url in keys}
    rows = await conn.execute(select(seeds).where(seeds.c.url.in_(urls)))
    found = {(r.kind, r.url): _row(r) for r in rows}
    return {k: v for k, v in found.items() if k in keys}


def _row(r: Any) -> SeedRow:
    return SeedRow(r.id, r.kind, r.url, r.target, list(r.tags), r.source, r.added_at)


async def remove(conn: AsyncConnection, url: str) -> int:
    """Delete the seed(s) with this URL (of any kind); the number of rows removed."""
    result = await conn.execute(delete(seeds).where(seeds.c.url == url))
    return result.rowcount


async def metadata_seeds(conn: AsyncConnection, urls: Sequence[str] | None = None) -> list[SeedRow]:
    """The metadata seeds to crawl: all of them, or only those with the given URLs."""
    query = select(seeds).where(seeds.c.kind == METADATA).order_by(seeds.c.id)
    if urls is not None:
        query = query.where(seeds.c.url.in_(list(urls)))
    return [_row(r) for r in await conn.execute(query)]

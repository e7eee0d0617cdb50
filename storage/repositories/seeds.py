"""Seeds: the metadata URLs and seed lists that operators asked to crawl."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import among
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
            tags = sorted(set(seed.tags))
            values = {
                "kind": seed.kind,
                "url": seed.url,
                "target": seed.target,
                "tags": tags,
                "source": seed.source,
                "added_at": now,
            }
            result = await conn.execute(seeds.insert().values(values).returning(seeds.c.id))
            existing[(seed.kind, seed.url)] = SeedRow(
                result.scalar_one(), seed.kind, seed.url, seed.target, tags, seed.source, now
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
    query = select(seeds).where(among(conn, seeds.c.url, sorted({url for _, url in keys})))
    found = {(r.kind, r.url): _row(r) for r in await conn.execute(query)}
    return {k: v for k, v in found.items() if k in keys}


def _row(r: Any) -> SeedRow:
    return SeedRow(r.id, r.kind, r.url, r.target, list(r.tags), r.source, r.added_at)


async def remove(conn: AsyncConnection, url: str) -> int:
    """Delete the seed(s) with this URL (of any kind); the number of rows removed."""
    result = await conn.execute(delete(seeds).where(seeds.c.url == url))
    return result.rowcount


async def metadata_seeds(conn: AsyncConnection) -> list[SeedRow]:
    """Every metadata seed, in the order they were added."""
    query = select(seeds).where(seeds.c.kind == METADATA).order_by(seeds.c.id)
    return [_row(r) for r in await conn.execute(query)]


async def seed_lists(conn: AsyncConnection) -> list[SeedRow]:
    query = select(seeds).where(seeds.c.kind == LIST).order_by(seeds.c.id)
    return [_row(r) for r in await conn.execute(query)]


async def record_list_read(
    conn: AsyncConnection, list_id: int, status: str, message: str, now: datetime
) -> None:
    await conn.execute(
        update(seeds)
        .where(seeds.c.id == list_id)
        .values(last_fetched=now, status=status, message=message)
    )


async def sync_list_entries(
    conn: AsyncConnection, seed_list: SeedRow, entries: Sequence[NewSeed], now: datetime
) -> tuple[int, int]:
    """Make the list's entry seeds exactly `entries`; (added, removed).

    An entry that is already a seed of its own (an operator's, or another list's) is left as
    it is, and stays when the list drops it.
    """
    current = {
        r.url: r.id
        for r in await conn.execute(
            select(seeds.c.id, seeds.c.url).where(seeds.c.list_seed_id == seed_list.id)
        )
    }
    wanted = {entry.url: entry for entry in entries}
    gone = [seed_id for url, seed_id in current.items() if url not in wanted]
    if gone:
        await conn.execute(delete(seeds).where(seeds.c.id.in_(gone)))
    fresh = [entry for url, entry in wanted.items() if url not in current]
    taken = {key[1] for key in await _by_key(conn, {(METADATA, e.url) for e in fresh})}
    rows = [
        {
            "kind": METADATA,
            "url": entry.url,
            "target": entry.target,
            "tags": sorted(set(entry.tags)),
            "source": entry.source,
            "list_seed_id": seed_list.id,
            "added_at": now,
        }
        for entry in fresh
        if entry.url not in taken
    ]
    if rows:
        await conn.execute(insert(seeds), rows)
    return len(rows), len(gone)

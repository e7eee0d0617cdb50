"""Coverage entries: one row per version of an entry, valid from one time to another.

The rows of an entry form its history: `valid_to` is null on the current version, and set
when a new version replaces it or when the entry leaves the listing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import coverage_entries


@dataclass(frozen=True, slots=True)
class StoredEntry:
    row_id: int
    sha256: str
    version: int


async def current(
    conn: AsyncConnection, server_ids: Sequence[int]
) -> dict[int, dict[str, StoredEntry]]:
    """The current version of every entry of these servers, by server and entry id."""
    found: dict[int, dict[str, StoredEntry]] = {sid: {} for sid in server_ids}
    if not server_ids:
        return found
    query = select(
        coverage_entries.c.id,
        coverage_entries.c.server_id,
        coverage_entries.c.entry_id,
        coverage_entries.c.sha256,
        coverage_entries.c.version,
    ).where(
        coverage_entries.c.server_id.in_(list(server_ids)), coverage_entries.c.valid_to.is_(None)
    )
    for row in await conn.execute(query):
        found[row.server_id][row.entry_id] = StoredEntry(row.id, row.sha256, row.version)
    return found


async def contents(conn: AsyncConnection, row_ids: Sequence[int]) -> dict[int, Any]:
    """The published content of these entry versions, by row id."""
    if not row_ids:
        return {}
    query = select(coverage_entries.c.id, coverage_entries.c.content).where(
        coverage_entries.c.id.in_(list(row_ids))
    )
    return {row.id: row.content for row in await conn.execute(query)}


async def least_recently_confirmed(
    conn: AsyncConnection, server_id: int, leaving_out: frozenset[str], limit: int
) -> list[str]:
    """Up to `limit` ids of the server's current entries, those confirmed longest ago first,
    leaving out `leaving_out`."""
    c = coverage_entries.c
    query = (
        select(c.entry_id)
        .where(c.server_id == server_id, c.valid_to.is_(None))
        .order_by(c.last_confirmed_at, c.id)
        .limit(limit + len(leaving_out))
    )
    found = [row.entry_id for row in await conn.execute(query)]
    return [entry_id for entry_id in found if entry_id not in leaving_out][:limit]

"""Coverage entries: one row per version of an entry, valid from one time to another.

The rows of an entry form its history: `valid_to` is null on the current version, and set
when a new version replaces it or when the entry leaves the listing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import coverage_entries

_CLOSE = (
    update(coverage_entries)
    .where(coverage_entries.c.id == bindparam("b_id"))
    .values(valid_to=bindparam("b_at"))
)
_CONFIRM = (
    update(coverage_entries)
    .where(coverage_entries.c.id == bindparam("b_id"))
    .values(last_confirmed_at=bindparam("b_at"))
)


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


async def last_versions(
    conn: AsyncConnection, server_ids: Sequence[int]
) -> dict[tuple[int, str], int]:
    """The highest version number of every entry these servers ever listed."""
    if not server_ids:
        return {}
    query = (
        select(
            coverage_entries.c.server_id,
            coverage_entries.c.entry_id,
            func.max(coverage_entries.c.version).label("version"),
        )
        .where(coverage_entries.c.server_id.in_(list(server_ids)))
        .group_by(coverage_entries.c.server_id, coverage_entries.c.entry_id)
    )
    return {(r.server_id, r.entry_id): r.version for r in await conn.execute(query)}


async def add(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(coverage_entries), list(rows))


async def close(conn: AsyncConnection, closing: Sequence[tuple[int, datetime]]) -> None:
    """End these versions (replaced, or the entry left the listing) at the given times."""
    if closing:
        await conn.execute(_CLOSE, [{"b_id": row_id, "b_at": at} for row_id, at in closing])


async def confirm(conn: AsyncConnection, confirmed: Sequence[tuple[int, datetime]]) -> None:
    if confirmed:
        await conn.execute(_CONFIRM, [{"b_id": row_id, "b_at": at} for row_id, at in confirmed])

"""The outbox: change events, written in the transaction of the change that caused them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import insert_ignoring_conflicts
from storage.schema import events, sink_progress

# Postgres hands out ids when rows are inserted, not when they commit; transactions that
# write events take this lock, so an event with a lower id is never committed after one with a
# higher id, and a reader paging by id never skips one.
_ORDER_LOCK = 0x43445345  # "CDSE"


async def append(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert events (an event id already stored is the same change: it is skipped)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ORDER_LOCK})
    await insert_ignoring_conflicts(conn, events, list(rows))


async def after(conn: AsyncConnection, last_id: int, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` events with an id above `last_id`, in order."""
    query = select(events).where(events.c.id > last_id).order_by(events.c.id).limit(limit)
    return [dict(row._mapping) for row in await conn.execute(query)]


async def progress(conn: AsyncConnection, sink: str) -> int:
    """The id of the last event delivered to `sink` (0 before the first)."""
    query = select(sink_progress.c.last_event_id).where(sink_progress.c.name == sink)
    return int(await conn.scalar(query) or 0)


async def advance(conn: AsyncConnection, sink: str, last_id: int, at: datetime) -> None:
    """Record that `sink` has every event up to `last_id`."""
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = module.insert(sink_progress).values(name=sink, last_event_id=last_id, updated_at=at)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[sink_progress.c.name],
            set_={"last_event_id": last_id, "updated_at": at},
        )
    )


async def count_for_crawl(conn: AsyncConnection, crawl_id: int) -> int:
    """How many events a crawl pass wrote."""
    query = select(func.count()).select_from(events).where(events.c.crawl_id == crawl_id)
    return int(await conn.scalar(query) or 0)

"""The outbox: change events, written in the transaction of the change that caused them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import insert_ignoring_conflicts, upsert
from storage.schema import dead_letters, events, sink_progress

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


@dataclass(frozen=True, slots=True)
class SinkState:
    """How far a sink has got, and whether it may be tried now."""

    last_event_id: int = 0
    attempts: int = 0  # failed attempts at the batch after last_event_id
    next_attempt_at: datetime | None = None
    disabled: bool = False
    last_error: str | None = None


async def sink_state(conn: AsyncConnection, sink: str) -> SinkState:
    """The sink's delivery state (a fresh one before its first delivery)."""
    query = select(sink_progress).where(sink_progress.c.name == sink)
    row = (await conn.execute(query)).first()
    if row is None:
        return SinkState()
    return SinkState(
        row.last_event_id, row.attempts, row.next_attempt_at, row.disabled, row.last_error
    )


async def save_sink_state(conn: AsyncConnection, sink: str, state: SinkState, at: datetime) -> None:
    row = {
        "name": sink,
        "last_event_id": state.last_event_id,
        "attempts": state.attempts,
        "next_attempt_at": state.next_attempt_at,
        "disabled": state.disabled,
        "last_error": state.last_error,
        "updated_at": at,
    }
    await upsert(conn, sink_progress, [row], ["name"])


async def dead_letter(
    conn: AsyncConnection, sink: str, event_ids: Sequence[int], reason: str, at: datetime
) -> None:
    """Set these events aside for `sink`: delivery gave up on them."""
    rows = [{"sink": sink, "event_id": i, "reason": reason, "at": at} for i in event_ids]
    await insert_ignoring_conflicts(conn, dead_letters, rows)


async def dead_letters_of(conn: AsyncConnection, sink: str, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` of the sink's dead-lettered events, in order."""
    query = (
        select(events)
        .join(dead_letters, dead_letters.c.event_id == events.c.id)
        .where(dead_letters.c.sink == sink)
        .order_by(events.c.id)
        .limit(limit)
    )
    return [dict(row._mapping) for row in await conn.execute(query)]


async def forget_dead_letters(conn: AsyncConnection, sink: str, event_ids: Sequence[int]) -> None:
    """These dead letters were delivered after all."""
    await conn.execute(
        delete(dead_letters).where(
            dead_letters.c.sink == sink, dead_letters.c.event_id.in_(list(event_ids))
        )
    )


async def count_for_crawl(conn: AsyncConnection, crawl_id: int) -> int:
    """How many events a crawl pass wrote."""
    query = select(func.count()).select_from(events).where(events.c.crawl_id == crawl_id)
    return int(await conn.scalar(query) or 0)


async def pending(conn: AsyncConnection, sinks: Sequence[str]) -> dict[str, int]:
    """How many events each sink has still to deliver."""
    latest = (await conn.execute(select(func.coalesce(func.max(events.c.id), 0)))).scalar_one()
    found = {
        row.name: row.last_event_id
        for row in await conn.execute(
            select(sink_progress.c.name, sink_progress.c.last_event_id).where(
                sink_progress.c.name.in_(list(sinks))
            )
        )
    }
    return {sink: int(latest) - int(found.get(sink, 0)) for sink in sinks}


async def last_availability(
    conn: AsyncConnection, subjects: Sequence[str]
) -> dict[str, tuple[str, datetime]]:
    """The type and time of the latest unreachable or recovered event of each subject."""
    kinds = ("cds.server.unreachable", "cds.server.recovered")
    query = (
        select(events.c.subject, events.c.type, events.c.time)
        .where(events.c.subject.in_(list(subjects)), events.c.type.in_(kinds))
        .order_by(events.c.id)
    )
    return {row.subject: (row.type, row.time) for row in await conn.execute(query)}


async def notify(conn: AsyncConnection, channel: str, payloads: Sequence[str]) -> None:
    """Postgres NOTIFY on `channel`, one notification per payload, sent at commit."""
    statement = text("SELECT pg_notify(:channel, :payload)")
    await conn.execute(statement, [{"channel": channel, "payload": p} for p in payloads])

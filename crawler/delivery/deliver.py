"""Deliver what each sink has not had yet, in order, recording its progress as it goes.

At least once: progress is recorded after a batch is delivered, so a crash in between
delivers that batch again, with the same ids. A batch that fails waits for the next step of
the sink's retry schedule (the wait is kept in the database, so `events deliver` run from
cron and the daemon behave alike); once the schedule is used up, the batch is dead-lettered
and delivery goes on (`events redeliver` replays dead letters). A 410 Gone disables the sink.
Each sink has its own state: one that fails never holds back another.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.delivery.failures import DeliveryFailed, EndpointGone
from crawler.delivery.sinks import Sink
from crawler.domain.events import cloudevent
from storage.repositories import events
from storage.repositories.events import SinkState


@dataclass(frozen=True, slots=True)
class SinkReport:
    delivered: int = 0
    dead_lettered: int = 0
    state: str = "idle"  # idle (all delivered), waiting (a retry is due later), disabled
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "dead_lettered": self.dead_lettered,
            "state": self.state,
            "error": self.error,
        }


async def deliver_pending(engine: AsyncEngine, sinks: list[Sink]) -> dict[str, SinkReport]:
    """Every event after each sink's progress, delivered or set aside; a report per sink."""
    return {sink.name: await _deliver_to(engine, sink) for sink in sinks}


async def redeliver(engine: AsyncEngine, sink: Sink) -> int:
    """Deliver the sink's dead letters again; how many went through (the rest stay)."""
    delivered = 0
    while True:
        async with engine.connect() as conn:
            rows = await events.dead_letters_of(conn, sink.name, sink.batch_size)
        if not rows:
            return delivered
        try:
            await sink.deliver([_cloudevent(row) for row in rows])
        except DeliveryFailed:
            return delivered
        async with engine.begin() as conn:
            await events.forget_dead_letters(conn, sink.name, [row["id"] for row in rows])
        delivered += len(rows)


async def _deliver_to(engine: AsyncEngine, sink: Sink) -> SinkReport:
    async with engine.connect() as conn:
        state = await events.sink_state(conn, sink.name)
    report = SinkReport()
    while True:
        now = datetime.now(UTC)
        if state.disabled:
            return replace(report, state="disabled", error=state.last_error)
        if state.next_attempt_at is not None and now < state.next_attempt_at:
            return replace(report, state="waiting", error=state.last_error)
        async with engine.connect() as conn:
            rows = await events.after(conn, state.last_event_id, sink.batch_size)
        if not rows:
            return report
        try:
            await sink.deliver([_cloudevent(row) for row in rows])
        except DeliveryFailed as failure:
            state, dead = _after_failure(sink, state, rows, failure, now)
            async with engine.begin() as conn:
                if dead:
                    ids = [row["id"] for row in rows]
                    await events.dead_letter(conn, sink.name, ids, str(failure), now)
                await events.save_sink_state(conn, sink.name, state, now)
            report = replace(
                report, dead_lettered=report.dead_lettered + (len(rows) if dead else 0)
            )
            continue
        state = SinkState(last_event_id=rows[-1]["id"])
        async with engine.begin() as conn:
            await events.save_sink_state(conn, sink.name, state, now)
        report = replace(report, delivered=report.delivered + len(rows))


def _after_failure(
    sink: Sink, state: SinkState, rows: list[dict[str, Any]], failure: DeliveryFailed, now: datetime
) -> tuple[SinkState, bool]:
    """The state after a failed batch, and whether the batch is now a dead letter."""
    if isinstance(failure, EndpointGone):
        return replace(state, disabled=True, last_error=str(failure)), False
    if state.attempts >= len(sink.retry_schedule):
        return SinkState(last_event_id=rows[-1]["id"], last_error=str(failure)), True
    wait = sink.retry_schedule[state.attempts] * random.uniform(0.8, 1.2)
    return (
        replace(
            state,
            attempts=state.attempts + 1,
            next_attempt_at=now + timedelta(seconds=wait),
            last_error=str(failure),
        ),
        False,
    )


def _cloudevent(row: dict[str, Any]) -> dict[str, Any]:
    return cloudevent(
        row["id"], row["event_id"], row["type"], row["subject"], row["time"], row["data"]
    )

"""Deliver what each sink has not had yet, in order, recording its progress as it goes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.delivery.sinks import Sink
from crawler.domain.events import cloudevent
from storage.repositories import events

_BATCH = 500


async def deliver_pending(engine: AsyncEngine, sinks: list[Sink]) -> dict[str, int]:
    """Every event after each sink's progress, delivered; how many each sink got.

    At least once: progress is recorded after a batch is delivered, so a crash in between
    delivers that batch again (with the same ids). One sink's failure stops only that sink.
    """
    return {sink.name: await _deliver_to(engine, sink) for sink in sinks}


async def _deliver_to(engine: AsyncEngine, sink: Sink) -> int:
    delivered = 0
    async with engine.connect() as conn:
        last = await events.progress(conn, sink.name)
    while True:
        async with engine.connect() as conn:
            rows = await events.after(conn, last, _BATCH)
        if not rows:
            return delivered
        batch = [
            cloudevent(r["id"], r["event_id"], r["type"], r["subject"], r["time"], r["data"])
            for r in rows
        ]
        await asyncio.to_thread(sink.deliver, batch)
        last = rows[-1]["id"]
        async with engine.begin() as conn:
            await events.advance(conn, sink.name, last, datetime.now(UTC))
        delivered += len(rows)

"""The events a batch of polls causes, gathered while it is planned and written with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crawler.domain.events import Event
from storage.repositories import events as stored_events


@dataclass
class Outbox:
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, event: Event, server_id: int | None, crawl_id: int | None) -> None:
        self.rows.append(
            {
                "event_id": event.event_id,
                "type": event.type,
                "subject": event.subject,
                "server_id": server_id,
                "time": event.time,
                "data": event.data,
                "crawl_id": crawl_id,
            }
        )

    async def flush(self, conn: AsyncConnection) -> None:
        """Write the events in the caller's transaction: with the change, or not at all."""
        await stored_events.append(conn, self.rows)
        self.rows.clear()

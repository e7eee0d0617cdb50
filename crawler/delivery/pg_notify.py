"""Postgres NOTIFY: each event's id on a channel; listeners read the row from `events`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.delivery.failures import DeliveryFailed
from crawler.delivery.schedule import DEFAULT_RETRY_SCHEDULE
from storage.engine import create_engine
from storage.repositories.events import notify


class PgNotifySink:
    batch_size = 500
    retry_schedule = DEFAULT_RETRY_SCHEDULE

    def __init__(self, database_url: str, channel: str) -> None:
        self.name = f"pg_notify:{channel}"
        self._database_url = database_url
        self._channel = channel
        self._engine: AsyncEngine | None = None

    async def deliver(self, batch: Sequence[dict[str, Any]]) -> None:
        """One transaction per batch: the notifications go out together when it commits."""
        self._engine = self._engine or create_engine(self._database_url, pool_size=1)
        try:
            async with self._engine.begin() as conn:
                await notify(conn, self._channel, [event["id"] for event in batch])
        except (SQLAlchemyError, OSError) as exc:
            raise DeliveryFailed(f"NOTIFY {self._channel} failed: {exc}") from exc

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()

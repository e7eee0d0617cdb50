"""The composition root: the one place that wires concrete adapters together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.settings import Settings
from storage.engine import create_engine
from storage.migrate import ensure_schema


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine on an up-to-date schema (created or upgraded when missing or behind)."""
    engine = create_engine(settings.database_url, pool_size=min(settings.concurrency, 8))
    try:
        await ensure_schema(engine)
        yield engine
    finally:
        await engine.dispose()

"""The fetch log: one row per fetch attempt, kept for a configurable number of days."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import fetch_log


async def record(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(fetch_log), rows)


async def prune(conn: AsyncConnection, older_than: datetime) -> int:
    """Delete attempts that started before `older_than`; the number deleted."""
    result = await conn.execute(delete(fetch_log).where(fetch_log.c.started_at < older_than))
    return result.rowcount

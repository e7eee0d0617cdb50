"""Crawls: one row per pass, with the summary that `crawl --json` prints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import crawls


async def start(conn: AsyncConnection, now: datetime) -> int:
    result = await conn.execute(insert(crawls).values(started_at=now).returning(crawls.c.id))
    crawl_id: int = result.scalar_one()
    return crawl_id


async def finish(
    conn: AsyncConnection, crawl_id: int, now: datetime, summary: dict[str, Any]
) -> None:
    await conn.execute(
        update(crawls).where(crawls.c.id == crawl_id).values(finished_at=now, summary=summary)
    )

"""What the last read of each coverage listing learnt, so that a re-poll can stop paging at
the entries it already holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import upsert
from storage.schema import coverage_listings


@dataclass(frozen=True, slots=True)
class ListingState:
    watermark: datetime | None  # the newest `updated` of its entries
    swept_at: datetime | None  # when it was last read whole
    checked_at: datetime | None  # when it was last read whole or spot-checked by id
    ordered: bool  # newest first, so a read may stop at the watermark


async def state_of(conn: AsyncConnection, url: str) -> ListingState | None:
    c = coverage_listings.c
    row = (
        await conn.execute(
            select(c.watermark, c.swept_at, c.checked_at, c.ordered).where(c.url == url)
        )
    ).first()
    if row is None:
        return None
    return ListingState(row.watermark, row.swept_at, row.checked_at, row.ordered)


async def save(conn: AsyncConnection, states: Sequence[tuple[str, ListingState]]) -> None:
    rows = {
        url: {
            "url": url,
            "watermark": state.watermark,
            "swept_at": state.swept_at,
            "checked_at": state.checked_at,
            "ordered": state.ordered,
        }
        for url, state in states
    }
    await upsert(conn, coverage_listings, list(rows.values()), ["url"])

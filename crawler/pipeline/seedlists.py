"""Remote seed lists: read every list at the start of a pass and mirror its entries as seeds."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.domain.fetching import FetchOutcome, FetchResult
from crawler.domain.seedlist import detect_format, parse_seed_list
from crawler.domain.status import status_of_failed_fetch
from crawler.http.fetch import Fetcher
from storage.repositories import seeds
from storage.repositories.seeds import NewSeed, SeedRow


@dataclass(frozen=True, slots=True)
class ListRead:
    """What one read of a seed list found; `entries` is None when the list was not usable."""

    fetch: FetchResult
    status: str
    message: str
    entries: tuple[NewSeed, ...] | None


async def refresh_seed_lists(engine: AsyncEngine, fetcher: Fetcher) -> tuple[int, int]:
    """Read every remote seed list and make its entries seeds; (lists read, requests made).

    A list that cannot be fetched or parsed keeps the entries it had, so a passing outage never
    drops seeds; a list that is read removes the entries it no longer lists.
    """
    async with engine.connect() as conn:
        lists = await seeds.seed_lists(conn)
    reads = await asyncio.gather(*(read_seed_list(fetcher, seed_list) for seed_list in lists))
    for seed_list, read in zip(lists, reads, strict=True):
        async with engine.begin() as conn:
            if read.entries is not None:
                await seeds.sync_list_entries(conn, seed_list, read.entries, datetime.now(UTC))
            await seeds.record_list_read(
                conn, seed_list.id, read.status, read.message, read.fetch.started_at
            )
    return len(lists), sum(read.fetch.requests for read in reads)


async def read_seed_list(fetcher: Fetcher, seed_list: SeedRow) -> ListRead:
    """Fetch and parse one list; never raises for anything the list's server does."""
    fetched = await fetcher.fetch(seed_list.url)
    if fetched.outcome is not FetchOutcome.OK:
        status = status_of_failed_fetch(fetched.outcome).value
        return ListRead(fetched, status, fetched.reason, None)
    try:
        text = (fetched.body or b"").decode("utf-8")
    except UnicodeDecodeError as exc:
        return ListRead(fetched, "invalid", f"not UTF-8: {exc}", None)
    parsed = parse_seed_list(text, _format(fetched, text))
    if parsed.errors and not parsed.entries:
        return ListRead(fetched, "invalid", f"no usable entry: {parsed.errors[0]}", None)
    source = f"list:{seed_list.url}"
    entries = tuple(
        NewSeed(e.target.url, e.target.given, (*seed_list.tags, *e.tags), source)
        for e in parsed.entries
    )
    message = f"{len(entries)} entries"
    if parsed.errors:
        message += f"; {len(parsed.errors)} skipped, first: {parsed.errors[0]}"
    return ListRead(fetched, "ok", message, entries)


def _format(fetched: FetchResult, text: str) -> str:
    return "json" if fetched.is_json else detect_format("", text)

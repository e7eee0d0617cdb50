"""One crawl pass: fetch every target, interpret it, and record it, with bounded concurrency."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.domain.targets import Target
from crawler.http.client import build_transport
from crawler.http.fetch import Fetcher
from crawler.http.politeness import HostLimiter
from crawler.pipeline import frontier
from crawler.pipeline.interpret import CrawlTarget, interpret
from crawler.pipeline.snapshot import Change, Poll, record_polls
from crawler.settings import Settings
from storage.repositories import crawls, fetch_log, seeds, servers
from storage.repositories.servers import ServerState

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (done, total)
_REQUESTS = "requests"  # counted beside the Change values in one tally
_BATCH = 64  # polls written per transaction, when that many are waiting


@dataclass(frozen=True, slots=True)
class CrawlSummary:
    crawl_id: int
    servers_seen: int
    servers_new: int
    servers_changed: int
    servers_unchanged: int
    servers_failed: int
    requests: int
    events: int
    duration_s: float

    def to_json(self) -> dict[str, Any]:
        return {
            "crawl_id": self.crawl_id,
            "servers_seen": self.servers_seen,
            "servers_new": self.servers_new,
            "servers_changed": self.servers_changed,
            "servers_unchanged": self.servers_unchanged,
            "servers_failed": self.servers_failed,
            "requests": self.requests,
            "events": self.events,
            "duration_s": round(self.duration_s, 3),
        }


async def crawl(
    settings: Settings,
    engine: AsyncEngine,
    *,
    only: Sequence[Target] | None = None,
    progress: Progress | None = None,
) -> CrawlSummary:
    """Fetch every seed (or only `only`) once and record what was found.

    Failures of remote servers are recorded, never raised; a database failure aborts the pass.
    """
    clock = time.monotonic()
    started = datetime.now(UTC)
    async with engine.begin() as conn:
        crawl_id = await crawls.start(conn, started)
        known = await seeds.metadata_seeds(conn)
        targets = frontier.from_targets(only, known) if only else frontier.from_seeds(known)
        states = await servers.states_for(conn, [t.url for t in targets])
    tally = await _run(settings, engine, crawl_id, targets, states, progress)
    summary = CrawlSummary(
        crawl_id=crawl_id,
        servers_seen=len(targets),
        servers_new=tally[Change.NEW],
        servers_changed=tally[Change.CHANGED],
        servers_unchanged=tally[Change.UNCHANGED],
        servers_failed=tally[Change.FAILED],
        requests=tally[_REQUESTS],
        events=0,
        duration_s=time.monotonic() - clock,
    )
    async with engine.begin() as conn:
        if settings.fetch_log_retention_days:
            cutoff = started - timedelta(days=settings.fetch_log_retention_days)
            await fetch_log.prune(conn, cutoff)
        await crawls.finish(conn, crawl_id, datetime.now(UTC), summary.to_json())
    return summary


async def _run(
    settings: Settings,
    engine: AsyncEngine,
    crawl_id: int,
    targets: list[CrawlTarget],
    states: dict[str, ServerState],
    progress: Progress | None,
) -> Counter[str]:
    tally: Counter[str] = Counter()
    polls: asyncio.Queue[Poll | None] = asyncio.Queue(maxsize=4 * settings.concurrency)
    pending: Iterator[CrawlTarget] = iter(targets)
    async with build_transport(settings) as transport:
        fetcher = Fetcher(transport, settings, HostLimiter(settings))

        async def fetch_worker() -> None:
            for target in pending:
                await polls.put(await _poll(fetcher, target, states.get(target.url), crawl_id))

        async def write_worker() -> None:
            finished = False
            while not finished:
                batch, finished = await _next_batch(polls)
                for poll, change in zip(batch, await record_polls(engine, batch), strict=True):
                    tally[change] += 1
                    tally[_REQUESTS] += poll.fetch.requests
                if progress is not None and batch:
                    progress(tally.total() - tally[_REQUESTS], len(targets))

        async with asyncio.TaskGroup() as group:
            writers = [group.create_task(write_worker()) for _ in range(_writer_count(engine))]
            fetchers = min(settings.concurrency, max(1, len(targets)))
            await asyncio.gather(*(fetch_worker() for _ in range(fetchers)))
            for _ in writers:
                await polls.put(None)
    return tally


async def _poll(
    fetcher: Fetcher, target: CrawlTarget, state: ServerState | None, crawl_id: int
) -> Poll:
    has_version = state is not None and state.current_version_id is not None
    result = await fetcher.fetch(
        target.url,
        etag=state.etag if state and has_version else None,
        last_modified=state.last_modified if state and has_version else None,
    )
    current_valid = state.current_valid if state and has_version else None
    return Poll(target, state, result, interpret(result, current_valid=current_valid), crawl_id)


async def _next_batch(polls: asyncio.Queue[Poll | None]) -> tuple[list[Poll], bool]:
    """The polls waiting now (at least one, at most _BATCH), and whether the queue has ended."""
    first = await polls.get()
    if first is None:
        return [], True
    batch = [first]
    while len(batch) < _BATCH and not polls.empty():
        poll = polls.get_nowait()
        if poll is None:
            return batch, True
        batch.append(poll)
    return batch, False


def _writer_count(engine: AsyncEngine) -> int:
    # SQLite has one writer at a time; Postgres takes several transactions in parallel.
    return 1 if engine.dialect.name == "sqlite" else 4

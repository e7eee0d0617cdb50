"""One crawl pass: fetch every target, interpret it, and record it, with bounded concurrency."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.domain import rules
from crawler.domain.findings import json_pointer
from crawler.domain.status import ServerStatus
from crawler.domain.targets import Target
from crawler.http.client import build_transport
from crawler.http.fetch import Fetcher
from crawler.http.politeness import HostLimiter
from crawler.pipeline import frontier
from crawler.pipeline.coverage import CoverageRead, read_listing, with_union_findings
from crawler.pipeline.incremental import with_carried_findings, with_spot_check
from crawler.pipeline.interpret import (
    CrawlTarget,
    stored_oauth_link,
)
from crawler.pipeline.once import OncePerPass
from crawler.pipeline.overlaps import report_authoritative_overlaps
from crawler.pipeline.poll import Change, Poll
from crawler.pipeline.poller import Poller
from crawler.pipeline.resources import LinkedReaders
from crawler.pipeline.robots_store import DatabaseRobotsStore
from crawler.pipeline.seedlists import refresh_seed_lists
from crawler.pipeline.snapshot import record_polls
from crawler.settings import Settings
from storage.repositories import (
    coverage_listings,
    coverage_pages,
    crawls,
    events,
    fetch_log,
    oauth,
    seeds,
    servers,
    snapshots,
    territories,
)
from storage.repositories.history import StoredResource
from storage.repositories.servers import ServerState

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
    servers_moved: int
    seed_lists: int
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
            "servers_moved": self.servers_moved,
            "seed_lists": self.seed_lists,
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
    """Fetch every seed (or only `only`), and every URL they link to, once; record it all.

    Failures of remote servers are recorded, never raised; a database failure aborts the pass.
    """
    clock = time.monotonic()
    started = datetime.now(UTC)
    async with engine.begin() as conn:
        crawl_id = await crawls.start(conn, started)
    async with build_transport(settings) as transport:
        robots = DatabaseRobotsStore(engine)
        fetcher = Fetcher(transport, settings, HostLimiter(settings), robots)
        lists_read, list_requests = (0, 0) if only else await refresh_seed_lists(engine, fetcher)
        async with engine.connect() as conn:
            known = await seeds.metadata_seeds(conn)
            targets = frontier.from_targets(only, known) if only else frontier.from_seeds(known)
            states = await servers.states_for(conn, [t.url for t in targets])
        await robots.prefetch(t.url for t in targets)
        pass_ = _Pass(
            settings, engine, crawl_id, states, progress, fetcher, recheck_moved=bool(only)
        )
        tally = await pass_.run(targets)
        await fetcher.flush()
    await report_authoritative_overlaps(engine)
    list_requests += fetcher.robots_requests
    summary = await _summary(engine, pass_, tally, lists_read, list_requests, clock)
    async with engine.begin() as conn:
        if settings.fetch_log_retention_days:
            cutoff = started - timedelta(days=settings.fetch_log_retention_days)
            await fetch_log.prune(conn, cutoff)
        await crawls.finish(conn, crawl_id, datetime.now(UTC), summary.to_json())
    return summary


@dataclass(frozen=True, slots=True)
class PassHooks:
    """How a pass the daemon runs differs from a crawl: the links it finds are scheduled
    (`found(via, urls, depth)`) rather than followed, and each batch of polls written is
    reported (`recorded(polls, changes)`)."""

    found: Callable[[str, tuple[str, ...], int], Awaitable[None]]
    recorded: Callable[[Sequence[Poll], Sequence[Change]], Awaitable[None]]


async def poll_targets(
    settings: Settings,
    engine: AsyncEngine,
    fetcher: Fetcher,
    targets: Sequence[CrawlTarget],
    hooks: PassHooks,
) -> CrawlSummary:
    """Poll `targets` (due, whether moved or not) as one recorded crawl, with `hooks`."""
    clock = time.monotonic()
    async with engine.begin() as conn:
        crawl_id = await crawls.start(conn, datetime.now(UTC))
    async with engine.connect() as conn:
        states = await servers.states_for(conn, [t.url for t in targets])
    pass_ = _Pass(settings, engine, crawl_id, states, None, fetcher, hooks=hooks)
    robots_before = fetcher.robots_requests
    tally = await pass_.run(targets)
    await fetcher.flush()
    robots = fetcher.robots_requests - robots_before
    summary = await _summary(engine, pass_, tally, 0, robots, clock)
    async with engine.begin() as conn:
        await crawls.finish(conn, crawl_id, datetime.now(UTC), summary.to_json())
    return summary


async def _summary(
    engine: AsyncEngine,
    pass_: _Pass,
    tally: Counter[str],
    lists_read: int,
    other_requests: int,  # seed lists, robots.txt files
    clock: float,
) -> CrawlSummary:
    async with engine.connect() as conn:
        written = await events.count_for_crawl(conn, pass_.poller.crawl_id)
    return CrawlSummary(
        crawl_id=pass_.poller.crawl_id,
        servers_seen=pass_.frontier.size,
        servers_new=tally[Change.NEW],
        servers_changed=tally[Change.CHANGED],
        servers_unchanged=tally[Change.UNCHANGED],
        servers_failed=tally[Change.FAILED],
        servers_moved=tally[Change.MOVED],
        seed_lists=lists_read,
        requests=tally[_REQUESTS] + other_requests + pass_.listing_requests + pass_.linked.requests,
        events=written,
        duration_s=time.monotonic() - clock,
    )


class _Pass:
    """One traversal: fetch workers take URLs from the frontier and hand polls to writers."""

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        crawl_id: int,
        states: dict[str, ServerState],
        progress: Progress | None,
        fetcher: Fetcher,
        *,
        recheck_moved: bool = False,
        hooks: PassHooks | None = None,
    ) -> None:
        self.settings = settings
        # URLs asked for by name, or due in the daemon, are fetched whether moved or not.
        self.recheck_moved = recheck_moved or hooks is not None
        self.hooks = hooks
        self.fetcher = fetcher
        self.linked = LinkedReaders(fetcher, settings)
        # A listing two documents share is read once; only a few recent, small ones are held.
        self.listings: OncePerPass[CoverageRead] = OncePerPass(
            keep=lambda r: len(r.entries) < 1000, max_kept=256
        )
        self.listing_requests = 0
        self.poller = Poller(fetcher, settings, crawl_id)
        self.engine = engine
        self.states = states
        self.progress = progress
        self.frontier = frontier.Frontier()
        self.tally: Counter[str] = Counter()
        self.polls: asyncio.Queue[Poll | None] = asyncio.Queue(maxsize=settings.concurrency)

    async def run(self, targets: Sequence[CrawlTarget]) -> Counter[str]:
        for target in targets:
            self.frontier.offer(target)
        async with asyncio.TaskGroup() as group:
            writers = [group.create_task(self._write()) for _ in range(_writer_count(self.engine))]
            fetchers = [
                group.create_task(self._fetch()) for _ in range(self.settings.servers_in_progress)
            ]
            await self.frontier.join()
            for task in fetchers:
                task.cancel()
            for _ in writers:
                await self.polls.put(None)
        return self.tally

    async def _fetch(self) -> None:
        while True:
            target = await self.frontier.take()
            try:
                state = self.states.get(target.url)
                if state is not None and self._resting(state):
                    assert state.moved_to is not None
                    self.tally[Change.MOVED] += 1
                    await self._offer(target.url, (state.moved_to,), target.depth)
                    continue
                poll = await self.poller.poll(target, state)
                poll = await self._with_coverage(poll)
                poll = await self._with_linked(poll)
                poll = await with_carried_findings(poll, self.engine)
                poll, links = self._links_to_follow(poll)
                await self.polls.put(poll)
                if poll.meaning.moved_to:  # the same entity at its new place: same depth
                    await self._offer(target.url, (poll.meaning.moved_to,), target.depth)
                await self._offer(target.url, links, target.depth + 1)
            finally:
                self.frontier.done()

    async def _with_coverage(self, poll: Poll) -> Poll:
        """The poll with its coverage listing read, when its document (new or unchanged) has
        one, or withdrawn when a new document no longer links the listing the last one did;
        a poll that got no document leaves the stored entries as they are."""
        snapshot, state = poll.meaning.snapshot, poll.state
        if snapshot is not None:
            url = snapshot.coverage_url
        else:
            url = state.current_coverage_url if state and poll.meaning.not_modified else None
        if url is None:
            withdrawn = snapshot is not None and state is not None and state.current_coverage_url
            return replace(poll, coverage=CoverageRead.withdrawn()) if withdrawn else poll
        # A new document may claim capabilities its entries must show: read its listing whole.
        whole = snapshot is not None and (state is None or state.current_sha256 != snapshot.sha256)
        read = await self.listings.get(url, lambda: self._read_listing(url, whole=whole))
        server_id = state.id if state else None
        read, requests = await with_spot_check(
            read, self.fetcher, self.engine, server_id, self.settings
        )
        self.listing_requests += requests
        document = snapshot.content if snapshot else await self._current_document(state)
        return replace(poll, coverage=with_union_findings(read, document, poll.target.url))

    async def _read_listing(self, url: str, *, whole: bool) -> CoverageRead:
        async with self.engine.connect() as conn:
            stored = await coverage_pages.of_listing(conn, url)
            since = None if whole else await coverage_listings.state_of(conn, url)
        read = await read_listing(self.fetcher, url, self.settings, stored, since)
        self.listing_requests += read.requests
        return read

    async def _with_linked(self, poll: Poll) -> Poll:
        """The poll with what its document links beyond the listing read: each entry's
        territory, its map checked, and the OAuth metadata."""
        snapshot, state = poll.meaning.snapshot, poll.state
        if snapshot is not None:
            link = snapshot.oauth_link
        elif state is not None and poll.meaning.not_modified:
            link = stored_oauth_link(
                state.current_oauth_url, state.current_oauth_well_known, state.url
            )
        else:
            return poll
        stored_territories, stored_oauth = await self._stored_resources(state)
        read = poll.coverage
        linked = await self.linked.read(
            read.entries if read else (),
            link,
            listing_complete=read is not None and read.complete,
            removed=read.absent if read else frozenset(),
            stored_territories=stored_territories,
            stored_oauth=stored_oauth,
        )
        return replace(poll, linked=linked)

    async def _stored_resources(
        self, state: ServerState | None
    ) -> tuple[dict[str, StoredResource], StoredResource | None]:
        if state is None or not state.has_linked_resources:
            return {}, None
        async with self.engine.connect() as conn:
            stored_territories = await territories.current(conn, [state.id])
            stored_oauth = await oauth.current(conn, [state.id])
        return stored_territories[state.id], stored_oauth.get(state.id)

    async def _current_document(self, state: ServerState | None) -> Any:
        if state is None or state.current_sha256 is None:
            return None
        async with self.engine.connect() as conn:
            return await snapshots.document_content(conn, state.current_sha256)

    def _links_to_follow(self, poll: Poll) -> tuple[Poll, tuple[str, ...]]:
        """The related_metadata links to follow (the last good version's when this poll got no
        document), and the poll with a finding if they lead past the depth bound."""
        snapshot, state = poll.meaning.snapshot, poll.state
        links = snapshot.links if snapshot else state.current_links if state else ()
        if not links or poll.target.depth < self.settings.max_link_depth:
            return poll, links
        finding = rules.LINKS_TOO_DEEP.finding(
            poll.fetch.final_url,
            json_pointer("related_metadata"),
            f"{len(links)} related metadata URLs are {poll.target.depth + 1} links from a seed; "
            f"at most {self.settings.max_link_depth} are followed",
        )
        meaning = replace(poll.meaning, findings=(*poll.meaning.findings, finding))
        return replace(poll, meaning=meaning), ()

    def _resting(self, state: ServerState) -> bool:
        """A moved URL is checked again only after `moved_recheck_interval`: the spec keeps
        the redirect in place for years, and its target is what is crawled meanwhile."""
        if self.recheck_moved or state.status != ServerStatus.MOVED or state.moved_to is None:
            return False
        if state.last_fetched is None:
            return False
        age = datetime.now(UTC) - state.last_fetched
        return age < timedelta(seconds=self.settings.moved_recheck_interval)

    async def _offer(self, via: str, urls: tuple[str, ...], depth: int) -> None:
        """Queue the URLs that `via` led to (with their stored state), once per pass; or,
        in a pass with hooks, hand them over to be scheduled."""
        if self.hooks is not None:
            if urls:
                await self.hooks.found(via, urls, depth)
            return
        new = self.frontier.unseen(urls)
        if not new:
            return
        async with self.engine.connect() as conn:
            self.states.update(await servers.states_for(conn, new))
        for url in new:
            self.frontier.offer(CrawlTarget(url, via, None, depth))

    async def _write(self) -> None:
        finished = False
        while not finished:
            batch, finished = await _next_batch(self.polls)
            changes = await record_polls(self.engine, batch, flap_window=self.poller.flap_window)
            if self.hooks is not None and batch:
                await self.hooks.recorded(batch, changes)
            for poll, change in zip(batch, changes, strict=True):
                self.tally[change] += 1
                self.tally[_REQUESTS] += sum(f.requests for f in (*poll.retried, poll.fetch))
            if self.progress is not None and batch:
                self.progress(self.tally.total() - self.tally[_REQUESTS], self.frontier.size)


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

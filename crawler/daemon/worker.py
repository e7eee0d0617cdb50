"""One worker's polling: lease hosts with due work, poll their due targets as one recorded
crawl, schedule each target's next poll, give the hosts back."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.daemon.metrics import Metrics
from crawler.daemon.sharing import SharedHosts
from crawler.domain.availability import is_transient
from crawler.domain.schedule import Cadence, Outcome, next_poll
from crawler.domain.status import ServerStatus
from crawler.domain.targets import host_key
from crawler.http.fetch import Fetcher
from crawler.pipeline.crawl import PassHooks, poll_targets
from crawler.pipeline.interpret import CrawlTarget
from crawler.pipeline.poll import Change, Poll
from crawler.pipeline.robots_store import DatabaseRobotsStore
from crawler.settings import Settings
from storage.repositories import schedule
from storage.repositories.schedule import Due, Polled

log = structlog.get_logger("cds_crawler.daemon")


@dataclass(slots=True)
class _Round:
    """The hosts one round leased, their due targets, and what their polls said."""

    due: dict[str, Due]
    host_polls: dict[str, int] = field(default_factory=dict)
    host_failures: dict[str, int] = field(default_factory=dict)
    recorded: int = 0  # targets whose polls are recorded
    pauses: dict[str, datetime] = field(default_factory=dict)

    def note(self, host: str, failed: bool, retry_after: datetime | None) -> None:
        self.host_polls[host] = self.host_polls.get(host, 0) + 1
        self.host_failures[host] = self.host_failures.get(host, 0) + failed
        if retry_after is not None:
            self.pauses[host] = max(retry_after, self.pauses.get(host, retry_after))

    def failing_hosts(self) -> list[str]:
        """Hosts every poll of which failed: they slow down as a whole."""
        return [h for h, polls in self.host_polls.items() if self.host_failures[h] == polls]


class Worker:
    """Polls due work until told to stop; several may share one Postgres database."""

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        fetcher: Fetcher,
        owner: str,
        metrics: Metrics,
        robots: DatabaseRobotsStore,
        shared: SharedHosts,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.fetcher = fetcher
        self.robots = robots  # the fetcher's, read ahead for each round
        self.shared = shared  # the fetcher's gate, told which hosts this worker leases
        self.owner = owner
        self.metrics = metrics
        self.cadence = Cadence.of(settings)
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.rng = random.Random()
        self.polled = 0  # targets polled since start
        self.in_flight = 0  # targets claimed and not yet recorded
        self._room = asyncio.Event()  # set when targets are recorded or a round ends

    async def run(self, stopping: asyncio.Event, idle_s: float = 1.0) -> None:
        """Claim and poll until `stopping` is set, then let the rounds in flight end.

        Up to `servers_in_progress` targets are in flight at once, in rounds that overlap at
        their tails: a new round claims hosts as soon as three quarters of that room are free,
        so a few slow hosts hold back their own round only, never the worker's next claim.
        Smaller, more frequent rounds would cost more than they gain: each is a recorded
        crawl whose writes are batched on their own.
        """
        rounds: set[asyncio.Task[None]] = set()
        wait_s = idle_s
        try:
            while not stopping.is_set():
                self._room.clear()  # what is recorded from here on wakes the wait below
                room = self.batch - self.in_flight
                started = 0
                if room >= max(1, self.batch * 3 // 4) or not rounds:
                    try:
                        started = await self._start_round(room, rounds)
                        wait_s = idle_s
                    except Exception:
                        # The database went away, say: what was not recorded stays due; try
                        # again, less often while it keeps failing.
                        log.exception("claim failed")
                        wait_s = min(60.0, wait_s * 2)
                if not started:
                    await self._until_room(stopping, wait_s)
        except asyncio.CancelledError:
            for task in rounds:
                task.cancel()  # each gives its hosts back; what it did not record stays due
            await asyncio.gather(*rounds, return_exceptions=True)
            raise
        # Stopping: the rounds in flight end (cancelling this wait cancels them too).
        await asyncio.gather(*rounds)

    @property
    def batch(self) -> int:
        return self.settings.servers_in_progress

    async def _start_round(self, room: int, rounds: set[asyncio.Task[None]]) -> int:
        """Lease up to `room` hosts with due work and start polling them; the targets due."""
        now = datetime.now(UTC)
        async with self.engine.begin() as conn:
            leased = await schedule.claim(conn, self.owner, room, self.lease, now)
        if not leased:
            return 0
        self.metrics.leases_held.inc(len(leased))
        self.shared.leased(leased)
        try:
            async with self.engine.connect() as conn:
                due = {d.url: d for d in await schedule.due_targets(conn, leased, now)}
        except BaseException:
            await self._release(leased, _Round({}))
            raise
        work = _Round(due)
        self.in_flight += len(due)
        task = asyncio.create_task(self._round(leased, work))
        rounds.add(task)
        task.add_done_callback(rounds.discard)
        return len(due)

    async def _round(self, leased: Sequence[str], work: _Round) -> None:
        """Poll the round's due targets, then give its hosts back."""
        try:
            if work.due:
                await self._poll(leased, work)
        except Exception:
            log.exception("round failed")  # what was not recorded stays due
        finally:
            self.in_flight -= len(work.due) - work.recorded
            self._room.set()
            await self._release(leased, work)
            self.metrics.leases_held.dec(len(leased))
            self.polled += work.recorded

    async def _until_room(self, stopping: asyncio.Event, wait_s: float) -> None:
        """Until a round records polls or ends, `stopping` is set, or `wait_s` pass."""
        waiters = [asyncio.create_task(stopping.wait()), asyncio.create_task(self._room.wait())]
        try:
            await asyncio.wait(waiters, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _poll(self, leased: Sequence[str], work: _Round) -> None:
        targets = [
            CrawlTarget(d.url, d.via or d.url, d.seed_id, d.depth) for d in work.due.values()
        ]
        hooks = PassHooks(found=self._found, recorded=lambda p, c: self._recorded(work, p, c))
        await self.robots.prefetch(work.due)
        renewing = asyncio.create_task(self._renew(leased))
        try:
            summary = await poll_targets(self.settings, self.engine, self.fetcher, targets, hooks)
        finally:
            renewing.cancel()
        self.metrics.requests.inc(summary.requests)
        log.info(
            "round",
            hosts=len(leased),
            polled=summary.servers_seen,
            changed=summary.servers_new + summary.servers_changed,
            failed=summary.servers_failed,
            requests=summary.requests,
            events=summary.events,
            duration_s=round(summary.duration_s, 3),
        )

    async def _renew(self, leased: Sequence[str]) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            async with self.engine.begin() as conn:
                lost = await schedule.renew(conn, self.owner, leased, self.lease, datetime.now(UTC))
            if lost:
                self.shared.released(lost)
                log.warning("leases lost", hosts=lost)

    async def _release(self, leased: Sequence[str], work: _Round) -> None:
        now = datetime.now(UTC)
        pauses = dict(work.pauses)
        for host in work.failing_hosts():
            # Every poll of the host failed: the host waits as its targets do.
            failing = [d for d in work.due.values() if d.host == host]
            backoff = self.cadence.min_s * 2.0 ** min(f.failures for f in failing)
            until = now + timedelta(seconds=min(backoff, self.cadence.max_s))
            pauses[host] = max(until, pauses.get(host, until))
        self.shared.released(leased)
        async with self.engine.begin() as conn:
            await schedule.release(conn, self.owner, leased, pauses)

    async def _found(self, via: str, urls: tuple[str, ...], depth: int) -> None:
        """Links and migration targets: scheduled, due now, for whichever worker leases them."""
        rows = [
            {"url": url, "host": host_key(url), "seed_id": None, "via": via, "depth": depth}
            for url in urls
        ]
        async with self.engine.begin() as conn:
            await schedule.add(conn, rows, datetime.now(UTC))

    async def _recorded(
        self, work: _Round, polls: Sequence[Poll], changes: Sequence[Change]
    ) -> None:
        now = datetime.now(UTC)
        polled = []
        for poll, change in zip(polls, changes, strict=True):
            due = work.due.get(poll.target.url)
            if due is None:
                continue
            polled.append(self._next(due, poll, change, work, now))
            self._count(poll, change)
        async with self.engine.begin() as conn:
            await schedule.reschedule(conn, polled)
        work.recorded += len(polled)
        self.in_flight -= len(polled)
        self._room.set()

    def _next(self, due: Due, poll: Poll, change: Change, work: _Round, now: datetime) -> Polled:
        outcome = _outcome(poll, change)
        failures = due.failures + 1 if outcome is Outcome.FAILED else 0
        retry_after = poll.fetch.retry_after_s
        fresh_for = poll.fetch.fresh_for_s
        if change is Change.MOVED:
            fresh_for = max(fresh_for or 0.0, float(self.settings.moved_recheck_interval))
        chosen = next_poll(
            due.interval_s or None,
            outcome,
            failures,
            self.cadence,
            fresh_for_s=fresh_for,
            retry_after_s=retry_after,
            rng=self.rng,
        )
        pause = None
        if retry_after is not None:
            pause = now + timedelta(seconds=min(retry_after, self.cadence.max_retry_after_s))
        work.note(due.host, outcome is Outcome.FAILED, pause)
        return Polled(
            due.url, now + timedelta(seconds=chosen.delay_s), chosen.interval_s, failures, now
        )

    def _count(self, poll: Poll, change: Change) -> None:
        self.metrics.polls.labels(change.value).inc()
        for fetch in (*poll.retried, poll.fetch):
            self.metrics.fetches.labels(fetch.outcome.value).inc()
            self.metrics.fetch_seconds.observe(fetch.duration_s)


def _outcome(poll: Poll, change: Change) -> Outcome:
    if change in (Change.NEW, Change.CHANGED):
        return Outcome.CHANGED
    if change is Change.FAILED and poll.meaning.status is ServerStatus.NOT_FOUND:
        return Outcome.ABSENT
    if change is Change.FAILED and is_transient(poll.fetch):
        return Outcome.FAILED
    return Outcome.UNCHANGED

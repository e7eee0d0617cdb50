"""`cds-crawler run`: the worker's polling loop, with APScheduler running the periodic jobs
beside it (seeds onto the schedule, remote seed lists, event delivery, retention, overlap
reports, metrics), until SIGTERM or SIGINT.

APScheduler 3's job stores must not be shared between processes, so each worker keeps its
jobs in memory; what must happen once across workers is decided in the database (leases
for polling, advisory locks for the periodic jobs).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.daemon.exclusive import singleton
from crawler.daemon.metrics import Metrics
from crawler.daemon.ops import OpsServer
from crawler.daemon.sharing import SharedHosts
from crawler.daemon.worker import Worker
from crawler.delivery.deliver import deliver_pending
from crawler.delivery.sinks import Sink, configured_sinks
from crawler.domain.targets import host_key
from crawler.http.client import build_transport
from crawler.http.fetch import Fetcher
from crawler.http.politeness import HostLimiter
from crawler.pipeline.overlaps import report_authoritative_overlaps
from crawler.pipeline.robots_store import DatabaseRobotsStore
from crawler.pipeline.seedlists import refresh_seed_lists
from crawler.settings import Settings
from storage.repositories import events, fetch_log, schedule

log = structlog.get_logger("cds_crawler.daemon")

SEED_SYNC_S = 10.0  # how soon a seed added while the daemon runs is scheduled
METRICS_S = 15.0
OVERLAPS_S = 3600.0
RETENTION_S = 86400.0


class Daemon:
    def __init__(self, settings: Settings, engine: AsyncEngine) -> None:
        self.settings = settings
        self.engine = engine
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.metrics = Metrics()
        self.sinks: list[Sink] = configured_sinks(settings)
        self.stopping = asyncio.Event()
        self.started = time.monotonic()
        self.polling: asyncio.Task[None] | None = None
        self.delivering = asyncio.Lock()

    async def run(self) -> None:
        """Poll and run the periodic jobs until SIGTERM or SIGINT; then stop claiming, give
        the round in flight `stop_grace` seconds, deliver what it wrote, and return."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopping.set)
        ops = self._ops()
        try:
            async with build_transport(self.settings) as transport:
                limiter = HostLimiter(self.settings)
                robots = DatabaseRobotsStore(self.engine)
                shared = SharedHosts(self.engine, self.owner, self.settings, self.metrics)
                fetcher = Fetcher(transport, self.settings, limiter, robots, shared)
                worker = Worker(
                    self.settings, self.engine, fetcher, self.owner, self.metrics, robots, shared
                )
                jobs = self._jobs(fetcher)
                await self._schedule_seeds()
                log.info("started", worker=self.owner, sinks=[s.name for s in self.sinks])
                jobs.start()
                self.polling = asyncio.create_task(worker.run(self.stopping))
                await self._until_stopped()
                jobs.shutdown(wait=False)
                await self._finish(self.polling)
                await self._deliver()
                log.info("stopped", worker=self.owner, polled=worker.polled)
        finally:
            for sink in self.sinks:
                await sink.close()
            if ops is not None:
                ops.stop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)

    async def _until_stopped(self) -> None:
        assert self.polling is not None
        stop = asyncio.create_task(self.stopping.wait())
        await asyncio.wait({stop, self.polling}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if self.polling.done() and not self.polling.cancelled():
            self.polling.result()  # the loop only ends on stop; anything else is a failure

    async def _finish(self, polling: asyncio.Task[None]) -> None:
        """Let the round in flight end within the grace period, else cancel it: what it did
        not record stays due, and its leases are given back."""
        try:
            await asyncio.wait_for(asyncio.shield(polling), self.settings.stop_grace)
        except TimeoutError:
            log.warning("grace period over; the round in flight is abandoned")
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await polling

    def _jobs(self, fetcher: Fetcher) -> AsyncIOScheduler:
        jobs = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)

        def every(seconds: float, job: Callable[[], Awaitable[Any]], first: datetime) -> None:
            jobs.add_job(
                _logged(job),
                "interval",
                seconds=seconds,
                next_run_time=first,
                max_instances=1,
                coalesce=True,
                jitter=max(1, int(seconds / 10)),
            )

        every(SEED_SYNC_S, self._schedule_seeds, now + timedelta(seconds=SEED_SYNC_S))
        every(self.settings.seed_refresh_interval, lambda: self._refresh_lists(fetcher), now)
        every(self.settings.delivery_interval, self._deliver, now)
        every(METRICS_S, self._observe, now)
        every(OVERLAPS_S, self._overlaps, now + timedelta(seconds=OVERLAPS_S))
        every(RETENTION_S, self._retention, now + timedelta(minutes=5))
        return jobs

    async def _schedule_seeds(self) -> None:
        """Put every metadata seed the schedule lacks on it, due now."""
        async with self.engine.begin() as conn:
            new = await schedule.unscheduled_seeds(conn)
            rows = [
                {"url": url, "host": host_key(url), "seed_id": seed_id, "via": None, "depth": 0}
                for seed_id, url in new
            ]
            await schedule.add(conn, rows, datetime.now(UTC))
        if rows:
            log.info("seeds scheduled", count=len(rows))

    async def _refresh_lists(self, fetcher: Fetcher) -> None:
        async with singleton(self.engine, "seed-lists") as mine:
            if mine:
                lists, requests = await refresh_seed_lists(self.engine, fetcher)
                if lists:
                    log.info("seed lists read", lists=lists, requests=requests)
                await self._schedule_seeds()

    async def _deliver(self) -> None:
        if not self.sinks:
            return
        # The last delivery on stop waits for a periodic one in flight, then sends the rest:
        # run side by side, both would send the same batch.
        async with self.delivering, singleton(self.engine, "delivery") as mine:
            if mine:
                reports = await deliver_pending(self.engine, self.sinks)
                delivered = {name: r.delivered for name, r in reports.items() if r.delivered}
                if delivered:
                    log.info("events delivered", sinks=delivered)

    async def _overlaps(self) -> None:
        async with singleton(self.engine, "overlaps") as mine:
            if mine:
                await report_authoritative_overlaps(self.engine)

    async def _retention(self) -> None:
        async with singleton(self.engine, "retention") as mine:
            if not mine:
                return
            async with self.engine.begin() as conn:
                if self.settings.fetch_log_retention_days:
                    cutoff = datetime.now(UTC) - timedelta(
                        days=self.settings.fetch_log_retention_days
                    )
                    await fetch_log.prune(conn, cutoff)
                await schedule.forget_hosts_without_targets(conn)

    async def _observe(self) -> None:
        async with self.engine.connect() as conn:
            seen = await schedule.frontier(conn, datetime.now(UTC))
            pending = await events.pending(conn, [sink.name for sink in self.sinks])
        self.metrics.frontier_targets.set(seen.targets)
        self.metrics.frontier_due.set(seen.due)
        self.metrics.frontier_lag.set(seen.lag_s)
        self.metrics.leased_hosts.set(seen.leased_hosts)
        for name, count in pending.items():
            self.metrics.events_pending.labels(name).set(count)

    def _ops(self) -> OpsServer | None:
        if self.settings.http_port == 0:
            return None
        ops = OpsServer(self.settings.http_port, self.metrics.registry, self._health)
        ops.start()
        log.info("serving /healthz and /metrics", port=ops.port)
        return ops

    def _health(self) -> tuple[bool, dict[str, Any]]:
        polling = self.polling
        alive = polling is not None and not polling.done()
        detail = {
            "worker": self.owner,
            "stopping": self.stopping.is_set(),
            "uptime_s": round(time.monotonic() - self.started, 1),
        }
        return alive and not self.stopping.is_set(), detail


def _logged(job: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[None]]:
    """The job, with its failures logged instead of lost in the scheduler; the daemon goes on
    (a job that fails now, for example while the database restarts, runs again later)."""

    async def run() -> None:
        try:
            await job()
        except Exception:
            log.exception("job failed", job=getattr(job, "__name__", repr(job)))

    return run

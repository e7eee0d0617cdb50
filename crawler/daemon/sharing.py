"""Per-host limits across workers for the hosts a worker has not leased.

A worker's leases cover the hosts of its targets, and everything it fetches from them. A
resource on another host (a CDN serving several servers' territories, a data hub's listing)
is fetched on a lease borrowed for that one request, so that two workers never talk to such
a host at once, their requests to it stay spaced by the per-host rate, and a Retry-After it
answers holds for all of them.
"""

from __future__ import annotations

import asyncio
import random
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from storage.repositories import schedule

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable

    from sqlalchemy.ext.asyncio import AsyncEngine

    from crawler.daemon.metrics import Metrics
    from crawler.settings import Settings

log = structlog.get_logger("cds_crawler.daemon")

_FIRST_RETRY_S = 0.05
_LAST_RETRY_S = 1.0


class SharedHosts:
    """The `HostGate` of a daemon worker: `hold(host)` returns at once for a host the worker
    leased, and otherwise borrows the host's lease for the block.

    A borrower waits while another worker holds the host, at most `request_deadline`
    seconds; after that it fetches under its own limits only and logs it. Waiting longer
    could deadlock two workers that each hold a host the other needs. On SQLite, where a
    second worker cannot run, nothing is borrowed.
    """

    def __init__(
        self, engine: AsyncEngine, owner: str, settings: Settings, metrics: Metrics
    ) -> None:
        self._engine = engine
        self._alone = engine.dialect.name == "sqlite"
        self._owner = owner
        self._metrics = metrics
        self._hold = timedelta(seconds=settings.lease_seconds)
        self._spacing = timedelta(seconds=1.0 / settings.per_host_rate)
        self._max_pause_s = float(settings.max_retry_after)
        self._pauses: dict[str, float] = {}  # Retry-After of borrowed hosts, until given back
        self._patience_s = settings.request_deadline
        self._leased: set[str] = set()
        self._turns: dict[str, tuple[asyncio.Lock, int]] = {}
        self._rng = random.Random()

    def leased(self, hosts: Iterable[str]) -> None:
        """The worker now holds leases on these hosts."""
        self._leased.update(hosts)

    def released(self, hosts: Iterable[str]) -> None:
        """The worker no longer holds leases on these hosts."""
        self._leased.difference_update(hosts)

    def paused(self, host: str, seconds: float) -> None:
        if not self._alone and host not in self._leased:
            pause = min(seconds, self._max_pause_s)
            self._pauses[host] = max(pause, self._pauses.get(host, pause))

    @asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        if self._alone or host in self._leased:
            yield
            return
        async with self._turn(host):
            borrowed = await self._borrow(host)
            try:
                yield
            finally:
                # A Retry-After heard while not borrowing cannot be handed on: dropped here.
                pause_s = self._pauses.pop(host, 0.0)
                if borrowed:
                    await self._give_back(host, pause_s)

    async def _borrow(self, host: str) -> bool:
        give_up_at = time.monotonic() + self._patience_s
        wait_s = _FIRST_RETRY_S
        while True:
            async with self._engine.begin() as conn:
                if await schedule.borrow(conn, self._owner, host, self._hold, datetime.now(UTC)):
                    return True
            left_s = give_up_at - time.monotonic()
            if left_s <= 0:
                self._metrics.shared_host_waits_exceeded.inc()
                log.warning("shared host busy; fetching under this worker's limits", host=host)
                return False
            await asyncio.sleep(min(left_s, wait_s * self._rng.uniform(0.5, 1.0)))
            wait_s = min(_LAST_RETRY_S, wait_s * 2)

    async def _give_back(self, host: str, pause_s: float) -> None:
        pause = max(self._spacing, timedelta(seconds=pause_s))

        # Shielded: a cancelled fetch must not leave the host held until the lease expires.
        async def give_back() -> None:
            async with self._engine.begin() as conn:
                await schedule.give_back(conn, self._owner, host, pause, datetime.now(UTC))

        await asyncio.shield(give_back())

    @asynccontextmanager
    async def _turn(self, host: str) -> AsyncIterator[None]:
        """One borrower per host in this worker: the others wait here, not on the database."""
        lock, users = self._turns.get(host, (asyncio.Lock(), 0))
        self._turns[host] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._turns[host]
            if users == 1:
                del self._turns[host]
            else:
                self._turns[host] = (lock, users - 1)

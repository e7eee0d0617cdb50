"""Politeness: how many requests may be in flight, and how often, per host and in all."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from aiolimiter import AsyncLimiter

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from contextlib import AbstractAsyncContextManager

    from crawler.settings import Settings

_MIN_SWEEP_SIZE = 256


class HostGate(Protocol):
    """What a request to a host must hold beyond this process's limits (the daemon's
    workers coordinate through their database)."""

    def hold(self, host: str) -> AbstractAsyncContextManager[None]: ...

    def paused(self, host: str, seconds: float) -> None:
        """The request held (not yet released) was answered with Retry-After `seconds`."""


@dataclass(slots=True)
class _HostState:
    semaphore: asyncio.Semaphore
    rate: AsyncLimiter
    users: int = field(default=0)

    def is_idle(self) -> bool:
        # An unused, fully drained bucket behaves exactly like a new one, so dropping it
        # loses nothing.
        return self.users == 0 and self.rate.has_capacity(self.rate.max_rate)


def _rate_limiter(per_second: float) -> AsyncLimiter:
    # AsyncLimiter cannot hand out a whole request when max_rate < 1: stretch the period.
    if per_second >= 1:
        return AsyncLimiter(per_second, 1.0)
    return AsyncLimiter(1, 1.0 / per_second)


class HostLimiter:
    """Per-host concurrency and rate limits plus a process-wide concurrency limit.

    `async with limiter.slot(host): ...` waits until `host` has fewer than
    `settings.per_host_concurrency` requests in flight, until its rate (`settings.per_host_rate`
    per second) allows another request, and until fewer than `settings.concurrency` requests are
    in flight in all. Hosts are keyed by whatever string the caller passes ("host:port" in the
    fetcher). State for hosts that fell idle is dropped, so memory stays bounded by the hosts
    in recent use. Use one limiter from one event loop.
    """

    def __init__(self, settings: Settings) -> None:
        self._per_host = settings.per_host_concurrency
        self._rate = settings.per_host_rate
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, _HostState] = {}
        self._sweep_size = _MIN_SWEEP_SIZE

    @property
    def tracked_hosts(self) -> int:
        """How many hosts currently hold state (in use or not yet swept)."""
        return len(self._hosts)

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold one request slot for `host` for the duration of the block. Raises nothing of
        its own; cancellation while waiting releases whatever was acquired."""
        state = self._enter(host)
        try:
            # Host limits first: waiting for a busy host must not hold a global slot.
            async with state.semaphore:
                await state.rate.acquire()
                async with self._global:
                    yield
        finally:
            state.users -= 1

    def _enter(self, host: str) -> _HostState:
        state = self._hosts.get(host)
        if state is None:
            if len(self._hosts) >= self._sweep_size:
                self._sweep()
            state = _HostState(asyncio.Semaphore(self._per_host), _rate_limiter(self._rate))
            self._hosts[host] = state
        state.users += 1
        return state

    def _sweep(self) -> None:
        self._hosts = {h: s for h, s in self._hosts.items() if not s.is_idle()}
        self._sweep_size = max(_MIN_SWEEP_SIZE, 2 * len(self._hosts))

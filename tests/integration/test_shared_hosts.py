"""Two daemon workers' fetchers on one Postgres database and a host neither has leased: they
borrow it one request at a time, and a Retry-After it answers one of them holds for both.

Postgres only: on SQLite no second worker can run, so nothing is borrowed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.daemon.metrics import Metrics
from crawler.daemon.sharing import SharedHosts
from crawler.domain.fetching import FetchOutcome
from crawler.http.client import build_transport
from crawler.http.fetch import Fetcher
from crawler.http.politeness import HostLimiter
from crawler.settings import Settings
from crawler.testing import LoopbackServer, Request, Response
from storage.engine import create_engine

SETTINGS = Settings(
    allow_http=True,
    allow_private_networks=True,
    respect_robots_txt=False,
    per_host_rate=1000.0,
    per_host_concurrency=8,
    request_deadline=10.0,
)


@pytest.fixture
async def engine(postgres_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_database)
    yield engine
    await engine.dispose()


async def fetch(engine: AsyncEngine, owner: str, url: str) -> FetchOutcome:
    shared = SharedHosts(engine, owner, SETTINGS, Metrics())
    async with build_transport(SETTINGS) as transport:
        fetcher = Fetcher(transport, SETTINGS, HostLimiter(SETTINGS), gate=shared)
        return (await fetcher.fetch(url)).outcome


async def test_workers_borrow_a_shared_host_one_request_at_a_time(engine: AsyncEngine) -> None:
    async def slow(_request: Request, _writer: asyncio.StreamWriter) -> Response:
        await asyncio.sleep(0.1)
        return Response.json({})

    async with LoopbackServer() as server:
        server.route("/t.geojson", slow)
        url = server.url("/t.geojson")
        outcomes = await asyncio.gather(*(fetch(engine, f"w{n % 2}", url) for n in range(6)))

    assert outcomes == [FetchOutcome.OK] * 6
    assert server.max_in_flight == 1


async def test_a_retry_after_one_worker_was_given_holds_for_the_other(engine: AsyncEngine) -> None:
    answered: list[tuple[str, float]] = []

    async def busy_once(request: Request, _writer: asyncio.StreamWriter) -> Response:
        answered.append((request.path, time.monotonic()))
        if len(answered) == 1:
            return Response(429, b"slow down", {"Retry-After": "2"})
        return Response.json({})

    async with LoopbackServer() as server:
        server.route("/t.geojson", busy_once)
        url = server.url("/t.geojson")
        assert await fetch(engine, "a", url) == FetchOutcome.HTTP_ERROR
        assert await fetch(engine, "b", url) == FetchOutcome.OK

    (_, first), (_, second) = answered
    assert second - first >= 1.9  # b waited for the pause a was asked for

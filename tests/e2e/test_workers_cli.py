"""Several `cds-crawler run` workers on one Postgres database: each due target is fetched
exactly once, no host ever sees more than its concurrent-request limit across all of them,
and when one is SIGKILLed the others finish its share once its leases expire."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from crawler.testing import LoopbackServer, Request, Response
from storage.reader import open_reader
from tests.cli import run_cli
from tests.daemon import Daemon, running_daemon, wait_for
from tests.federation import LOOPBACK, metadata_document

HOSTS = 100
PER_HOST = 5  # metadata URLs on each host: 500 in all
LIMIT = 2  # CDS_CRAWLER_PER_HOST_CONCURRENCY
LEASE_S = 5
WORKER = {
    "CDS_CRAWLER_POLL_MIN_INTERVAL": "3600",  # one poll of each target per test
    "CDS_CRAWLER_POLL_MAX_INTERVAL": "7200",
    "CDS_CRAWLER_CONCURRENCY": "4",  # 16 hosts leased at a time: the work is shared out
    "CDS_CRAWLER_PER_HOST_CONCURRENCY": str(LIMIT),
    "CDS_CRAWLER_PER_HOST_RATE": "1000",
    "CDS_CRAWLER_LEASE_SECONDS": str(LEASE_S),
}


class Federation:
    """500 metadata URLs on 100 loopback addresses; each answer takes `delay_s`, and the
    requests in flight are counted per address."""

    def __init__(self, delay_s: float) -> None:
        self.server = LoopbackServer([f"127.0.1.{n}" for n in range(1, HOSTS + 1)])
        self.delay_s = delay_s
        self.in_flight: Counter[str] = Counter()
        self.most_in_flight: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()

    def urls(self) -> list[str]:
        return [
            self.server.url(f"/utility-{n}.json", host)
            for host in self.server.hosts
            for n in range(PER_HOST)
        ]

    def route(self) -> None:
        for n in range(PER_HOST):
            self.server.route(f"/utility-{n}.json", self._answer)

    async def _answer(self, request: Request, _writer: asyncio.StreamWriter) -> Response:
        host = request.local_host
        url = f"http://{host}:{self.server.port}{request.path}"
        self.requests[url] += 1
        self.in_flight[host] += 1
        self.most_in_flight[host] = max(self.most_in_flight[host], self.in_flight[host])
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self.in_flight[host] -= 1
        return Response.json(metadata_document(url))


@pytest.fixture
def federation(request: pytest.FixtureRequest) -> Iterator[Federation]:
    running = Federation(getattr(request, "param", 0.05))
    stop = running.server.start_in_thread()
    running.route()
    try:
        yield running
    finally:
        stop()


def seed_all(database_url: str, federation: Federation, tmp_path: Path) -> list[str]:
    urls = federation.urls()
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("\n".join(urls) + "\n")
    added = run_cli(database_url, "seeds", "import", str(seeds), env=LOOPBACK)
    assert added.code == 0, added.stderr
    return urls


def polled(database_url: str) -> int:
    with open_reader(database_url) as reader:
        rows = reader.rows("SELECT count(*) AS n FROM schedule WHERE last_polled_at IS NOT NULL")
    return int(rows[0]["n"])


def start_workers(stack: ExitStack, database_url: str, tmp_path: Path, count: int) -> list[Daemon]:
    return [
        stack.enter_context(running_daemon(database_url, tmp_path / f"worker-{n}.log", **WORKER))
        for n in range(count)
    ]


def rounds(worker: Daemon) -> int:
    return sum(1 for line in worker.log_lines() if line["event"] == "round")


def test_three_workers_fetch_every_due_target_once_within_each_host_s_limit(
    postgres_database: str, federation: Federation, tmp_path: Path
) -> None:
    urls = seed_all(postgres_database, federation, tmp_path)

    with ExitStack() as stack:
        workers = start_workers(stack, postgres_database, tmp_path, 3)
        wait_for("every target polled", lambda: polled(postgres_database) == len(urls), 120)
        time.sleep(1.5)  # anything fetched twice would show by now
        codes = [worker.stop() for worker in workers]

    assert codes == [0, 0, 0]
    assert sorted(federation.requests) == sorted(urls)
    assert set(federation.requests.values()) == {1}
    assert max(federation.most_in_flight.values()) == LIMIT  # reached, never passed
    assert all(rounds(worker) > 0 for worker in workers)  # the work was shared


@pytest.mark.parametrize("federation", [0.3], indirect=True)
def test_a_killed_worker_s_share_is_finished_by_the_others_after_its_leases_expire(
    postgres_database: str, federation: Federation, tmp_path: Path
) -> None:
    urls = seed_all(postgres_database, federation, tmp_path)

    with ExitStack() as stack:
        workers = start_workers(stack, postgres_database, tmp_path, 3)
        wait_for("polls under way", lambda: sum(federation.requests.values()) >= 30, 60)
        workers[0].kill()
        killed_at = time.monotonic()
        wait_for("every target polled", lambda: polled(postgres_database) == len(urls), 120)
        finished_after = time.monotonic() - killed_at
        codes = [worker.stop() for worker in workers[1:]]

    assert codes == [0, 0]
    assert sorted(federation.requests) == sorted(urls)
    assert max(federation.requests.values()) <= 2  # at most once more: what it had in flight
    assert max(federation.most_in_flight.values()) <= LIMIT
    assert finished_after < LEASE_S + 30  # its leases expired, then its hosts were polled


def test_a_slow_host_holds_back_only_its_own_round(postgres_database: str, tmp_path: Path) -> None:
    """Three hosts answer after 20 s, sixty at once: with 16 targets leased at a time, the
    worker keeps claiming the fast hosts while the slow ones are still answering."""
    slow, fast = 3, 60
    server = LoopbackServer([f"127.0.3.{n}" for n in range(1, slow + fast + 1)])
    answering: Counter[str] = Counter()

    async def answer(request: Request, _writer: asyncio.StreamWriter) -> Response:
        url = f"http://{request.local_host}:{server.port}{request.path}"
        if request.local_host in server.hosts[:slow]:
            answering[url] += 1
            await asyncio.sleep(20)
        return Response.json(metadata_document(url))

    stop = server.start_in_thread()
    server.route("/utility.json", answer)
    try:
        urls = [server.url("/utility.json", host) for host in server.hosts]
        seeds = tmp_path / "seeds.txt"
        seeds.write_text("\n".join(urls) + "\n")
        assert run_cli(postgres_database, "seeds", "import", str(seeds), env=LOOPBACK).code == 0
        grace = {"CDS_CRAWLER_STOP_GRACE": "1"}  # the slow answers are abandoned on stop
        with running_daemon(
            postgres_database, tmp_path / "worker.log", **WORKER, **grace
        ) as worker:
            wait_for("the fast hosts polled", lambda: polled(postgres_database) == fast, 15)
            assert sum(answering.values()) == slow  # the slow ones are still answering
            assert worker.stop(timeout=60) == 0
    finally:
        stop()


def test_a_host_that_serves_every_server_s_listing_sees_its_limit_across_all_workers(
    postgres_database: str, tmp_path: Path
) -> None:
    """Forty servers on their own addresses, each linking its coverage listing on one shared
    host, which answers slowly: three workers each lease their servers' hosts, and borrow the
    shared one per request, so it never has more than its limit in flight."""
    servers = 40
    server = LoopbackServer([f"127.0.4.{n}" for n in range(1, servers + 2)])
    shared = server.hosts[-1]
    in_flight: Counter[str] = Counter()
    most_in_flight = 0
    listings: Counter[str] = Counter()

    async def metadata(request: Request, _writer: asyncio.StreamWriter) -> Response:
        url = f"http://{request.local_host}:{server.port}{request.path}"
        listing = server.url(f"/coverage/{request.local_host}.json", shared)
        return Response.json(metadata_document(url, capabilities=["coverage"], coverage=listing))

    async def listing(request: Request, _writer: asyncio.StreamWriter) -> Response:
        nonlocal most_in_flight
        listings[request.path] += 1
        in_flight[request.local_host] += 1
        most_in_flight = max(most_in_flight, in_flight[request.local_host])
        try:
            await asyncio.sleep(0.15)
        finally:
            in_flight[request.local_host] -= 1
        return Response.json({"coverage_entries": [], "next": None, "previous": None})

    stop = server.start_in_thread()
    server.route("/utility.json", metadata)
    for host in server.hosts[:servers]:
        server.route(f"/coverage/{host}.json", listing)
    try:
        urls = [server.url("/utility.json", host) for host in server.hosts[:servers]]
        seeds = tmp_path / "seeds.txt"
        seeds.write_text("\n".join(urls) + "\n")
        assert run_cli(postgres_database, "seeds", "import", str(seeds), env=LOOPBACK).code == 0
        with ExitStack() as stack:
            workers = start_workers(stack, postgres_database, tmp_path, 3)
            wait_for("every target polled", lambda: polled(postgres_database) == servers, 60)
            codes = [worker.stop() for worker in workers]
    finally:
        stop()

    assert codes == [0, 0, 0]
    assert sorted(listings.values()) == [1] * servers
    assert all(rounds(worker) > 0 for worker in workers)  # the servers were shared out
    assert 1 <= most_in_flight <= LIMIT

"""A loopback federation crawled twice, once per database kind and module, and the API on it.

Before the second crawl `north` is renamed, its electric territory grows east and its gas
entry is withdrawn; `berlin` adds a water entry. `quiet` publishes nothing, `plain` publishes
a document without coverage. `between` is a moment between the two crawls.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn

from crawler.api.app import create_app
from crawler.settings import Settings
from crawler.testing import LoopbackServer, Response
from tests.cli import run_cli
from tests.conftest import own_postgres_database
from tests.federation import (
    LOOPBACK,
    WELL_KNOWN,
    coverage_entry,
    crawl,
    metadata_document,
    running_server,
)
from tests.geometry import box, polygon

SERVERS = ("north", "berlin", "quiet", "plain")


@dataclass
class Crawled:
    database_url: str
    server: LoopbackServer
    between: datetime  # after the first crawl, before the second
    before: datetime  # before the first crawl

    def url(self, name: str) -> str:
        return self.server.url(f"/{name}{WELL_KNOWN}")


def _entry(server: LoopbackServer, owner: str, entry_id: str, ring: Any, **members: Any) -> Any:
    path = f"/{owner}/{entry_id}.geojson"
    server.route(path, Response.json(polygon(ring), etag=True))
    return coverage_entry(entry_id, geojson_resource=server.url(path), **members)


def _publish(server: LoopbackServer, name: str, title: str, entries: list[Any] | None) -> None:
    url = server.url(f"/{name}{WELL_KNOWN}")
    members: dict[str, Any] = {"name": title}
    if entries is not None:
        listing = f"/{name}/coverage.json"
        page = {"coverage_entries": entries, "next": None, "previous": None}
        server.route(listing, Response.json(page, etag=True))
        members |= {"capabilities": ["coverage"], "coverage": server.url(listing)}
    server.route(f"/{name}{WELL_KNOWN}", Response.json(metadata_document(url, **members)))


def _berlin_grid(server: LoopbackServer) -> Any:
    return _entry(
        server,
        "berlin",
        "b-electric",
        box(13, 52, 14, 53),
        entity_name="Berlin Netz",
        country="DE",
        name="Berlin grid",
    )


def _first(server: LoopbackServer) -> None:
    electric = _entry(server, "north", "n-electric", box(-100, 30, -99, 31), name="North wires")
    gas = _entry(
        server,
        "north",
        "n-gas",
        box(-101, 29, -98, 32),
        name="North gas",
        role="official",
        commodity_types=["natural_gas"],
    )
    _publish(server, "north", "North Power", [electric, gas])
    berlin = _berlin_grid(server)
    _publish(server, "berlin", "Berlin Netz", [berlin])
    _publish(server, "plain", "Plain Utility", None)


def _second(server: LoopbackServer) -> None:
    electric = _entry(server, "north", "n-electric", box(-100, 30, -98, 31), name="North wires")
    _publish(server, "north", "North Power and Light", [electric])
    berlin = _berlin_grid(server)
    water = _entry(
        server,
        "berlin",
        "b-water",
        box(13.2, 52.2, 13.8, 52.8),
        entity_name="Berlin Wasser",
        country="DE",
        name="Berlin water",
        commodity_types=["water"],
        infrastructure_types=["supplier"],
    )
    _publish(server, "berlin", "Berlin Netz", [berlin, water])


def _crawl_twice(database_url: str, server: LoopbackServer) -> Crawled:
    before = datetime.now(UTC)
    _first(server)
    urls = [server.url(f"/{name}{WELL_KNOWN}") for name in SERVERS]
    added = run_cli(database_url, "seeds", "add", *urls, "--tag", "loopback", env=LOOPBACK)
    assert added.code == 0, added.stderr
    crawl(database_url)
    time.sleep(0.05)
    between = datetime.now(UTC)
    time.sleep(0.05)
    _second(server)
    crawl(database_url, CDS_CRAWLER_COVERAGE_SWEEP_INTERVAL="0")
    return Crawled(database_url, server, between, before)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def crawled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Crawled]:
    with running_server() as server:
        if request.param == "sqlite":
            path = tmp_path_factory.mktemp("api") / "crawler.sqlite3"
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
            yield _crawl_twice(f"sqlite+aiosqlite:///{path}", server)
            return
        with own_postgres_database() as url:
            yield _crawl_twice(url, server)


@contextmanager
def api_client(crawled: Crawled, **settings: Any) -> Iterator[httpx.Client]:
    """`serve`'s application under uvicorn on a loopback port, and a client of it."""
    app = create_app(Settings(database_url=crawled.database_url, **settings))
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=5
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the API stopped while starting"
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def api(crawled: Crawled) -> Iterator[httpx.Client]:
    with api_client(crawled) as client:
        yield client


def ids_by_url(api: httpx.Client) -> dict[str, int]:
    items = api.get("/v1/servers").json()["items"]
    return {item["url"]: item["id"] for item in items}


def server_id(api: httpx.Client, crawled: Crawled, name: str) -> int:
    return ids_by_url(api)[crawled.url(name)]

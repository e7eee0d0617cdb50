"""With the guard on, no link in a document reaches a private address: not related metadata,
not a territory, a map or OAuth metadata. Every refusal is a status or a finding.

The seed is served on 127.0.0.2, which the test's transport exempts from the guard (as
tests/integration/test_fetch.py does); everything it links lives on 127.0.0.1, which the
guard refuses. All traffic stays on loopback, and none may reach 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from ipaddress import ip_network

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.http.client import origin_limits
from crawler.http.transport import GuardedTransport
from crawler.pipeline import crawl as crawl_module
from crawler.settings import Settings
from crawler.testing import LoopbackServer, Response
from storage import readmodel
from storage.reader import open_reader
from storage.repositories import seeds
from tests.federation import WELL_KNOWN, coverage_entry, metadata_document
from tests.geometry import box, polygon


@pytest.fixture
async def refused() -> AsyncIterator[LoopbackServer]:
    async with LoopbackServer(["127.0.0.1"]) as server:
        yield server


@pytest.fixture
async def exempt() -> AsyncIterator[LoopbackServer]:
    server = LoopbackServer(["127.0.0.2"])
    try:
        await server.start()
    except OSError as exc:  # e.g. macOS, where only 127.0.0.1 is configured
        pytest.skip(f"cannot bind 127.0.0.2: {exc}")
    try:
        yield server
    finally:
        await server.close()


def publish(exempt: LoopbackServer, refused: LoopbackServer) -> str:
    url = exempt.url(WELL_KNOWN)
    entry = coverage_entry(
        "e1",
        geojson_resource=refused.url("/territory.geojson"),
        map_resource=refused.url("/map.png"),
        map_content_type="image/png",
    )
    document = metadata_document(
        url,
        capabilities=["coverage", "oauth"],
        coverage=exempt.url("/coverage.json"),
        oauth_metadata=refused.url("/oauth.json"),
        related_metadata=[refused.url(WELL_KNOWN)],
    )
    exempt.route(WELL_KNOWN, Response.json(document))
    page = {"coverage_entries": [entry], "next": None, "previous": None}
    exempt.route("/coverage.json", Response.json(page))
    refused.route(WELL_KNOWN, Response.json(metadata_document(refused.url(WELL_KNOWN))))
    refused.route("/territory.geojson", Response.json(polygon(box(0, 0, 1, 1))))
    return url


async def test_links_to_private_addresses_are_refused_without_a_connection(
    engine: AsyncEngine,
    database_url: str,
    exempt: LoopbackServer,
    refused: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(allow_http=True, allow_private_networks=False, per_host_rate=1000.0)

    def exempting_127_0_0_2(settings: Settings) -> GuardedTransport:
        return GuardedTransport(
            allow_private_networks=False,
            limits=origin_limits(settings),
            exempt_networks=[ip_network("127.0.0.2/32")],
        )

    monkeypatch.setattr(crawl_module, "build_transport", exempting_127_0_0_2)
    url = publish(exempt, refused)
    async with engine.begin() as conn:
        await seeds.add(conn, [seeds.NewSeed(url, url, (), "cli")], datetime.now(UTC))

    summary = await crawl_module.crawl(settings, engine)

    with open_reader(database_url) as reader:
        found = {s["url"]: s["status"] for s in readmodel.list_servers(reader)}
        detail = readmodel.show_server(reader, [url])
    assert detail is not None
    rules = {f["rule"]: f["message"] for f in detail["findings"]}
    assert refused.connections == 0
    assert found == {url: "ok", refused.url(WELL_KNOWN): "blocked"}
    assert summary.servers_seen == 2
    assert "private networks are not allowed" in rules["territory.unavailable"]
    assert "private networks are not allowed" in rules["map.unreachable"]
    assert "private networks are not allowed" in rules["oauth.unavailable"]
    assert detail["coverage_entries"][0]["territory"] is None

"""What the end-to-end tests share: loopback settings, conforming documents, a crawl."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from crawler.testing import LoopbackServer, Response
from storage import readmodel
from storage.reader import open_reader
from tests.cli import run_cli

WELL_KNOWN = "/.well-known/carbon-data-spec.json"
# The federations of the tests live on 127.0.0.1 over plain HTTP, which the guard refuses.
LOOPBACK = {"CDS_CRAWLER_ALLOW_HTTP": "true", "CDS_CRAWLER_ALLOW_PRIVATE_NETWORKS": "true"}
# Every listing read whole, as a first crawl reads it, however recent the last whole read.
WHOLE_READS = {"CDS_CRAWLER_COVERAGE_SWEEP_INTERVAL": "0"}


def metadata_document(url: str, **members: Any) -> dict[str, Any]:
    """A current-draft metadata object that conforms, published at `url`."""
    return {
        "cds_metadata_version": "v1",
        "cds_metadata_url": url,
        "created": "2024-01-01T00:00:00Z",
        "updated": "2025-01-01T00:00:00Z",
        "name": "Utility",
        "description": "A utility.",
        "website": "https://utility.example.com",
        "documentation": "https://utility.example.com/docs",
        "support": "https://utility.example.com/support",
        "capabilities": [],
        **members,
    }


def coverage_entry(entry_id: str, **members: Any) -> dict[str, Any]:
    """A current-draft geographic coverage entry that conforms once it has a resource
    (`geojson_resource=URL`); a member given as None is left out."""
    entry = {
        "id": entry_id,
        "created": "2024-01-01T00:00:00Z",
        "updated": "2025-01-01T00:00:00Z",
        "entity_name": "Loopback Power",
        "entity_abbreviation": None,
        "country": "US",
        "name": f"Territory {entry_id}",
        "type": "geographic",
        "role": "authoritative",
        "infrastructure_types": ["distribution_utility"],
        "commodity_types": ["electricity"],
        "capabilities": [],
        **members,
    }
    dropped = {name for name, value in members.items() if value is None}
    return {name: value for name, value in entry.items() if name not in dropped}


def crawl(database_url: str, **env: str) -> dict[str, Any]:
    """`crawl --json` on loopback (plus `env`); fails the test unless it exits 0."""
    result = run_cli(database_url, "crawl", "--json", env={**LOOPBACK, **env})
    assert result.code == 0, result.stderr
    summary: dict[str, Any] = result.json()
    return summary


def listed_servers(database_url: str) -> dict[str, dict[str, Any]]:
    """`servers --json`, read in process, by URL."""
    with open_reader(database_url) as reader:
        return {s["url"]: s for s in readmodel.list_servers(reader)}


def finding_rules(database_url: str, url: str) -> list[str]:
    """The rules of the findings `show URL` reports, in order."""
    with open_reader(database_url) as reader:
        detail = readmodel.show_server(reader, [url])
    assert detail is not None
    return [f["rule"] for f in detail["findings"]]


def discovered_events(
    database_url: str, server: LoopbackServer, count: int
) -> list[dict[str, Any]]:
    """Publish and crawl `count` new servers; the `count` discovered events, in order."""
    urls = []
    for n in range(count):
        url = server.url(f"/u{n}{WELL_KNOWN}")
        server.route(f"/u{n}{WELL_KNOWN}", Response.json(metadata_document(url)))
        urls.append(url)
    run_cli(database_url, "seeds", "add", *urls, env=LOOPBACK)
    crawl(database_url, CDS_CRAWLER_PER_HOST_RATE="1000")
    listed = run_cli(database_url, "events", "--json").stdout.splitlines()
    return [json.loads(line) for line in listed]


@contextmanager
def running_server() -> Iterator[LoopbackServer]:
    """A LoopbackServer on 127.0.0.1 in a thread of its own, for tests that run the CLI."""
    server = LoopbackServer()
    stop = server.start_in_thread()
    try:
        yield server
    finally:
        stop()

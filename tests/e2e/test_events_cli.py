"""Change events: written with the change that caused them, paged in order, delivered once.

What is not built yet (unreachable/recovered/removed after a retry policy, territory changes
as entry changes, webhook, pg_notify and NATS sinks) is not tested here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.testing import LoopbackServer, Response
from tests.cli import run_cli
from tests.federation import (
    LOOPBACK,
    WELL_KNOWN,
    coverage_entry,
    crawl,
    metadata_document,
    running_server,
)

FAST = {"CDS_CRAWLER_PER_HOST_RATE": "1000"}


def publish(
    server: LoopbackServer, name: str, entries: list[str], entry_name: str = "", **members: Any
) -> str:
    url = server.url(f"/{name}{WELL_KNOWN}")
    document = metadata_document(
        url,
        name=f"Utility {name}",
        capabilities=["coverage"],
        coverage=server.url(f"/{name}/coverage.json"),
        **members,
    )
    server.route(f"/{name}{WELL_KNOWN}", Response.json(document, etag=True))
    listing = {
        "coverage_entries": [
            coverage_entry(e, type="logical", name=entry_name or e) for e in entries
        ],
        "next": None,
        "previous": None,
    }
    server.route(f"/{name}/coverage.json", Response.json(listing, etag=True))
    return url


def events(database_url: str, *args: str) -> list[dict[str, Any]]:
    result = run_cli(database_url, "events", "--json", *args)
    assert result.code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def kinds(found: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((event["type"], event["subject"]) for event in found)


@pytest.fixture
def elsewhere() -> Iterator[LoopbackServer]:
    with running_server() as other:
        yield other


def test_a_crawl_and_planted_changes_produce_exactly_the_expected_events(
    database_url: str, server: LoopbackServer, elsewhere: LoopbackServer
) -> None:
    a = publish(server, "a", ["a1", "a2"])
    b = publish(server, "b", ["b1"])
    c = publish(server, "c", [])
    run_cli(database_url, "seeds", "add", a, b, c, env=LOOPBACK)
    first = crawl(database_url, **FAST)
    discovered = events(database_url)

    publish(server, "a", ["a1", "a3"], entry_name="renamed")  # a1 changed, a2 gone, a3 new
    target = elsewhere.url(WELL_KNOWN)
    elsewhere.route(WELL_KNOWN, Response.json(metadata_document(target)))
    server.route(f"/b{WELL_KNOWN}", Response(301, headers={"Location": target}))
    document = metadata_document(
        c, name="Utility c", capabilities=["coverage"], coverage=server.url("/c/coverage.json")
    )
    reordered = json.dumps(dict(reversed(list(document.items()))), indent=4).encode()
    server.route(f"/c{WELL_KNOWN}", Response(200, reordered, {"ETag": '"new"'}))
    second = crawl(database_url, **FAST)
    changed = events(database_url, "--after", str(discovered[-1]["sequence"]))
    third = crawl(database_url, **FAST)

    assert first["events"] == len(discovered) == 6
    assert kinds(discovered) == sorted(
        [("cds.server.discovered", url) for url in (a, b, c)]
        + [("cds.coverage.entry.added", f"{a}#a1"), ("cds.coverage.entry.added", f"{a}#a2")]
        + [("cds.coverage.entry.added", f"{b}#b1")]
    )
    assert kinds(changed) == sorted(
        [
            ("cds.coverage.entry.changed", f"{a}#a1"),
            ("cds.coverage.entry.removed", f"{a}#a2"),
            ("cds.coverage.entry.added", f"{a}#a3"),
            ("cds.server.moved", b),
            ("cds.server.discovered", target),
        ]
    )
    assert second["events"] == 5
    assert third["events"] == 0
    moved = next(e for e in changed if e["type"] == "cds.server.moved")
    assert moved["data"] == {"url": b, "to": target}
    entry_change = next(e for e in changed if e["type"] == "cds.coverage.entry.changed")
    assert {"op": "replace", "path": "/name", "value": "renamed"} in entry_change["data"]["patch"]


def test_events_are_cloudevents_in_a_stable_order_with_stable_ids(
    database_url: str, server: LoopbackServer
) -> None:
    a = publish(server, "a", ["a1"])
    run_cli(database_url, "seeds", "add", a, env=LOOPBACK)
    crawl(database_url, **FAST)
    publish(server, "a", ["a1"], description="A new description.")
    crawl(database_url, **FAST)

    everything = events(database_url)
    again = events(database_url)
    paged = events(database_url, "--limit", "1") + events(
        database_url, "--after", str(everything[0]["sequence"])
    )

    assert everything == again == paged
    assert [e["sequence"] for e in everything] == sorted(e["sequence"] for e in everything)
    assert len({e["id"] for e in everything}) == len(everything)
    change = everything[-1]
    assert change["type"] == "cds.server.changed"
    assert set(change) >= {"specversion", "id", "source", "type", "time", "subject", "data"}
    assert change["specversion"] == "1.0"
    assert change["datacontenttype"] == "application/json"
    assert change["data"]["patch"] == [
        {"op": "replace", "path": "/description", "value": "A new description."}
    ]


def test_deliver_writes_each_event_once_to_a_json_lines_file(
    database_url: str, server: LoopbackServer, tmp_path: Path
) -> None:
    sink = tmp_path / "events.jsonl"
    config = tmp_path / "cds.toml"
    config.write_text(f'[[sinks]]\ntype = "jsonl"\npath = "{sink}"\n')
    a = publish(server, "a", ["a1"])
    run_cli(database_url, "seeds", "add", a, env=LOOPBACK)
    crawl(database_url, **FAST)

    first = run_cli(database_url, "--config", str(config), "events", "deliver", "--json")
    repeat = run_cli(database_url, "events", "deliver", "--config", str(config), "--json")
    publish(server, "a", ["a1", "a2"])
    crawl(database_url, **FAST)
    later = run_cli(database_url, "events", "deliver", "--config", str(config), "--json")

    assert first.code == 0, first.stderr
    assert first.json() == {f"jsonl:{sink}": 2}
    assert repeat.json() == {f"jsonl:{sink}": 0}
    assert later.json() == {f"jsonl:{sink}": 1}
    delivered = [json.loads(line) for line in sink.read_text().splitlines()]
    assert delivered == events(database_url)


def test_deliver_refuses_sinks_it_cannot_use(database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "cds.toml"
    config.write_text('[[sinks]]\ntype = "carrier-pigeon"\n')
    none = run_cli(database_url, "events", "deliver")
    unknown = run_cli(database_url, "events", "deliver", "--config", str(config))

    assert none.code == 2
    assert "no event sinks" in none.stderr
    assert unknown.code == 2
    assert "carrier-pigeon" in unknown.stderr

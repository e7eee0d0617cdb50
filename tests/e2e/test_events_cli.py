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

from crawler.testing import LoopbackServer, Request, Response
from storage.reader import open_reader
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

    by_id = events(database_url, "--after", everything[0]["id"])
    unknown = run_cli(database_url, "events", "--json", "--after", "no-such-event")
    too_far = run_cli(database_url, "events", "--json", "--after", "9" * 30)

    assert everything == again == paged
    assert by_id == everything[1:]
    assert unknown.code == 2
    assert unknown.stdout == ""
    assert "no stored event has this id" in unknown.stderr
    assert too_far.code == 2
    assert too_far.stdout == ""
    assert "no sequence is above" in too_far.stderr
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
    assert first.json()[f"jsonl:{sink}"]["delivered"] == 2
    assert repeat.json()[f"jsonl:{sink}"]["delivered"] == 0
    assert later.json()[f"jsonl:{sink}"] == {
        "delivered": 1,
        "dead_lettered": 0,
        "state": "idle",
        "error": None,
    }
    delivered = [json.loads(line) for line in sink.read_text().splitlines()]
    assert delivered == events(database_url)


def test_a_sink_on_stdout_prints_only_events(
    database_url: str, server: LoopbackServer, tmp_path: Path
) -> None:
    config = tmp_path / "cds.toml"
    config.write_text('[[sinks]]\ntype = "jsonl"\npath = "-"\n')
    a = publish(server, "a", ["a1"])
    run_cli(database_url, "seeds", "add", a, env=LOOPBACK)
    crawl(database_url, **FAST)

    with_report = run_cli(database_url, "--config", str(config), "events", "deliver", "--json")
    replay = run_cli(database_url, "--config", str(config), "events", "redeliver", "--json")
    plain = run_cli(database_url, "--config", str(config), "events", "deliver")

    for refused in (with_report, replay):
        assert refused.code == 2
        assert refused.stdout == ""
        assert "jsonl:- writes events to stdout" in refused.stderr
    assert plain.code == 0, plain.stderr
    printed = [json.loads(line) for line in plain.stdout.splitlines() if line.startswith("{")]
    assert printed == events(database_url)


def test_deliver_refuses_sinks_it_cannot_use(database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "cds.toml"
    config.write_text('[[sinks]]\ntype = "carrier-pigeon"\n')
    none = run_cli(database_url, "events", "deliver")
    unknown = run_cli(database_url, "events", "deliver", "--config", str(config))

    assert none.code == 2
    assert "no event sinks" in none.stderr
    assert unknown.code == 2
    assert "carrier-pigeon" in unknown.stderr


NO_WAIT = {**FAST, "CDS_CRAWLER_RETRY_BACKOFF": "0"}


def availability(database_url: str) -> list[str]:
    return [
        e["type"].removeprefix("cds.server.")
        for e in events(database_url)
        if e["type"] in ("cds.server.unreachable", "cds.server.recovered", "cds.server.removed")
    ]


def status_of(database_url: str, url: str) -> str:
    detail: dict[str, Any] = run_cli(database_url, "show", url, "--json").json()
    return str(detail["status"])


def test_unreachable_only_after_the_retries_and_recovered_once_back(
    database_url: str, server: LoopbackServer
) -> None:
    a = publish(server, "a", [])
    run_cli(database_url, "seeds", "add", a, env=LOOPBACK)
    crawl(database_url, **NO_WAIT)
    working = Response.json(metadata_document(a, name="Utility a"))
    failures = 0

    async def fails_twice_then_answers(request: Request, writer: object) -> Response:
        nonlocal failures
        failures += 1
        return Response(503, b"busy") if failures <= 2 else working

    server.route(f"/a{WELL_KNOWN}", fails_twice_then_answers)
    crawl(database_url, **NO_WAIT)  # two failures, then an answer: nothing to tell
    statuses = [status_of(database_url, a)]
    server.route(f"/a{WELL_KNOWN}", Response(500, b"down"))
    for _ in range(3):
        crawl(database_url, **NO_WAIT)
        statuses.append(status_of(database_url, a))
    server.route(f"/a{WELL_KNOWN}", working)
    crawl(database_url, **NO_WAIT)
    statuses.append(status_of(database_url, a))

    assert statuses == ["ok", "unreachable", "unreachable", "unreachable", "ok"]
    assert availability(database_url) == ["unreachable", "recovered"]
    with open_reader(database_url) as reader:
        attempts = reader.rows("SELECT count(*) AS n FROM fetch_log WHERE status_code >= 500")
    assert attempts[0]["n"] == 2 + 3 * 3  # every attempt is in the fetch log


def test_a_flapping_server_yields_one_unreachable_recovered_pair_per_window(
    database_url: str, server: LoopbackServer
) -> None:
    a = publish(server, "a", [])
    run_cli(database_url, "seeds", "add", a, env=LOOPBACK)
    crawl(database_url, **NO_WAIT)
    up = Response.json(metadata_document(a, name="Utility a"))
    for _ in range(3):
        server.route(f"/a{WELL_KNOWN}", Response(502, b""))
        crawl(database_url, **NO_WAIT)
        server.route(f"/a{WELL_KNOWN}", up)
        crawl(database_url, **NO_WAIT)
    without_window = {**NO_WAIT, "CDS_CRAWLER_FLAP_WINDOW": "0"}
    server.route(f"/a{WELL_KNOWN}", Response(502, b""))
    crawl(database_url, **without_window)

    assert availability(database_url) == ["unreachable", "recovered", "unreachable"]
    assert status_of(database_url, a) == "unreachable"


def test_removed_on_a_410_at_once_and_on_a_second_404_in_a_row(
    database_url: str, server: LoopbackServer
) -> None:
    a, b = publish(server, "a", []), publish(server, "b", [])
    run_cli(database_url, "seeds", "add", a, b, env=LOOPBACK)
    crawl(database_url, **NO_WAIT)
    server.route(f"/a{WELL_KNOWN}", Response(404, b""))
    server.route(f"/b{WELL_KNOWN}", Response(410, b""))

    crawl(database_url, **NO_WAIT)
    after_one = status_of(database_url, a), status_of(database_url, b), availability(database_url)
    crawl(database_url, **NO_WAIT)

    assert after_one == ("ok", "not_found", ["removed"])
    assert status_of(database_url, a) == "not_found"
    removed = [e["subject"] for e in events(database_url) if e["type"] == "cds.server.removed"]
    assert removed == [b, a]


def test_a_third_crawl_without_changes_is_conditional_and_changes_nothing(
    database_url: str, server: LoopbackServer
) -> None:
    urls = [publish(server, name, [f"{name}1", f"{name}2"]) for name in ("a", "b", "c")]
    run_cli(database_url, "seeds", "add", *urls, env=LOOPBACK)
    crawl(database_url, **FAST)
    publish(server, "a", ["a1", "a3"])
    crawl(database_url, **FAST)
    before = sum(server.requests.values()), sum(server.conditional.values())

    third = crawl(database_url, **FAST)

    requests = sum(server.requests.values()) - before[0]
    conditional = sum(server.conditional.values()) - before[1]
    assert (third["events"], third["servers_new"], third["servers_changed"]) == (0, 0, 0)
    assert third["servers_unchanged"] == 3
    assert requests == third["requests"] == 6  # three documents, three listings
    assert conditional / requests >= 0.95


def test_a_server_alternating_between_two_versions_changes_once_per_window(
    database_url: str, server: LoopbackServer
) -> None:
    a = server.url(f"/a{WELL_KNOWN}")
    one = Response.json(metadata_document(a, name="Replica one"))
    two = Response.json(metadata_document(a, name="Replica two"))
    run_cli(database_url, "seeds", "add", a, env=LOOPBACK)
    for response in (one, two, one, two, one):
        server.route(f"/a{WELL_KNOWN}", response)
        crawl(database_url, **FAST)
    alternating = run_cli(database_url, "show", a, "--json").json()
    server.route(f"/a{WELL_KNOWN}", two)
    crawl(database_url, **FAST)
    server.route(f"/a{WELL_KNOWN}", one)
    crawl(database_url, **FAST, CDS_CRAWLER_FLAP_WINDOW="0")  # served long enough: a rollback

    assert [e["type"] for e in events(database_url)] == [
        "cds.server.discovered",
        "cds.server.changed",
        "cds.server.changed",
    ]
    assert alternating["current_version"]["version"] == 2
    assert alternating["name"] == "Replica two"
    assert [f["rule"] for f in alternating["findings"]] == ["server.alternating-versions"]

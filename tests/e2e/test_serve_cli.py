"""`serve` as a subprocess: another crawler follows its seed list; `export` and
`coverage --as-of` on the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx

from crawler.testing import LoopbackServer, Response
from tests.cli import run_cli
from tests.federation import (
    LOOPBACK,
    WELL_KNOWN,
    coverage_entry,
    crawl,
    listed_servers,
    metadata_document,
)
from tests.geometry import box, polygon
from tests.serving import serving


def publish(server: LoopbackServer, name: str, west: float) -> str:
    """A utility with one square territory west..west+1 by 40..41; its metadata URL."""
    url = server.url(f"/{name}{WELL_KNOWN}")
    territory = f"/{name}/territory.geojson"
    server.route(territory, Response.json(polygon(box(west, 40, west + 1, 41)), etag=True))
    entry = coverage_entry(f"{name}-1", geojson_resource=server.url(territory), name=name)
    listing = {"coverage_entries": [entry], "next": None, "previous": None}
    server.route(f"/{name}/coverage.json", Response.json(listing))
    document = metadata_document(
        url, name=name, capabilities=["coverage"], coverage=server.url(f"/{name}/coverage.json")
    )
    server.route(f"/{name}{WELL_KNOWN}", Response.json(document))
    return url


def test_a_second_crawler_following_the_seed_list_finds_the_same_servers(
    database_url: str, server: LoopbackServer, tmp_path: Path
) -> None:
    urls = [publish(server, name, west) for name, west in (("east", -80), ("west", -120))]
    hub = server.url(f"/hub{WELL_KNOWN}")  # found only through related_metadata
    server.route(f"/hub{WELL_KNOWN}", Response.json(metadata_document(hub, related_metadata=urls)))
    silent = server.url(f"/silent{WELL_KNOWN}")  # answers 404: not live, not in the list
    assert run_cli(database_url, "seeds", "add", hub, silent, env=LOOPBACK).code == 0
    crawl(database_url)
    first = listed_servers(database_url)
    assert first[silent]["status"] == "not_found"

    follower = f"sqlite+aiosqlite:///{tmp_path / 'follower.sqlite3'}"
    with serving(database_url, tmp_path / "serve.log") as api:
        seed_list = f"{api}v1/seeds.txt"
        assert httpx.get(seed_list).text.splitlines()[1:] == sorted([hub, *urls])
        added = run_cli(follower, "seeds", "add", "--list", seed_list, env=LOOPBACK)
        assert added.code == 0, added.stderr
        crawl(follower)
    second = listed_servers(follower)
    live = {url: s for url, s in first.items() if s["status"] == "ok"}
    assert set(second) == set(live)
    for url, found in second.items():
        assert (found["status"], found["name"]) == (live[url]["status"], live[url]["name"])


def test_export_writes_territories_and_tables_whole(
    database_url: str, server: LoopbackServer, tmp_path: Path
) -> None:
    urls = [publish(server, name, west) for name, west in (("east", -80), ("west", -120))]
    run_cli(database_url, "seeds", "add", *urls, env=LOOPBACK)
    crawl(database_url)

    exports = tmp_path / "exports"
    exports.mkdir()
    out = exports / "territories.geojson"
    done = run_cli(database_url, "export", "geojson", "--out", str(out))
    assert done.code == 0, done.stderr
    collection = json.loads(out.read_text())
    names = [feature["properties"]["name"] for feature in collection["features"]]
    assert names == ["east", "west"]
    assert collection["features"][0]["geometry"]["type"] == "Polygon"
    assert [path.name for path in exports.iterdir()] == ["territories.geojson"]  # no leftovers

    entries = run_cli(database_url, "export", "csv", "--table", "entries").stdout.splitlines()
    assert entries[0].startswith("server_url,entry_id,entity_name,name,")
    assert [line.split(",")[1] for line in entries[1:]] == ["east-1", "west-1"]
    servers = run_cli(database_url, "export", "csv").stdout.splitlines()
    assert sorted(line.split(",")[0] for line in servers[1:]) == sorted(urls)

    unwritable = run_cli(database_url, "export", "csv", "--out", str(tmp_path / "no/such.csv"))
    assert unwritable.code == 1
    assert "cannot write" in unwritable.stderr
    refused = run_cli(database_url, "export", "kml")
    assert refused.code == 2


def test_coverage_as_of_answers_from_the_history(database_url: str, server: LoopbackServer) -> None:
    url = publish(server, "mover", -100)
    run_cli(database_url, "seeds", "add", url, env=LOOPBACK)
    crawl(database_url)
    between = datetime.now(UTC).isoformat()
    server.route(
        "/mover/territory.geojson", Response.json(polygon(box(-90, 40, -89, 41)), etag=True)
    )
    crawl(database_url, CDS_CRAWLER_COVERAGE_SWEEP_INTERVAL="0")

    def covering(*extra: str) -> list[str]:
        done = run_cli(database_url, "coverage", "--at", "40.5,-99.5", "--json", *extra)
        assert done.code == 0, done.stderr
        return [entry["entry_id"] for entry in done.json()]

    assert covering() == []
    assert covering("--as-of", between) == ["mover-1"]
    assert covering("--as-of", "2001-01-01") == []
    bad = run_cli(database_url, "coverage", "--at", "40.5,-99.5", "--as-of", "soon")
    assert bad.code == 2
    assert "--as-of" in bad.stderr

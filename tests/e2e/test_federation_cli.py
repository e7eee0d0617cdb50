"""One crawl of a whole federation on loopback: everything the specs link, found at once.

A remote seed list names a holding company and a utility that has migrated. The holding
company's subsidiaries are reachable only through `related_metadata` (one links back: a
cycle); one follows the current draft with a paginated listing of a polygon, a multipolygon
and a polygon with a hole, and OAuth metadata; the other follows the 2023 draft. The
migrated utility answers 301 to a server on another origin.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crawler.testing import LoopbackServer, Response
from storage.reader import open_reader
from storage.territory_index import TerritoryIndex, entries_at
from tests.cli import run_cli
from tests.examples import oauth_metadata_example
from tests.federation import (
    LOOPBACK,
    WELL_KNOWN,
    coverage_entry,
    crawl,
    listed_servers,
    metadata_document,
    running_server,
)
from tests.geometry import box, feature, multipolygon, polygon

FAST = {"CDS_CRAWLER_PER_HOST_RATE": "1000"}  # the whole federation is one or two hosts


@pytest.fixture
def elsewhere() -> Iterator[LoopbackServer]:
    with running_server() as other:
        yield other


def entry(entry_id: str, geojson: str) -> dict[str, Any]:
    return coverage_entry(entry_id, entity_name="North Utility", geojson_resource=geojson)


def listing(server: LoopbackServer, path: str, entries: list[Any], next_path: str | None) -> None:
    following = server.url(next_path) if next_path else None
    page = {"coverage_entries": entries, "next": following, "previous": None}
    server.route(path, Response.json(page, etag=True))


def build(server: LoopbackServer, elsewhere: LoopbackServer) -> dict[str, str]:
    urls = {n: server.url(f"/{n}{WELL_KNOWN}") for n in ("holding", "north", "south", "old")}
    urls["new"] = elsewhere.url(WELL_KNOWN)
    server.route("/seeds.txt", Response(200, f"{urls['holding']}\n{urls['old']}\n".encode()))

    holding = metadata_document(urls["holding"], related_metadata=[urls["north"], urls["south"]])
    server.route(f"/holding{WELL_KNOWN}", Response.json(holding, etag=True))

    north = metadata_document(
        urls["north"],
        capabilities=["coverage", "oauth"],
        coverage=server.url("/north/coverage-1.json"),
        oauth_metadata=server.url("/north/oauth.json"),
        related_metadata=[urls["holding"]],
    )
    server.route(f"/north{WELL_KNOWN}", Response.json(north, etag=True))
    server.route("/north/oauth.json", Response.json(oauth_metadata_example(), etag=True))
    shapes = {
        "n-polygon": polygon(box(-100, 30, -99, 31)),
        "n-multi": feature(multipolygon([box(-98, 30, -97, 31)], [box(-98, 33, -97, 34)])),
        "n-holed": polygon(box(-96, 30, -93, 33), box(-95, 31, -94, 32)),
    }
    for name, shape in shapes.items():
        server.route(f"/north/{name}.geojson", Response.json(shape, etag=True))
    geo = {name: server.url(f"/north/{name}.geojson") for name in shapes}
    listing(
        server,
        "/north/coverage-1.json",
        [entry("n-polygon", geo["n-polygon"])],
        "/north/coverage-2.json",
    )
    listing(
        server,
        "/north/coverage-2.json",
        [entry("n-multi", geo["n-multi"]), entry("n-holed", geo["n-holed"])],
        None,
    )

    south = {
        **metadata_document(urls["south"], capabilities=["coverage"]),
        "infrastructure_types": ["distribution_utility"],
        "commodity_types": ["electricity"],
        "coverage": server.url("/south/coverage.json"),
    }
    server.route(f"/south{WELL_KNOWN}", Response.json(south, etag=True))
    server.route("/south/territory.geojson", Response.json(polygon(box(-90, 30, -89, 31))))
    south_entry = {
        "id": "s-2023",
        "type": "electric_service_territory",
        "updated": "2023-06-01T00:00:00Z",
        "name": "Southern territory",
        "geojson_resource": server.url("/south/territory.geojson"),
    }
    listing(server, "/south/coverage.json", [south_entry], None)

    server.route(f"/old{WELL_KNOWN}", Response(301, headers={"Location": urls["new"]}))
    elsewhere.route(WELL_KNOWN, Response.json(metadata_document(urls["new"]), etag=True))
    return urls


def test_one_crawl_finds_every_server_entry_and_territory_with_provenance(
    database_url: str, server: LoopbackServer, elsewhere: LoopbackServer
) -> None:
    urls = build(server, elsewhere)
    added = run_cli(database_url, "seeds", "add", "--list", server.url("/seeds.txt"), env=LOOPBACK)
    assert added.code == 0, added.stderr

    summary = crawl(database_url, **FAST)

    found = listed_servers(database_url)
    assert {url: s["status"] for url, s in found.items()} == {
        urls["holding"]: "ok",
        urls["north"]: "ok",
        urls["south"]: "ok",
        urls["old"]: "moved",
        urls["new"]: "ok",
    }
    assert found[urls["north"]]["discovered_via"] == urls["holding"]
    assert found[urls["south"]]["discovered_via"] == urls["holding"]
    assert found[urls["new"]]["discovered_via"] == urls["old"]
    assert found[urls["old"]]["moved_to"] == urls["new"]
    assert summary["seed_lists"] == 1
    assert summary["servers_seen"] == 5
    assert max(server.requests.values()) == 1  # each URL once, the cycle included

    with open_reader(database_url) as reader:
        rows = reader.rows(
            "SELECT s.url, t.entry_id, t.vertices FROM territories t "
            "JOIN servers s ON s.id = t.server_id WHERE t.valid_to IS NULL ORDER BY t.entry_id"
        )
        at_hole = entries_at(reader, TerritoryIndex(), 31.5, -94.5)
        in_ring = entries_at(reader, TerritoryIndex(), 30.5, -95.5)
        second_part = entries_at(reader, TerritoryIndex(), 33.5, -97.5)
        south_point = entries_at(reader, TerritoryIndex(), 30.5, -89.5)
    assert [(r["url"], r["entry_id"]) for r in rows] == [
        (urls["north"], "n-holed"),
        (urls["north"], "n-multi"),
        (urls["north"], "n-polygon"),
        (urls["south"], "s-2023"),
    ]
    assert at_hole == []
    assert [e["entry_id"] for e in in_ring] == ["n-holed"]
    assert [e["entry_id"] for e in second_part] == ["n-multi"]
    assert [(e["entry_id"], e["type"], e["draft"]) for e in south_point] == [
        ("s-2023", "geographic", "2023")
    ]
    north = run_cli(database_url, "show", urls["north"], "--json").json()
    assert north["oauth_metadata"]["valid"] is True
    assert [r["url"] for r in north["related"]] == [urls["holding"]]
    assert north["related"][0]["confirmed"] is True

"""Territories, maps and OAuth metadata: a federation on loopback crawled end to end.

`coverage --at` is checked against truth computed here, independently of shapely: an
even-odd ray-casting test over the rings the test published.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from crawler.testing import LoopbackServer, Response
from storage.reader import open_reader
from storage.territory_index import TerritoryIndex, entries_at
from tests.cli import run_cli
from tests.examples import oauth_metadata_example
from tests.federation import LOOPBACK, WELL_KNOWN, coverage_entry, crawl, metadata_document
from tests.geometry import Ring, box, covers, feature, multipolygon, polygon

# Each territory: its GeoJSON, and its truth as polygons (lists of rings, outer ring first).
TRIANGLE: Ring = [(-100, 35), (-98, 35), (-99, 37), (-100, 35)]
BOWTIE: Ring = [(-95, 35), (-93, 37), (-93, 35), (-95, 37), (-95, 35)]
HOLED = [box(-97, 30, -93, 34), box(-96, 31, -94, 33)]
TERRITORIES: dict[str, tuple[dict[str, Any], list[list[Ring]]]] = {
    "square": (polygon(box(-100, 30, -98, 32)), [[box(-100, 30, -98, 32)]]),
    "holed": (feature(polygon(*HOLED)), [HOLED]),
    "multi": (
        multipolygon([box(-92, 30, -91, 31)], [box(-92, 35, -91, 36)]),
        [[box(-92, 30, -91, 31)], [box(-92, 35, -91, 36)]],
    ),
    "collection": (
        {
            "type": "FeatureCollection",
            "features": [feature(polygon(TRIANGLE)), feature(polygon(box(-97, 38, -96, 39)))],
        },
        [[TRIANGLE], [box(-97, 38, -96, 39)]],
    ),
    # Self-intersecting: repaired into its two triangles, which even-odd also sees.
    "bowtie": (polygon(BOWTIE), [[BOWTIE]]),
    "draft2023": (polygon(box(-90, 38, -89, 40)), [[box(-90, 38, -89, 40)]]),
}
OVERLAPPING = box(-99, 31, -97, 33)  # the second server's, over part of "square"


def entry(entry_id: str, server: LoopbackServer, **members: Any) -> dict[str, Any]:
    defaults = {"role": "official", "geojson_resource": server.url(f"/geo/{entry_id}.geojson")}
    return coverage_entry(entry_id, **{**defaults, **members})


def publish(server: LoopbackServer, prefix: str, entries: list[dict[str, Any]], **doc: Any) -> str:
    url = server.url(f"/{prefix}{WELL_KNOWN}")
    listing = f"/{prefix}/coverage.json"
    document = metadata_document(
        url, capabilities=["coverage", *doc.pop("capabilities", [])], coverage=server.url(listing)
    )
    server.route(f"/{prefix}{WELL_KNOWN}", Response.json({**document, **doc}, etag=True))
    server.route(
        listing, Response.json({"coverage_entries": entries, "next": None, "previous": None})
    )
    return url


@pytest.fixture
def federation(server: LoopbackServer, database_url: str) -> dict[str, str]:
    """Two servers: one with every kind of territory, maps and OAuth metadata; another whose
    authoritative territory overlaps the first one's and whose OAuth document is not JSON."""
    for name, (geojson, _) in TERRITORIES.items():
        server.route(f"/geo/{name}.geojson", Response.json(geojson, etag=True))
    server.route(
        "/geo/swapped.geojson",
        Response.json(polygon([(lat, lon) for lon, lat in box(-95, 31, -93, 33)])),
    )
    server.route(
        "/geo/antimeridian.geojson",
        Response.json(polygon([(178, -18), (-178, -18), (-178, -16), (178, -16), (178, -18)])),
    )
    server.route(
        "/geo/huge.geojson",
        Response(200, b" " * 300_000 + b"{}", {"Content-Type": "application/geo+json"}),
    )
    server.route("/geo/overlap.geojson", Response.json(polygon(OVERLAPPING)))
    server.route("/maps/ok.png", Response(200, b"\x89PNG....", {"Content-Type": "image/png"}))
    server.route("/maps/html.png", Response(200, b"<html></html>", {"Content-Type": "text/html"}))
    server.route("/oauth/a.json", Response.json(oauth_metadata_example(), etag=True))
    server.route(
        "/oauth/b.json", Response(200, b"<html>login</html>", {"Content-Type": "text/html"})
    )

    a_entries = [
        entry(name, server, role="authoritative" if name == "square" else "official")
        for name in TERRITORIES
        if name != "draft2023"
    ]
    a_entries += [
        {
            "id": "draft2023",
            "type": "electric_service_territory",
            "updated": "2023-06-01T00:00:00Z",
            "name": "2023-draft territory",
            "geojson_resource": server.url("/geo/draft2023.geojson"),
        },
        entry("swapped", server),
        entry("antimeridian", server),
        entry("huge", server),
        entry(
            "mapped",
            server,
            geojson_resource=None,
            map_resource=server.url("/maps/ok.png"),
            map_content_type="image/png",
        ),
        entry(
            "badmap",
            server,
            geojson_resource=None,
            map_resource=server.url("/maps/html.png"),
            map_content_type="image/png",
        ),
        entry(
            "nomap",
            server,
            geojson_resource=None,
            map_resource=server.url("/maps/missing.png"),
            map_content_type="image/png",
        ),
    ]
    a = publish(
        server, "a", a_entries, capabilities=["oauth"], oauth_metadata=server.url("/oauth/a.json")
    )
    b = publish(
        server,
        "b",
        [entry("overlap", server, role="authoritative")],
        capabilities=["oauth"],
        oauth_metadata=server.url("/oauth/b.json"),
    )
    run_cli(database_url, "seeds", "add", a, b, env=LOOPBACK)
    return {"a": a, "b": b}


# /geo/huge.geojson is 300 kB; every server of the test is one host, with many resources.
CRAWL_ENV = {"CDS_CRAWLER_MAX_GEOJSON_BYTES": "100000", "CDS_CRAWLER_PER_HOST_RATE": "1000"}


def show(database_url: str, url: str) -> dict[str, Any]:
    detail: dict[str, Any] = run_cli(database_url, "show", url, "--json").json()
    return detail


def territories_by_entry(detail: dict[str, Any]) -> dict[str, Any]:
    return {e["entry_id"]: e["territory"] for e in detail["coverage_entries"]}


def rules_about(detail: dict[str, Any], fragment: str) -> list[str]:
    return sorted(f["rule"] for f in detail["findings"] if fragment in f["url"])


def test_a_crawl_reads_every_territory_map_and_oauth_document(
    database_url: str, federation: dict[str, str]
) -> None:
    crawl(database_url, **CRAWL_ENV)

    a, b = show(database_url, federation["a"]), show(database_url, federation["b"])
    territories = territories_by_entry(a)
    mapped = {"square", "holed", "multi", "collection", "bowtie", "draft2023", "antimeridian"}
    assert {name for name, t in territories.items() if t is not None} == mapped
    assert territories["square"]["bbox"] == [-100, 30, -98, 32]
    assert territories["square"]["area_km2"] == pytest.approx(
        2 * 2 * 111.2 * 111.2 * 0.85, rel=0.05
    )
    assert territories["antimeridian"]["bbox"][0] == -180  # cut at the antimeridian
    assert rules_about(a, "/geo/bowtie") == ["territory.invalid-geometry"]
    assert rules_about(a, "/geo/swapped") == ["territory.out-of-range"]
    assert rules_about(a, "/geo/antimeridian") == ["territory.antimeridian"]
    assert rules_about(a, "/geo/huge") == ["territory.unavailable"]
    assert rules_about(a, "/maps/html.png") == ["map.content-type"]
    assert rules_about(a, "/maps/missing.png") == ["map.unreachable"]
    assert rules_about(a, "/maps/ok.png") == []
    assert rules_about(a, "/oauth/") == []
    assert "coverage.authoritative-overlap" in [f["rule"] for f in a["findings"]]
    assert "coverage.authoritative-overlap" in [f["rule"] for f in b["findings"]]
    oauth = a["oauth_metadata"]
    assert oauth["url"].endswith("/oauth/a.json")
    assert oauth["valid"] is True
    assert oauth["well_known"] is False
    assert {"client_admin", "grant_admin"} <= set(oauth["scopes_supported"])
    assert b["oauth_metadata"] is None
    assert rules_about(b, "/oauth/b.json")  # not JSON: a finding, and nothing stored


def sample_points(count: int) -> list[tuple[float, float]]:
    """(lat, lon) points spread over the territories, and a few around the antimeridian."""
    rng = random.Random(20261129)
    points = [(rng.uniform(29, 41), rng.uniform(-101, -88)) for _ in range(count // 2)]
    rings = [rings[0] for _, polygons in TERRITORIES.values() for rings in polygons]
    for ring in rings:  # and as many again within the territories' bounding boxes
        lons, lats = [lon for lon, _ in ring], [lat for _, lat in ring]
        for _ in range(count // 2 // len(rings)):
            points.append((rng.uniform(min(lats), max(lats)), rng.uniform(min(lons), max(lons))))
    return [*points, (-17.0, 179.0), (-17.0, -179.0), (-17.0, 0.0), (-19.0, 179.0)]


def expected_at(federation: dict[str, str], lat: float, lon: float) -> set[tuple[str, str]]:
    truth = {
        (federation["a"], name)
        for name, (_, rings) in TERRITORIES.items()
        if covers(rings, lon, lat)
    }
    if covers([[OVERLAPPING]], lon, lat):
        truth.add((federation["b"], "overlap"))
    antimeridian = [[box(178, -18, 180, -16)], [box(-180, -18, -178, -16)]]
    if covers(antimeridian, lon, lat):
        truth.add((federation["a"], "antimeridian"))
    return truth


def test_coverage_at_returns_exactly_the_entries_covering_each_point(
    database_url: str, federation: dict[str, str]
) -> None:
    crawl(database_url, **CRAWL_ENV)
    index = TerritoryIndex()
    points = sample_points(200)

    with open_reader(database_url) as reader:
        answers = {point: entries_at(reader, index, *point) for point in points}

    for (lat, lon), found in answers.items():
        got = {(e["server_url"], e["entry_id"]) for e in found}
        assert got == expected_at(federation, lat, lon), (lat, lon)
    assert sum(bool(found) for found in answers.values()) > 80  # the sample hits territories


def test_the_coverage_command_prints_entries_as_json_and_refuses_bad_points(
    database_url: str, federation: dict[str, str]
) -> None:
    crawl(database_url, **CRAWL_ENV)

    found = run_cli(database_url, "coverage", "--at", "31,-99.5", "--json")
    table = run_cli(database_url, "coverage", "--at", "31,-99.5")
    bad = [run_cli(database_url, "coverage", "--at", at) for at in ("91,0", "x,y", "1", "0,181")]

    assert found.code == 0, found.stderr
    rows = found.json()
    assert [(r["server_url"], r["entry_id"]) for r in rows] == [(federation["a"], "square")]
    assert rows[0]["role"] == "authoritative"
    assert rows[0]["commodity_types"] == ["electricity"]
    assert rows[0]["valid"] is True
    assert table.code == 0
    assert "square" in table.stdout
    assert [r.code for r in bad] == [2, 2, 2, 2]
    assert "LAT,LON" in bad[0].stderr


def territory_versions(database_url: str) -> dict[str, list[tuple[int, bool]]]:
    with open_reader(database_url) as reader:
        rows = reader.rows(
            "SELECT entry_id, version, valid_to IS NULL AS current FROM territories "
            "ORDER BY entry_id, version"
        )
    found: dict[str, list[tuple[int, bool]]] = {}
    for row in rows:
        found.setdefault(row["entry_id"], []).append((row["version"], bool(row["current"])))
    return found


def test_an_unchanged_recrawl_asks_conditionally_and_stores_nothing_new(
    database_url: str, server: LoopbackServer, federation: dict[str, str]
) -> None:
    crawl(database_url, **CRAWL_ENV)
    first = show(database_url, federation["a"])
    crawl(database_url, **CRAWL_ENV)
    second = show(database_url, federation["a"])

    assert server.requests["/geo/square.geojson"] == 2
    assert server.conditional["/geo/square.geojson"] == 1
    assert server.conditional["/oauth/a.json"] == 1
    assert all(versions == [(1, True)] for versions in territory_versions(database_url).values())
    assert sorted(f["rule"] for f in second["findings"]) == sorted(
        f["rule"] for f in first["findings"]
    )
    assert second["oauth_metadata"]["version"] == 1


def test_territories_change_only_when_the_area_does(
    database_url: str, server: LoopbackServer, federation: dict[str, str]
) -> None:
    crawl(database_url, **CRAWL_ENV)
    noisy = [(lon + 1e-9, lat - 1e-9) for lon, lat in box(-100, 30, -98, 32)]
    server.route("/geo/square.geojson", Response.json(polygon(noisy)))
    server.route("/geo/holed.geojson", Response.json(polygon(box(-97, 30, -93, 34))))
    crawl(database_url, **CRAWL_ENV)

    versions = territory_versions(database_url)
    assert versions["square"] == [(1, True)]
    assert versions["holed"] == [(1, False), (2, True)]
    listed = run_cli(database_url, "events", "--json").stdout.splitlines()
    changed = [json.loads(line) for line in listed if "entry.changed" in line]
    assert [e["subject"] for e in changed] == [f"{federation['a']}#holed"]
    territory = changed[0]["data"]["territory"]
    hole = territory["area_km2"] - territory["previous_area_km2"]  # the hole was filled
    assert territory["version"] == 2
    assert territory["symmetric_difference_km2"] == pytest.approx(hole, rel=1e-6)
    assert territory["relative_change"] == pytest.approx(4 / 12, rel=0.01)


def test_oauth_metadata_is_versioned_and_closed_when_no_longer_linked(
    database_url: str, server: LoopbackServer, federation: dict[str, str]
) -> None:
    crawl(database_url, **CRAWL_ENV)
    changed = {**oauth_metadata_example(), "op_tos_uri": "https://example.com/terms-2"}
    server.route("/oauth/a.json", Response.json(changed))
    crawl(database_url, **CRAWL_ENV)
    after_change = show(database_url, federation["a"])["oauth_metadata"]
    document = metadata_document(federation["a"])
    server.route(f"/a{WELL_KNOWN}", Response.json(document))
    crawl(database_url, **CRAWL_ENV)

    assert after_change["version"] == 2
    assert show(database_url, federation["a"])["oauth_metadata"] is None
    with open_reader(database_url) as reader:
        rows = reader.rows(
            "SELECT version, valid_to IS NULL AS current FROM oauth_metadata ORDER BY id"
        )
    assert [(r["version"], bool(r["current"])) for r in rows] == [(1, False), (2, False)]


def test_restricted_resources_are_recorded_as_such_and_keep_what_was_stored(
    database_url: str, server: LoopbackServer, federation: dict[str, str]
) -> None:
    crawl(database_url, **CRAWL_ENV)
    server.route("/geo/square.geojson", Response(401, b"", {"WWW-Authenticate": "Bearer"}))
    server.route("/oauth/a.json", Response(403, b""))
    crawl(database_url, **CRAWL_ENV)

    detail = show(database_url, federation["a"])
    assert rules_about(detail, "/geo/square") == ["access.restricted"]
    assert rules_about(detail, "/oauth/a.json") == ["access.restricted"]
    assert territories_by_entry(detail)["square"] is not None
    assert detail["oauth_metadata"]["version"] == 1

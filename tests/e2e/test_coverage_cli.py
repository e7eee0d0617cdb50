"""Coverage listings: every page read, entries versioned per (server, entry id)."""

from __future__ import annotations

from typing import Any

from crawler.testing import LoopbackServer, Request, Response, stream
from storage.reader import open_reader
from tests.cli import run_cli
from tests.federation import LOOPBACK, WELL_KNOWN, WHOLE_READS, crawl, metadata_document


def metadata(server: LoopbackServer) -> dict[str, Any]:
    return metadata_document(
        server.url(WELL_KNOWN),
        capabilities=["coverage"],
        coverage=server.url("/coverage-1.json"),
    )


def entry(number: int, name: str | None = None) -> dict[str, Any]:
    return {
        "id": f"e{number}",
        "created": "2024-01-01T00:00:00Z",
        "updated": f"2025-01-{31 - number:02d}T00:00:00Z",  # newest first
        "entity_name": "Covered Utility",
        "entity_abbreviation": None,
        "country": "US",
        "name": name or f"Territory {number}",
        "type": "geographic",
        "role": "authoritative",
        "infrastructure_types": ["distribution_utility"],
        "commodity_types": ["electricity"],
        "capabilities": [],
        "geojson_resource": f"/territory-{number}.geojson",  # on the server; see publish_pages
    }


def square(west: float, south: float) -> dict[str, Any]:
    ring = [[west, south], [west + 1, south], [west + 1, south + 1], [west, south + 1]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def publish_pages(server: LoopbackServer, pages: list[list[dict[str, Any]]]) -> None:
    """Serve the listing's pages, and each entry's territory (a square) on the same server."""
    for number, entries in enumerate(pages, start=1):
        for index, item in enumerate(entries):
            path = item["geojson_resource"]
            server.route(path, Response.json(square(-100 + number, 30 + index), etag=True))
        entries = [
            {**item, "geojson_resource": server.url(item["geojson_resource"])} for item in entries
        ]
        following = server.url(f"/coverage-{number + 1}.json") if number < len(pages) else None
        previous = server.url(f"/coverage-{number - 1}.json") if number > 1 else None
        listing = {"coverage_entries": entries, "next": following, "previous": previous}
        server.route(f"/coverage-{number}.json", Response.json(listing, etag=True))


def shown(database_url: str, server: LoopbackServer) -> dict[str, Any]:
    detail: dict[str, Any] = run_cli(database_url, "show", server.url(WELL_KNOWN), "--json").json()
    return detail


def entry_history(database_url: str) -> list[tuple[str, int, bool]]:
    with open_reader(database_url) as reader:
        rows = reader.rows(
            "SELECT entry_id, version, valid_to IS NULL AS current FROM coverage_entries "
            "ORDER BY entry_id, version"
        )
    return [(r["entry_id"], r["version"], bool(r["current"])) for r in rows]


def test_a_paginated_listing_is_read_whole_and_versioned_per_entry(
    database_url: str, server: LoopbackServer
) -> None:
    server.route(WELL_KNOWN, Response.json(metadata(server), etag=True))
    publish_pages(server, [[entry(1), entry(2)], [entry(3), entry(4)], [entry(5), entry(6)]])
    run_cli(database_url, "seeds", "add", server.url(WELL_KNOWN), env=LOOPBACK)

    crawl(database_url)
    first = shown(database_url, server)
    publish_pages(server, [[entry(1), entry(2, name="Renamed")], [entry(3), entry(4)], [entry(5)]])
    crawl(database_url, **WHOLE_READS)  # the metadata answers 304: the listing is read all the same
    second = shown(database_url, server)

    assert [e["entry_id"] for e in first["coverage_entries"]] == [f"e{n}" for n in range(1, 7)]
    assert first["coverage_entries"][0]["type"] == "geographic"
    assert first["coverage_entries"][0]["commodity_types"] == ["electricity"]
    assert all(e["valid"] for e in first["coverage_entries"])
    assert [e["entry_id"] for e in second["coverage_entries"]] == [f"e{n}" for n in range(1, 6)]
    assert entry_history(database_url) == [
        ("e1", 1, True),
        ("e2", 1, False),
        ("e2", 2, True),
        ("e3", 1, True),
        ("e4", 1, True),
        ("e5", 1, True),
        ("e6", 1, False),
    ]


def test_a_listing_that_cannot_be_read_keeps_its_entries(
    database_url: str, server: LoopbackServer
) -> None:
    server.route(WELL_KNOWN, Response.json(metadata(server)))
    publish_pages(server, [[entry(1)], [entry(2)]])
    run_cli(database_url, "seeds", "add", server.url(WELL_KNOWN), env=LOOPBACK)
    crawl(database_url)

    server.route("/coverage-2.json", Response(500, b"down"))
    crawl(database_url, **WHOLE_READS)

    detail = shown(database_url, server)
    assert [e["entry_id"] for e in detail["coverage_entries"]] == ["e1", "e2"]
    assert "coverage.unavailable" in [f["rule"] for f in detail["findings"]]


def test_loops_duplicates_and_order_are_findings(database_url: str, server: LoopbackServer) -> None:
    server.route(WELL_KNOWN, Response.json(metadata(server)))
    publish_pages(server, [[entry(2), entry(1)], [entry(1), entry(3)]])
    back_to_start = {
        "coverage_entries": [entry(1), entry(3)],
        "next": server.url("/coverage-1.json"),
        "previous": server.url("/coverage-1.json"),
    }
    server.route("/coverage-2.json", Response.json(back_to_start))
    run_cli(database_url, "seeds", "add", server.url(WELL_KNOWN), env=LOOPBACK)

    crawl(database_url)

    detail = shown(database_url, server)
    rules = [f["rule"] for f in detail["findings"]]
    assert [e["entry_id"] for e in detail["coverage_entries"]] == ["e1", "e2", "e3"]
    assert "coverage.page-loop" in rules
    assert "coverage.duplicate-id" in rules
    assert "coverage.order" in rules
    assert server.requests["/coverage-1.json"] == 1


def test_capabilities_must_include_those_the_entries_offer(
    database_url: str, server: LoopbackServer
) -> None:
    server.route(WELL_KNOWN, Response.json(metadata(server), etag=True))
    offering_oauth = {**entry(1), "capabilities": ["oauth"]}
    publish_pages(server, [[offering_oauth]])
    run_cli(database_url, "seeds", "add", server.url(WELL_KNOWN), env=LOOPBACK)

    crawl(database_url)
    first = [(f["rule"], f["pointer"]) for f in shown(database_url, server)["findings"]]
    crawl(database_url)  # the metadata answers 304: the stored document is checked
    again = [(f["rule"], f["pointer"]) for f in shown(database_url, server)["findings"]]

    assert first == [("metadata.capabilities-union", "/capabilities")]
    assert again == first


def test_a_document_that_stops_linking_its_listing_ends_its_entries_and_territories(
    database_url: str, server: LoopbackServer
) -> None:
    server.route(WELL_KNOWN, Response.json(metadata(server)))
    publish_pages(server, [[entry(1), entry(2)]])
    run_cli(database_url, "seeds", "add", server.url(WELL_KNOWN), env=LOOPBACK)
    crawl(database_url)

    server.route(WELL_KNOWN, Response.json(metadata_document(server.url(WELL_KNOWN))))
    crawl(database_url)

    assert shown(database_url, server)["coverage_entries"] == []
    assert entry_history(database_url) == [("e1", 1, False), ("e2", 1, False)]
    with open_reader(database_url) as reader:
        territories = reader.rows("SELECT valid_to IS NULL AS current FROM territories")
    assert [bool(t["current"]) for t in territories] == [False, False]


def logical(number: int) -> dict[str, Any]:
    item = {**entry(number), "type": "logical"}
    del item["geojson_resource"]
    return item


def test_an_endless_listing_stops_at_the_page_cap_and_keeps_what_it_read(
    database_url: str, server: LoopbackServer
) -> None:
    async def endless(request: Request, writer: object) -> Response:
        page = int(request.query.removeprefix("page=") or 1)
        following = server.url(f"/coverage-1.json?page={page + 1}")
        listing = {"coverage_entries": [logical(page)], "next": following, "previous": None}
        return Response.json(listing)

    server.route(WELL_KNOWN, Response.json(metadata(server)))
    server.route("/coverage-1.json", endless)
    run_cli(database_url, "seeds", "add", server.url(WELL_KNOWN), env=LOOPBACK)

    crawl(database_url, CDS_CRAWLER_MAX_COVERAGE_PAGES="20", CDS_CRAWLER_PER_HOST_RATE="1000")

    detail = shown(database_url, server)
    assert len(detail["coverage_entries"]) == 20
    assert "coverage.too-many-pages" in [f["rule"] for f in detail["findings"]]
    assert server.requests["/coverage-1.json"] == 20


def test_the_entry_cap_stops_only_a_listing_longer_than_it(
    database_url: str, server: LoopbackServer
) -> None:
    server.route(WELL_KNOWN, Response.json(metadata(server)))
    publish_pages(server, [[entry(1), entry(2)], [entry(3)]])
    run_cli(database_url, "seeds", "add", server.url(WELL_KNOWN), env=LOOPBACK)

    capped = {**WHOLE_READS, "CDS_CRAWLER_MAX_COVERAGE_ENTRIES": "3"}
    crawl(database_url, **capped)
    exactly = shown(database_url, server)
    publish_pages(server, [[entry(1), entry(2)], [entry(3), entry(4)]])
    crawl(database_url, **capped)
    over = shown(database_url, server)

    assert [e["entry_id"] for e in exactly["coverage_entries"]] == ["e1", "e2", "e3"]
    assert "coverage.too-many-entries" not in [f["rule"] for f in exactly["findings"]]
    assert [e["entry_id"] for e in over["coverage_entries"]] == ["e1", "e2", "e3"]
    too_many = [f for f in over["findings"] if f["rule"] == "coverage.too-many-entries"]
    assert [f["message"] for f in too_many] == ["more than 3 entries; the rest is not read"]


def test_a_50_mb_listing_page_ends_at_the_size_cap_with_a_finding(
    database_url: str, server: LoopbackServer
) -> None:
    server.route(WELL_KNOWN, Response.json(metadata(server)))
    server.route("/coverage-1.json", stream(50 * 1024 * 1024))
    run_cli(database_url, "seeds", "add", server.url(WELL_KNOWN), env=LOOPBACK)

    summary = crawl(database_url)

    detail = shown(database_url, server)
    assert summary["servers_new"] == 1
    assert detail["status"] == "ok"
    unavailable = [f for f in detail["findings"] if f["rule"] == "coverage.unavailable"]
    assert len(unavailable) == 1
    assert "cap" in unavailable[0]["message"]


def test_a_listing_two_documents_share_is_read_once_for_both(
    database_url: str, server: LoopbackServer
) -> None:
    first, second = server.url(f"/a{WELL_KNOWN}"), server.url(f"/b{WELL_KNOWN}")
    for prefix, url in (("/a", first), ("/b", second)):
        document = metadata_document(
            url, capabilities=["coverage"], coverage=server.url("/coverage-1.json")
        )
        server.route(f"{prefix}{WELL_KNOWN}", Response.json(document))
    publish_pages(server, [[entry(1), entry(2)]])
    run_cli(database_url, "seeds", "add", first, second, env=LOOPBACK)

    summary = crawl(database_url)

    with open_reader(database_url) as reader:
        rows = reader.rows("SELECT server_id, entry_id FROM coverage_entries")
    assert server.requests["/coverage-1.json"] == 1
    assert len(rows) == 4  # each server lists both entries
    assert summary["requests"] == sum(server.requests.values())


def test_unchanged_pages_are_asked_for_conditionally_and_read_from_storage(
    database_url: str, server: LoopbackServer
) -> None:
    server.route(WELL_KNOWN, Response.json(metadata(server), etag=True))
    publish_pages(server, [[entry(1), entry(2)], [entry(3)]])
    run_cli(database_url, "seeds", "add", server.url(WELL_KNOWN), env=LOOPBACK)
    crawl(database_url)
    first = shown(database_url, server)

    crawl(database_url, **WHOLE_READS)  # nothing changed: every page answers 304
    unchanged = shown(database_url, server)
    publish_pages(server, [[entry(1), entry(2, name="Renamed")], [entry(3)]])
    crawl(database_url, **WHOLE_READS)  # page 1 changed (a new ETag), page 2 did not

    assert server.conditional["/coverage-1.json"] == 2
    assert server.conditional["/coverage-2.json"] == 2
    assert [(e["entry_id"], e["version"]) for e in unchanged["coverage_entries"]] == [
        (e["entry_id"], e["version"]) for e in first["coverage_entries"]
    ]
    assert all(
        after["last_confirmed_at"] > before["last_confirmed_at"]
        for before, after in zip(
            first["coverage_entries"], unchanged["coverage_entries"], strict=True
        )
    )
    assert [e["name"] for e in shown(database_url, server)["coverage_entries"]] == [
        "Territory 1",
        "Renamed",
        "Territory 3",
    ]
    assert entry_history(database_url) == [
        ("e1", 1, True),
        ("e2", 1, False),
        ("e2", 2, True),
        ("e3", 1, True),
    ]

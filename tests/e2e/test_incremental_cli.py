"""Re-polls of a paginated listing stop at the watermark (CDSC-WG1-01 4.1), read whole every
`coverage_sweep_interval`, and spot-check unread entries through the `ids` filter (4.2)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from crawler.testing import Handler, LoopbackServer, Request, Response
from tests.cli import run_cli
from tests.federation import (
    LOOPBACK,
    WELL_KNOWN,
    WHOLE_READS,
    coverage_entry,
    crawl,
    metadata_document,
)

SPOT_CHECK_NOW = {"CDS_CRAWLER_COVERAGE_SPOT_CHECK_INTERVAL": "0"}


def entry(number: int, **members: Any) -> dict[str, Any]:
    """Entry `number`; a smaller number is newer, so listings list them in number order."""
    return coverage_entry(f"e{number}", updated=f"2025-01-{31 - number:02d}T00:00:00Z", **members)


class Listing:
    """A paginated listing on `server`, each entry's territory beside it; the first page
    answers `ids` queries (unless told to ignore them) and records what they asked for."""

    def __init__(self, server: LoopbackServer, *, honour_ids: bool = True) -> None:
        self.server = server
        self.honour_ids = honour_ids
        self.asked: list[list[str]] = []
        self.entries: list[dict[str, Any]] = []

    def publish(self, pages: list[list[dict[str, Any]]]) -> None:
        self.entries = [item for page in pages for item in page]
        for number, items in enumerate(pages, start=1):
            for item in items:
                path = f"/territory-{item['id']}.geojson"
                item["geojson_resource"] = self.server.url(path)
                self.server.route(path, Response.json(_square(int(item["id"][1:])), etag=True))
            following = f"/coverage-{number + 1}.json" if number < len(pages) else None
            listing = {
                "coverage_entries": items,
                "next": self.server.url(following) if following else None,
                "previous": None,
            }
            page = Response.json(listing, etag=True)
            self.server.route(
                f"/coverage-{number}.json", self._first(page) if number == 1 else page
            )

    def _first(self, page: Response) -> Handler:
        async def handler(request: Request, _writer: object) -> Response:
            ids = parse_qs(request.query).get("ids")
            if not ids or not self.honour_ids:
                return page
            wanted = ids[0].split(" ")
            self.asked.append(wanted)
            found = [item for item in self.entries if item["id"] in wanted]
            return Response.json({"coverage_entries": found, "next": None, "previous": None})

        return handler


def _square(number: int) -> dict[str, Any]:
    """A territory of its own for entry `number`, wherever the entry is listed."""
    west, south = -100 + number, 30.0
    ring = [[west, south], [west + 1, south], [west + 1, south + 1], [west, south + 1]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def publish_metadata(server: LoopbackServer, **members: Any) -> None:
    document = metadata_document(
        server.url(WELL_KNOWN),
        capabilities=["coverage"],
        coverage=server.url("/coverage-1.json"),
        **members,
    )
    server.route(WELL_KNOWN, Response.json(document, etag=True))


def start(database_url: str, server: LoopbackServer, listing: Listing, pages: Any) -> None:
    publish_metadata(server)
    listing.publish(pages)
    run_cli(database_url, "seeds", "add", server.url(WELL_KNOWN), env=LOOPBACK)
    crawl(database_url)


def shown(database_url: str, server: LoopbackServer) -> dict[str, Any]:
    result = run_cli(database_url, "show", server.url(WELL_KNOWN), "--json", env=LOOPBACK)
    detail: dict[str, Any] = json.loads(result.stdout)
    return detail


def entry_ids(database_url: str, server: LoopbackServer) -> list[str]:
    return sorted(e["entry_id"] for e in shown(database_url, server)["coverage_entries"])


def event_types(database_url: str) -> list[tuple[str, str]]:
    result = run_cli(database_url, "events", "--json", env=LOOPBACK)
    assert result.code == 0, result.stderr
    found = [json.loads(line) for line in result.stdout.splitlines()]
    return [(event["type"], event["subject"]) for event in found]


def three_pages() -> list[list[dict[str, Any]]]:
    return [[entry(1), entry(2)], [entry(3), entry(4)], [entry(5), entry(6)]]


def test_a_re_poll_stops_paging_at_entries_the_last_read_saw(
    database_url: str, server: LoopbackServer
) -> None:
    listing = Listing(server)
    start(database_url, server, listing, three_pages())
    before = len(event_types(database_url))

    listing.publish([[entry(0), entry(1)], [entry(2), entry(3)], [entry(4), entry(5)], [entry(6)]])
    summary = crawl(database_url)

    assert server.requests["/coverage-1.json"] == 2
    assert server.requests["/coverage-2.json"] == 1  # page 1 reached the watermark
    assert server.requests["/coverage-4.json"] == 0
    assert server.requests["/territory-e5.geojson"] == 1  # not on the pages read again
    assert summary["requests"] == 4  # the document, page 1 and its two territories
    events = event_types(database_url)[before:]
    assert [kind for kind, _ in events] == ["cds.coverage.entry.added"]
    assert entry_ids(database_url, server) == [f"e{n}" for n in range(7)]
    assert listing.asked == []  # a spot check is due an hour after the last whole read


def test_a_whole_read_is_due_every_sweep_interval_and_finds_deletions(
    database_url: str, server: LoopbackServer
) -> None:
    listing = Listing(server)
    start(database_url, server, listing, three_pages())

    listing.publish([[entry(1), entry(2)], [entry(3), entry(4)], [entry(5)]])
    crawl(database_url)  # stops after page 1: e6 is not known to be gone yet
    assert entry_ids(database_url, server) == [f"e{n}" for n in range(1, 7)]

    crawl(database_url, **WHOLE_READS)
    assert entry_ids(database_url, server) == [f"e{n}" for n in range(1, 6)]
    assert server.requests["/coverage-3.json"] == 2
    assert event_types(database_url)[-1] == (
        "cds.coverage.entry.removed",
        f"{server.url(WELL_KNOWN)}#e6",
    )


def covering(database_url: str, number: int) -> list[str]:
    """The entries whose territory holds the middle of entry `number`'s square."""
    found = run_cli(database_url, "coverage", "--at", f"30.5,{-99.5 + number}", "--json")
    assert found.code == 0, found.stderr
    return [row["entry_id"] for row in found.json()]


def test_a_spot_check_by_id_finds_an_entry_deleted_below_the_watermark(
    database_url: str, server: LoopbackServer
) -> None:
    listing = Listing(server)
    start(database_url, server, listing, three_pages())
    assert covering(database_url, 5) == ["e5"]

    listing.publish([[entry(1), entry(2)], [entry(3), entry(4)], [entry(6)]])  # e5 deleted
    crawl(database_url, **SPOT_CHECK_NOW)

    assert len(listing.asked) == 1
    assert sorted(listing.asked[0]) == ["e3", "e4", "e5", "e6"]  # the entries not read again
    assert entry_ids(database_url, server) == ["e1", "e2", "e3", "e4", "e6"]
    assert event_types(database_url)[-1] == (
        "cds.coverage.entry.removed",
        f"{server.url(WELL_KNOWN)}#e5",
    )
    assert covering(database_url, 5) == []  # its territory ended with it
    assert server.requests["/coverage-3.json"] == 1
    assert "coverage.ids-filter" not in {f["rule"] for f in shown(database_url, server)["findings"]}


def test_a_spot_check_finds_a_change_that_did_not_move_the_entry_up(
    database_url: str, server: LoopbackServer
) -> None:
    listing = Listing(server)
    start(database_url, server, listing, three_pages())

    renamed = entry(5, name="Renamed without a new `updated`")
    listing.publish([[entry(1), entry(2)], [entry(3), entry(4)], [renamed, entry(6)]])
    crawl(database_url, **SPOT_CHECK_NOW)

    changed = [s for kind, s in event_types(database_url) if kind == "cds.coverage.entry.changed"]
    assert changed == [f"{server.url(WELL_KNOWN)}#e5"]


def test_a_listing_that_ignores_the_ids_filter_is_a_finding_that_holds_between_checks(
    database_url: str, server: LoopbackServer
) -> None:
    listing = Listing(server, honour_ids=False)
    start(database_url, server, listing, three_pages())

    crawl(database_url, **SPOT_CHECK_NOW)  # the answer is page 1: entries not asked for
    after_check = shown(database_url, server)
    crawl(database_url)  # no spot check due: the finding holds
    between = shown(database_url, server)

    for detail in (after_check, between):
        rules = [f["rule"] for f in detail["findings"]]
        assert rules.count("coverage.ids-filter") == 1
    assert entry_ids(database_url, server) == [f"e{n}" for n in range(1, 7)]


def test_findings_about_pages_not_read_again_hold_until_the_next_whole_read(
    database_url: str, server: LoopbackServer
) -> None:
    listing = Listing(server)
    start(
        database_url,
        server,
        listing,
        [[entry(1), entry(2)], [entry(3), entry(4)], [entry(5), entry(6, country="XX")]],
    )
    first = {f["rule"] for f in shown(database_url, server)["findings"]}

    crawl(database_url)
    second = {f["rule"] for f in shown(database_url, server)["findings"]}
    listing.publish(three_pages())  # e6 fixed
    crawl(database_url, **WHOLE_READS)
    third = {f["rule"] for f in shown(database_url, server)["findings"]}

    assert "coverage.country" in first
    assert first == second
    assert "coverage.country" not in third


def test_a_listing_out_of_order_is_read_whole_every_time(
    database_url: str, server: LoopbackServer
) -> None:
    listing = Listing(server)
    start(database_url, server, listing, [[entry(1), entry(2)], [entry(4), entry(3)], [entry(5)]])
    crawl(database_url)
    assert server.requests["/coverage-3.json"] == 2


def test_a_new_document_has_its_listing_read_whole(
    database_url: str, server: LoopbackServer
) -> None:
    listing = Listing(server)
    start(database_url, server, listing, three_pages())
    publish_metadata(server, name="Renamed Utility")
    crawl(database_url)
    assert server.requests["/coverage-3.json"] == 2

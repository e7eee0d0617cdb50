"""robots.txt (RFC 9309) is honoured for the crawler's user agent: a disallowed metadata URL is
`blocked` with a finding, a disallowed linked resource is not fetched, an unreadable
robots.txt keeps the crawler away, and operators with consent can turn it off."""

from __future__ import annotations

from typing import Any

from crawler.testing import LoopbackServer, Response
from tests.cli import run_cli
from tests.federation import LOOPBACK, WELL_KNOWN, coverage_entry, crawl, metadata_document


def robots(server: LoopbackServer, text: str, status: int = 200) -> None:
    server.route("/robots.txt", Response(status, text.encode(), {"Content-Type": "text/plain"}))


def publish(server: LoopbackServer) -> None:
    entry = coverage_entry("e1", geojson_resource=server.url("/private/e1.geojson"))
    listing = {"coverage_entries": [entry], "next": None, "previous": None}
    document = metadata_document(
        server.url(WELL_KNOWN), capabilities=["coverage"], coverage=server.url("/coverage.json")
    )
    server.route(WELL_KNOWN, Response.json(document))
    server.route("/coverage.json", Response.json(listing))
    square = [[-100, 30], [-99, 30], [-99, 31], [-100, 31], [-100, 30]]
    server.route("/private/e1.geojson", Response.json({"type": "Polygon", "coordinates": [square]}))


def crawled(database_url: str, server: LoopbackServer, **env: str) -> dict[str, Any]:
    run_cli(database_url, "seeds", "add", server.url(WELL_KNOWN), env=LOOPBACK)
    crawl(database_url, **env)
    shown = run_cli(database_url, "show", server.url(WELL_KNOWN), "--json", env=LOOPBACK)
    assert shown.code == 0, shown.stderr
    detail: dict[str, Any] = shown.json()
    return detail


def rules_of(detail: dict[str, Any]) -> list[str]:
    return [finding["rule"] for finding in detail["findings"]]


def test_a_metadata_url_robots_txt_disallows_is_blocked_and_not_fetched(
    database_url: str, server: LoopbackServer
) -> None:
    publish(server)
    robots(server, "User-agent: other-bot\nAllow: /\n\nUser-agent: cds-crawler\nDisallow: /\n")

    detail = crawled(database_url, server)

    assert detail["status"] == "blocked"
    assert rules_of(detail) == ["robots.disallowed"]
    assert "robots.txt disallows" in detail["findings"][0]["message"]
    assert server.requests[WELL_KNOWN] == 0


def test_the_rules_in_the_first_500_kib_of_a_longer_robots_txt_apply(
    database_url: str, server: LoopbackServer
) -> None:
    publish(server)
    padding = "".join(f"# comment line {n} to make the file long\n" for n in range(20_000))
    assert len(padding) > 500 * 1024
    robots(server, "User-agent: *\nDisallow: /\n" + padding)

    detail = crawled(database_url, server)

    assert detail["status"] == "blocked"
    assert rules_of(detail) == ["robots.disallowed"]
    assert server.requests[WELL_KNOWN] == 0


def test_a_disallowed_linked_resource_is_not_fetched(
    database_url: str, server: LoopbackServer
) -> None:
    publish(server)
    robots(server, "User-agent: *\nDisallow: /private/\n")

    detail = crawled(database_url, server)

    assert detail["status"] == "ok"
    assert server.requests["/coverage.json"] == 1
    assert server.requests["/private/e1.geojson"] == 0
    [finding] = [f for f in detail["findings"] if f["rule"] == "territory.unavailable"]
    assert "robots.txt disallows" in finding["message"]


def test_operators_with_the_publisher_s_consent_can_turn_robots_txt_off(
    database_url: str, server: LoopbackServer
) -> None:
    publish(server)
    robots(server, "User-agent: *\nDisallow: /\n")

    detail = crawled(database_url, server, CDS_CRAWLER_RESPECT_ROBOTS_TXT="false")

    assert detail["status"] == "ok"
    assert server.requests["/robots.txt"] == 0
    assert server.requests["/private/e1.geojson"] == 1


def test_an_unreadable_robots_txt_keeps_the_crawler_away_and_a_missing_one_allows_all(
    database_url: str, server: LoopbackServer
) -> None:
    publish(server)
    robots(server, "down for maintenance", status=503)

    unreadable = crawled(database_url, server, CDS_CRAWLER_RETRY_BACKOFF="0.01")
    asked_while_down = server.requests[WELL_KNOWN]
    robots(server, "not here", status=404)
    run_cli(database_url, "seeds", "add", server.url(WELL_KNOWN), env=LOOPBACK)
    crawl(database_url)  # an unreadable robots.txt is not kept: it is asked for again

    assert unreadable["status"] == "unreachable"
    assert "robots.unreachable" in rules_of(unreadable)
    assert asked_while_down == 0
    assert server.requests[WELL_KNOWN] == 1

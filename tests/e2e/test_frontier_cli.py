"""One pass follows related_metadata: subsidiaries found only through links, with provenance."""

from __future__ import annotations

from crawler.testing import LoopbackServer, Response
from tests.cli import run_cli
from tests.federation import (
    LOOPBACK,
    WELL_KNOWN,
    crawl,
    finding_rules,
    listed_servers,
    metadata_document,
)


def url_of(server: LoopbackServer, name: str) -> str:
    return server.url(f"/{name}{WELL_KNOWN}")


def publish(server: LoopbackServer, name: str, *links: str) -> None:
    document = metadata_document(
        url_of(server, name), name=f"Utility {name}", related_metadata=list(links)
    )
    server.route(f"/{name}{WELL_KNOWN}", Response.json(document, etag=True))


def build_federation(server: LoopbackServer) -> None:
    holding, north, south, meter = (
        url_of(server, n) for n in ("holding", "north", "south", "meter")
    )
    publish(server, "holding", north, south, "file:///etc/passwd", "ftp://ftp.example.com/x.json")
    publish(server, "north", holding, meter)  # a cycle back to the holding company
    publish(server, "south", south)  # a link to itself
    publish(server, "meter")


def test_subsidiaries_reachable_only_through_links_are_found_with_provenance(
    database_url: str, server: LoopbackServer
) -> None:
    build_federation(server)
    assert run_cli(database_url, "seeds", "add", url_of(server, "holding"), env=LOOPBACK).code == 0

    first = crawl(database_url)
    again = crawl(database_url)

    found = listed_servers(database_url)
    assert sorted(found) == sorted(
        url_of(server, n) for n in ("holding", "north", "south", "meter")
    )
    # The holding company's file: and ftp: links are errors of its document, never fetched.
    assert {url: s["status"] for url, s in found.items()} == {
        url_of(server, "holding"): "invalid",
        url_of(server, "north"): "ok",
        url_of(server, "south"): "ok",
        url_of(server, "meter"): "ok",
    }
    assert found[url_of(server, "north")]["discovered_via"] == url_of(server, "holding")
    assert found[url_of(server, "meter")]["discovered_via"] == url_of(server, "north")
    assert found[url_of(server, "holding")]["discovered_via"] == url_of(server, "holding")
    assert (first["servers_seen"], first["servers_new"]) == (4, 4)
    assert (again["servers_seen"], again["servers_unchanged"]) == (4, 4)
    assert server.requests["/robots.txt"] == 1  # read once, then kept for a day
    metadata_requests = sum(server.requests.values()) - server.requests["/robots.txt"]
    assert metadata_requests == 8  # each URL once per pass, cycles included
    assert finding_rules(database_url, url_of(server, "holding")).count("metadata.url") == 2


def test_fan_out_and_depth_are_bounded_with_findings(
    database_url: str, server: LoopbackServer
) -> None:
    many = [url_of(server, f"sub{n}") for n in range(5)]
    publish(server, "wide", *many)
    for n in range(5):
        publish(server, f"sub{n}", url_of(server, "deep"))
    publish(server, "deep")
    run_cli(database_url, "seeds", "add", url_of(server, "wide"), env=LOOPBACK)

    summary = crawl(
        database_url, CDS_CRAWLER_MAX_LINKS_PER_DOCUMENT="3", CDS_CRAWLER_MAX_LINK_DEPTH="1"
    )

    assert summary["servers_seen"] == 4  # wide and its first three links; "deep" is 2 hops away
    assert sorted(listed_servers(database_url)) == sorted([url_of(server, "wide"), *many[:3]])
    assert "links.too-many" in finding_rules(database_url, url_of(server, "wide"))
    assert "links.too-deep" in finding_rules(database_url, many[0])
    assert server.requests[f"/deep{WELL_KNOWN}"] == 0

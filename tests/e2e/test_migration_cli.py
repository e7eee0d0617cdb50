"""Server migration (CDSC-WG1-01 section 5): a redirect to another origin marks the URL moved."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crawler.testing import LoopbackServer, Response
from tests.cli import run_cli
from tests.federation import (
    LOOPBACK,
    WELL_KNOWN,
    crawl,
    finding_rules,
    listed_servers,
    metadata_document,
    running_server,
)


@pytest.fixture
def old() -> Iterator[LoopbackServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def new() -> Iterator[LoopbackServer]:
    with running_server() as server:
        yield server


def document(url: str) -> dict[str, Any]:
    return metadata_document(url, name="Merged Utility")


def test_a_301_to_another_origin_is_a_migration_and_the_target_is_crawled(
    database_url: str, old: LoopbackServer, new: LoopbackServer
) -> None:
    source, target = old.url(WELL_KNOWN), new.url(WELL_KNOWN)
    old.route(WELL_KNOWN, Response.json(document(source)))
    new.route(WELL_KNOWN, Response.json(document(target)))
    run_cli(database_url, "seeds", "add", source, env=LOOPBACK)
    crawl(database_url)
    old.route(WELL_KNOWN, Response(301, headers={"Location": target}))

    summary = crawl(database_url)

    servers = listed_servers(database_url)
    assert (servers[source]["status"], servers[source]["moved_to"]) == ("moved", target)
    assert servers[source]["versions"] == 1  # the last good version stays
    assert servers[source]["consecutive_failures"] == 0
    assert (servers[target]["status"], servers[target]["discovered_via"]) == ("ok", source)
    assert (summary["servers_moved"], summary["servers_new"]) == (1, 1)
    assert finding_rules(database_url, source) == ["server.moved"]


def test_a_migration_by_307_is_followed_with_a_warning(
    database_url: str, old: LoopbackServer, new: LoopbackServer
) -> None:
    source, target = old.url(WELL_KNOWN), new.url(WELL_KNOWN)
    old.route(WELL_KNOWN, Response(307, headers={"Location": target}))
    new.route(WELL_KNOWN, Response.json(document(target)))
    run_cli(database_url, "seeds", "add", source, env=LOOPBACK)

    crawl(database_url)

    assert listed_servers(database_url)[source]["status"] == "moved"
    assert finding_rules(database_url, source) == ["server.moved", "server.moved-status"]


def test_a_redirect_within_the_origin_is_followed_and_the_url_keeps_its_identity(
    database_url: str, old: LoopbackServer
) -> None:
    source = old.url(WELL_KNOWN)
    old.route(WELL_KNOWN, Response(302, headers={"Location": "/static/metadata.json"}))
    old.route("/static/metadata.json", Response.json(document(source)))
    run_cli(database_url, "seeds", "add", source, env=LOOPBACK)

    summary = crawl(database_url)

    assert list(listed_servers(database_url)) == [source]
    assert listed_servers(database_url)[source]["status"] == "ok"
    assert (summary["servers_new"], summary["servers_moved"]) == (1, 0)


def test_a_moved_url_is_rechecked_slowly_and_a_changed_or_ended_redirect_is_reported(
    database_url: str, old: LoopbackServer, new: LoopbackServer
) -> None:
    source, target = old.url(WELL_KNOWN), new.url(WELL_KNOWN)
    second_target = new.url(f"/merged{WELL_KNOWN}")
    new.route(WELL_KNOWN, Response.json(document(target)))
    new.route(f"/merged{WELL_KNOWN}", Response.json(document(second_target)))
    old.route(WELL_KNOWN, Response(301, headers={"Location": target}))
    run_cli(database_url, "seeds", "add", source, env=LOOPBACK)
    crawl(database_url)

    resting = crawl(database_url)  # within the recheck interval: the target only
    requests_while_resting = old.requests[WELL_KNOWN]
    old.route(WELL_KNOWN, Response(301, headers={"Location": second_target}))
    crawl(database_url, CDS_CRAWLER_MOVED_RECHECK_INTERVAL="0")
    retargeted = (
        listed_servers(database_url)[source]["moved_to"],
        finding_rules(database_url, source),
    )
    old.route(WELL_KNOWN, Response.json(document(source)))
    crawl(database_url, CDS_CRAWLER_MOVED_RECHECK_INTERVAL="0")

    assert requests_while_resting == 1
    assert (resting["servers_moved"], resting["servers_unchanged"]) == (1, 1)
    assert retargeted == (second_target, ["server.moved", "server.migration-retargeted"])
    assert listed_servers(database_url)[second_target]["status"] == "ok"
    assert listed_servers(database_url)[source]["status"] == "ok"
    assert finding_rules(database_url, source) == ["server.migration-ended"]

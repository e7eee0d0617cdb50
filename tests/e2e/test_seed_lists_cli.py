"""Remote seed lists: read on every pass, mirrored as seeds, never emptied by an outage."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crawler.testing import LoopbackServer, Response
from tests.cli import run_cli
from tests.federation import LOOPBACK, WELL_KNOWN, crawl, metadata_document


def publish(server: LoopbackServer, name: str) -> str:
    url = server.url(f"/{name}{WELL_KNOWN}")
    server.route(
        f"/{name}{WELL_KNOWN}", Response.json(metadata_document(url, name=f"Utility {name}"))
    )
    return url


def seeds_by_url(database_url: str) -> dict[str, dict[str, Any]]:
    listed = run_cli(database_url, "seeds", "list", "--json").json()
    return {s["url"]: s for s in listed}


def test_a_seed_list_is_read_on_every_pass_and_its_entries_are_crawled(
    database_url: str, server: LoopbackServer
) -> None:
    one, two, three = (publish(server, n) for n in ("one", "two", "three"))
    server.route(
        "/cds/seeds.txt",
        Response(
            200,
            f"# utilities\n{one}\n{two}\nftp://x.example.com/a\n".encode(),
            {"Content-Type": "text/plain"},
        ),
    )
    list_url = server.url("/cds/seeds.txt")
    added = run_cli(database_url, "seeds", "add", "--list", list_url, "--tag", "hub", env=LOOPBACK)
    assert added.code == 0, added.stderr

    first = crawl(database_url)
    seeds = seeds_by_url(database_url)
    server.route("/cds/seeds.txt", Response.json([two, three]))
    second = crawl(database_url)

    assert (first["seed_lists"], first["servers_new"]) == (1, 2)
    assert seeds[list_url]["kind"] == "list"
    assert seeds[list_url]["status"] == "ok"
    assert seeds[list_url]["message"].startswith("2 entries; 1 skipped, first: line 4")
    assert (seeds[one]["list"], seeds[one]["source"], seeds[one]["tags"]) == (
        list_url,
        f"list:{list_url}",
        ["hub"],
    )
    assert second["servers_new"] == 1
    after = seeds_by_url(database_url)
    assert sorted(u for u, s in after.items() if s["list"] == list_url) == sorted([two, three])
    servers = {s["url"] for s in run_cli(database_url, "servers", "--json").json()}
    assert servers == {one, two, three}  # a server found once keeps its history


def test_an_unreachable_or_broken_list_keeps_its_entries(
    database_url: str, server: LoopbackServer
) -> None:
    one = publish(server, "one")
    server.route("/seeds.json", Response.json([one]))
    list_url = server.url("/seeds.json")
    run_cli(database_url, "seeds", "add", "--list", list_url, env=LOOPBACK)
    crawl(database_url)

    server.route("/seeds.json", Response(500, b"down"))
    crawl(database_url)
    down = seeds_by_url(database_url)
    server.route(
        "/seeds.json", Response(200, b"<html>not a list</html>", {"Content-Type": "text/html"})
    )
    crawl(database_url)
    broken = seeds_by_url(database_url)

    assert down[list_url]["status"] == "unreachable"
    assert broken[list_url]["status"] == "invalid"
    assert one in down
    assert one in broken


def test_removing_a_list_removes_its_entries_but_not_operator_seeds(
    database_url: str, server: LoopbackServer
) -> None:
    one, two = publish(server, "one"), publish(server, "two")
    server.route(
        "/seeds.json",
        Response(200, json.dumps([one, two]).encode(), {"Content-Type": "application/json"}),
    )
    list_url = server.url("/seeds.json")
    run_cli(database_url, "seeds", "add", two, env=LOOPBACK)
    run_cli(database_url, "seeds", "add", "--list", list_url, env=LOOPBACK)
    crawl(database_url)

    removed = run_cli(database_url, "seeds", "remove", list_url)

    assert removed.code == 0, removed.stderr
    assert list(seeds_by_url(database_url)) == [two]


@pytest.mark.parametrize("bad", ["lists.example.org", "ftp://lists.example.org/seeds.txt", ""])
def test_a_list_needs_a_full_http_url(database_url: str, bad: str) -> None:
    result = run_cli(database_url, "seeds", "add", "--list", bad)

    assert result.code == 2
    assert run_cli(database_url, "seeds", "list", "--json").json() == []

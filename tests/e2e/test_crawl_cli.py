"""`cds-crawler crawl` end to end against real servers on loopback, on SQLite and Postgres."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crawler.testing import LoopbackServer, Response, drip, gzip_bomb, raw, stream
from storage import readmodel
from storage.reader import open_reader
from tests.cli import Result, run_cli
from tests.examples import CURRENT_DRAFT_EXAMPLE
from tests.federation import LOOPBACK, WELL_KNOWN, metadata_document

FAST = {**LOOPBACK, "CDS_CRAWLER_REQUEST_DEADLINE": "2", "CDS_CRAWLER_MAX_DOCUMENT_BYTES": "65536"}


def document(name: str, base: str) -> dict[str, Any]:
    return metadata_document(f"{base}/{name}{WELL_KNOWN}", name=f"Utility {name}")


def crawl(database_url: str, env: dict[str, str] = LOOPBACK) -> dict[str, Any]:
    """`crawl --json` with exactly `env` (no loopback allowance unless given)."""
    result = run_cli(database_url, "crawl", "--json", env=env)
    assert result.code == 0, result.stderr
    summary: dict[str, Any] = result.json()
    return summary


def servers_by_path(database_url: str) -> dict[str, dict[str, Any]]:
    listed = run_cli(database_url, "servers", "--json").json()
    return {s["url"].split("/", 3)[3].split("/")[0]: s for s in listed}


def latest_findings(database_url: str) -> dict[str, list[str]]:
    """Rules of every server's current findings, read as `show` reads them."""
    with open_reader(database_url) as reader:
        urls = [s["url"] for s in readmodel.list_servers(reader)]
        details = [readmodel.show_server(reader, [url]) for url in urls]
    return {d["url"]: [f["rule"] for f in d["findings"]] for d in details if d}


def add_seeds(database_url: str, server: LoopbackServer, *names: str) -> Result:
    urls = [server.url(f"/{n}{WELL_KNOWN}") for n in names]
    result = run_cli(database_url, "seeds", "add", *urls, env=LOOPBACK)
    assert result.code == 0, result.stderr
    return result


def test_versions_follow_content_not_serialisation(
    database_url: str, server: LoopbackServer
) -> None:
    path = f"/u{WELL_KNOWN}"
    doc = document("u", server.base_url)
    server.route(path, Response.json(doc, etag=True))
    add_seeds(database_url, server, "u")

    first = crawl(database_url)
    unchanged = crawl(database_url)
    reordered = dict(reversed(list(doc.items())))
    server.route(
        path,
        Response(
            200, json.dumps(reordered, indent=3).encode(), {"Content-Type": "application/json"}
        ),
    )
    reserialised = crawl(database_url)
    server.route(path, Response.json({**doc, "name": "Renamed"}))
    changed = crawl(database_url)

    assert (first["servers_new"], unchanged["servers_unchanged"]) == (1, 1)
    assert (reserialised["servers_unchanged"], changed["servers_changed"]) == (1, 1)
    history = run_cli(database_url, "history", server.url(path), "--json").json()
    assert [v["version"] for v in history] == [2, 1]
    assert history[0]["patch"] == [{"op": "replace", "path": "/name", "value": "Renamed"}]
    assert server.requests[path] == 4


def test_second_poll_is_conditional_and_a_304_changes_nothing(
    database_url: str, server: LoopbackServer
) -> None:
    path = f"/u{WELL_KNOWN}"
    seen_headers: list[dict[str, str]] = []
    response = Response.json(document("u", server.base_url), etag=True)

    async def recording(request: Any, writer: Any) -> Response:
        seen_headers.append(dict(request.headers))
        return response

    server.route(path, recording)
    add_seeds(database_url, server, "u")

    crawl(database_url)
    second = crawl(database_url)

    assert "if-none-match" not in seen_headers[0]
    assert seen_headers[1]["if-none-match"] == response.headers.get(
        "ETag", seen_headers[1]["if-none-match"]
    )
    assert second["servers_unchanged"] == 1
    assert servers_by_path(database_url)["u"]["versions"] == 1


HOSTILE: dict[str, tuple[Any, str, str]] = {
    # name: (handler, expected status, expected rule)
    "soft-404": (
        Response(200, b"<html>hello</html>", {"Content-Type": "text/html"}),
        "invalid",
        "http.soft-404",
    ),
    "not-json": (
        Response(200, b"name = utility", {"Content-Type": "application/json"}),
        "invalid",
        "json.syntax",
    ),
    "spec-example": (
        Response(200, CURRENT_DRAFT_EXAMPLE, {"Content-Type": "application/json"}),
        "invalid",
        "json.trailing-comma",
    ),
    "array": (Response.json([1, 2, 3]), "invalid", "json.not-object"),
    "not-utf8": (
        Response(200, b'{"name": "\xff\xfe"}', {"Content-Type": "application/json"}),
        "invalid",
        "json.not-utf8",
    ),
    "ten-times-cap": (stream(10 * 65536), "invalid", "http.body-too-large"),
    "gzip-bomb": (
        Response(
            200,
            gzip_bomb(64 * 1024 * 1024),
            {"Content-Type": "application/json", "Content-Encoding": "gzip"},
        ),
        "invalid",
        "http.body-too-large",
    ),
    "drip": (
        drip(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", b"{" * 100, 1.0),
        "unreachable",
        "http.timeout",
    ),
    "missing": (None, "not_found", "http.not-found"),
    "error": (Response(500, b"oops"), "unreachable", "http.status"),
    "loop": (None, "unreachable", "http.redirect-loop"),
    "chain": (None, "unreachable", "http.too-many-redirects"),  # 12 hops
    "garbage": (raw(b"NOT HTTP AT ALL\r\n\r\n"), "unreachable", "http.protocol"),
}


def test_every_hostile_server_ends_as_a_status_and_a_finding(
    database_url: str, server: LoopbackServer
) -> None:
    for name, (handler, _, _) in HOSTILE.items():
        if handler is not None:
            server.route(f"/{name}{WELL_KNOWN}", handler)
    server.route(f"/loop{WELL_KNOWN}", Response(302, headers={"Location": f"/loop2{WELL_KNOWN}"}))
    server.route(f"/loop2{WELL_KNOWN}", Response(301, headers={"Location": f"/loop{WELL_KNOWN}"}))
    server.route(f"/chain{WELL_KNOWN}", Response(302, headers={"Location": "/chain/1"}))
    for hop in range(1, 12):
        server.route(f"/chain/{hop}", Response(302, headers={"Location": f"/chain/{hop + 1}"}))
    refused = "http://127.0.0.1:1/.well-known/carbon-data-spec.json"
    add_seeds(database_url, server, *HOSTILE)
    assert run_cli(database_url, "seeds", "add", refused).code == 0

    summary = crawl(database_url, env=FAST)

    assert summary["servers_seen"] == len(HOSTILE) + 1
    assert summary["servers_failed"] == len(HOSTILE) + 1
    found = servers_by_path(database_url)
    rules = latest_findings(database_url)
    for name, (_, status, rule) in HOSTILE.items():
        assert found[name]["status"] == status, name
        assert rule in rules[found[name]["url"]], (name, rules[found[name]["url"]])
    refused_detail = run_cli(database_url, "show", refused, "--json").json()
    assert refused_detail["status"] == "unreachable"
    assert [f["rule"] for f in refused_detail["findings"]] == ["http.connect"]


def test_with_default_settings_a_loopback_seed_is_blocked_and_never_contacted(
    database_url: str, server: LoopbackServer
) -> None:
    server.route(f"/u{WELL_KNOWN}", Response.json(document("u", server.base_url)))
    add_seeds(database_url, server, "u")

    crawl(database_url, env={})
    crawl(database_url, env={"CDS_CRAWLER_ALLOW_HTTP": "true"})  # the address guard too

    assert servers_by_path(database_url)["u"]["status"] == "blocked"
    assert server.connections == 0
    assert sum(server.requests.values()) == 0


def test_crawl_exits_non_zero_when_the_database_is_unreachable(tmp_path: Path) -> None:
    result = run_cli(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/db.sqlite3", "crawl", "--json")

    assert result.code == 1
    assert result.stdout == ""
    assert "database" in result.stderr


def test_crawl_seed_option_fetches_only_the_given_targets(
    database_url: str, server: LoopbackServer
) -> None:
    for name in ("a", "b"):
        server.route(f"/{name}{WELL_KNOWN}", Response.json(document(name, server.base_url)))
    add_seeds(database_url, server, "a", "b")

    summary = run_cli(
        database_url, "crawl", "--json", "--seed", server.url(f"/a{WELL_KNOWN}"), env=LOOPBACK
    ).json()

    refused = run_cli(database_url, "crawl", "--json", "--seed", "ftp://x", env=LOOPBACK)

    assert summary["servers_seen"] == 1
    assert list(servers_by_path(database_url)) == ["a"]
    assert server.requests[f"/b{WELL_KNOWN}"] == 0
    assert refused.code == 2
    assert refused.stdout == ""
    assert "invalid target(s), nothing was crawled" in refused.stderr


def test_authentication_at_the_well_known_url_is_an_error_elsewhere_a_restriction(
    database_url: str, server: LoopbackServer
) -> None:
    server.route(WELL_KNOWN, Response(403, b"forbidden"))
    server.route("/private/metadata.json", Response(401, b"log in first"))
    public, private = server.url(WELL_KNOWN), server.url("/private/metadata.json")
    assert run_cli(database_url, "seeds", "add", public, private, env=LOOPBACK).code == 0

    crawl(database_url)

    with open_reader(database_url) as reader:
        found = {url: readmodel.show_server(reader, [url]) for url in (public, private)}
    assert found[public] is not None
    assert found[private] is not None
    assert found[public]["status"] == "invalid"
    assert [f["rule"] for f in found[public]["findings"]] == ["access.well-known-restricted"]
    assert found[private]["status"] == "unreachable"
    assert [f["rule"] for f in found[private]["findings"]] == ["access.restricted"]


def test_a_canonical_url_that_differs_is_a_finding_and_is_recorded(
    database_url: str, server: LoopbackServer
) -> None:
    path = f"/u{WELL_KNOWN}"
    moved_elsewhere = {
        **document("u", server.base_url),
        "cds_metadata_url": "https://utility.example.com/cds.json",
    }
    server.route(path, Response.json(moved_elsewhere))
    add_seeds(database_url, server, "u")

    crawl(database_url)

    detail = run_cli(database_url, "show", server.url(path), "--json").json()
    assert detail["canonical_url"] == "https://utility.example.com/cds.json"
    assert [(f["rule"], f["pointer"]) for f in detail["findings"]] == [
        ("metadata.canonical-url-differs", "/cds_metadata_url")
    ]
    assert detail["status"] == "ok"


def test_every_json_output_is_pure_json_even_when_logging(
    database_url: str, server: LoopbackServer
) -> None:
    path = f"/u{WELL_KNOWN}"
    server.route(path, Response.json(document("u", server.base_url)))
    add_seeds(database_url, server, "u")
    url = server.url(path)

    for args in (
        ["crawl", "--json"],
        ["servers", "--json"],
        ["show", url, "--json"],
        ["history", url, "--json"],
        ["seeds", "list", "--json"],
        ["validate", url, "--json"],
    ):
        result = run_cli(database_url, "-v", *args, env=LOOPBACK)
        assert result.code == 0, (args, result.stderr)
        json.loads(result.stdout)  # nothing but JSON on stdout


HOSTILE_NAME = "\x1b[31mRed\x1b]0;new title\x07 [bold magenta]markup[/] \u202eevil"


def test_a_publisher_cannot_write_to_the_terminal_through_the_tables(
    database_url: str, server: LoopbackServer
) -> None:
    url = server.url(f"/hostile{WELL_KNOWN}")
    server.route(f"/hostile{WELL_KNOWN}", Response.json(metadata_document(url, name=HOSTILE_NAME)))
    run_cli(database_url, "seeds", "add", url, env=LOOPBACK)
    crawl(database_url)

    outputs = [
        run_cli(database_url, *command, env={"COLUMNS": "400"})
        for command in (("servers",), ("show", url), ("history", url), ("events",))
    ]

    for result in outputs:
        assert result.code == 0, result.stderr
        assert "\x1b" not in result.stdout
        assert "\x07" not in result.stdout
        assert "\u202e" not in result.stdout
    table = outputs[0].stdout
    assert "\\x1b[31mRed" in table
    assert "[bold magenta]markup[/]" in table
    assert "\\u202eevil" in table

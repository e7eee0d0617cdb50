"""`cds-crawler validate URL`: a conformance report for one live server, nothing stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from crawler.testing import LoopbackServer, Request, Response
from tests.cli import run_cli
from tests.examples import CURRENT_DRAFT_EXAMPLE, oauth_metadata_example
from tests.federation import LOOPBACK, WELL_KNOWN, coverage_entry, metadata_document


def conforming(base: str) -> dict[str, Any]:
    return metadata_document(f"{base}{WELL_KNOWN}")


def test_a_conforming_server_has_no_findings_and_exits_0(
    server: LoopbackServer, tmp_path: Path
) -> None:
    server.route(WELL_KNOWN, Response.json(conforming(server.base_url)))
    database = tmp_path / "never.sqlite3"

    result = run_cli(f"sqlite:///{database}", "validate", server.base_url, "--json", env=LOOPBACK)

    assert result.code == 0, result.stderr
    assert result.json() == {"url": server.url(WELL_KNOWN), "status": "ok", "findings": []}
    assert not database.exists()


def test_planted_violations_are_reported_with_rule_and_section(server: LoopbackServer) -> None:
    document = conforming(server.base_url)
    del document["support"]
    document["created"] = "yesterday"
    document["capabilities"] = ["coverage"]
    server.route(WELL_KNOWN, Response.json(document))

    result = run_cli(
        "sqlite:///unused.sqlite3", "validate", server.base_url, "--json", env=LOOPBACK
    )

    assert result.code == 1
    report = result.json()
    assert report["status"] == "invalid"
    found = {(f["rule"], f["pointer"], f["section"]) for f in report["findings"]}
    assert found == {
        ("metadata.required", "/support", "CDSC-WG1-01 3.2"),
        ("metadata.datetime", "/created", "CDSC-WG1-01 3.2"),
        ("metadata.coverage-url-required", "/coverage", "CDSC-WG1-01 3.2"),
    }


def test_the_spec_example_and_an_unreachable_server_exit_1(server: LoopbackServer) -> None:
    server.route(
        WELL_KNOWN, Response(200, CURRENT_DRAFT_EXAMPLE, {"Content-Type": "application/json"})
    )

    copied = run_cli(
        "sqlite:///unused.sqlite3", "validate", server.base_url, "--json", env=LOOPBACK
    )
    refused = run_cli(
        "sqlite:///unused.sqlite3", "validate", "http://127.0.0.1:1", "--json", env=LOOPBACK
    )

    assert copied.code == 1
    assert [f["rule"] for f in copied.json()["findings"]] == ["json.trailing-comma"]
    assert refused.code == 1
    assert refused.json()["status"] == "unreachable"
    assert [f["rule"] for f in refused.json()["findings"]] == ["http.connect"]


def test_human_output_names_the_rule(server: LoopbackServer) -> None:
    server.route(
        WELL_KNOWN, Response(200, CURRENT_DRAFT_EXAMPLE, {"Content-Type": "application/json"})
    )

    result = run_cli("sqlite:///unused.sqlite3", "validate", server.base_url, env=LOOPBACK)

    assert result.code == 1
    assert "json.trailing-comma" in result.stdout


def publish_linked(server: LoopbackServer, entries: list[dict[str, Any]], oauth: Any) -> None:
    """A server whose document links a one-page listing of `entries` and OAuth metadata."""
    document = metadata_document(
        server.url(WELL_KNOWN),
        capabilities=["coverage", "oauth"],
        coverage=server.url("/coverage.json"),
        oauth_metadata=server.url("/oauth.json"),
    )
    server.route(WELL_KNOWN, Response.json(document))
    listing = {"coverage_entries": entries, "next": None, "previous": None}
    server.route("/coverage.json", Response.json(listing))
    server.route("/oauth.json", Response.json(oauth))
    square = [[-100, 30], [-99, 30], [-99, 31], [-100, 31], [-100, 30]]
    server.route("/square.geojson", Response.json({"type": "Polygon", "coordinates": [square]}))
    swapped = [[lat, lon] for lon, lat in square]
    server.route("/swapped.geojson", Response.json({"type": "Polygon", "coordinates": [swapped]}))


def square_entry(server: LoopbackServer, entry_id: str, **members: Any) -> dict[str, Any]:
    return coverage_entry(
        entry_id, **{"geojson_resource": server.url("/square.geojson"), **members}
    )


def test_a_conforming_listing_territory_and_oauth_document_have_no_findings(
    server: LoopbackServer,
) -> None:
    publish_linked(server, [square_entry(server, "e1")], oauth_metadata_example())

    result = run_cli(
        "sqlite:///unused.sqlite3", "validate", server.base_url, "--json", env=LOOPBACK
    )

    assert result.code == 0, result.stderr
    assert result.json()["findings"] == []
    assert server.requests["/square.geojson"] == 1
    assert server.requests["/oauth.json"] == 1


def test_violations_in_the_listing_territories_and_oauth_metadata_are_reported(
    server: LoopbackServer,
) -> None:
    oauth = oauth_metadata_example()
    oauth["scopes_supported"].remove("client_admin")
    del oauth["cds_scope_descriptions"]["client_admin"]
    entries = [
        square_entry(server, "no-resource", geojson_resource=None),
        square_entry(
            server, "map-without-type", map_resource=server.url("/map.png"), geojson_resource=None
        ),
        square_entry(server, "offers-coverage", capabilities=["coverage"], country="XX"),
        square_entry(server, "swapped", geojson_resource=server.url("/swapped.geojson")),
    ]
    publish_linked(server, entries, oauth)
    server.route("/map.png", Response(200, b"png", {"Content-Type": "image/png"}))

    result = run_cli(
        "sqlite:///unused.sqlite3", "validate", server.base_url, "--json", env=LOOPBACK
    )

    assert result.code == 1
    found = {(f["rule"], f["section"]) for f in result.json()["findings"]}
    assert {
        ("coverage.map-required", "CDSC-WG1-01 4.3"),
        ("coverage.map-content-type-required", "CDSC-WG1-01 4.3"),
        ("coverage.coverage-capability", "CDSC-WG1-01 4.3"),
        ("coverage.country", "CDSC-WG1-01 4.3"),
        ("territory.out-of-range", "RFC 7946 4"),
        ("oauth.admin-scopes", "CDSC-WG1-02 3.3"),
    } <= found


def test_a_listing_is_asked_for_entries_by_ids_and_one_that_ignores_the_filter_is_reported(
    server: LoopbackServer,
) -> None:
    entries = [square_entry(server, f"e{number}") for number in range(5)]
    publish_linked(server, entries, oauth_metadata_example())  # a static file: ids ignored
    ignored = run_cli(
        "sqlite:///unused.sqlite3", "validate", server.base_url, "--json", env=LOOPBACK
    )

    async def filtered(request: Request, _writer: object) -> Response:
        wanted = parse_qs(request.query).get("ids", [""])[0].split(" ")
        found = [entry for entry in entries if entry["id"] in wanted] if wanted != [""] else entries
        return Response.json({"coverage_entries": found, "next": None, "previous": None})

    server.route("/coverage.json", filtered)
    honoured = run_cli(
        "sqlite:///unused.sqlite3", "validate", server.base_url, "--json", env=LOOPBACK
    )

    assert [f["rule"] for f in ignored.json()["findings"]] == ["coverage.ids-filter"]
    assert ignored.json()["findings"][0]["section"] == "CDSC-WG1-01 4.2"
    assert honoured.json()["findings"] == []
    assert server.requests["/coverage.json"] == 4  # each validation: the listing, then by ids


def test_oauth_without_its_url_is_looked_for_at_the_rfc_8414_location(
    server: LoopbackServer,
) -> None:
    document = metadata_document(server.url(WELL_KNOWN), capabilities=["oauth"])
    server.route(WELL_KNOWN, Response.json(document))
    well_known = "/.well-known/oauth-authorization-server"
    server.route(well_known, Response.json(oauth_metadata_example()))

    found = run_cli("sqlite:///unused.sqlite3", "validate", server.base_url, "--json", env=LOOPBACK)
    server.route(well_known, Response(404, b""))
    missing = run_cli(
        "sqlite:///unused.sqlite3", "validate", server.base_url, "--json", env=LOOPBACK
    )

    assert server.requests[well_known] == 2
    rules = [f["rule"] for f in found.json()["findings"]]
    # The example's issuer is not the origin the location was built from (RFC 8414 3.3).
    assert rules == ["metadata.oauth-url-required", "oauth.issuer-mismatch"]
    assert [f["rule"] for f in missing.json()["findings"]] == [
        "metadata.oauth-url-required",
        "oauth.well-known-missing",
    ]

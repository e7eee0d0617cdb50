"""`cds-crawler validate URL`: a conformance report for one live server, nothing stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crawler.testing import LoopbackServer, Response
from tests.cli import run_cli
from tests.examples import CURRENT_DRAFT_EXAMPLE
from tests.federation import LOOPBACK, WELL_KNOWN, metadata_document


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

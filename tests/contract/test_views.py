"""The analysts' views, and every SQL block of docs/analysts.md and docs/schema.md, on a
federation crawled through the command line (tests/analysts.py), on SQLite and on Postgres.

Values come back as each driver returns them (timestamps as text from sqlite3 and datetimes
from psycopg, booleans as 1/0 or true/false), so the checks compare them through `when`,
`flag` and `parsed`.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.domain.fetching import FetchOutcome
from crawler.domain.status import ServerStatus
from storage.migrate import alembic_config
from storage.timestamps import as_utc
from tests.analysts import (
    BERLIN,
    BERLIN_GROWN,
    NEW_HOME,
    NORTH_ELECTRIC,
    NORTH_SOLAR,
    SEEDS,
    SHIFT,
    SOUTH,
    Federation,
    crawled,
    scratch_postgres,
)
from tests.geometry import Ring

VIEWS = {
    "current_servers",
    "current_server_capabilities",
    "current_coverage_entries",
    "current_entry_facets",
    "current_findings",
    "server_versions",
    "change_log",
}
EARTH_RADIUS_KM = 6371.0088


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def federation(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Federation]:
    """The federation crawled twice into a database of its own (see tests/analysts.py)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("views") / "crawler.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        with crawled(f"sqlite+aiosqlite:///{path}") as built:
            yield built
        return
    with scratch_postgres(request.getfixturevalue("postgres_url")) as url, crawled(url) as built:
        yield built


def when(value: Any) -> datetime:
    """A timestamp column's value, aware UTC."""
    result = as_utc(value)
    assert result is not None
    return result


def flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def parsed(value: Any) -> Any:
    """A JSON text column's value, parsed (None stays None)."""
    assert value is None or isinstance(value, str), f"not JSON text: {value!r}"
    return None if value is None else json.loads(value)


def box_area_km2(ring: Ring) -> float:
    """The area of a longitude/latitude box on the sphere, computed here by formula."""
    west, south = ring[0]
    east, north = ring[2]
    height = math.sin(math.radians(north)) - math.sin(math.radians(south))
    return EARTH_RADIUS_KM**2 * math.radians(east - west) * height


def bbox(row: dict[str, Any]) -> tuple[float, float, float, float]:
    return (row["min_lon"], row["min_lat"], row["max_lon"], row["max_lat"])


def box_bounds(ring: Ring) -> tuple[float, float, float, float]:
    return (*ring[0], *ring[2])


def recent(value: Any) -> bool:
    """Written by the second crawl, minutes ago (not by the first, 400 days ago)."""
    return datetime.now(UTC) - when(value) < timedelta(hours=1)


def long_ago(value: Any) -> bool:
    """Written by the first crawl, moved 400 days into the past."""
    return datetime.now(UTC) - when(value) > SHIFT - timedelta(hours=1)


# --- the views -----------------------------------------------------------------------------


def test_current_servers_has_one_row_per_server_with_its_current_state(
    federation: Federation,
) -> None:
    rows = federation.rows("SELECT * FROM current_servers")
    servers = {federation.publisher(row["url"]): row for row in rows}

    assert len(rows) == len(servers) == 9
    north = servers["north"]
    assert (north["status"], north["current_version"], north["version_count"]) == ("ok", 2, 2)
    assert (north["draft"], flag(north["valid"])) == ("2025-03", True)
    assert north["name"] == "Northern Electric & Gas"
    assert north["description"] == "Electricity and gas in the north. Now with solar."
    assert north["website"] == "https://north.example.com"
    assert parsed(north["capabilities"]) == ["coverage", "oauth"]
    assert north["coverage_url"] == federation.main.url("/north/coverage.json")
    assert north["entry_count"] == 3  # electric, rural and solar; gas left the listing
    assert long_ago(north["first_seen"])
    assert long_ago(north["status_since"])
    assert recent(north["version_fetched_at"])
    assert recent(north["last_changed"])
    assert north["oauth_url"] == federation.main.url("/north/oauth.json")
    assert flag(north["oauth_valid"]) is True
    assert north["oauth_issuer"] == "https://auth.example.com"
    assert north["oauth_registration_endpoint"] == "https://auth.example.com/register"
    assert north["oauth_human_registration"] == "https://example.com/register"
    assert parsed(north["oauth_scopes"]) == ["client_admin", "grant_admin", "usage_data"]

    berlin = servers["berlin"]
    assert berlin["oauth_registration_endpoint"] == "https://auth.berlin.example.com/register"
    assert (berlin["current_version"], berlin["entry_count"]) == (1, 1)
    assert long_ago(berlin["version_fetched_at"])
    assert recent(berlin["version_confirmed_at"])

    south = servers["south"]
    assert (south["draft"], south["name"], south["entry_count"]) == ("2023", "Southern Power", 1)
    assert parsed(south["capabilities"]) == ["coverage"]
    assert (south["oauth_url"], south["oauth_registration_endpoint"]) == (None, None)

    old, new = servers["old"], servers["new"]
    assert (old["status"], old["moved_to"], old["current_version"]) == (
        "moved",
        federation.url("new"),
        1,
    )
    assert (new["status"], new["discovered_via"], new["name"]) == (
        "ok",
        federation.url("old"),
        "Old Town Utility",
    )
    assert parsed(new["capabilities"]) == []

    for name, status in [("copied", "invalid"), ("quiet", "not_found")]:
        never = servers[name]
        assert never["status"] == status
        assert (never["current_version"], never["version_count"], never["entry_count"]) == (
            None,
            0,
            0,
        )
        assert (never["name"], never["capabilities"], never["draft"]) == (None, None, None)

    # A server that fails keeps its last good version.
    flaky, gone = servers["flaky"], servers["gone"]
    assert (flaky["status"], flaky["current_version"], flaky["name"]) == (
        "unreachable",
        1,
        "Flaky Utility",
    )
    assert (gone["status"], gone["current_version"], gone["name"]) == (
        "not_found",
        1,
        "Gone Utility",
    )


def test_current_server_capabilities_lists_each_capability_of_each_current_document(
    federation: Federation,
) -> None:
    rows = federation.rows("SELECT * FROM current_server_capabilities")

    assert sorted((federation.publisher(r["server_url"]), r["capability"]) for r in rows) == [
        ("berlin", "coverage"),
        ("berlin", "oauth"),
        ("north", "coverage"),
        ("north", "oauth"),
        ("south", "coverage"),
    ]
    assert {r["name"] for r in rows if r["capability"] == "oauth"} == {
        "Berlin Grid",
        "Northern Electric & Gas",
    }


def test_current_coverage_entries_are_the_current_versions_with_their_territories(
    federation: Federation,
) -> None:
    rows = federation.rows("SELECT * FROM current_coverage_entries")
    entries = {(federation.publisher(r["server_url"]), r["entry_id"]): r for r in rows}

    assert sorted(entries) == [
        ("berlin", "berlin-grid"),
        ("north", "north-electric"),
        ("north", "north-rural"),
        ("north", "north-solar"),
        ("south", "south-elec"),
    ]
    electric = entries["north", "north-electric"]
    assert (electric["version"], electric["name"], electric["entity_name"]) == (
        2,
        "Northern service territory (electric)",
        "Northern Electric",
    )
    assert (electric["type"], electric["role"], electric["country"]) == (
        "geographic",
        "authoritative",
        "US",
    )
    assert parsed(electric["commodity_types"]) == ["electricity"]
    assert parsed(electric["infrastructure_types"]) == ["distribution_utility", "metering_provider"]
    assert parsed(electric["capabilities"]) == ["oauth"]
    assert electric["updated"].startswith("2025-06-01T00:00:00")
    assert (electric["draft"], flag(electric["valid"]), electric["map_resource"]) == (
        "2025-03",
        True,
        None,
    )
    assert long_ago(electric["first_seen"])  # the entry: its first version
    assert recent(electric["valid_from"])
    assert recent(electric["last_confirmed_at"])
    # Renaming the entry did not change its territory.
    assert electric["territory_url"] == federation.main.url("/geo/north-electric.geojson")
    assert electric["territory_version"] == 1
    assert bbox(electric) == box_bounds(NORTH_ELECTRIC)
    assert electric["area_km2"] == pytest.approx(box_area_km2(NORTH_ELECTRIC), rel=1e-6)
    assert electric["vertices"] == 5
    territory = federation.rows(
        f"SELECT entry_id, valid_to FROM territories WHERE id = {electric['territory_id']}"
    )
    assert territory == [{"entry_id": "north-electric", "valid_to": None}]

    berlin = entries["berlin", "berlin-grid"]
    assert (berlin["country"], berlin["version"], berlin["territory_version"]) == ("DE", 1, 2)
    assert bbox(berlin) == box_bounds(BERLIN_GROWN)
    assert berlin["area_km2"] == pytest.approx(box_area_km2(BERLIN_GROWN), rel=1e-6)

    solar = entries["north", "north-solar"]
    assert (solar["role"], parsed(solar["infrastructure_types"])) == ("aggregator", ["supplier"])
    assert recent(solar["first_seen"])
    assert solar["area_km2"] == pytest.approx(box_area_km2(NORTH_SOLAR), rel=1e-6)

    rural = entries["north", "north-rural"]
    assert rural["geojson_resource"] == federation.main.url("/geo/north-rural.geojson")
    territory_columns = ["territory_id", "territory_url", "territory_version", "area_km2"]
    territory_columns += ["vertices", "min_lon", "min_lat", "max_lon", "max_lat"]
    assert [rural[c] for c in territory_columns] == [None] * len(territory_columns)

    south = entries["south", "south-elec"]
    assert (south["draft"], south["type"], south["country"], south["role"]) == (
        "2023",
        "geographic",
        None,
        None,
    )
    assert parsed(south["commodity_types"]) == ["electricity"]
    assert parsed(south["infrastructure_types"]) == []
    assert bbox(south) == box_bounds(SOUTH)


def test_current_entry_facets_has_a_row_per_entry_and_array_element(
    federation: Federation,
) -> None:
    rows = federation.rows("SELECT * FROM current_entry_facets")

    assert sorted((r["entry_id"], r["facet"], r["value"]) for r in rows) == [
        ("berlin-grid", "capabilities", "oauth"),
        ("berlin-grid", "commodity_types", "electricity"),
        ("berlin-grid", "infrastructure_types", "distribution_utility"),
        ("north-electric", "capabilities", "oauth"),
        ("north-electric", "commodity_types", "electricity"),
        ("north-electric", "infrastructure_types", "distribution_utility"),
        ("north-electric", "infrastructure_types", "metering_provider"),
        ("north-rural", "commodity_types", "electricity"),
        ("north-rural", "infrastructure_types", "distribution_utility"),
        ("north-solar", "commodity_types", "electricity"),
        ("north-solar", "infrastructure_types", "supplier"),
        ("south-elec", "commodity_types", "electricity"),
    ]
    berlin = next(r for r in rows if r["entry_id"] == "berlin-grid")
    assert (federation.publisher(berlin["server_url"]), berlin["country"], berlin["role"]) == (
        "berlin",
        "DE",
        "authoritative",
    )
    # "Who offers X in Y" is one WHERE clause.
    offers = federation.rows(
        "SELECT DISTINCT server_url FROM current_entry_facets "
        "WHERE facet = 'capabilities' AND value = 'oauth' AND country = :country",
        {"country": "DE"},
    )
    assert offers == [{"server_url": federation.url("berlin")}]


def test_current_findings_are_those_of_current_versions_and_latest_attempts(
    federation: Federation,
) -> None:
    rows = federation.rows("SELECT * FROM current_findings")

    found = sorted(
        (federation.publisher(r["server_url"]), r["scope"], r["version"], r["rule"], r["severity"])
        for r in rows
    )
    # north's version 1 had metadata.unknown-field: not current, so not here.
    assert found == [
        ("copied", "latest_fetch", None, "json.trailing-comma", "error"),
        ("flaky", "latest_fetch", None, "http.status", "error"),
        ("gone", "latest_fetch", None, "http.not-found", "error"),
        ("north", "latest_fetch", None, "territory.unavailable", "error"),
        ("old", "latest_fetch", None, "server.moved", "info"),
        ("quiet", "latest_fetch", None, "http.not-found", "error"),
        ("south", "latest_fetch", None, "coverage.draft-2023-entry", "warning"),
        ("south", "version", 1, "metadata.draft-2023", "warning"),
    ]
    territory = next(r for r in rows if r["rule"] == "territory.unavailable")
    assert territory["url"] == federation.main.url("/geo/north-rural.geojson")
    assert "north-rural" in territory["message"]
    assert territory["server_status"] == "ok"


def test_server_versions_say_when_each_version_was_superseded(federation: Federation) -> None:
    rows = federation.rows("SELECT * FROM server_versions")
    versions = {(federation.publisher(r["server_url"]), r["version"]): r for r in rows}

    assert sorted(versions) == [
        ("berlin", 1),
        ("flaky", 1),
        ("gone", 1),
        ("new", 1),
        ("north", 1),
        ("north", 2),
        ("old", 1),
        ("south", 1),
    ]
    first, second = versions["north", 1], versions["north", 2]
    assert long_ago(first["fetched_at"])
    assert recent(second["fetched_at"])
    assert when(first["superseded_at"]) == when(second["fetched_at"])
    assert second["superseded_at"] is None
    assert (first["finding_count"], second["finding_count"]) == (1, 0)  # the unknown member
    assert first["name"] == second["name"] == "Northern Electric & Gas"
    assert first["document_sha256"] != second["document_sha256"]
    assert first["size_bytes"] > 0
    assert first["crawl_id"] != second["crawl_id"]
    assert (versions["south", 1]["draft"], versions["south", 1]["finding_count"]) == ("2023", 1)
    assert all(versions[key]["superseded_at"] is None for key in versions if key != ("north", 1))


def test_change_log_lists_the_events_in_order_with_a_summary(federation: Federation) -> None:
    rows = federation.rows("SELECT * FROM change_log")
    data = {
        r["id"]: parsed(r["data"]) if isinstance(r["data"], str) else r["data"]
        for r in federation.rows("SELECT id, data FROM events")
    }

    assert [r["sequence"] for r in rows] == sorted(data)
    first = [r for r in rows if long_ago(r["time"])]
    second = [r for r in rows if recent(r["time"])]
    assert len(first) + len(second) == len(rows)
    assert sorted((r["type"], federation.publisher(r["server_url"])) for r in first) == sorted(
        [("cds.server.discovered", name) for name in ("north", "berlin", "south", "old")]
        + [("cds.server.discovered", name) for name in ("flaky", "gone")]
        + [("cds.coverage.entry.added", "north")] * 3
        + [("cds.coverage.entry.added", "berlin"), ("cds.coverage.entry.added", "south")]
    )
    by_subject = {
        (r["type"], federation.publisher(r["server_url"]), r["entry_id"]): r for r in second
    }
    assert sorted(by_subject) == [
        ("cds.coverage.entry.added", "north", "north-solar"),
        ("cds.coverage.entry.changed", "berlin", "berlin-grid"),
        ("cds.coverage.entry.changed", "north", "north-electric"),
        ("cds.coverage.entry.removed", "north", "north-gas"),
        ("cds.server.changed", "north", None),
        ("cds.server.discovered", "new", None),
        ("cds.server.moved", "old", None),
        ("cds.server.removed", "gone", None),
        ("cds.server.unreachable", "flaky", None),
    ]
    assert len(second) == len(by_subject)

    def summary(kind: str, name: str, entry: str | None = None) -> str:
        found: str = by_subject[kind, name, entry]["summary"]
        return found

    changed = by_subject["cds.server.changed", "north", None]
    assert changed["summary"] == "version 2: " + "; ".join(data[changed["sequence"]]["changes"])
    assert "description changed from" in changed["summary"]
    assert changed["subject"] == federation.url("north")
    assert summary("cds.server.discovered", "new") == "discovered: Old Town Utility"
    assert summary("cds.server.moved", "old") == f"moved to {federation.url('new')}"
    assert summary("cds.server.unreachable", "flaky").startswith("unreachable: ")
    assert summary("cds.server.removed", "gone").startswith("removed: ")
    assert summary("cds.coverage.entry.added", "north", "north-solar") == (
        "entry north-solar added: Community solar"
    )
    assert summary("cds.coverage.entry.removed", "north", "north-gas") == "entry north-gas removed"
    entry = by_subject["cds.coverage.entry.changed", "north", "north-electric"]
    assert entry["summary"] == "entry north-electric version 2: " + "; ".join(
        data[entry["sequence"]]["changes"]
    )
    assert entry["subject"] == federation.url("north") + "#north-electric"
    grown, was = box_area_km2(BERLIN_GROWN), box_area_km2(BERLIN)
    assert summary("cds.coverage.entry.changed", "berlin", "berlin-grid") == (
        f"entry berlin-grid territory version 2: {round(grown, 3)} km2 (was {round(was, 3)} km2)"
    )


def _view_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_view_names())


def _migrate(connection: Connection, revision: str) -> set[str]:
    config = alembic_config(connection)
    if revision == "head":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)
    return _view_names(connection)


async def test_the_migration_creates_the_views_and_its_downgrade_drops_them(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_view_names) == VIEWS
    try:
        async with engine.begin() as conn:
            assert await conn.run_sync(_migrate, "0009") == set()
    finally:
        async with engine.begin() as conn:
            assert await conn.run_sync(_migrate, "head") == VIEWS


# --- the SQL of docs/analysts.md and docs/schema.md -------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs"
DIALECTS = {"-- Postgres": "postgresql", "-- SQLite": "sqlite"}
# schema.md's question 5 asks about a day, a literal there; it is replaced by a day between
# the two crawls.
A_DAY = "'2026-01-02'"
QUESTION_OR_SQL_BLOCK = r"(^(?:## )?\d+\. [^\n]*$|^ *```sql\n.*?^ *```$)"


def doc_blocks(doc: str) -> list[tuple[int, str | None, str]]:
    """Every ```sql block of docs/`doc`: the number of the question it answers (a `## N.`
    heading or an `N.` list item), the dialect its first line marks it for (None: both), and
    its text."""
    blocks = []
    question = None
    text = (DOCS / doc).read_text()
    for part in re.split(QUESTION_OR_SQL_BLOCK, text, flags=re.M | re.S):
        heading = re.match(r"(?:## )?(\d+)\. ", part)
        if heading:
            question = int(heading.group(1))
        elif part.lstrip().startswith("```sql"):
            assert question is not None, f"an SQL block outside a question: {part}"
            sql = textwrap.dedent(part).removeprefix("```sql\n").removesuffix("```")
            dialect = DIALECTS.get(sql.splitlines()[0].strip())
            blocks.append((question, dialect, sql))
    return blocks


Check = Callable[[Federation, list[dict[str, Any]]], None]
ANSWERS: dict[str, dict[int, Check]] = {"analysts.md": {}, "schema.md": {}}


def answers(question: int, doc: str = "analysts.md") -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        ANSWERS[doc][question] = check
        return check

    return register


@answers(1)
def _covers_the_point(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [(f.publisher(r["server_url"]), r["entry_id"]) for r in rows] == [
        ("north", "north-solar"),
        ("north", "north-electric"),
    ]
    assert parsed(rows[1]["commodity_types"]) == ["electricity"]


@answers(2)
def _distributors_with_registration(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert rows == [
        {
            "url": f.url("berlin"),
            "name": "Berlin Grid",
            "oauth_registration_endpoint": "https://auth.berlin.example.com/register",
            "oauth_human_registration": "https://example.com/register",
        }
    ]


@answers(3)
def _changed_last_week(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert all(recent(r["time"]) for r in rows)
    assert sorted(r["type"] for r in rows) == sorted(
        ["cds.coverage.entry.added", "cds.coverage.entry.removed", "cds.server.changed"]
        + ["cds.coverage.entry.changed"] * 2
        + ["cds.server.discovered", "cds.server.moved", "cds.server.removed"]
        + ["cds.server.unreachable"]
    )
    assert "entry north-gas removed" in [r["summary"] for r in rows]


@answers(4)
def _published_a_year_ago(f: Federation, rows: list[dict[str, Any]]) -> None:
    [row] = rows
    content = parsed(row["content"]) if isinstance(row["content"], str) else row["content"]
    assert (row["version"], content["description"]) == (1, "Electricity and gas in the north.")
    assert content["x_region"] == "N1"
    assert long_ago(row["fetched_at"])
    assert recent(row["superseded_at"])


@answers(5)
def _history(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [(r["version"], r["finding_count"], flag(r["valid"])) for r in rows] == [
        (1, 1, True),
        (2, 0, True),
    ]
    assert when(rows[0]["superseded_at"]) == when(rows[1]["fetched_at"])
    assert rows[1]["superseded_at"] is None


@answers(6)
def _failing_conformance(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert sorted((f.publisher(r["server_url"]), r["server_status"], r["rule"]) for r in rows) == [
        ("copied", "invalid", "json.trailing-comma"),
        ("flaky", "unreachable", "http.status"),
        ("gone", "not_found", "http.not-found"),
        ("north", "ok", "territory.unavailable"),
        ("quiet", "not_found", "http.not-found"),
    ]
    assert {r["scope"] for r in rows} == {"latest_fetch"}


@answers(7)
def _adoption_per_country(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert {r["country"]: (r["servers"], r["entries"]) for r in rows} == {
        "US": (1, 3),
        "DE": (1, 1),
        "(none)": (1, 1),
    }
    assert rows[0]["country"] == "US"


@answers(8)
def _adoption_per_day(f: Federation, rows: list[dict[str, Any]]) -> None:
    # Six servers published at the first crawl, 400 days ago; `new` at the second, now. (The
    # days are in the session's time zone on Postgres, so only their distance is checked.)
    assert [r["new_servers"] for r in rows] == [6, 1]
    first, last = (date.fromisoformat(str(r["day"])) for r in rows)
    assert last - first == SHIFT


@answers(9)
def _largest_territories(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [r["entry_id"] for r in rows] == [
        "south-elec",
        "north-electric",
        "berlin-grid",
        "north-solar",
    ]
    assert rows[0]["km2"] == round(box_area_km2(SOUTH))


@answers(10)
def _entries_without_territory(f: Federation, rows: list[dict[str, Any]]) -> None:
    [row] = rows
    assert (f.publisher(row["server_url"]), row["entry_id"], row["rule"]) == (
        "north",
        "north-rural",
        "territory.unavailable",
    )
    assert row["geojson_resource"] == f.main.url("/geo/north-rural.geojson")
    assert "404" in row["message"]


@answers(11)
def _moved(f: Federation, rows: list[dict[str, Any]]) -> None:
    [row] = rows
    assert (row["url"], row["moved_to"], row["target_status"], row["target_name"]) == (
        f.url("old"),
        f.url("new"),
        "ok",
        "Old Town Utility",
    )
    assert recent(row["moved_at"])


@answers(12)
def _removed_entries(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [(f.publisher(r["server_url"]), r["entry_id"], r["summary"]) for r in rows] == [
        ("north", "north-gas", "entry north-gas removed")
    ]


@answers(13)
def _oauth_in_the_us(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert rows == [
        {
            "server_url": f.url("north"),
            "entry_id": "north-electric",
            "entity_name": "Northern Electric",
            "role": "authoritative",
        }
    ]


@answers(14)
def _down(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [(f.publisher(r["url"]), r["status"], r["current_version"]) for r in rows] == [
        ("copied", "invalid", None),
        ("gone", "not_found", 1),
        ("quiet", "not_found", None),
        ("flaky", "unreachable", 1),
    ]
    assert all(r["consecutive_failures"] >= 1 for r in rows)


@answers(15)
def _covered_a_year_ago(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [(r["entry_id"], r["version"], r["name"]) for r in rows] == [
        ("north-electric", 1, "Northern territory"),
        ("north-gas", 1, "Northern gas territory"),
        ("north-rural", 1, "Rural lines"),
    ]
    assert recent(rows[0]["valid_to"])
    assert rows[2]["valid_to"] is None


# --- docs/schema.md's answers ----------------------------------------------------------


def document(value: Any) -> dict[str, Any]:
    """A `documents.content` value: JSON text from sqlite3, parsed JSON from psycopg."""
    parsed_value = json.loads(value) if isinstance(value, str) else value
    assert isinstance(parsed_value, dict)
    return parsed_value


@answers(1, "schema.md")
def _usable_now(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [(f.publisher(r["url"]), r["name"]) for r in rows] == [
        ("berlin", "Berlin Grid"),
        ("north", "Northern Electric & Gas"),
        ("new", "Old Town Utility"),
        ("south", "Southern Power"),
    ]
    assert long_ago(rows[0]["status_since"])
    assert recent(rows[2]["status_since"])


@answers(2, "schema.md")
def _servers_per_status(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [(r["status"], r["servers"]) for r in rows] == [
        ("ok", 4),
        ("not_found", 2),
        ("invalid", 1),
        ("moved", 1),
        ("unreachable", 1),
    ]


@answers(3, "schema.md")
def _new_versions_last_week(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [(f.publisher(r["url"]), r["version"]) for r in rows] == [("north", 2)]
    assert recent(rows[0]["fetched_at"])


@answers(4, "schema.md")
def _current_document(f: Federation, rows: list[dict[str, Any]]) -> None:
    [row] = rows
    assert document(row["content"])["description"].endswith("Now with solar.")


@answers(5, "schema.md")
def _document_on_a_day(f: Federation, rows: list[dict[str, Any]]) -> None:
    [row] = rows
    assert row["version"] == 1
    assert document(row["content"])["description"] == "Electricity and gas in the north."


@answers(6, "schema.md")
def _on_the_2023_draft(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [(f.publisher(r["url"]), r["name"]) for r in rows] == [("south", "Southern Power")]


@answers(7, "schema.md")
def _common_errors(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [(r["rule"], r["servers"]) for r in rows] == [
        ("http.not-found", 2),  # quiet (404) and gone (410)
        ("http.status", 1),  # flaky (503)
        ("json.trailing-comma", 1),  # copied
        ("territory.unavailable", 1),  # north's rural territory
    ]


@answers(8, "schema.md")
def _offer_oauth(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [f.publisher(r["url"]) for r in rows] == ["berlin", "north"]


@answers(9, "schema.md")
def _last_confirmed(f: Federation, rows: list[dict[str, Any]]) -> None:
    confirmed = {f.publisher(r["url"]): when(r["confirmed"]) for r in rows}
    assert [when(r["confirmed"]) for r in rows] == sorted(confirmed.values())
    assert {name for name, at in confirmed.items() if long_ago(at)} == {"old", "flaky", "gone"}
    assert {name for name, at in confirmed.items() if recent(at)} == {
        "north",
        "berlin",
        "south",
        "new",
    }


@answers(10, "schema.md")
def _failed_last_crawl(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [(f.publisher(r["url"]), r["outcome"], r["status_code"]) for r in rows] == [
        ("flaky", "http_error", 503),
        ("gone", "not_found", 410),
        ("old", "moved", 301),
        ("quiet", "not_found", 404),
    ]


@answers(11, "schema.md")
def _electricity_per_country(f: Federation, rows: list[dict[str, Any]]) -> None:
    # north's electric, rural and solar entries; berlin's; south's 2023 territory has no country
    assert {r["country"]: r["entries"] for r in rows} == {"US": 3, "DE": 1, None: 1}


@answers(12, "schema.md")
def _linking_to_a_url(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [(f.publisher(r["url"]), r["kind"]) for r in rows] == [("north", "oauth_metadata")]


@answers(13, "schema.md")
def _territories_around_a_point(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [r["entry_id"] for r in rows] == ["north-electric", "north-solar"]


@answers(14, "schema.md")
def _registration_for_a_scope(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [f.publisher(r["url"]) for r in rows] == ["berlin", "north"]


@answers(15, "schema.md")
def _found_through_a_seed(f: Federation, rows: list[dict[str, Any]]) -> None:
    assert [f.publisher(r["url"]) for r in rows] == ["north"]


@answers(16, "schema.md")
def _slowest(f: Federation, rows: list[dict[str, Any]]) -> None:
    averages = [float(r["average_ms"]) for r in rows]
    assert averages == sorted(averages, reverse=True)
    assert {f.publisher(r["url"]) for r in rows} == {*SEEDS, NEW_HOME}


def test_docs_schema_md_names_every_status_and_fetch_outcome() -> None:
    text = " ".join((DOCS / "schema.md").read_text().split())
    servers = re.search(r"`status` is one of (.*?) \(see", text)
    outcomes = re.search(r"`outcome` \((.*?)\)", text)
    assert servers
    assert outcomes

    assert set(re.findall(r"`(\w+)`", servers.group(1))) == set(ServerStatus)
    assert set(re.findall(r"`(\w+)`", outcomes.group(1))) == set(FetchOutcome)


# --- every question answered --------------------------------------------------------------


@pytest.mark.parametrize("doc", sorted(ANSWERS))
def test_every_question_of_the_docs_has_sql_for_both_databases(doc: str) -> None:
    blocks = doc_blocks(doc)

    assert {question for question, _, _ in blocks} == set(ANSWERS[doc])
    for question in ANSWERS[doc]:
        dialects = [dialect for number, dialect, _ in blocks if number == question]
        assert dialects in ([None], ["postgresql", "sqlite"]), (question, dialects)


@pytest.mark.parametrize(
    ("doc", "question"),
    [(doc, question) for doc, checks in sorted(ANSWERS.items()) for question in sorted(checks)],
    ids=lambda value: f"question-{value}" if isinstance(value, int) else value,
)
def test_the_sql_of_the_docs_answers_its_question(
    federation: Federation, doc: str, question: int
) -> None:
    [sql] = [
        sql
        for number, dialect, sql in doc_blocks(doc)
        if number == question and dialect in (None, federation.dialect)
    ]
    between_the_crawls = (datetime.now(UTC) - SHIFT / 2).date()
    sql = sql.replace(A_DAY, f"'{between_the_crawls.isoformat()}'")

    ANSWERS[doc][question](federation, federation.rows(federation.localise(sql)))

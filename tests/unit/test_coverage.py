"""Coverage listing pages (CDSC-WG1-01 4): validation and the mapped entry model."""

from __future__ import annotations

import copy
import re
from typing import Any

import orjson
import pytest

from crawler.domain.coverage import CoverageEntry, CoveragePage, parse_coverage_page
from crawler.domain.findings import Finding, Severity
from crawler.domain.jsondoc import parse_json_object

URL = "https://static.example.com/cds-coverage.json"

# Section 7 of the current draft, verbatim (trailing commas included; no `country`); the
# long description is substituted to keep lines short.
CURRENT_EXAMPLE = b"""{
    "coverage_entries": [
        {
            "id": "dge_elec_west",

            "created": "2022-06-01T00:00:00.000000Z",
            "updated": "2022-06-01T00:00:00.000000Z",

            "entity_name": "Demo Gas & Electric",
            "entity_abbreviation": "DG&E",

            "name": "Western electric service territory",
            "description": "%s",

            "type": "geographic",
            "role": "official",
            "infrastructure_types": [
                "distribution_utility",
            ],
            "commodity_types": [
                "electricity",
            ],
            "capabilities": [],

            "map_resource": "https://static.example.com/cds-coverage-map.png",
            "map_content_type": "image/png",
            "geojson_resource": "https://static.example.com/cds-coverage-map-geo.json"
        }
    ],
    "next": null,
    "previous": null
}""" % (b"This is the electric service coverage for the western half of the region.",)

# Section 7 of the 2023 draft, verbatim.
DRAFT_2023_EXAMPLE = b"""{
    "coverage_entries": [
        {
            "id": "norcal",
            "type": "electric_service_territory",
            "updated": "2022-06-01T00:00:00.000000Z",
            "name": "DG&E Electric Service Territory",
            "description": "Covers most of northern California from Fresno to Redding",
            "map_resource": "https://static.example.com/cds-coverage-map.png",
            "map_content_type": "image/png",
            "geojson_resource": "https://static.example.com/cds-coverage-map-geo.json"
        }
    ],
    "next": null,
    "previous": null
}"""


def parsed(body: bytes) -> dict[str, Any]:
    body = re.sub(rb",(\s*[\]}])", rb"\1", body)
    document, findings = parse_json_object(body, URL)
    assert findings == ()
    assert document is not None
    return document


DELETE = object()  # a member to remove from an entry


def current_example() -> dict[str, Any]:
    """The current draft's example, with the `country` its own section 4.3 requires."""
    document = parsed(CURRENT_EXAMPLE)
    document["coverage_entries"][0]["country"] = "US"
    return document


def current_entry(**changes: Any) -> dict[str, Any]:
    """The example's entry with members replaced, or removed where the value is `DELETE`."""
    entry: dict[str, Any] = copy.deepcopy(current_example()["coverage_entries"][0])
    for name, value in changes.items():
        if value is DELETE:
            del entry[name]
        else:
            entry[name] = value
    return entry


def legacy_entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = copy.deepcopy(parsed(DRAFT_2023_EXAMPLE)["coverage_entries"][0])
    for name, value in changes.items():
        if value is DELETE:
            del entry[name]
        else:
            entry[name] = value
    return entry


def page_of(*entries: Any, **members: Any) -> dict[str, Any]:
    return {"coverage_entries": list(entries), "next": None, "previous": None, **members}


def summary(findings: tuple[Finding, ...] | list[Finding]) -> list[tuple[str, str]]:
    return [(f.rule, f.pointer) for f in findings]


def serious(page: CoveragePage) -> list[Finding]:
    return [f for f in page.findings if f.severity is not Severity.INFO]


# --- the drafts' own examples ------------------------------------------------------------------


def test_the_current_example_as_published_lacks_only_its_country() -> None:
    page = parse_coverage_page(parsed(CURRENT_EXAMPLE), URL)
    assert summary(page.findings) == [("coverage.required", "/coverage_entries/0/country")]
    finding = page.findings[0]
    assert finding.severity is Severity.ERROR
    assert finding.section == "CDSC-WG1-01 4.3"
    assert finding.url == URL
    assert page.entries[0].country is None
    assert not page.entries[0].valid


def test_the_current_example_with_a_country_has_no_findings() -> None:
    page = parse_coverage_page(current_example(), URL)
    assert page.findings == ()
    assert page.usable
    assert page.next is None
    assert len(page.entries) == 1
    entry = page.entries[0]
    assert entry.valid
    assert entry.findings == ()
    assert entry.content == current_example()["coverage_entries"][0]
    assert entry.model() == {
        "entry_id": "dge_elec_west",
        "type": "geographic",
        "role": "official",
        "country": "US",
        "entity_name": "Demo Gas & Electric",
        "name": "Western electric service territory",
        "commodity_types": ["electricity"],
        "infrastructure_types": ["distribution_utility"],
        "capabilities": [],
        "map_resource": "https://static.example.com/cds-coverage-map.png",
        "map_content_type": "image/png",
        "geojson_resource": "https://static.example.com/cds-coverage-map-geo.json",
        "updated": "2022-06-01T00:00:00+00:00",
        "draft": "2025-03",
    }


def test_the_model_is_json_ready() -> None:
    entry = parse_coverage_page(current_example(), URL).entries[0]
    assert orjson.loads(orjson.dumps(entry.model())) == entry.model()


def test_the_2023_example_maps_to_a_geographic_electricity_entry_with_one_warning() -> None:
    page = parse_coverage_page(parsed(DRAFT_2023_EXAMPLE), URL)
    assert summary(page.findings) == [("coverage.draft-2023-entry", "/coverage_entries/0")]
    warning = page.findings[0]
    assert warning.severity is Severity.WARNING
    assert warning.section == "CDSC-WG1-01 4.3"
    assert "2023 draft" in warning.message
    assert "electric_service_territory" in warning.message
    assert (
        "created, entity_name, entity_abbreviation, country, role, infrastructure_types, "
        "commodity_types, capabilities" in warning.message
    )
    entry = page.entries[0]
    assert entry.valid
    assert entry.model() == {
        "entry_id": "norcal",
        "type": "geographic",
        "role": None,
        "country": None,
        "entity_name": None,
        "name": "DG&E Electric Service Territory",
        "commodity_types": ["electricity"],
        "infrastructure_types": [],
        "capabilities": [],
        "map_resource": "https://static.example.com/cds-coverage-map.png",
        "map_content_type": "image/png",
        "geojson_resource": "https://static.example.com/cds-coverage-map-geo.json",
        "updated": "2022-06-01T00:00:00+00:00",
        "draft": "2023",
    }


@pytest.mark.parametrize(
    ("entry_type", "commodity"),
    [
        ("electric_service_territory", "electricity"),
        ("natural_gas_service_territory", "natural_gas"),
        ("fuel_oil_service_territory", "fuel_oil"),
        ("water_service_territory", "water"),
    ],
)
def test_each_2023_type_names_its_commodity(entry_type: str, commodity: str) -> None:
    entry = parse_coverage_page(page_of(legacy_entry(type=entry_type)), URL).entries[0]
    assert (entry.type, entry.commodity_types, entry.draft) == ("geographic", (commodity,), "2023")
    assert summary(entry.findings) == [("coverage.draft-2023-entry", "/coverage_entries/0")]


def test_a_2023_entry_with_some_current_members_names_only_what_it_lacks() -> None:
    extra = {k: v for k, v in current_entry().items() if k not in ("id", "type", "commodity_types")}
    entry = parse_coverage_page(page_of(legacy_entry(**extra)), URL).entries[0]
    assert summary(entry.findings) == [("coverage.draft-2023-entry", "/coverage_entries/0")]
    assert entry.findings[0].message.endswith("requires: commodity_types")
    assert (entry.role, entry.country, entry.entity_name) == (
        "official",
        "US",
        "Demo Gas & Electric",
    )
    assert (entry.type, entry.commodity_types) == ("geographic", ("electricity",))


def test_a_2023_entry_with_every_current_member_still_gets_the_warning() -> None:
    extra = {k: v for k, v in current_entry().items() if k not in ("id", "type")}
    entry = parse_coverage_page(page_of(legacy_entry(**extra)), URL).entries[0]
    assert summary(entry.findings) == [("coverage.draft-2023-entry", "/coverage_entries/0")]
    assert "has every member the current draft (4.3) requires" in entry.findings[0].message


# --- the listing object (4.1) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "rule", "pointer"),
    [
        ({"next": None, "previous": None}, "coverage.required", "/coverage_entries"),
        (page_of(coverage_entries={"id": "a"}), "coverage.type", "/coverage_entries"),
        (page_of(coverage_entries=None), "coverage.type", "/coverage_entries"),
    ],
)
def test_a_page_without_an_entries_array_is_unusable(
    document: dict[str, Any], rule: str, pointer: str
) -> None:
    page = parse_coverage_page(document, URL)
    assert summary(page.findings) == [(rule, pointer)]
    assert page.findings[0].severity is Severity.ERROR
    assert page.findings[0].section == "CDSC-WG1-01 4.1"
    assert not page.usable
    assert page.entries == ()


@pytest.mark.parametrize("name", ["next", "previous"])
def test_next_and_previous_are_required(name: str) -> None:
    document = page_of()
    del document[name]
    page = parse_coverage_page(document, URL)
    assert summary(page.findings) == [("coverage.required", f"/{name}")]
    assert page.findings[0].section == "CDSC-WG1-01 4.1"
    assert page.usable


def test_a_valid_next_url_is_returned() -> None:
    page = parse_coverage_page(page_of(next="https://static.example.com/cov?page=2"), URL)
    assert page.findings == ()
    assert page.next == "https://static.example.com/cov?page=2"


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("page-2.json", "coverage.url"),
        ("ftp://static.example.com/2", "coverage.url"),
        ("", "coverage.url"),
        (2, "coverage.type"),
        ({"href": "https://example.com"}, "coverage.type"),
    ],
)
def test_a_next_that_is_not_a_url_is_an_error_and_not_followed(value: Any, rule: str) -> None:
    page = parse_coverage_page(page_of(next=value), URL)
    assert summary(page.findings) == [(rule, "/next")]
    assert page.findings[0].severity is Severity.ERROR
    assert page.findings[0].section == "CDSC-WG1-01 4.1"
    assert page.next is None


def test_a_previous_that_is_not_a_url_is_an_error() -> None:
    page = parse_coverage_page(page_of(previous="../1"), URL)
    assert summary(page.findings) == [("coverage.url", "/previous")]


def test_unknown_page_members_are_info() -> None:
    page = parse_coverage_page(page_of(current_example()["coverage_entries"][0], total=1), URL)
    assert summary(page.findings) == [("coverage.unknown-field", "/total")]
    assert page.findings[0].severity is Severity.INFO
    assert page.findings[0].section == "CDSC-WG1-01 6"


# --- entries that cannot be keyed ------------------------------------------------------------


def test_entries_that_are_not_objects_are_skipped() -> None:
    page = parse_coverage_page(page_of(current_entry(), 7, "x", None, [current_entry()]), URL)
    assert summary(page.findings) == [
        ("coverage.type", "/coverage_entries/1"),
        ("coverage.type", "/coverage_entries/2"),
        ("coverage.type", "/coverage_entries/3"),
        ("coverage.type", "/coverage_entries/4"),
    ]
    assert {f.section for f in page.findings} == {"CDSC-WG1-01 4.1"}
    assert [e.entry_id for e in page.entries] == ["dge_elec_west"]
    assert page.usable


@pytest.mark.parametrize(
    ("entry_id", "rule"),
    [(DELETE, "coverage.required"), (17, "coverage.type"), (None, "coverage.type")],
)
def test_entries_without_a_string_id_are_skipped(entry_id: Any, rule: str) -> None:
    second = current_entry(id="second")
    page = parse_coverage_page(page_of(current_entry(id=entry_id), second), URL)
    assert summary(page.findings) == [(rule, "/coverage_entries/0/id")]
    assert "skipped" in page.findings[0].message
    assert [e.entry_id for e in page.entries] == ["second"]


def test_repeated_ids_are_left_to_the_reader_of_the_listing() -> None:
    page = parse_coverage_page(page_of(current_entry(), current_entry()), URL)
    assert page.findings == ()
    assert [e.entry_id for e in page.entries] == ["dge_elec_west", "dge_elec_west"]


# --- the members of a current-draft entry (4.3-4.7) ------------------------------------------


@pytest.mark.parametrize(
    ("changes", "rule", "pointer", "section"),
    [
        ({"created": DELETE}, "coverage.required", "/created", "CDSC-WG1-01 4.3"),
        ({"updated": DELETE}, "coverage.required", "/updated", "CDSC-WG1-01 4.3"),
        ({"entity_name": DELETE}, "coverage.required", "/entity_name", "CDSC-WG1-01 4.3"),
        (
            {"entity_abbreviation": DELETE},
            "coverage.required",
            "/entity_abbreviation",
            "CDSC-WG1-01 4.3",
        ),
        ({"country": DELETE}, "coverage.required", "/country", "CDSC-WG1-01 4.3"),
        ({"name": DELETE}, "coverage.required", "/name", "CDSC-WG1-01 4.3"),
        ({"role": DELETE}, "coverage.required", "/role", "CDSC-WG1-01 4.3"),
        ({"capabilities": DELETE}, "coverage.required", "/capabilities", "CDSC-WG1-01 4.3"),
        ({"commodity_types": DELETE}, "coverage.required", "/commodity_types", "CDSC-WG1-01 4.3"),
        (
            {"infrastructure_types": DELETE},
            "coverage.required",
            "/infrastructure_types",
            "CDSC-WG1-01 4.3",
        ),
        ({"created": "2022-06-01"}, "coverage.datetime", "/created", "CDSC-WG1-01 4.3"),
        ({"updated": "2022-06-01T00:00:00"}, "coverage.datetime", "/updated", "CDSC-WG1-01 4.3"),
        ({"updated": 1654041600}, "coverage.type", "/updated", "CDSC-WG1-01 4.3"),
        ({"entity_name": None}, "coverage.type", "/entity_name", "CDSC-WG1-01 4.3"),
        ({"entity_abbreviation": 3}, "coverage.type", "/entity_abbreviation", "CDSC-WG1-01 4.3"),
        ({"name": ["West"]}, "coverage.type", "/name", "CDSC-WG1-01 4.3"),
        ({"description": 3}, "coverage.type", "/description", "CDSC-WG1-01 4.3"),
        ({"country": "us"}, "coverage.country", "/country", "CDSC-WG1-01 4.3"),
        ({"country": "USA"}, "coverage.country", "/country", "CDSC-WG1-01 4.3"),
        ({"country": "Ü1"}, "coverage.country", "/country", "CDSC-WG1-01 4.3"),
        ({"country": 840}, "coverage.type", "/country", "CDSC-WG1-01 4.3"),
        ({"type": 1}, "coverage.type", "/type", "CDSC-WG1-01 4.3"),
        ({"type": "regional"}, "coverage.unknown-value", "/type", "CDSC-WG1-01 4.4"),
        ({"role": "primary"}, "coverage.unknown-value", "/role", "CDSC-WG1-01 4.5"),
        ({"role": None}, "coverage.type", "/role", "CDSC-WG1-01 4.3"),
        (
            {"infrastructure_types": ["grid"]},
            "coverage.unknown-value",
            "/infrastructure_types/0",
            "CDSC-WG1-01 4.6",
        ),
        (
            {"commodity_types": ["electricity", "plasma"]},
            "coverage.unknown-value",
            "/commodity_types/1",
            "CDSC-WG1-01 4.7",
        ),
        (
            {"capabilities": ["teleport"]},
            "coverage.unknown-value",
            "/capabilities/0",
            "CDSC-WG1-01 3.4",
        ),
        (
            {"commodity_types": "electricity"},
            "coverage.type",
            "/commodity_types",
            "CDSC-WG1-01 4.3",
        ),
        ({"capabilities": [1]}, "coverage.type", "/capabilities/0", "CDSC-WG1-01 4.3"),
        (
            {"commodity_types": ["electricity", "electricity"]},
            "coverage.duplicate-value",
            "/commodity_types/1",
            "CDSC-WG1-01 4.3",
        ),
        (
            {"capabilities": ["oauth", "coverage"]},
            "coverage.coverage-capability",
            "/capabilities/1",
            "CDSC-WG1-01 4.3",
        ),
        (
            {"map_resource": "ftp://example.com/m.png"},
            "coverage.url",
            "/map_resource",
            "CDSC-WG1-01 4.3",
        ),
        ({"geojson_resource": "map.json"}, "coverage.url", "/geojson_resource", "CDSC-WG1-01 4.3"),
        ({"map_content_type": "png"}, "coverage.mime-type", "/map_content_type", "CDSC-WG1-01 4.3"),
        (
            {"map_content_type": "image/"},
            "coverage.mime-type",
            "/map_content_type",
            "CDSC-WG1-01 4.3",
        ),
        (
            {"map_content_type": DELETE},
            "coverage.map-content-type-required",
            "/map_content_type",
            "CDSC-WG1-01 4.3",
        ),
        (
            {"map_resource": DELETE, "map_content_type": DELETE, "geojson_resource": DELETE},
            "coverage.map-required",
            "",
            "CDSC-WG1-01 4.3",
        ),
        (
            {"x_service_area_km2": 12.5},
            "coverage.unknown-field",
            "/x_service_area_km2",
            "CDSC-WG1-01 6",
        ),
    ],
)
def test_each_entry_rule(changes: dict[str, Any], rule: str, pointer: str, section: str) -> None:
    page = parse_coverage_page(page_of(current_entry(), current_entry(id="b", **changes)), URL)
    assert summary(page.findings) == [(rule, "/coverage_entries/1" + pointer)]
    assert page.findings[0].section == section
    assert page.findings[0].url == URL
    assert [e.entry_id for e in page.entries] == ["dge_elec_west", "b"]
    assert page.entries[0].findings == ()
    assert summary(page.entries[1].findings) == summary(page.findings)


@pytest.mark.parametrize(
    "changes",
    [
        {"entity_abbreviation": None},
        {"description": DELETE},
        {"capabilities": ["oauth"]},
        {"map_resource": DELETE, "map_content_type": DELETE},
        {"geojson_resource": DELETE},
        {
            "type": "logical",
            "map_resource": DELETE,
            "map_content_type": DELETE,
            "geojson_resource": DELETE,
        },
        {"map_content_type": "application/geo+json; charset=utf-8"},
        {"commodity_types": [], "infrastructure_types": [], "capabilities": []},
        {"updated": "2022-06-01T02:00:00+02:00"},
    ],
)
def test_what_the_draft_allows(changes: dict[str, Any]) -> None:
    page = parse_coverage_page(page_of(current_entry(**changes)), URL)
    assert page.findings == ()


def test_unknown_values_are_kept_in_the_model_and_bad_urls_are_not() -> None:
    entry = parse_coverage_page(
        page_of(
            current_entry(
                type="regional",
                role="primary",
                country="usa",
                capabilities=["teleport", 3, "teleport"],
                map_resource="javascript:alert(1)",
                map_content_type="png",
                updated="yesterday",
            )
        ),
        URL,
    ).entries[0]
    assert (entry.type, entry.role, entry.capabilities) == ("regional", "primary", ("teleport",))
    assert (entry.country, entry.map_resource, entry.map_content_type, entry.updated) == (
        None,
        None,
        None,
        None,
    )
    assert not entry.valid


def test_an_unknown_type_is_not_held_to_the_geographic_rule() -> None:
    entry = current_entry(type="regional", map_resource=DELETE, map_content_type=DELETE)
    del entry["geojson_resource"]
    page = parse_coverage_page(page_of(entry), URL)
    assert summary(page.findings) == [("coverage.unknown-value", "/coverage_entries/0/type")]


def test_updated_is_read_as_utc() -> None:
    entry = parse_coverage_page(
        page_of(current_entry(updated="2022-06-01T02:00:00+02:00")), URL
    ).entries[0]
    assert entry.model()["updated"] == "2022-06-01T00:00:00+00:00"


# --- 2023-draft entries -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "rule", "pointer"),
    [
        ({"name": DELETE}, "coverage.required", "/name"),
        ({"updated": DELETE}, "coverage.required", "/updated"),
        ({"updated": "June 2022"}, "coverage.datetime", "/updated"),
        ({"description": False}, "coverage.type", "/description"),
        ({"map_content_type": DELETE}, "coverage.map-content-type-required", "/map_content_type"),
        (
            {"map_resource": DELETE, "map_content_type": DELETE, "geojson_resource": DELETE},
            "coverage.map-required",
            "",
        ),
        ({"geojson_resource": "//cdn.example.com/map.json"}, "coverage.url", "/geojson_resource"),
        ({"territory_code": "NC"}, "coverage.unknown-field", "/territory_code"),
    ],
)
def test_2023_entries_are_held_to_the_2023_format(
    changes: dict[str, Any], rule: str, pointer: str
) -> None:
    page = parse_coverage_page(page_of(legacy_entry(**changes)), URL)
    assert summary(page.findings) == [
        ("coverage.draft-2023-entry", "/coverage_entries/0"),
        (rule, "/coverage_entries/0" + pointer),
    ]
    assert page.findings[1].section == (
        "CDSC-WG1-01 6" if rule.endswith("field") else "CDSC-WG1-01 4.3"
    )


def test_a_listing_may_mix_both_drafts() -> None:
    page = parse_coverage_page(page_of(current_entry(), legacy_entry()), URL)
    assert [(e.entry_id, e.draft, e.type) for e in page.entries] == [
        ("dge_elec_west", "2025-03", "geographic"),
        ("norcal", "2023", "geographic"),
    ]
    assert summary(page.findings) == [("coverage.draft-2023-entry", "/coverage_entries/1")]


# --- hostile input ---------------------------------------------------------------------------


def test_ten_thousand_numbers_as_entries_are_bounded() -> None:
    page = parse_coverage_page(page_of(*range(10_000)), URL)
    assert page.entries == ()
    assert page.usable
    assert len(page.findings) == 51
    assert page.findings[-1].rule == "coverage.type"
    assert page.findings[-1].pointer == "/coverage_entries"
    assert page.findings[-1].message.startswith("9950 more coverage.type findings")


def test_a_ten_thousand_entry_page_keeps_every_entry_and_few_findings() -> None:
    page = parse_coverage_page(page_of(*({"id": f"e{i}"} for i in range(10_000))), URL)
    assert len(page.entries) == 10_000
    assert page.entries[9_999].entry_id == "e9999"
    assert not any(entry.valid for entry in page.entries)
    # 100 listed and 100,000 more built: 9,100 entries of 11 findings, then one shared marker.
    assert [len(entry.findings) for entry in page.entries[9_099:9_101]] == [11, 1]
    marker = page.entries[9_100].findings[0]
    assert (marker.rule, marker.pointer, marker.severity) == (
        "coverage.required",
        "/coverage_entries",
        Severity.ERROR,
    )
    assert page.entries[9_999].findings == (marker,)
    assert len(page.findings) == 101
    last = page.findings[-1]
    assert (last.rule, last.pointer, last.severity) == (
        "coverage.required",
        "/coverage_entries",
        Severity.ERROR,
    )
    assert last.message.startswith("109900 more coverage.required findings on this page")


def test_a_ten_thousand_entry_page_of_mixed_faults_lists_at_most_101_per_rule() -> None:
    noisy = current_entry(
        country="usa", role=7, capabilities=["coverage", "x", "y"], x_a=1, x_b=2, x_c=3
    )
    entries = [dict(noisy, id=f"e{i}") for i in range(10_000)]
    page = parse_coverage_page(page_of(*entries), URL)
    assert len(page.entries) == 10_000
    rules = [
        "coverage.country",
        "coverage.type",
        "coverage.unknown-value",
        "coverage.coverage-capability",
        "coverage.unknown-field",
    ]
    assert sorted(rules) == sorted({f.rule for f in page.findings})
    assert all(sum(f.rule == rule for f in page.findings) == 101 for rule in rules)
    counts = {f.rule: f.message for f in page.findings[-len(rules) :]}
    assert counts["coverage.unknown-value"].startswith("19900 more coverage.unknown-value")
    assert counts["coverage.country"].startswith("9900 more coverage.country findings")
    assert all(len(e.findings) == 8 for e in page.entries)


def test_a_long_array_in_one_entry_is_bounded_within_the_entry() -> None:
    entry = parse_coverage_page(
        page_of(current_entry(capabilities=[f"c{i}" for i in range(10_000)])), URL
    ).entries[0]
    assert len(entry.findings) == 51
    assert entry.findings[-1].pointer == "/coverage_entries/0/capabilities"
    assert entry.valid


NESTED: Any = [[[[{"a": [{"b": None}]}]]]]


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"coverage_entries": []},
        page_of({"id": 2**20000}),
        page_of({"id": 1.5e308, "type": "geographic"}),
        page_of({"id": True}),
        page_of({"id": "a", **{name: NESTED for name in current_entry()} | {"id": "a"}}),
        page_of({"id": "a", "type": "electric_service_territory", "map_resource": NESTED}),
        page_of({"id": "a", "capabilities": [NESTED, {"coverage": 1}, None, 2**5000]}),
        page_of(*[NESTED] * 100, next=NESTED, previous=NESTED),
        {"coverage_entries": NESTED, "next": {"": ""}, "": NESTED},
        {
            "coverage_entries": [{"": None, "id": ""}],
            "next": "https://[::1",
            "previous": "http://x:99999",
        },
    ],
)
def test_garbage_never_raises(document: dict[str, Any]) -> None:
    page = parse_coverage_page(document, URL)
    assert isinstance(page, CoveragePage)
    assert all(isinstance(entry, CoverageEntry) for entry in page.entries)
    for entry in page.entries:
        orjson.dumps(entry.model())
    for finding in page.findings:
        orjson.dumps(finding.to_json())


@pytest.mark.parametrize("document", [None, 3, "coverage", [], [{"id": "a"}]])
def test_a_page_that_is_not_an_object_is_unusable(document: Any) -> None:
    page = parse_coverage_page(document, URL)
    assert summary(page.findings) == [("coverage.type", "")]
    assert (page.usable, page.entries, page.next) == (False, (), None)


@pytest.mark.parametrize("code", ["ZZ", "us", "USA", "UK"])
def test_a_country_not_assigned_by_iso_3166_is_an_error(code: str) -> None:
    page = parse_coverage_page(page_of(current_entry(country=code)), URL)

    assert summary(serious(page)) == [("coverage.country", "/coverage_entries/0/country")]
    assert page.entries[0].country is None


@pytest.mark.parametrize("code", ["US", "GB", "DE", "JP"])
def test_assigned_country_codes_are_accepted(code: str) -> None:
    page = parse_coverage_page(page_of(current_entry(country=code)), URL)

    assert serious(page) == []
    assert page.entries[0].country == code

"""Validating metadata objects against the draft they follow (CDSC-WG1-01 3.2)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from crawler.domain.findings import Finding, Severity
from crawler.domain.jsondoc import parse_json_object
from crawler.domain.metadata import Draft, MetadataReport, validate_metadata
from tests.examples import CURRENT_DRAFT_EXAMPLE

URL = "https://example.com/.well-known/carbon-data-spec.json"


# Section 7 of the 2023 draft, verbatim: a trailing comma and a missing quote.
DRAFT_2023_EXAMPLE = b"""{
    "cds_metadata_version": "v1",
    "cds_metadata_url": "https://example.com/.well-known/carbon-data-spec.json",

    "created": "2022-01-01T00:00:00.000000Z",
    "updated": "2022-06-01T00:00:00.000000Z",

    "name": "Demo Gas & Electric",
    "description": "A fictional utility that can be used for testing and demonstration purposes.",
    "website": "https://example.com/data-access",
    "documentation": "https://example.com/data-access/docs",
    "support": "https://example.com/developers/contact",
    "infrastructure_types": [
        "distribution_utility",
        "metering_provider,
        "supplier"
    ],
    "commodity_types": [
        "electricity",
        "natural_gas"
    ],
    "capabilities": [
        "coverage",
    ],

    "coverage": "https://static.example.com/cds-coverage.json"
}"""


def without_trailing_commas(body: bytes) -> bytes:
    return re.sub(rb",(\s*[\]}])", rb"\1", body)


def parsed(body: bytes) -> dict[str, Any]:
    document, findings = parse_json_object(body, URL)
    assert findings == ()
    assert document is not None
    return document


def current() -> dict[str, Any]:
    return parsed(without_trailing_commas(CURRENT_DRAFT_EXAMPLE))


def draft_2023() -> dict[str, Any]:
    fixed = DRAFT_2023_EXAMPLE.replace(b'"metering_provider,', b'"metering_provider",')
    return parsed(without_trailing_commas(fixed))


def summary(report: MetadataReport) -> list[tuple[str, Severity, str, str]]:
    return [(f.rule, f.severity, f.pointer, f.section) for f in report.findings]


def only(report: MetadataReport, rule: str) -> Finding:
    matching = [f for f in report.findings if f.rule == rule]
    assert len(matching) == 1, report.findings
    return matching[0]


DRAFT_2023_NOTICE = ("metadata.draft-2023", Severity.WARNING, "", "CDSC-WG1-01 3.2")


# --- the drafts' own examples ----------------------------------------------------------------


def test_the_current_example_is_valid_without_any_finding() -> None:
    report = validate_metadata(current(), URL)
    assert report == MetadataReport(
        draft=Draft.CURRENT,
        findings=(),
        name="Example Data Hub",
        canonical_url="https://example.com/.well-known/carbon-data-spec.json",
    )
    assert report.usable


def test_the_2023_example_is_usable_with_the_draft_warning() -> None:
    report = validate_metadata(draft_2023(), URL)
    assert report.draft is Draft.DRAFT_2023
    assert summary(report) == [DRAFT_2023_NOTICE]
    assert report.findings[0].message == (
        "follows the 2023 draft (top-level `infrastructure_types`, `commodity_types`); "
        "the current draft moved these to coverage entries"
    )
    assert report.findings[0].url == URL
    assert report.usable
    assert report.name == "Demo Gas & Electric"


def test_one_2023_member_is_enough_to_follow_the_2023_draft() -> None:
    document = {**current(), "commodity_types": ["electricity"]}
    report = validate_metadata(document, URL)
    assert report.draft is Draft.DRAFT_2023
    assert summary(report) == [
        DRAFT_2023_NOTICE,
        ("metadata.required", Severity.ERROR, "/infrastructure_types", "CDSC-WG1-01 3.2"),
    ]
    assert not report.usable


def test_a_minimal_document_with_empty_capabilities_is_valid() -> None:
    document = current()
    del document["coverage"]
    document["capabilities"] = []
    assert validate_metadata(document, URL).findings == ()


def test_every_optional_member_when_valid() -> None:
    document = {
        **current(),
        "capabilities": ["coverage", "oauth"],
        "related_metadata": ["https://a.example.com/m.json", "http://b.example.com:8443/x?y=1#z"],
        "oauth_metadata": "https://auth.example.com/.well-known/oauth-authorization-server",
    }
    assert validate_metadata(document, URL).findings == ()


# --- metadata.required -----------------------------------------------------------------------

CURRENT_REQUIRED = [
    "cds_metadata_version",
    "cds_metadata_url",
    "created",
    "updated",
    "name",
    "description",
    "website",
    "documentation",
    "support",
    "capabilities",
]


@pytest.mark.parametrize("member", CURRENT_REQUIRED)
def test_a_missing_required_member_is_an_error(member: str) -> None:
    document = {**current(), "capabilities": []}
    del document["coverage"]  # optional, and without the coverage capability not needed
    del document[member]
    report = validate_metadata(document, URL)
    assert summary(report) == [
        ("metadata.required", Severity.ERROR, f"/{member}", "CDSC-WG1-01 3.2")
    ]
    assert f"`{member}`" in report.findings[0].message
    assert not report.usable


def test_the_required_message_names_the_member_and_its_type() -> None:
    document = current()
    del document["support"]
    assert only(validate_metadata(document, URL), "metadata.required").message == (
        "required member `support` (a URL string) is missing"
    )


@pytest.mark.parametrize("member", [*CURRENT_REQUIRED, "infrastructure_types", "commodity_types"])
def test_the_2023_draft_requires_its_members_too(member: str) -> None:
    document = draft_2023()
    del document[member]
    report = validate_metadata(document, URL)
    if member in ("infrastructure_types", "commodity_types"):
        assert report.draft is Draft.DRAFT_2023  # the other one is still there
    assert ("metadata.required", Severity.ERROR, f"/{member}", "CDSC-WG1-01 3.2") in summary(report)


def test_an_empty_object_lists_every_required_member() -> None:
    report = validate_metadata({}, URL)
    assert [f.pointer for f in report.findings] == [f"/{m}" for m in CURRENT_REQUIRED]
    assert {f.rule for f in report.findings} == {"metadata.required"}
    assert report.name is None
    assert report.canonical_url is None


# --- metadata.type ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("member", "value", "message"),
    [
        ("name", 42, "`name` is the number 42, expected a string"),
        ("description", None, "`description` is null, expected a string"),
        ("cds_metadata_version", 1, "`cds_metadata_version` is the number 1, expected a string"),
        ("website", ["https://a"], "`website` is an array of 1 element, expected a URL string"),
        (
            "created",
            1.5e9,
            "`created` is the number 1500000000.0, expected an RFC 3339 date-time string",
        ),
        ("support", {"url": "x"}, "`support` is an object with 1 member, expected a URL string"),
        (
            "capabilities",
            "coverage",
            '`capabilities` is the string "coverage", expected an array of strings',
        ),
        ("capabilities", None, "`capabilities` is null, expected an array of strings"),
        ("coverage", False, "`coverage` is the boolean false, expected a URL string"),
        (
            "related_metadata",
            {},
            "`related_metadata` is an object with 0 members, expected an array of URL strings",
        ),
    ],
)
def test_a_wrong_type_is_an_error(member: str, value: Any, message: str) -> None:
    report = validate_metadata({**current(), member: value}, URL)
    finding = only(report, "metadata.type")
    assert (finding.pointer, finding.severity, finding.section) == (
        f"/{member}",
        Severity.ERROR,
        "CDSC-WG1-01 3.2",
    )
    assert finding.message == message
    assert not report.usable


def test_array_elements_of_the_wrong_type_are_pointed_at() -> None:
    document = {**current(), "capabilities": ["coverage", 7, None, ["x"]], "related_metadata": [{}]}
    report = validate_metadata(document, URL)
    assert summary(report) == [
        ("metadata.type", Severity.ERROR, "/capabilities/1", "CDSC-WG1-01 3.2"),
        ("metadata.type", Severity.ERROR, "/capabilities/2", "CDSC-WG1-01 3.2"),
        ("metadata.type", Severity.ERROR, "/capabilities/3", "CDSC-WG1-01 3.2"),
        ("metadata.type", Severity.ERROR, "/related_metadata/0", "CDSC-WG1-01 3.2"),
    ]
    assert report.findings[0].message == "`capabilities[1]` is the number 7, expected a string"
    assert report.findings[3].message == (
        "`related_metadata[0]` is an object with 0 members, expected a URL string"
    )


def test_a_present_null_is_not_a_missing_member() -> None:
    report = validate_metadata({**current(), "coverage": None}, URL)
    assert summary(report) == [("metadata.type", Severity.ERROR, "/coverage", "CDSC-WG1-01 3.2")]


# --- metadata.url ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com",
        "HTTPS://EXAMPLE.COM/",
        "http://example.com:8080/a/b?c=d&e=%20f#g",
        "https://user:pw@example.com/",
        "https://192.0.2.1/x",
        "https://[2001:db8::1]:443/x",
        "https://[v7.fe80::1]/",
        "https://example.com:/",  # an empty port is allowed by RFC 3986
        "https://xn--nxasmq6b.example/path/~user/(x)!$&'*+,;=:@",
    ],
)
def test_good_urls(url: str) -> None:
    assert validate_metadata({**current(), "website": url}, URL).findings == ()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "an empty string, expected an absolute http(s) URL"),
        (
            "example.com/data",
            "not an absolute URL (no scheme); expected one starting with https://",
        ),
        ("/relative/path", "not an absolute URL (no scheme); expected one starting with https://"),
        ("//example.com/x", "not an absolute URL (no scheme); expected one starting with https://"),
        ("ftp://example.com/", 'has the scheme "ftp", expected http or https'),
        ("mailto:support@example.com", 'has the scheme "mailto", expected http or https'),
        ("https:example.com", "has no '//' and host after its scheme"),
        ("https:///path", "has no host"),
        ("https://:443/", "has no host"),
        (
            "https://exa mple.com",
            "contains ' ' (U+0020) at position 11, which a URL must percent-encode",
        ),
        (
            "https://exämple.com",
            "contains 'ä' (U+00E4) at position 10, which a URL must percent-encode",
        ),
        (
            "https://example.com/a\nb",
            "contains '\\n' (U+000A) at position 21, which a URL must percent-encode",
        ),
        ("https://example.com/%zz", "has a '%' at position 20 not followed by two hex digits"),
        ("https://example.com:80:80/", 'has the port "80:80", expected digits'),
        ("https://example.com:https/", 'has the port "https", expected digits'),
        ("https://example.com:65536/", "has the port 65536, beyond 65535"),
        (
            "https://example.com:" + "9" * 5000,
            "has the port " + "9" * 77 + "..., beyond 65535",
        ),
        ("https://[2001:db8::1/", "has a '[' that opens an IP address but no ']'"),
        ("https://[example.com]/", "has [example.com], which is not an IPv6 address"),
        ("https://[fe80::1%25eth0]/", "has [fe80::1%25eth0], which is not an IPv6 address"),
        ("https://[::1]x/", "has characters after the ']' of its IP address"),
        (
            "https://a@b@example.com/",
            "has characters not allowed in its user information (before '@')",
        ),
        (
            "https://example.com/a[1]",
            "contains '[' at position 21, allowed only around an IP address",
        ),
        (
            "https://example.com/#a#b",
            "contains a second '#' after the fragment starting at position 20",
        ),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, problem: str) -> None:
    report = validate_metadata({**current(), "website": url}, URL)
    finding = only(report, "metadata.url")
    assert (finding.pointer, finding.severity, finding.section) == (
        "/website",
        Severity.ERROR,
        "CDSC-WG1-01 3.2",
    )
    assert finding.message.endswith(f": {problem}")
    assert not report.usable


def test_bad_urls_in_related_metadata_are_pointed_at() -> None:
    document = {**current(), "related_metadata": ["https://ok.example.com/", "not a url"]}
    report = validate_metadata(document, URL)
    assert summary(report) == [
        ("metadata.url", Severity.ERROR, "/related_metadata/1", "CDSC-WG1-01 3.2")
    ]
    assert report.findings[0].message.startswith('`related_metadata[1]` is "not a url": ')


def test_cds_metadata_url_and_coverage_are_urls_too() -> None:
    document = {**current(), "cds_metadata_url": "carbon-data-spec.json", "coverage": "x:y"}
    assert [f.pointer for f in validate_metadata(document, URL).findings] == [
        "/cds_metadata_url",
        "/coverage",
    ]


def test_a_long_value_is_cut_short_in_the_message() -> None:
    long_url = "https://example.com/" + "a" * 10_000 + " "
    finding = only(validate_metadata({**current(), "website": long_url}, URL), "metadata.url")
    assert finding.message.startswith('`website` is "https://example.com/aaaa')
    assert '..."' in finding.message
    assert len(finding.message) < 250
    assert "at position 10020" in finding.message


# --- metadata.datetime -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("2022-01-01", "a date without a time"),
        ("2022-01-01 00:00:00Z", "date and time are separated by a space, not 'T'"),
        ("2022-01-01T00:00:00", "it has no offset ('Z' or +hh:mm)"),
        ("2022-01-01T00:00", "it has no offset ('Z' or +hh:mm)"),
        ("2022-02-30T00:00:00Z", "not a valid date-time"),
        ("yesterday", "not a valid date-time"),
        ("", "not a valid date-time"),
    ],
)
def test_bad_datetimes_are_errors(value: str, hint: str) -> None:
    report = validate_metadata({**current(), "updated": value}, URL)
    finding = only(report, "metadata.datetime")
    assert (finding.pointer, finding.severity, finding.section) == (
        "/updated",
        Severity.ERROR,
        "CDSC-WG1-01 3.2",
    )
    assert finding.message.startswith(f'`updated` is "{value}": {hint}')
    assert finding.message.endswith('expected an RFC 3339 date-time such as "2024-01-01T00:00:00Z"')


def test_2023_datetimes_are_checked_as_rfc3339_too() -> None:
    report = validate_metadata({**draft_2023(), "created": "2022-01-01"}, URL)
    assert summary(report) == [
        DRAFT_2023_NOTICE,
        ("metadata.datetime", Severity.ERROR, "/created", "CDSC-WG1-01 3.2"),
    ]


# --- metadata.version ------------------------------------------------------------------------


def test_an_unknown_version_is_a_warning_and_validation_goes_on() -> None:
    report = validate_metadata({**current(), "cds_metadata_version": "v2", "name": 1}, URL)
    assert summary(report) == [
        ("metadata.version", Severity.WARNING, "/cds_metadata_version", "CDSC-WG1-01 3.2"),
        ("metadata.type", Severity.ERROR, "/name", "CDSC-WG1-01 3.2"),
    ]
    assert report.findings[0].message == (
        '`cds_metadata_version` is "v2", expected "v1"; validated as v1 anyway'
    )


def test_an_unknown_version_alone_leaves_the_document_usable() -> None:
    assert validate_metadata({**current(), "cds_metadata_version": "1.0"}, URL).usable


# --- metadata.coverage-url-required and metadata.oauth-url-required --------------------------


def test_the_coverage_capability_requires_the_coverage_url() -> None:
    document = current()
    del document["coverage"]
    report = validate_metadata(document, URL)
    assert summary(report) == [
        ("metadata.coverage-url-required", Severity.ERROR, "/coverage", "CDSC-WG1-01 3.2")
    ]
    assert report.findings[0].message == (
        '`capabilities[0]` lists "coverage", so the `coverage` URL is required, but it is missing'
    )
    assert not report.usable


def test_in_the_2023_draft_the_coverage_rule_cites_its_section_3_6() -> None:
    document = draft_2023()
    del document["coverage"]
    assert summary(validate_metadata(document, URL)) == [
        DRAFT_2023_NOTICE,
        ("metadata.coverage-url-required", Severity.ERROR, "/coverage", "CDSC-WG1-01 3.6"),
    ]


def test_the_oauth_capability_requires_oauth_metadata() -> None:
    document = {**current(), "capabilities": ["coverage", "oauth"]}
    report = validate_metadata(document, URL)
    assert summary(report) == [
        ("metadata.oauth-url-required", Severity.ERROR, "/oauth_metadata", "CDSC-WG1-02 3.1")
    ]
    assert '`capabilities[1]` lists "oauth"' in report.findings[0].message


def test_a_bad_oauth_metadata_url_cites_cdsc_wg1_02() -> None:
    document = {**current(), "capabilities": ["coverage", "oauth"], "oauth_metadata": "nope"}
    assert summary(validate_metadata(document, URL)) == [
        ("metadata.url", Severity.ERROR, "/oauth_metadata", "CDSC-WG1-02 3.1")
    ]


def test_a_coverage_url_without_the_capability_is_fine() -> None:
    document = {**current(), "capabilities": []}
    assert validate_metadata(document, URL).findings == ()


# --- metadata.unknown-field ------------------------------------------------------------------


def test_unknown_members_are_info_and_kept() -> None:
    document = {**current(), "x_extension": {"a": [1]}, "a/b~c": None}
    report = validate_metadata(document, URL)
    assert summary(report) == [
        ("metadata.unknown-field", Severity.INFO, "/x_extension", "CDSC-WG1-01 6"),
        ("metadata.unknown-field", Severity.INFO, "/a~1b~0c", "CDSC-WG1-01 6"),
    ]
    assert report.findings[0].message == (
        'unknown member "x_extension" (an object with 1 member) is not defined by the current '
        "draft; kept as published, otherwise ignored"
    )
    assert report.usable


def test_2023_members_are_not_unknown_in_a_2023_document_but_others_are() -> None:
    report = validate_metadata({**draft_2023(), "entity_name": "x"}, URL)
    assert summary(report) == [
        DRAFT_2023_NOTICE,
        ("metadata.unknown-field", Severity.INFO, "/entity_name", "CDSC-WG1-01 6"),
    ]
    assert "not defined by the 2023 draft" in report.findings[1].message


# --- metadata.unknown-value ------------------------------------------------------------------


def test_an_unknown_capability_is_info_pointing_at_the_element() -> None:
    report = validate_metadata({**current(), "capabilities": ["coverage", "telemetry"]}, URL)
    assert summary(report) == [
        ("metadata.unknown-value", Severity.INFO, "/capabilities/1", "CDSC-WG1-01 3.4")
    ]
    assert report.findings[0].message == (
        '`capabilities[1]` is "telemetry", not a value known for `capabilities` '
        "(coverage, oauth); kept and otherwise ignored"
    )
    assert report.usable


@pytest.mark.parametrize(
    ("member", "value", "section"),
    [
        ("capabilities", ["coverage", "billing"], "CDSC-WG1-01 3.6"),
        ("infrastructure_types", ["supplier", "generator"], "CDSC-WG1-01 3.4"),
        ("commodity_types", ["water", "trash"], "CDSC-WG1-01 3.5"),
    ],
)
def test_2023_enumerations_cite_the_2023_sections(
    member: str, value: list[str], section: str
) -> None:
    report = validate_metadata({**draft_2023(), member: value}, URL)
    assert summary(report) == [
        DRAFT_2023_NOTICE,
        ("metadata.unknown-value", Severity.INFO, f"/{member}/1", section),
    ]


def test_every_2023_enumerated_value_is_known() -> None:
    document = {
        **draft_2023(),
        "infrastructure_types": [
            "distribution_utility",
            "metering_provider",
            "supplier",
            "central_repository",
        ],
        "commodity_types": ["electricity", "natural_gas", "fuel_oil", "water"],
    }
    assert summary(validate_metadata(document, URL)) == [DRAFT_2023_NOTICE]


def test_enumerated_values_are_case_sensitive() -> None:
    report = validate_metadata({**current(), "capabilities": ["Coverage"]}, URL)
    assert [f.rule for f in report.findings] == ["metadata.unknown-value"]


# --- metadata.duplicate-value ----------------------------------------------------------------


def test_a_repeated_value_is_a_warning_on_the_repeat() -> None:
    document = {
        **current(),
        "capabilities": ["coverage", "coverage"],
        "related_metadata": ["https://a.example/", "https://b.example/", "https://a.example/"],
    }
    report = validate_metadata(document, URL)
    assert summary(report) == [
        ("metadata.duplicate-value", Severity.WARNING, "/capabilities/1", "CDSC-WG1-01 3.2"),
        ("metadata.duplicate-value", Severity.WARNING, "/related_metadata/2", "CDSC-WG1-01 3.2"),
    ]
    assert report.findings[1].message == (
        '`related_metadata[2]` repeats "https://a.example/", already at index 0'
    )
    assert report.usable


# --- hostile values --------------------------------------------------------------------------

HOSTILE: list[Any] = [
    None,
    True,
    0,
    -1.5,
    2**4000,
    "",
    "x" * 100_000,
    "\x00\u202e\ufeff",
    [],
    [None, [[[]]], {"a": {}}],
    {},
    {"nested": {"deeper": [1, {"x": None}]}},
]
MEMBERS = [
    *CURRENT_REQUIRED,
    "coverage",
    "related_metadata",
    "oauth_metadata",
    "infrastructure_types",
    "commodity_types",
]


@pytest.mark.parametrize("member", MEMBERS)
@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: type(v).__name__)
def test_any_value_in_any_member_never_raises(member: str, value: Any) -> None:
    report = validate_metadata({**current(), member: value}, URL)
    assert all(f.url == URL for f in report.findings)
    assert all(len(f.message) < 400 for f in report.findings)
    if not isinstance(value, str | list):
        assert ("metadata.type", f"/{member}") in [(f.rule, f.pointer) for f in report.findings]


def test_a_huge_integer_is_described_without_printing_it() -> None:
    finding = only(validate_metadata({**current(), "name": 2**100_000}, URL), "metadata.type")
    assert finding.message == "`name` is an integer of 100001 bits, expected a string"


def test_ten_thousand_unknown_values_are_capped() -> None:
    values = [f"cap-{i}" for i in range(10_000)]
    report = validate_metadata({**current(), "capabilities": ["coverage", *values]}, URL)
    assert len(report.findings) == 51
    assert [f.pointer for f in report.findings[:50]] == [f"/capabilities/{i}" for i in range(1, 51)]
    last = report.findings[50]
    assert (last.rule, last.severity, last.pointer, last.section) == (
        "metadata.unknown-value",
        Severity.INFO,
        "/capabilities",
        "CDSC-WG1-01 3.4",
    )
    assert last.message == (
        "9950 more metadata.unknown-value findings in /capabilities are not listed "
        "(the first 50 are)"
    )


def test_ten_thousand_wrong_elements_keep_an_error_in_the_count() -> None:
    document = {**current(), "related_metadata": list(range(10_000))}
    report = validate_metadata(document, URL)
    assert len(report.findings) == 51
    assert {f.rule for f in report.findings} == {"metadata.type"}
    assert report.findings[-1].pointer == "/related_metadata"
    assert report.findings[-1].severity is Severity.ERROR
    assert report.findings[-1].message.startswith("9950 more metadata.type findings")
    assert not report.usable


def test_ten_thousand_repeats_are_capped_per_rule() -> None:
    document = {**current(), "capabilities": ["coverage"] * 10_000}
    report = validate_metadata(document, URL)
    assert [f.rule for f in report.findings] == ["metadata.duplicate-value"] * 51
    assert report.findings[-1].message.startswith("9949 more metadata.duplicate-value findings")


def test_ten_thousand_unknown_members_are_capped() -> None:
    document = {**current(), **{f"x{i}": i for i in range(10_000)}}
    report = validate_metadata(document, URL)
    assert len(report.findings) == 51
    assert report.findings[-1].pointer == ""
    assert report.findings[-1].message == (
        "9950 more metadata.unknown-field findings in the document are not listed "
        "(the first 50 are)"
    )
    assert report.usable


def test_name_and_canonical_url_are_reported_only_as_strings() -> None:
    report = validate_metadata({**current(), "name": ["x"], "cds_metadata_url": 5}, URL)
    assert (report.name, report.canonical_url) == (None, None)
    report = validate_metadata({**current(), "cds_metadata_url": "not a url"}, URL)
    assert report.canonical_url == "not a url"

"""Validating OAuth authorization server metadata objects (CDSC-WG1-02 3, RFC 8414)."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.domain.findings import Finding, Severity
from crawler.domain.oauth import (
    OAuthMetadata,
    RegistrationRequirement,
    ScopeOffer,
    issuer_for,
    validate_oauth_metadata,
    well_known_oauth_url,
)
from tests.examples import OAUTH_DOCS as DOCS
from tests.examples import OAUTH_ISSUER as ISSUER
from tests.examples import admin_scope, fixed_details_field
from tests.examples import oauth_metadata_example as example

URL = "https://auth.example.com/.well-known/oauth-authorization-server"
E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741


def validate(document: Any, expected_issuer: str | None = None) -> OAuthMetadata:
    return validate_oauth_metadata(document, URL, expected_issuer=expected_issuer)


def summary(findings: tuple[Finding, ...]) -> list[tuple[str, Severity, str, str]]:
    return [(f.rule, f.severity, f.section, f.pointer) for f in findings]


def changed(path: str, value: Any) -> dict[str, Any]:
    """The example with the member at `path` (RFC 6901-ish, no escapes) set, or deleted."""
    document = example()
    *parents, last = path.strip("/").split("/")
    target: Any = document
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    key: Any = int(last) if isinstance(target, list) else last
    if value is DELETE:
        del target[key]
    else:
        target[key] = value
    return document


DELETE = object()
SCOPES = "/cds_scope_descriptions"
USAGE = f"{SCOPES}/usage_data"
INTERVAL = f"{USAGE}/authorization_details_fields_supported/0"
HISTORY = f"{USAGE}/authorization_details_fields_supported/1"
GRANT_ADMIN = f"{SCOPES}/grant_admin"
FIELDS = "/cds_registration_fields"
LOGO = f"{FIELDS}/company_logo"


# --- the conforming example ------------------------------------------------------------------


def test_the_conforming_example_has_no_finding_at_all() -> None:
    report = validate(example(), expected_issuer=ISSUER)
    assert report.findings == ()
    assert report.valid


def test_the_report_holds_what_a_client_needs_to_register() -> None:
    report = validate(example())
    assert report.issuer == ISSUER
    assert report.registration_endpoint == f"{ISSUER}/register"
    assert report.cds_oauth_version == "v1"
    assert report.cds_human_registration == "https://example.com/register"
    assert report.scopes_supported == ("client_admin", "grant_admin", "usage_data")
    assert report.scopes[2] == ScopeOffer(
        id="usage_data",
        name="Usage data",
        description="Historical interval usage for a customer's meters.",
        documentation=f"{DOCS}/usage_data",
        grant_types_supported=("authorization_code", "refresh_token"),
        coverages_supported=("dge_elec_west",),
        registration_requirements=("company_logo", "review"),
        registration_optional=(),
    )
    assert report.registration_fields[0] == RegistrationRequirement(
        id="company_logo",
        type="registration_field",
        description="Your company's logo, shown to customers.",
        field_name="cds_company_logo",
        format="image",
        amount=None,
        currency=None,
    )


def test_the_summary_is_json_ready() -> None:
    summary_ = validate(example()).summary()
    assert summary_["valid"] is True
    assert summary_["issuer"] == ISSUER
    assert summary_["registration_endpoint"] == f"{ISSUER}/register"
    assert summary_["cds_oauth_version"] == "v1"
    assert summary_["cds_human_registration"] == "https://example.com/register"
    assert summary_["scopes_supported"] == ["client_admin", "grant_admin", "usage_data"]
    assert summary_["op_tos_uri"] == "https://example.com/terms"
    assert [s["id"] for s in summary_["scope_descriptions"]] == list(summary_["scopes_supported"])
    assert summary_["scope_descriptions"][2]["name"] == "Usage data"
    assert summary_["scope_descriptions"][2]["coverages_supported"] == ["dge_elec_west"]
    assert summary_["registration_fields"][1] == {
        "id": "review",
        "type": "internal_review",
        "description": "We review every registration before production use.",
        "field_name": None,
        "format": None,
        "amount": None,
        "currency": None,
    }
    import json

    assert json.loads(json.dumps(summary_)) == summary_


def test_a_payment_requirement_shows_its_amount() -> None:
    document = example()
    document["cds_registration_fields"]["review"] = {
        "id": "review",
        "type": "payment_required",
        "description": "A setup fee.",
        "documentation": f"{DOCS}/fee",
        "amount": 25.5,
        "currency": "USD",
    }
    report = validate(document)
    assert report.findings == ()
    assert report.registration_fields[1].summary()["amount"] == 25.5
    assert report.registration_fields[1].currency == "USD"


def test_invalid_when_an_error_is_found() -> None:
    report = validate(changed("/cds_grants_api", DELETE))
    assert not report.valid
    assert not report.summary()["valid"]


# --- one violation at a time -----------------------------------------------------------------

REQUIRED_32 = [
    "registration_endpoint",
    "scopes_supported",
    "service_documentation",
    "op_policy_uri",
    "op_tos_uri",
    "revocation_endpoint",
    "introspection_endpoint",
    "code_challenge_methods_supported",
    "authorization_details_types_supported",
    "pushed_authorization_request_endpoint",
    "response_types_supported",
    "grant_types_supported",
    "token_endpoint_auth_methods_supported",
    "cds_oauth_version",
    "cds_human_registration",
    "cds_clients_api",
    "cds_messages_api",
    "cds_credentials_api",
    "cds_grants_api",
    "cds_scope_descriptions",
    "cds_registration_fields",
]


def only(document: dict[str, Any], expected_issuer: str | None = None) -> Finding:
    findings = validate(document, expected_issuer).findings
    assert len(findings) == 1, summary(findings)
    assert findings[0].url == URL
    return findings[0]


def test_the_document_misses_nothing_these_tests_expect() -> None:
    assert set(REQUIRED_32) <= set(example())


@pytest.mark.parametrize("member", REQUIRED_32)
def test_each_member_cdsc_wg1_02_requires(member: str) -> None:
    findings = validate(changed(f"/{member}", DELETE)).findings
    assert ("oauth.required", E, "CDSC-WG1-02 3.2", f"/{member}") in summary(findings)


def test_the_required_message_names_the_member_and_its_type() -> None:
    finding = only(changed("/cds_clients_api", DELETE))
    assert summary((finding,)) == [("oauth.required", E, "CDSC-WG1-02 3.2", "/cds_clients_api")]
    assert finding.message == "required member `cds_clients_api` (an https URL string) is missing"


def test_the_issuer_is_required_by_rfc_8414() -> None:
    finding = only(changed("/issuer", DELETE))
    assert summary((finding,)) == [("oauth.required", E, "RFC 8414 2", "/issuer")]


# Each case: a change to the example, and the one finding it makes.
CASES: list[tuple[str, Any, str, Severity, str, str]] = [
    # types and URLs
    ("/scopes_supported", "client_admin", "oauth.type", E, "CDSC-WG1-02 3.2", "/scopes_supported"),
    ("/op_tos_uri", None, "oauth.type", E, "CDSC-WG1-02 3.2", "/op_tos_uri"),
    ("/jwks_uri", 5, "oauth.type", E, "RFC 8414 2", "/jwks_uri"),
    ("/signed_metadata", {}, "oauth.type", E, "RFC 8414 2.1", "/signed_metadata"),
    ("/ui_locales_supported", ["en", 1], "oauth.type", E, "RFC 8414 2", "/ui_locales_supported/1"),
    ("/cds_registration_fields", [], "oauth.type", E, "CDSC-WG1-02 3.2", FIELDS),
    (f"{SCOPES}/usage_data/name", 3, "oauth.type", E, "CDSC-WG1-02 3.4", f"{USAGE}/name"),
    (f"{LOGO}/max_size", 0, "oauth.type", E, "CDSC-WG1-02 3.5", f"{LOGO}/max_size"),
    (f"{LOGO}/max_size", 1.5, "oauth.type", E, "CDSC-WG1-02 3.5", f"{LOGO}/max_size"),
    (f"{LOGO}/max_length", True, "oauth.type", E, "CDSC-WG1-02 3.5", f"{LOGO}/max_length"),
    (
        f"{FIELDS}/review/amount",
        "25",
        "oauth.type",
        E,
        "CDSC-WG1-02 3.5",
        f"{FIELDS}/review/amount",
    ),
    (f"{FIELDS}/review", "x", "oauth.type", E, "CDSC-WG1-02 3.2", f"{FIELDS}/review"),
    (
        f"{INTERVAL}/is_required",
        "no",
        "oauth.type",
        E,
        "CDSC-WG1-02 3.8",
        f"{INTERVAL}/is_required",
    ),
    (
        f"{HISTORY}/relative_date_limit",
        "P2Y",
        "oauth.type",
        E,
        "CDSC-WG1-02 3.8",
        f"{HISTORY}/relative_date_limit",
    ),
    (f"{INTERVAL}/choices/1", "daily", "oauth.type", E, "CDSC-WG1-02 3.8", f"{INTERVAL}/choices/1"),
    (
        f"{INTERVAL}/choices/1/name",
        None,
        "oauth.type",
        E,
        "CDSC-WG1-02 3.10",
        f"{INTERVAL}/choices/1/name",
    ),
    (
        f"{USAGE}/authorization_details_fields_supported/1",
        7,
        "oauth.type",
        E,
        "CDSC-WG1-02 3.4",
        HISTORY,
    ),
    ("/service_documentation", "docs", "oauth.url", E, "CDSC-WG1-02 3.2", "/service_documentation"),
    ("/jwks_uri", "ftp://x.example.com/k", "oauth.url", E, "RFC 8414 2", "/jwks_uri"),
    (
        f"{USAGE}/documentation",
        "/usage",
        "oauth.url",
        E,
        "CDSC-WG1-02 3.4",
        f"{USAGE}/documentation",
    ),
    (
        f"{LOGO}/documentation",
        "https://",
        "oauth.url",
        E,
        "CDSC-WG1-02 3.5",
        f"{LOGO}/documentation",
    ),
    (
        f"{INTERVAL}/choices/0/documentation",
        "x y",
        "oauth.url",
        E,
        "CDSC-WG1-02 3.10",
        f"{INTERVAL}/choices/0/documentation",
    ),
    (
        "/token_endpoint",
        "http://auth.example.com/token",
        "oauth.endpoint-https",
        E,
        "CDSC-WG1-02 13",
        "/token_endpoint",
    ),
    (
        "/cds_clients_api",
        "HTTP://auth.example.com/c",
        "oauth.endpoint-https",
        E,
        "CDSC-WG1-02 13",
        "/cds_clients_api",
    ),
    # the issuer
    ("/issuer", "http://auth.example.com", "oauth.issuer", E, "RFC 8414 2", "/issuer"),
    ("/issuer", "https://auth.example.com?tenant=1", "oauth.issuer", E, "RFC 8414 2", "/issuer"),
    ("/issuer", "https://auth.example.com#x", "oauth.issuer", E, "RFC 8414 2", "/issuer"),
    ("/issuer", "auth.example.com", "oauth.issuer", E, "RFC 8414 2", "/issuer"),
    ("/issuer", ["https://auth.example.com"], "oauth.type", E, "RFC 8414 2", "/issuer"),
    # the version
    ("/cds_oauth_version", "v2", "oauth.version", W, "CDSC-WG1-02 3.2", "/cds_oauth_version"),
    # conditionally REQUIRED members
    (
        "/authorization_endpoint",
        DELETE,
        "oauth.required",
        E,
        "RFC 8414 2",
        "/authorization_endpoint",
    ),
    ("/token_endpoint", DELETE, "oauth.required", E, "RFC 8414 2", "/token_endpoint"),
    ("/cds_test_accounts", DELETE, "oauth.required", E, "CDSC-WG1-02 3.2", "/cds_test_accounts"),
    (f"{LOGO}/field_name", DELETE, "oauth.required", E, "CDSC-WG1-02 3.6", f"{LOGO}/field_name"),
    (f"{LOGO}/format", DELETE, "oauth.required", E, "CDSC-WG1-02 3.6", f"{LOGO}/format"),
    (f"{INTERVAL}/choices", DELETE, "oauth.required", E, "CDSC-WG1-02 3.8", f"{INTERVAL}/choices"),
    # nested REQUIRED members
    (
        f"{USAGE}/coverages_supported",
        DELETE,
        "oauth.required",
        E,
        "CDSC-WG1-02 3.4",
        f"{USAGE}/coverages_supported",
    ),
    (
        f"{FIELDS}/review/documentation",
        DELETE,
        "oauth.required",
        E,
        "CDSC-WG1-02 3.5",
        f"{FIELDS}/review/documentation",
    ),
    (
        f"{INTERVAL}/is_required",
        DELETE,
        "oauth.required",
        E,
        "CDSC-WG1-02 3.8",
        f"{INTERVAL}/is_required",
    ),
    (
        f"{INTERVAL}/choices/0/description",
        DELETE,
        "oauth.required",
        E,
        "CDSC-WG1-02 3.10",
        f"{INTERVAL}/choices/0/description",
    ),
    # ids and keys
    (f"{USAGE}/id", "usage", "oauth.key-mismatch", E, "CDSC-WG1-02 3.4", f"{USAGE}/id"),
    (f"{LOGO}/id", "logo", "oauth.key-mismatch", E, "CDSC-WG1-02 3.5", f"{LOGO}/id"),
    # enumerations, names, excluded members, empty arrays
    (
        f"{FIELDS}/review/type",
        "manual_review",
        "oauth.enumeration",
        E,
        "CDSC-WG1-02 3.6",
        f"{FIELDS}/review/type",
    ),
    (f"{LOGO}/format", "png", "oauth.enumeration", E, "CDSC-WG1-02 3.7", f"{LOGO}/format"),
    (f"{HISTORY}/format", "date", "oauth.enumeration", E, "CDSC-WG1-02 3.9", f"{HISTORY}/format"),
    (
        f"{LOGO}/field_name",
        "company_logo",
        "oauth.field-name",
        E,
        "CDSC-WG1-02 3.5",
        f"{LOGO}/field_name",
    ),
    (
        f"{HISTORY}/default",
        "P1Y",
        "oauth.excluded-member",
        E,
        "CDSC-WG1-02 3.8",
        f"{HISTORY}/default",
    ),
    (
        f"{INTERVAL}/relative_date_limit",
        3,
        "oauth.excluded-member",
        E,
        "CDSC-WG1-02 3.8",
        f"{INTERVAL}/relative_date_limit",
    ),
    (f"{INTERVAL}/choices", [], "oauth.empty", E, "CDSC-WG1-02 3.8", f"{INTERVAL}/choices"),
    # registration fields a scope names
    (
        f"{USAGE}/registration_optional",
        ["phone"],
        "oauth.undefined-registration-field",
        E,
        "CDSC-WG1-02 3.4",
        f"{USAGE}/registration_optional/0",
    ),
    # unknown members: info, kept
    ("/x_rate_limit", 10, "oauth.unknown-field", I, "RFC 8414 2", "/x_rate_limit"),
    (f"{USAGE}/x_price", "free", "oauth.unknown-field", I, "CDSC-WG1-02 3.4", f"{USAGE}/x_price"),
    (f"{LOGO}/x_hint", "", "oauth.unknown-field", I, "CDSC-WG1-02 3.5", f"{LOGO}/x_hint"),
    (f"{INTERVAL}/x_unit", "h", "oauth.unknown-field", I, "CDSC-WG1-02 3.8", f"{INTERVAL}/x_unit"),
    (
        f"{INTERVAL}/choices/0/x",
        1,
        "oauth.unknown-field",
        I,
        "CDSC-WG1-02 3.10",
        f"{INTERVAL}/choices/0/x",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "rule", "severity", "section", "pointer"),
    CASES,
    ids=[f"{case[2]}:{case[0]}" for case in CASES],
)
def test_each_violation_alone(
    path: str, value: Any, rule: str, severity: Severity, section: str, pointer: str
) -> None:
    finding = only(changed(path, value))
    assert summary((finding,)) == [(rule, severity, section, pointer)]


def test_a_plain_text_documentation_url_is_fine_but_an_endpoint_is_not() -> None:
    assert validate(changed("/op_tos_uri", "http://example.com/terms")).findings == ()


def test_members_other_registered_specifications_define_are_known() -> None:
    document = {**example(), "end_session_endpoint": 5, "dpop_signing_alg_values_supported": []}
    assert validate(document).findings == ()


# --- messages --------------------------------------------------------------------------------


def test_a_nested_type_message_names_the_path() -> None:
    finding = only(changed(f"{SCOPES}/usage_data/name", 3))
    assert finding.message == (
        "`cds_scope_descriptions.usage_data.name` is the number 3, expected a string"
    )


def test_an_unusual_key_is_quoted_in_the_label() -> None:
    document = example()
    document["cds_registration_fields"]["my field"] = document["cds_registration_fields"].pop(
        "review"
    )
    document["cds_registration_fields"]["my field"]["id"] = "my field"
    document["cds_registration_fields"]["my field"]["documentation"] = 1
    document["cds_scope_descriptions"]["usage_data"]["registration_requirements"] = [
        "company_logo",
        "my field",
    ]
    finding = only(document)
    assert finding.pointer == "/cds_registration_fields/my field/documentation"
    assert finding.message == (
        '`cds_registration_fields["my field"].documentation` is the number 1, expected a URL string'
    )


def test_an_http_issuer_says_https_is_required() -> None:
    finding = only(changed("/issuer", "http://auth.example.com"))
    assert finding.message == (
        '`issuer` is "http://auth.example.com": uses http, but an issuer MUST use the https scheme'
    )


def test_an_issuer_query_is_named() -> None:
    finding = only(changed("/issuer", "https://auth.example.com/t?x=1#y"))
    assert finding.message.endswith("has a query (at position 26), which an issuer MUST NOT have")


def test_the_conditional_message_says_why() -> None:
    finding = only(changed("/cds_test_accounts", DELETE))
    assert finding.message == (
        "member `cds_test_accounts` (a URL string) is missing; it is REQUIRED because "
        "`response_types_supported` is not empty"
    )


def test_an_unknown_version_is_kept_and_the_document_stays_valid() -> None:
    report = validate(changed("/cds_oauth_version", "v2"))
    assert report.valid
    assert report.cds_oauth_version == "v2"
    assert report.findings[0].message == (
        '`cds_oauth_version` is "v2", expected "v1"; validated as v1 anyway'
    )


def test_an_unknown_member_is_info_and_the_document_stays_valid() -> None:
    report = validate(changed("/x_rate_limit", 10))
    assert report.valid
    assert report.findings[0].message == (
        'unknown member "x_rate_limit" (the number 10) is not defined by RFC 8414, CDSC-WG1-02 '
        "or another registered OAuth specification; kept as published, otherwise ignored"
    )


def test_an_enumeration_message_lists_the_values() -> None:
    finding = only(changed(f"{FIELDS}/review/type", "manual_review"))
    assert finding.message == (
        '`cds_registration_fields.review.type` is "manual_review", not one of the values the '
        "specification lists (email_verification, internal_review, payment_required, "
        "registration_field)"
    )


def test_every_registration_format_is_known() -> None:
    for value in ("string", "url_or_null", "email", "boolean_or_null", "image", "pdf_or_null"):
        assert validate(changed(f"{LOGO}/format", value)).findings == ()


def test_every_authorization_details_format_is_known() -> None:
    formats = ("int", "decimal", "string", "string_or_null", "boolean", "jwk_or_null")
    for value in formats:
        document = changed(f"{HISTORY}/format", value)
        del document["cds_scope_descriptions"]["usage_data"][
            "authorization_details_fields_supported"
        ][1]["relative_date_limit"]
        assert validate(document).findings == ()


# --- the issuer the well-known URL was built from (RFC 8414 3.3) ------------------------------


def test_the_issuer_must_be_the_one_the_well_known_url_was_built_from() -> None:
    finding = only(example(), expected_issuer="https://example.com")
    assert summary((finding,)) == [("oauth.issuer-mismatch", E, "RFC 8414 3.3", "/issuer")]
    assert finding.message == (
        '`issuer` is "https://auth.example.com", but the metadata was fetched from the '
        'well-known URL of the issuer "https://example.com"; they MUST be identical, and the '
        "metadata MUST NOT be used"
    )


def test_identical_means_identical_a_trailing_slash_differs() -> None:
    finding = only(changed("/issuer", f"{ISSUER}/"), expected_issuer=ISSUER)
    assert finding.rule == "oauth.issuer-mismatch"


def test_without_an_expected_issuer_the_issuer_is_not_compared() -> None:
    assert validate(example(), expected_issuer=None).findings == ()


def test_a_missing_issuer_is_required_not_mismatched() -> None:
    finding = only(changed("/issuer", DELETE), expected_issuer=ISSUER)
    assert finding.rule == "oauth.required"


# --- conditionally REQUIRED members ----------------------------------------------------------


def without_authorization_code(document: dict[str, Any]) -> dict[str, Any]:
    """The example with only client_credentials scopes: no authorization endpoint in use."""
    del document["cds_scope_descriptions"]["usage_data"]
    for name in ("scopes_supported", "authorization_details_types_supported"):
        document[name] = ["client_admin", "grant_admin"]
    document["grant_types_supported"] = ["client_credentials"]
    document["response_types_supported"] = []
    document["code_challenge_methods_supported"] = []
    document["cds_registration_fields"] = {}
    return document


def test_no_authorization_endpoint_or_test_accounts_are_needed_without_user_authorization() -> None:
    document = without_authorization_code(example())
    del document["authorization_endpoint"]
    del document["cds_test_accounts"]
    assert validate(document).findings == ()


def test_an_omitted_grant_types_list_defaults_to_authorization_code_and_implicit() -> None:
    document = without_authorization_code(example())
    del document["authorization_endpoint"]
    del document["grant_types_supported"]
    assert summary(validate(document).findings) == [
        ("oauth.required", E, "CDSC-WG1-02 3.2", "/grant_types_supported"),
        ("oauth.required", E, "RFC 8414 2", "/authorization_endpoint"),
    ]
    assert validate(document).findings[1].message == (
        "member `authorization_endpoint` (an https URL string) is missing; it is REQUIRED "
        'because `grant_types_supported` is omitted, so defaults to ["authorization_code", '
        '"implicit"]'
    )


def test_only_the_implicit_grant_needs_no_token_endpoint() -> None:
    document = example()
    document["grant_types_supported"] = ["implicit"]
    del document["token_endpoint"]
    findings = validate(document).findings
    assert "/token_endpoint" not in [f.pointer for f in findings]
    assert {f.rule for f in findings} == {"oauth.union"}


def test_the_server_provided_files_scope_requires_its_api() -> None:
    document = example()
    document["scopes_supported"].append("server_provided_files")
    document["authorization_details_types_supported"].append("server_provided_files")
    document["cds_scope_descriptions"]["server_provided_files"] = files_scope()
    assert summary(validate(document).findings) == [
        ("oauth.required", E, "CDSC-WG1-02 3.2", "/cds_server_provided_files_api")
    ]
    document["cds_server_provided_files_api"] = f"{ISSUER}/api/files"
    assert validate(document).findings == ()


def files_scope() -> dict[str, Any]:
    scope = admin_scope(
        "server_provided_files",
        "Server-Provided Files",
        "This scope grants access to specific files that the Server wants make available to "
        "the Client.",
    )
    scope["grant_types_supported"] = []
    scope["token_endpoint_auth_methods_supported"] = []
    scope["authorization_details_fields_supported"] = [
        fixed_details_field(
            "file_id",
            "File identifier",
            "A file provided by the Server that may be accessed by the Client as part of the "
            "Grant.",
        )
    ]
    return scope


# --- scopes_supported and the scope descriptions (3.2, 3.3) ----------------------------------


def test_the_admin_scopes_must_be_listed() -> None:
    document = example()
    document["scopes_supported"] = ["usage_data"]
    document["authorization_details_types_supported"] = ["usage_data"]
    for key in ("client_admin", "grant_admin"):
        del document["cds_scope_descriptions"][key]
    document["grant_types_supported"] = ["authorization_code", "refresh_token"]
    findings = validate(document).findings
    assert summary(findings) == [
        ("oauth.admin-scopes", E, "CDSC-WG1-02 3.3", "/scopes_supported"),
        ("oauth.admin-scopes", E, "CDSC-WG1-02 3.3", "/scopes_supported"),
    ]
    assert findings[1].message == (
        '`scopes_supported` lacks "grant_admin", which every server MUST support'
    )


def test_a_listed_scope_without_a_description() -> None:
    document = example()
    document["scopes_supported"].append("billing")
    document["authorization_details_types_supported"].append("billing")
    finding = only(document)
    assert summary((finding,)) == [
        ("oauth.scope-descriptions", E, "CDSC-WG1-02 3.2", f"{SCOPES}/billing")
    ]
    assert finding.message == (
        '`scopes_supported[3]` is "billing", but `cds_scope_descriptions` has no description '
        "of it; it MUST have one for every scope listed"
    )


def test_a_description_of_an_unlisted_scope() -> None:
    document = example()
    document["scopes_supported"].remove("usage_data")
    document["authorization_details_types_supported"].remove("usage_data")
    finding = only(document)
    assert summary((finding,)) == [("oauth.scope-descriptions", E, "CDSC-WG1-02 3.2", USAGE)]


def test_authorization_details_types_must_be_the_scopes() -> None:
    document = example()
    document["authorization_details_types_supported"] = ["client_admin", "grant_admin", "x"]
    findings = validate(document).findings
    assert summary(findings) == [
        ("oauth.union", E, "CDSC-WG1-02 3.2", "/authorization_details_types_supported/2"),
        ("oauth.union", E, "CDSC-WG1-02 3.2", "/authorization_details_types_supported"),
    ]
    assert findings[1].message == (
        '`authorization_details_types_supported` lacks "usage_data", which `scopes_supported` '
        "lists; it MUST hold the same values as `scopes_supported`"
    )


@pytest.mark.parametrize(
    ("member", "extra"),
    [
        ("response_types_supported", "token"),
        ("grant_types_supported", "implicit"),
        ("token_endpoint_auth_methods_supported", "private_key_jwt"),
        ("code_challenge_methods_supported", "S512"),
    ],
)
def test_each_union_list_may_not_offer_more(member: str, extra: str) -> None:
    document = example()
    document[member].append(extra)
    finding = only(document)
    index = len(document[member]) - 1
    assert summary((finding,)) == [("oauth.union", E, "CDSC-WG1-02 3.2", f"/{member}/{index}")]
    assert finding.message == (
        f'`{member}[{index}]` is "{extra}", which no scope description offers; it MUST be the '
        f"union of the scope descriptions' `{member}`"
    )


def test_a_union_list_may_not_offer_less() -> None:
    document = example()
    document["grant_types_supported"].remove("refresh_token")
    finding = only(document)
    assert summary((finding,)) == [("oauth.union", E, "CDSC-WG1-02 3.2", "/grant_types_supported")]
    assert finding.message == (
        '`grant_types_supported` lacks "refresh_token", which the scope description '
        '"usage_data" offers; it MUST be the union of the scope descriptions\' '
        "`grant_types_supported`"
    )


def test_the_union_is_not_judged_when_a_description_lacks_the_array() -> None:
    document = example()
    del document["cds_scope_descriptions"]["usage_data"]["grant_types_supported"]
    assert [f.rule for f in validate(document).findings] == ["oauth.required"]


# --- scope descriptions (3.4) ----------------------------------------------------------------


def test_a_scope_needs_a_grant_type() -> None:
    document = example()
    usage = document["cds_scope_descriptions"]["usage_data"]
    for name in ("grant_types_supported", "response_types_supported"):
        usage[name] = []
    usage["code_challenge_methods_supported"] = []
    document["grant_types_supported"] = ["client_credentials"]
    document["response_types_supported"] = []
    document["code_challenge_methods_supported"] = []
    finding = only(document)
    assert summary((finding,)) == [
        ("oauth.empty", E, "CDSC-WG1-02 3.4", f"{USAGE}/grant_types_supported")
    ]
    assert finding.message == (
        "`cds_scope_descriptions.usage_data.grant_types_supported` is empty; it MUST contain at "
        "least one grant type"
    )


def test_pkce_needs_s256_with_authorization_code() -> None:
    document = changed(f"{USAGE}/code_challenge_methods_supported", [])
    document["code_challenge_methods_supported"] = []
    finding = only(document)
    assert summary((finding,)) == [
        ("oauth.pkce", E, "CDSC-WG1-02 3.4", f"{USAGE}/code_challenge_methods_supported")
    ]
    assert finding.message == (
        '`cds_scope_descriptions.usage_data.code_challenge_methods_supported` lacks "S256", '
        "which a scope with the authorization_code grant MUST offer (PKCE, RFC 7636)"
    )


def test_pkce_refuses_plain_next_to_s256() -> None:
    document = example()
    document["cds_scope_descriptions"]["usage_data"]["code_challenge_methods_supported"] = [
        "S256",
        "plain",
    ]
    document["code_challenge_methods_supported"] = ["S256", "plain"]
    finding = only(document)
    assert summary((finding,)) == [
        ("oauth.pkce", E, "CDSC-WG1-02 3.4", f"{USAGE}/code_challenge_methods_supported/1")
    ]


def test_no_code_challenge_without_authorization_code() -> None:
    document = example()
    usage = document["cds_scope_descriptions"]["usage_data"]
    usage["grant_types_supported"] = ["client_credentials"]
    usage["response_types_supported"] = []
    document["grant_types_supported"] = ["client_credentials"]
    document["response_types_supported"] = []
    findings = validate(document).findings
    assert summary(findings) == [
        ("oauth.pkce", E, "CDSC-WG1-02 3.4", f"{USAGE}/code_challenge_methods_supported")
    ]
    assert findings[0].message == (
        '`cds_scope_descriptions.usage_data.code_challenge_methods_supported` is ["S256"], but '
        "the scope has no authorization_code grant, so it MUST be empty ([])"
    )


def test_a_description_that_is_not_an_object() -> None:
    document = changed(f"{USAGE}", ["usage"])
    findings = validate(document).findings
    assert ("oauth.type", E, "CDSC-WG1-02 3.2", USAGE) in summary(findings)
    assert findings[0].message == (
        "`cds_scope_descriptions.usage_data` is an array of 1 element, expected a scope "
        "description object"
    )


def test_registration_requirements_must_be_described() -> None:
    document = changed(f"{FIELDS}/review", DELETE)
    finding = only(document)
    assert summary((finding,)) == [
        (
            "oauth.undefined-registration-field",
            E,
            "CDSC-WG1-02 3.4",
            f"{USAGE}/registration_requirements/1",
        )
    ]
    assert finding.message == (
        '`cds_scope_descriptions.usage_data.registration_requirements[1]` is "review", which '
        "`cds_registration_fields` does not describe; it MUST describe every registration field "
        "a scope lists"
    )


def test_an_empty_registration_fields_object_is_fine_without_requirements() -> None:
    document = example()
    document["cds_scope_descriptions"]["usage_data"]["registration_requirements"] = []
    document["cds_registration_fields"] = {}
    assert validate(document).findings == ()


# --- the scopes the specification defines (3.3.1-3.3.3) ---------------------------------------


@pytest.mark.parametrize(
    ("scope", "member", "value", "section"),
    [
        ("client_admin", "grant_types_supported", ["client_credentials", "x"], "CDSC-WG1-02 3.3.1"),
        ("client_admin", "token_endpoint_auth_methods_supported", ["none"], "CDSC-WG1-02 3.3.1"),
        ("client_admin", "coverages_supported", ["dge_elec_west"], "CDSC-WG1-02 3.3.1"),
        ("grant_admin", "registration_optional", ["company_logo"], "CDSC-WG1-02 3.3.2"),
    ],
)
def test_admin_scopes_have_fixed_arrays(scope: str, member: str, value: Any, section: str) -> None:
    document = example()
    document["cds_scope_descriptions"][scope][member] = value
    findings = [f for f in validate(document).findings if f.rule == "oauth.defined-scope"]
    assert summary(tuple(findings)) == [
        ("oauth.defined-scope", E, section, f"{SCOPES}/{scope}/{member}")
    ]


def test_the_fixed_array_message_shows_both() -> None:
    document = example()
    document["cds_scope_descriptions"]["client_admin"]["token_endpoint_auth_methods_supported"] = [
        "none"
    ]
    document["token_endpoint_auth_methods_supported"].append("none")
    finding = only(document)
    assert finding.message == (
        "`cds_scope_descriptions.client_admin.token_endpoint_auth_methods_supported` is "
        '["none"], but MUST be ["client_secret_basic"] for the `client_admin` scope '
        "(CDSC-WG1-02 3.3.1)"
    )


def test_client_admin_has_no_authorization_details_fields() -> None:
    document = example()
    fields = document["cds_scope_descriptions"]["usage_data"][
        "authorization_details_fields_supported"
    ]
    document["cds_scope_descriptions"]["client_admin"]["authorization_details_fields_supported"] = [
        fields[1]
    ]
    finding = only(document)
    assert summary((finding,)) == [
        (
            "oauth.defined-scope",
            E,
            "CDSC-WG1-02 3.3.1",
            f"{SCOPES}/client_admin/authorization_details_fields_supported",
        )
    ]


def test_grant_admin_needs_exactly_client_id_and_grant_id() -> None:
    document = example()
    del document["cds_scope_descriptions"]["grant_admin"]["authorization_details_fields_supported"][
        1
    ]
    finding = only(document)
    assert summary((finding,)) == [
        (
            "oauth.defined-scope",
            E,
            "CDSC-WG1-02 3.3.2",
            f"{GRANT_ADMIN}/authorization_details_fields_supported",
        )
    ]
    assert finding.message == (
        "`cds_scope_descriptions.grant_admin.authorization_details_fields_supported` holds "
        '["client_id"] (the fields\' ids), but MUST hold exactly the fields ["client_id", '
        '"grant_id"] for the `grant_admin` scope (CDSC-WG1-02 3.3.2)'
    )


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("format", "int"),
        ("is_required", False),
        ("limit", 36),
        ("absolute_date_limit", 1),
        ("choices", []),
    ],
)
def test_grant_admin_fields_are_fixed(member: str, value: Any) -> None:
    document = example()
    field = document["cds_scope_descriptions"]["grant_admin"][
        "authorization_details_fields_supported"
    ][1]
    field[member] = value
    findings = [f for f in validate(document).findings if f.rule == "oauth.defined-scope"]
    pointer = f"{GRANT_ADMIN}/authorization_details_fields_supported/1/{member}"
    assert summary(tuple(findings)) == [("oauth.defined-scope", E, "CDSC-WG1-02 3.3.2", pointer)]


def test_grant_admin_field_with_a_default_is_also_an_excluded_member() -> None:
    document = example()
    document["cds_scope_descriptions"]["grant_admin"]["authorization_details_fields_supported"][0][
        "default"
    ] = "me"
    pointer = f"{GRANT_ADMIN}/authorization_details_fields_supported/0/default"
    assert summary(validate(document).findings) == [
        ("oauth.excluded-member", E, "CDSC-WG1-02 3.8", pointer),
        ("oauth.defined-scope", E, "CDSC-WG1-02 3.3.2", pointer),
    ]


def test_server_provided_files_has_no_grant_type_and_only_file_id() -> None:
    document = example()
    document["scopes_supported"].append("server_provided_files")
    document["authorization_details_types_supported"].append("server_provided_files")
    document["cds_server_provided_files_api"] = f"{ISSUER}/api/files"
    scope = files_scope()
    document["cds_scope_descriptions"]["server_provided_files"] = scope
    assert validate(document).findings == ()
    scope["grant_types_supported"] = ["client_credentials"]
    assert summary(validate(document).findings) == [
        (
            "oauth.defined-scope",
            E,
            "CDSC-WG1-02 3.3.3",
            f"{SCOPES}/server_provided_files/grant_types_supported",
        )
    ]


# --- documents that are not objects, and hostile values --------------------------------------


@pytest.mark.parametrize("document", [None, [], "x", 3, True])
def test_a_document_that_is_not_an_object(document: Any) -> None:
    report = validate(document)
    assert summary(report.findings) == [("oauth.type", E, "RFC 8414 3.2", "")]
    assert report.issuer is None
    assert report.scopes_supported == ()
    assert not report.valid


def test_an_empty_object_lists_every_required_member_and_no_more() -> None:
    findings = validate({}).findings
    assert {f.rule for f in findings} == {"oauth.required"}
    assert sorted(f.pointer for f in findings) == sorted(
        [f"/{m}" for m in REQUIRED_32] + ["/issuer", "/authorization_endpoint", "/token_endpoint"]
    )


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
    [None, [[[]]], {"a": {}}, 2**4000, "plain", "authorization_code"],
    {},
    {"nested": {"deeper": [1, {"x": None}]}, "id": ["x"]},
]
PLACES = [
    *[f"/{m}" for m in REQUIRED_32],
    "/issuer",
    f"{USAGE}",
    f"{USAGE}/grant_types_supported",
    f"{USAGE}/code_challenge_methods_supported",
    f"{USAGE}/registration_requirements",
    f"{USAGE}/authorization_details_fields_supported",
    f"{USAGE}/id",
    INTERVAL,
    f"{INTERVAL}/choices",
    f"{INTERVAL}/format",
    f"{INTERVAL}/choices/0",
    f"{GRANT_ADMIN}/authorization_details_fields_supported",
    f"{GRANT_ADMIN}/authorization_details_fields_supported/0",
    f"{GRANT_ADMIN}/authorization_details_fields_supported/0/id",
    LOGO,
    f"{LOGO}/type",
    f"{LOGO}/field_name",
]


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: type(v).__name__)
def test_any_value_anywhere_never_raises(place: str, value: Any) -> None:
    report = validate(changed(place, value), expected_issuer=ISSUER)
    assert all(f.url == URL for f in report.findings)
    assert all(len(f.message) < 600 for f in report.findings)
    report.summary()


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(["S256", "plain", "authorization_code", "choice", "registration_field"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["id", "format", "is_required", "default", "choices", "type", "x"])
            | st.text(max_size=4),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@given(JSON)
@settings(max_examples=300, deadline=None)
def test_arbitrary_json_never_raises(document: Any) -> None:
    validate(document, expected_issuer=ISSUER).summary()


@given(st.sampled_from(PLACES), JSON)
@settings(max_examples=300, deadline=None)
def test_arbitrary_json_in_the_example_never_raises(place: str, value: Any) -> None:
    report = validate(changed(place, value), expected_issuer=ISSUER)
    report.summary()
    assert all(f.url == URL for f in report.findings)


# --- bounded findings, linear time -----------------------------------------------------------


def test_a_hundred_thousand_empty_scope_descriptions_give_bounded_findings() -> None:
    document = example()
    document["cds_scope_descriptions"].update({f"s{i}": {} for i in range(100_000)})
    started = time.perf_counter()
    report = validate(document)
    elapsed = time.perf_counter() - started
    assert len(report.findings) < 500
    by_rule = [f for f in report.findings if f.rule == "oauth.required"]
    assert len(by_rule) == 101
    assert by_rule[-1].pointer == ""
    assert by_rule[-1].severity is E
    assert by_rule[-1].message == (
        "1199900 more oauth.required findings in the document are not listed "
        "(at most 100 of a rule are)"
    )
    unlisted = [f for f in report.findings if f.rule == "oauth.scope-descriptions"]
    assert len(unlisted) == 51
    assert unlisted[-1].pointer == SCOPES
    assert unlisted[-1].message == (
        "99950 more oauth.scope-descriptions findings in /cds_scope_descriptions are not "
        "listed (the first 50 are)"
    )
    assert elapsed < 20


def test_ten_thousand_wrong_elements_are_capped_per_array() -> None:
    document = example()
    document["ui_locales_supported"] = list(range(10_000))
    findings = validate(document).findings
    assert len(findings) == 51
    assert [f.pointer for f in findings[:50]] == [f"/ui_locales_supported/{i}" for i in range(50)]
    assert findings[-1].pointer == "/ui_locales_supported"
    assert findings[-1].section == "RFC 8414 2"
    assert findings[-1].severity is E
    assert findings[-1].message == (
        "9950 more oauth.type findings in /ui_locales_supported are not listed (the first 50 are)"
    )


def test_ten_thousand_unknown_members_are_capped_and_info() -> None:
    document = {**example(), **{f"x{i}": i for i in range(10_000)}}
    report = validate(document)
    assert len(report.findings) == 51
    assert report.findings[-1].pointer == ""
    assert report.valid


def test_the_document_is_not_changed() -> None:
    document = example()
    document["x"] = [1, {"y": 2}]
    before = copy.deepcopy(document)
    validate(document)
    assert document == before


# --- the RFC 8414 well-known URL (3.1) and the issuer assumed for it --------------------------


@pytest.mark.parametrize(
    ("issuer", "url"),
    [
        ("https://example.com", "https://example.com/.well-known/oauth-authorization-server"),
        ("https://example.com/", "https://example.com/.well-known/oauth-authorization-server"),
        (
            "https://example.com/issuer1",
            "https://example.com/.well-known/oauth-authorization-server/issuer1",
        ),
        (
            "https://example.com/a/b/",
            "https://example.com/.well-known/oauth-authorization-server/a/b",
        ),
        (
            "https://example.com:8443/t?x#y",
            "https://example.com:8443/.well-known/oauth-authorization-server/t",
        ),
    ],
)
def test_well_known_oauth_url(issuer: str, url: str) -> None:
    assert well_known_oauth_url(issuer) == url


@pytest.mark.parametrize("issuer", ["", "example.com", "/path", "https://"])
def test_well_known_oauth_url_needs_a_host(issuer: str) -> None:
    with pytest.raises(ValueError, match="not an absolute URL with a host"):
        well_known_oauth_url(issuer)


@pytest.mark.parametrize(
    ("metadata_url", "issuer"),
    [
        ("https://example.com/.well-known/carbon-data-spec.json", "https://example.com"),
        ("https://Example.COM:443/x", "https://example.com"),
        ("HTTPS://example.com:8443/x?y#z", "https://example.com:8443"),
        ("http://example.com:80/x", "http://example.com"),
        ("https://user:pw@example.com/x", "https://example.com"),
        ("https://[2001:db8::1]:8443/x", "https://[2001:db8::1]:8443"),
    ],
)
def test_issuer_for_is_the_origin(metadata_url: str, issuer: str) -> None:
    assert issuer_for(metadata_url) == issuer


def test_the_issuer_for_a_metadata_url_round_trips_to_its_well_known_url() -> None:
    assert well_known_oauth_url(issuer_for("https://u.example.com/cds.json")) == (
        "https://u.example.com/.well-known/oauth-authorization-server"
    )


@pytest.mark.parametrize("metadata_url", ["", "example.com/x", "https://example.com:99999/"])
def test_issuer_for_refuses_what_is_not_a_url(metadata_url: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        issuer_for(metadata_url)

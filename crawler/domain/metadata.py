"""Validation of a metadata object (CDSC-WG1-01 3.2) against the draft it follows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any

from crawler.domain import rules
from crawler.domain.checks import (
    cap_repeats,
    cite,
    datetime_problem,
    describe,
    quote,
    string_or_none,
    url_problem,
)
from crawler.domain.findings import has_errors, json_pointer
from crawler.domain.rfc3339 import parse_rfc3339

if TYPE_CHECKING:
    from collections.abc import Iterator

    from crawler.domain.findings import Finding, Rule


class Draft(StrEnum):
    """The draft of CDSC-WG1-01 a metadata object follows (both publish `v1`)."""

    CURRENT = "2025-03"  # CDSC-WG1-01 maintainer's draft of 2025-03
    DRAFT_2023 = "2023"  # the 2023 draft shape


@dataclass(frozen=True, slots=True)
class MetadataReport:
    """What `validate_metadata` found about one metadata object."""

    draft: Draft
    findings: tuple[Finding, ...]
    name: str | None  # the `name` when it is a string
    canonical_url: str | None  # `cds_metadata_url` when it is a string

    @property
    def usable(self) -> bool:
        """True when no finding is an error: the document conforms to the draft it follows."""
        return not has_errors(self.findings)


def validate_metadata(document: dict[str, Any], url: str) -> MetadataReport:
    """Check `document`, the metadata object fetched from `url`, against the draft it follows.

    A document with a top-level `infrastructure_types` or `commodity_types` follows the 2023
    draft (a warning says so), any other the current draft. Every finding cites the section
    of that draft and carries an RFC 6901 pointer into the document. Errors: a REQUIRED
    member missing, a wrong JSON type, a malformed URL or datetime, a capability listed
    without the URL it requires. Warnings: a version other than "v1", a value repeated in an
    array. Info: unknown members and enumerated values, which are kept and ignored. At most
    50 findings of one rule are listed per object or array; one more finding counts the rest.
    Never raises, whatever JSON values the members hold; pure.
    """
    spec = _DRAFT_2023 if _follows_2023(document) else _CURRENT
    findings = [
        *_draft_notice(document, spec, url),
        *_member_findings(document, spec, url),
        *_capability_link_findings(document, spec, url),
        *_unknown_member_findings(document, spec, url),
    ]
    return MetadataReport(
        draft=spec.draft,
        findings=cap_repeats(findings),
        name=string_or_none(document.get("name")),
        canonical_url=string_or_none(document.get("cds_metadata_url")),
    )


# --- what each draft defines -------------------------------------------------------------------

_OBJECT_SECTION = "CDSC-WG1-01 3.2"
_OAUTH_SECTION = "CDSC-WG1-02 3.1"
_SUPPORTED_VERSION = "v1"
_2023_ONLY = ("infrastructure_types", "commodity_types")


class _Kind(Enum):
    TEXT = "a string"
    URL = "a URL string"
    DATETIME = "an RFC 3339 date-time string"
    TEXT_LIST = "an array of strings"
    URL_LIST = "an array of URL strings"


_ELEMENT_KIND = {_Kind.TEXT_LIST: _Kind.TEXT, _Kind.URL_LIST: _Kind.URL}


@dataclass(frozen=True, slots=True)
class _Member:
    name: str
    kind: _Kind
    required: bool = True
    section: str = _OBJECT_SECTION  # where the member is defined
    known: frozenset[str] | None = None  # the enumerated values, for a TEXT_LIST
    known_section: str = ""  # where those values are listed


@dataclass(frozen=True, slots=True)
class _CapabilityLink:
    capability: str
    member: str
    rule: Rule
    section: str


@dataclass(frozen=True, slots=True)
class _DraftSpec:
    draft: Draft
    title: str
    members: tuple[_Member, ...]
    links: tuple[_CapabilityLink, ...]

    def member_names(self) -> frozenset[str]:
        return frozenset(member.name for member in self.members)


# CDSC-WG1-02 3.1 extends both the capability list and the object; its values are not unknown.
_CAPABILITIES = frozenset({"coverage", "oauth"})
_INFRASTRUCTURE_TYPES_2023 = frozenset(
    {"distribution_utility", "metering_provider", "supplier", "central_repository"}
)
_COMMODITY_TYPES_2023 = frozenset({"electricity", "natural_gas", "fuel_oil", "water"})

_COMMON_HEAD = (
    _Member("cds_metadata_version", _Kind.TEXT),
    _Member("cds_metadata_url", _Kind.URL),
    _Member("created", _Kind.DATETIME),
    _Member("updated", _Kind.DATETIME),
    _Member("name", _Kind.TEXT),
    _Member("description", _Kind.TEXT),
    _Member("website", _Kind.URL),
    _Member("documentation", _Kind.URL),
    _Member("support", _Kind.URL),
)


def _common_tail(capabilities_section: str) -> tuple[_Member, ...]:
    return (
        _Member(
            "capabilities", _Kind.TEXT_LIST, known=_CAPABILITIES, known_section=capabilities_section
        ),
        _Member("coverage", _Kind.URL, required=False),
        _Member("related_metadata", _Kind.URL_LIST, required=False),
        _Member("oauth_metadata", _Kind.URL, required=False, section=_OAUTH_SECTION),
    )


def _links(coverage_section: str) -> tuple[_CapabilityLink, ...]:
    return (
        _CapabilityLink(
            "coverage", "coverage", rules.METADATA_COVERAGE_URL_REQUIRED, coverage_section
        ),
        _CapabilityLink(
            "oauth", "oauth_metadata", rules.METADATA_OAUTH_URL_REQUIRED, _OAUTH_SECTION
        ),
    )


_CURRENT = _DraftSpec(
    draft=Draft.CURRENT,
    title="the current draft",
    members=_COMMON_HEAD + _common_tail("CDSC-WG1-01 3.4"),
    links=_links(_OBJECT_SECTION),
)
_DRAFT_2023 = _DraftSpec(
    draft=Draft.DRAFT_2023,
    title="the 2023 draft",
    members=(
        *_COMMON_HEAD,
        _Member(
            "infrastructure_types",
            _Kind.TEXT_LIST,
            known=_INFRASTRUCTURE_TYPES_2023,
            known_section="CDSC-WG1-01 3.4",
        ),
        _Member(
            "commodity_types",
            _Kind.TEXT_LIST,
            known=_COMMODITY_TYPES_2023,
            known_section="CDSC-WG1-01 3.5",
        ),
        *_common_tail("CDSC-WG1-01 3.6"),
    ),
    links=_links("CDSC-WG1-01 3.6"),
)


def _follows_2023(document: dict[str, Any]) -> bool:
    return any(name in document for name in _2023_ONLY)


# --- the checks ------------------------------------------------------------------------------


def _draft_notice(document: dict[str, Any], spec: _DraftSpec, url: str) -> Iterator[Finding]:
    if spec.draft is not Draft.DRAFT_2023:
        return
    present = ", ".join(f"`{name}`" for name in _2023_ONLY if name in document)
    yield rules.METADATA_DRAFT_2023.finding(
        url,
        "",
        f"follows the 2023 draft (top-level {present}); the current draft moved these to "
        "coverage entries",
    )


def _member_findings(document: dict[str, Any], spec: _DraftSpec, url: str) -> Iterator[Finding]:
    for member in spec.members:
        if member.name in document:
            yield from _value_findings(member, document[member.name], url)
        elif member.required:
            yield cite(
                rules.METADATA_REQUIRED,
                member.section,
                url,
                json_pointer(member.name),
                f"required member `{member.name}` ({member.kind.value}) is missing",
            )


def _value_findings(member: _Member, value: Any, url: str) -> Iterator[Finding]:
    if member.kind in _ELEMENT_KIND:
        yield from _array_findings(member, value, url)
    else:
        yield from _scalar_findings(
            member, member.kind, member.name, json_pointer(member.name), value, url
        )


def _scalar_findings(
    member: _Member, kind: _Kind, label: str, pointer: str, value: Any, url: str
) -> Iterator[Finding]:
    if not isinstance(value, str):
        yield cite(
            rules.METADATA_TYPE,
            member.section,
            url,
            pointer,
            f"`{label}` is {describe(value)}, expected {kind.value}",
        )
        return
    problem = _format_problem(kind, value)
    if problem is not None:
        rule = rules.METADATA_URL if kind is _Kind.URL else rules.METADATA_DATETIME
        yield cite(rule, member.section, url, pointer, f"`{label}` is {quote(value)}: {problem}")
    if member.name == "cds_metadata_version" and value != _SUPPORTED_VERSION:
        yield cite(
            rules.METADATA_VERSION,
            member.section,
            url,
            pointer,
            f'`{label}` is {quote(value)}, expected "{_SUPPORTED_VERSION}"; '
            f"validated as {_SUPPORTED_VERSION} anyway",
        )


def _format_problem(kind: _Kind, value: str) -> str | None:
    if kind is _Kind.URL:
        return url_problem(value)
    if kind is _Kind.DATETIME and parse_rfc3339(value) is None:
        return datetime_problem(value)
    return None


def _array_findings(member: _Member, value: Any, url: str) -> Iterator[Finding]:
    if not isinstance(value, list):
        yield cite(
            rules.METADATA_TYPE,
            member.section,
            url,
            json_pointer(member.name),
            f"`{member.name}` is {describe(value)}, expected {member.kind.value}",
        )
        return
    first_seen: dict[str, int] = {}
    for index, element in enumerate(value):
        label, pointer = f"{member.name}[{index}]", json_pointer(member.name, index)
        yield from _scalar_findings(
            member, _ELEMENT_KIND[member.kind], label, pointer, element, url
        )
        if not isinstance(element, str):
            continue
        yield from _enum_findings(member, label, pointer, element, url)
        if element in first_seen:
            yield cite(
                rules.METADATA_DUPLICATE_VALUE,
                member.section,
                url,
                pointer,
                f"`{label}` repeats {quote(element)}, already at index {first_seen[element]}",
            )
        else:
            first_seen[element] = index


def _enum_findings(
    member: _Member, label: str, pointer: str, element: str, url: str
) -> Iterator[Finding]:
    if member.known is None or element in member.known:
        return
    known = ", ".join(sorted(member.known))
    yield cite(
        rules.METADATA_UNKNOWN_VALUE,
        member.known_section,
        url,
        pointer,
        f"`{label}` is {quote(element)}, not a value known for `{member.name}` ({known}); "
        "kept and otherwise ignored",
    )


def _capability_link_findings(
    document: dict[str, Any], spec: _DraftSpec, url: str
) -> Iterator[Finding]:
    capabilities = document.get("capabilities")
    if not isinstance(capabilities, list):
        return
    for link in spec.links:
        if link.capability in capabilities and link.member not in document:
            index = capabilities.index(link.capability)
            yield cite(
                link.rule,
                link.section,
                url,
                json_pointer(link.member),
                f'`capabilities[{index}]` lists "{link.capability}", so the `{link.member}` '
                f"URL is required, but it is missing",
            )


def _unknown_member_findings(
    document: dict[str, Any], spec: _DraftSpec, url: str
) -> Iterator[Finding]:
    defined = spec.member_names()
    for name, value in document.items():
        if name in defined:
            continue
        yield rules.METADATA_UNKNOWN_FIELD.finding(
            url,
            json_pointer(name),
            f"unknown member {quote(str(name))} ({describe(value)}) is not defined by "
            f"{spec.title}; kept as published, otherwise ignored",
        )

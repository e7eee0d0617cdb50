"""Validation of a metadata object (CDSC-WG1-01 3.2) against the draft it follows."""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from dataclasses import dataclass, replace
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any

from crawler.domain import rules
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
        findings=_cap_repeats(findings),
        name=_string_or_none(document.get("name")),
        canonical_url=_string_or_none(document.get("cds_metadata_url")),
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
            yield _cite(
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
        yield _cite(
            rules.METADATA_TYPE,
            member.section,
            url,
            pointer,
            f"`{label}` is {_describe(value)}, expected {kind.value}",
        )
        return
    problem = _format_problem(kind, value)
    if problem is not None:
        rule = rules.METADATA_URL if kind is _Kind.URL else rules.METADATA_DATETIME
        yield _cite(rule, member.section, url, pointer, f"`{label}` is {_quote(value)}: {problem}")
    if member.name == "cds_metadata_version" and value != _SUPPORTED_VERSION:
        yield _cite(
            rules.METADATA_VERSION,
            member.section,
            url,
            pointer,
            f'`{label}` is {_quote(value)}, expected "{_SUPPORTED_VERSION}"; '
            f"validated as {_SUPPORTED_VERSION} anyway",
        )


def _format_problem(kind: _Kind, value: str) -> str | None:
    if kind is _Kind.URL:
        return _url_problem(value)
    if kind is _Kind.DATETIME and parse_rfc3339(value) is None:
        return _datetime_problem(value)
    return None


def _array_findings(member: _Member, value: Any, url: str) -> Iterator[Finding]:
    if not isinstance(value, list):
        yield _cite(
            rules.METADATA_TYPE,
            member.section,
            url,
            json_pointer(member.name),
            f"`{member.name}` is {_describe(value)}, expected {member.kind.value}",
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
            yield _cite(
                rules.METADATA_DUPLICATE_VALUE,
                member.section,
                url,
                pointer,
                f"`{label}` repeats {_quote(element)}, already at index {first_seen[element]}",
            )
        else:
            first_seen[element] = index


def _enum_findings(
    member: _Member, label: str, pointer: str, element: str, url: str
) -> Iterator[Finding]:
    if member.known is None or element in member.known:
        return
    known = ", ".join(sorted(member.known))
    yield _cite(
        rules.METADATA_UNKNOWN_VALUE,
        member.known_section,
        url,
        pointer,
        f"`{label}` is {_quote(element)}, not a value known for `{member.name}` ({known}); "
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
            yield _cite(
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
            f"unknown member {_quote(str(name))} ({_describe(value)}) is not defined by "
            f"{spec.title}; kept as published, otherwise ignored",
        )


def _cite(rule: Rule, section: str, url: str, pointer: str, message: str) -> Finding:
    cited = rule if rule.section == section else replace(rule, section=section)
    return cited.finding(url, pointer, message)


# --- keeping the list of findings readable ---------------------------------------------------

_MAX_REPEATS = 50


def _cap_repeats(findings: list[Finding]) -> tuple[Finding, ...]:
    """At most _MAX_REPEATS findings per rule and parent pointer, then one that counts the rest.

    The count keeps the rule, severity and section of what it replaces, so a long hostile
    array cannot hide an error or flood the store.
    """
    seen: Counter[tuple[str, str]] = Counter()
    dropped: dict[tuple[str, str], tuple[Finding, int]] = {}
    kept: list[Finding] = []
    for finding in findings:
        key = (finding.rule, _parent(finding.pointer))
        seen[key] += 1
        if seen[key] <= _MAX_REPEATS:
            kept.append(finding)
        else:
            first, count = dropped.get(key, (finding, 0))
            dropped[key] = (first, count + 1)
    for (rule_id, parent), (first, count) in dropped.items():
        where = parent or "the document"
        message = (
            f"{count} more {rule_id} findings in {where} are not listed "
            f"(the first {_MAX_REPEATS} are)"
        )
        kept.append(replace(first, pointer=parent, message=message))
    return tuple(kept)


def _parent(pointer: str) -> str:
    return pointer.rpartition("/")[0]


# --- describing values in messages -----------------------------------------------------------

_MAX_SHOWN = 80
_MAX_INT_BITS_SHOWN = 256  # repr() of a far longer int is slow, or refused past 4300 digits


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS_SHOWN:
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, int | float):
        return f"the number {_clip(repr(value))}"
    if isinstance(value, str):
        return f"the string {_quote(value)}"
    if isinstance(value, list):
        return f"an array of {_count(len(value), 'element')}"
    if isinstance(value, dict):
        return f"an object with {_count(len(value), 'member')}"
    return f"a {type(value).__name__}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _quote(text: str) -> str:
    return json.dumps(_clip(text), ensure_ascii=False)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _string_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --- RFC 3339 date-times: what is wrong, in words --------------------------------------------

_EXAMPLE_DATETIME = '"2024-01-01T00:00:00Z"'
_DATETIME_HINTS = (
    (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), "a date without a time"),
    (
        re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} .*"),
        "date and time are separated by a space, not 'T'",
    ),
    (
        re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"),
        "it has no offset ('Z' or +hh:mm)",
    ),
)


def _datetime_problem(text: str) -> str:
    hint = next(
        (hint for pattern, hint in _DATETIME_HINTS if pattern.fullmatch(text)),
        "not a valid date-time",
    )
    return f"{hint}; expected an RFC 3339 date-time such as {_EXAMPLE_DATETIME}"


# --- RFC 3986 URLs: absolute, http or https, with a host -------------------------------------

_NOT_URL_CHAR = re.compile(r"[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*(?=:)")
_AUTHORITY_END = re.compile(r"[/?#]")
_USERINFO = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*")
_REG_NAME = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")
_IP_FUTURE = re.compile(r"[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+")
_BRACKET = re.compile(r"[\[\]]")
_MAX_PORT = 65535


def _url_problem(text: str) -> str | None:
    """Why `text` is not an absolute http(s) URL with a host (RFC 3986); None when it is."""
    if not text:
        return "an empty string, expected an absolute http(s) URL"
    return _character_problem(text) or _structure_problem(text)


def _character_problem(text: str) -> str | None:
    bad = _NOT_URL_CHAR.search(text)
    if bad is not None:
        char = bad.group()
        return (
            f"contains {char!r} (U+{ord(char):04X}) at position {bad.start()}, "
            "which a URL must percent-encode"
        )
    percent = _BAD_PERCENT.search(text)
    if percent is not None:
        return f"has a '%' at position {percent.start()} not followed by two hex digits"
    return None


def _structure_problem(text: str) -> str | None:
    scheme = _SCHEME.match(text)
    if scheme is None:
        return "not an absolute URL (no scheme); expected one starting with https://"
    if scheme.group().lower() not in ("http", "https"):
        return f"has the scheme {_quote(scheme.group())}, expected http or https"
    start = scheme.end() + 1
    if not text.startswith("//", start):
        return "has no '//' and host after its scheme"
    end = _AUTHORITY_END.search(text, start + 2)
    stop = end.start() if end is not None else len(text)
    return _authority_problem(text[start + 2 : stop]) or _tail_problem(text, stop)


def _authority_problem(authority: str) -> str | None:
    userinfo, at, host_port = authority.rpartition("@")
    if at and _USERINFO.fullmatch(userinfo) is None:
        return "has characters not allowed in its user information (before '@')"
    if host_port.startswith("["):
        return _ip_literal_problem(host_port)
    host, _, port = host_port.partition(":")
    if not host:
        return "has no host"
    if _REG_NAME.fullmatch(host) is None:
        return f"has the host {_quote(host)}, which is not a host name or address"
    return _port_problem(port)


def _ip_literal_problem(host_port: str) -> str | None:
    literal, bracket, after = host_port[1:].partition("]")
    if not bracket:
        return "has a '[' that opens an IP address but no ']'"
    if not _is_ip_literal(literal):
        return f"has [{_clip(literal)}], which is not an IPv6 address"
    if after and not after.startswith(":"):
        return "has characters after the ']' of its IP address"
    return _port_problem(after[1:])


def _is_ip_literal(literal: str) -> bool:
    if _IP_FUTURE.fullmatch(literal):
        return True
    if "%" in literal:  # RFC 3986 has no zone identifiers
        return False
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        return False
    return True


def _port_problem(port: str) -> str | None:
    if not port:
        return None
    if not port.isdigit():
        return f"has the port {_quote(port)}, expected digits"
    if len(port) > 5 or int(port) > _MAX_PORT:
        return f"has the port {_clip(port)}, beyond {_MAX_PORT}"
    return None


def _tail_problem(text: str, start: int) -> str | None:
    bracket = _BRACKET.search(text, start)
    if bracket is not None:
        return (
            f"contains '{bracket.group()}' at position {bracket.start()}, "
            "allowed only around an IP address"
        )
    fragment = text.find("#", start)
    if fragment != -1 and "#" in text[fragment + 1 :]:
        return f"contains a second '#' after the fragment starting at position {fragment}"
    return None

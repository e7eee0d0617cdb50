"""Coverage listings (CDSC-WG1-01 4): one page of coverage entries, validated and mapped.

Entries of the current draft (4.3) and of the 2023 draft (a `*_service_territory` type) are
both read onto one model, the current draft's. Findings cite the current draft's sections.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from crawler.domain import rules
from crawler.domain.checks import (
    MAX_REPEATS,
    cite,
    datetime_problem,
    describe,
    quote,
    string_or_none,
    url_problem,
)
from crawler.domain.countries import is_country_code
from crawler.domain.findings import has_errors, json_pointer
from crawler.domain.rfc3339 import parse_rfc3339

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from datetime import datetime

    from crawler.domain.findings import Finding, Rule

CURRENT_DRAFT = "2025-03"
DRAFT_2023 = "2023"


@dataclass(frozen=True, slots=True)
class CoverageEntry:
    """One coverage entry with a string `id`, mapped onto the current draft's model.

    Text, enumerated and list fields hold what was published when it has the right JSON type
    (unknown enumerated values included); URLs, `country`, `map_content_type` and `updated`
    are None unless well formed. `findings` are this entry's own (pointers into the page).
    """

    entry_id: str
    content: dict[str, Any]
    draft: str
    type: str | None
    role: str | None
    country: str | None
    entity_name: str | None
    name: str | None
    commodity_types: tuple[str, ...]
    infrastructure_types: tuple[str, ...]
    capabilities: tuple[str, ...]
    map_resource: str | None
    map_content_type: str | None
    geojson_resource: str | None
    updated: datetime | None
    findings: tuple[Finding, ...]

    @property
    def valid(self) -> bool:
        """True when none of the entry's findings is an error."""
        return not has_errors(self.findings)

    def model(self) -> dict[str, Any]:
        """The mapped fields as a JSON-ready dict (`updated` as ISO 8601 text or None)."""
        return {
            "entry_id": self.entry_id,
            "type": self.type,
            "role": self.role,
            "country": self.country,
            "entity_name": self.entity_name,
            "name": self.name,
            "commodity_types": list(self.commodity_types),
            "infrastructure_types": list(self.infrastructure_types),
            "capabilities": list(self.capabilities),
            "map_resource": self.map_resource,
            "map_content_type": self.map_content_type,
            "geojson_resource": self.geojson_resource,
            "updated": self.updated.isoformat() if self.updated is not None else None,
            "draft": self.draft,
        }


@dataclass(frozen=True, slots=True)
class CoveragePage:
    """What `parse_coverage_page` read from one page of a coverage listing."""

    entries: tuple[CoverageEntry, ...]
    next: str | None
    findings: tuple[Finding, ...]
    usable: bool


def parse_coverage_page(document: dict[str, Any], url: str) -> CoveragePage:
    """Validate `document`, one coverage listing page fetched from `url`, and map its entries.

    `entries` holds, in page order, every entry that is an object with a string `id` (even
    an invalid one: see `CoverageEntry.valid`); other entries are skipped with an error.
    Repeated ids are not checked here: keying entries is the reader of the whole listing's.
    An entry whose `type` is a 2023 `*_service_territory` type is validated against the 2023
    draft, read as `geographic` with the commodity its type names, and gets one
    `coverage.draft-2023-entry` warning. `next` is the page's `next` URL when it is a valid
    http(s) URL, else None. `usable` is False when `coverage_entries` is missing or not an
    array (or `document` is not an object).

    Findings are bounded: within one object or array at most 50 per rule, then one counting
    the rest; `findings` lists at most 100 per rule on the page, then one per rule counting
    the rest. Each entry keeps its own findings until the page has built 100,000; past that,
    an entry's findings of a rule are replaced by one shared finding saying they were not
    built (same rule and severity, so `valid` stays right). Time and memory stay linear in
    the size of the page. Never raises; pure.
    """
    if not isinstance(document, dict):
        return _not_an_object(document, url)
    raw_entries = document.get(_ENTRIES)
    ledger = _Ledger(url)
    ledger.record(_listing_faults(document))
    entries: list[CoverageEntry] = []
    if isinstance(raw_entries, list):
        ledger.record(_skipped_entry_faults(raw_entries))
        entries = _read_entries(raw_entries, ledger)
    ledger.record(_unknown_page_member_faults(document))
    return CoveragePage(
        entries=tuple(entries),
        next=_link(document.get("next")),
        findings=ledger.page_findings(),
        usable=isinstance(raw_entries, list),
    )


# --- what the drafts define ------------------------------------------------------------------

_LISTING_SECTION = "CDSC-WG1-01 4.1"
_ENTRIES = "coverage_entries"
_ENTRIES_POINTER = "/" + _ENTRIES
_LISTING_MEMBERS = (_ENTRIES, "next", "previous")


class EntryType(StrEnum):
    GEOGRAPHIC = "geographic"
    LOGICAL = "logical"


class Role(StrEnum):
    AUTHORITATIVE = "authoritative"
    OFFICIAL = "official"
    AGGREGATOR = "aggregator"


class InfrastructureType(StrEnum):
    DISTRIBUTION_UTILITY = "distribution_utility"
    METERING_PROVIDER = "metering_provider"
    SUPPLIER = "supplier"
    GENERATOR = "generator"
    MARKET_OPERATOR = "market_operator"
    DISTRIBUTION_SERVICE_OPERATOR = "distribution_service_operator"
    TRANSMISSION_SERVICE_OPERATOR = "transmission_service_operator"
    SERVICE_PROVIDER = "service_provider"


class CommodityType(StrEnum):
    ELECTRICITY = "electricity"
    NATURAL_GAS = "natural_gas"
    FUEL_OIL = "fuel_oil"
    WATER = "water"
    WASTEWATER = "wastewater"
    TRASH = "trash"
    DISTRIBUTED_ENERGY = "distributed_energy"


_TYPES = frozenset(EntryType)
_ROLES = frozenset(Role)
_INFRASTRUCTURE_TYPES = frozenset(InfrastructureType)
_COMMODITY_TYPES = frozenset(CommodityType)
# CDSC-WG1-02 3.1 adds oauth, as for metadata objects.
_CAPABILITIES = frozenset({"coverage", "oauth"})

# The 2023 draft's entry types (its 4.3), each a geographic territory for one commodity.
_COMMODITY_OF_2023_TYPE = {
    "electric_service_territory": "electricity",
    "natural_gas_service_territory": "natural_gas",
    "fuel_oil_service_territory": "fuel_oil",
    "water_service_territory": "water",
}
_REQUIRED_2023 = frozenset({"id", "type", "updated", "name"})


class _Kind(Enum):
    TEXT = "a string"
    NULLABLE_TEXT = "null or a string"
    URL = "a URL string"
    DATETIME = "an RFC 3339 date-time string"
    COUNTRY = "a two-letter country code string"
    MIME = "a MIME type string"
    ENUM = "an enumerated string"
    ENUM_LIST = "an array of strings"


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    kind: _Kind
    required: bool = True
    known: frozenset[str] = frozenset()  # the enumerated values, for ENUM and ENUM_LIST
    known_section: str = ""  # where those values are listed


_CURRENT_FIELDS = (
    _Field("id", _Kind.TEXT),
    _Field("created", _Kind.DATETIME),
    _Field("updated", _Kind.DATETIME),
    _Field("entity_name", _Kind.TEXT),
    _Field("entity_abbreviation", _Kind.NULLABLE_TEXT),
    _Field("country", _Kind.COUNTRY),
    _Field("name", _Kind.TEXT),
    _Field("description", _Kind.TEXT, required=False),
    _Field("type", _Kind.ENUM, known=_TYPES, known_section="CDSC-WG1-01 4.4"),
    _Field("role", _Kind.ENUM, known=_ROLES, known_section="CDSC-WG1-01 4.5"),
    _Field(
        "infrastructure_types",
        _Kind.ENUM_LIST,
        known=_INFRASTRUCTURE_TYPES,
        known_section="CDSC-WG1-01 4.6",
    ),
    _Field(
        "commodity_types",
        _Kind.ENUM_LIST,
        known=_COMMODITY_TYPES,
        known_section="CDSC-WG1-01 4.7",
    ),
    _Field("capabilities", _Kind.ENUM_LIST, known=_CAPABILITIES, known_section="CDSC-WG1-01 3.4"),
    _Field("map_resource", _Kind.URL, required=False),
    _Field("map_content_type", _Kind.MIME, required=False),
    _Field("geojson_resource", _Kind.URL, required=False),
)


def _as_2023(field: _Field) -> _Field:
    """The field as the 2023 draft defines it: fewer REQUIRED members, territory types."""
    known = frozenset(_COMMODITY_OF_2023_TYPE) if field.name == "type" else field.known
    return replace(field, required=field.name in _REQUIRED_2023, known=known)


_2023_FIELDS = tuple(_as_2023(field) for field in _CURRENT_FIELDS)
_FIELD_NAMES = frozenset(field.name for field in _CURRENT_FIELDS)

_MIME_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]{0,126}"
_MIME_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z\-]+"
_MIME_TYPE = re.compile(
    rf"{_MIME_NAME}/{_MIME_NAME}"
    rf"(?:[ \t]*;[ \t]*{_MIME_TOKEN}=(?:{_MIME_TOKEN}|\"[^\"\\]*\"))*"
)


# --- faults: findings to be, whose messages are made only when they are built -------------------


class _Fault(NamedTuple):
    """A finding to be (a tuple, as pages can hold millions of them)."""

    rule: Rule
    parent: str  # RFC 6901 pointer to the object or array holding the faulty value
    key: str | int | None  # the member or index within `parent`; None for `parent` itself
    message: Callable[[], str]
    section: str = ""  # cited instead of the rule's own section when given

    def build(self, url: str) -> Finding:
        pointer = self.parent if self.key is None else self.parent + json_pointer(self.key)
        return cite(self.rule, self.section or self.rule.section, url, pointer, self.message())


# --- the listing object (4.1) ------------------------------------------------------------------


def _not_an_object(document: Any, url: str) -> CoveragePage:
    finding = cite(
        rules.COVERAGE_TYPE,
        _LISTING_SECTION,
        url,
        "",
        f"the page is {describe(document)}, expected a coverage listing object",
    )
    return CoveragePage(entries=(), next=None, findings=(finding,), usable=False)


def _listing_faults(document: dict[str, Any]) -> Iterator[_Fault]:
    if _ENTRIES not in document:
        yield _listing_fault(
            rules.COVERAGE_REQUIRED,
            _ENTRIES,
            "required member `coverage_entries` (an array of coverage entries) is missing; "
            "the page is not a coverage listing",
        )
    elif not isinstance(document[_ENTRIES], list):
        yield _listing_fault(
            rules.COVERAGE_TYPE,
            _ENTRIES,
            f"`coverage_entries` is {describe(document[_ENTRIES])}, expected an array of "
            "coverage entries; the page is not a coverage listing",
        )
    for name in ("next", "previous"):
        fault = _link_fault(document, name)
        if fault is not None:
            yield fault


def _link_fault(document: dict[str, Any], name: str) -> _Fault | None:
    if name not in document:
        return _listing_fault(
            rules.COVERAGE_REQUIRED, name, f"required member `{name}` (null or a URL) is missing"
        )
    value = document[name]
    if value is None:
        return None
    if not isinstance(value, str):
        return _listing_fault(
            rules.COVERAGE_TYPE, name, f"`{name}` is {describe(value)}, expected null or a URL"
        )
    problem = url_problem(value)
    if problem is None:
        return None
    return _listing_fault(rules.COVERAGE_URL, name, f"`{name}` is {quote(value)}: {problem}")


def _listing_fault(rule: Rule, name: str, message: str) -> _Fault:
    return _Fault(rule, "", name, lambda: message, _LISTING_SECTION)


def _link(value: Any) -> str | None:
    return value if isinstance(value, str) and url_problem(value) is None else None


def _unknown_page_member_faults(document: dict[str, Any]) -> Iterator[_Fault]:
    for name, value in document.items():
        if name not in _LISTING_MEMBERS:
            yield _unknown_member_fault("", str(name), value, "of the coverage listing")


def _unknown_member_fault(parent: str, name: str, value: Any, of: str) -> _Fault:
    return _Fault(
        rules.COVERAGE_UNKNOWN_FIELD,
        parent,
        name,
        lambda: (
            f"unknown member {quote(name)} ({describe(value)}) {of} is not defined by the "
            "draft; kept as published, otherwise ignored"
        ),
    )


# --- the entries ---------------------------------------------------------------------------------


def _skipped_entry_faults(raw: list[Any]) -> Iterator[_Fault]:
    """Faults about the entries that cannot be keyed by their id, and so are skipped."""
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            yield _skipped_entry_fault(index, item)


def _skipped_entry_fault(index: int, item: Any) -> _Fault:
    base, label = _ENTRIES_POINTER, f"`coverage_entries[{index}]`"
    if not isinstance(item, dict):
        return _Fault(
            rules.COVERAGE_TYPE,
            base,
            index,
            lambda: f"{label} is {describe(item)}, expected a coverage entry object; skipped",
            _LISTING_SECTION,
        )
    if "id" not in item:
        return _Fault(
            rules.COVERAGE_REQUIRED,
            base + json_pointer(index),
            "id",
            lambda: (
                f"required member `id` (a string) of {label} is missing; skipped, since "
                "entries are keyed by id"
            ),
        )
    return _Fault(
        rules.COVERAGE_TYPE,
        base + json_pointer(index),
        "id",
        lambda: (
            f"`coverage_entries[{index}].id` is {describe(item['id'])}, expected a string; "
            "skipped, since entries are keyed by id"
        ),
    )


def _read_entries(raw: list[Any], ledger: _Ledger) -> list[CoverageEntry]:
    """The entries with a string id, in page order, each with its recorded findings."""
    entries: list[CoverageEntry] = []
    for index, item in enumerate(raw):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            at = _At(index, json_pointer(_ENTRIES, index))
            type_2023 = _type_2023(item)
            faults = _entry_faults(item, at, type_2023)
            entries.append(_mapped(item, type_2023, ledger.record(faults, keep=True)))
    return entries


@dataclass(frozen=True, slots=True)
class _At:
    """Which entry findings are about: its index and its pointer."""

    index: int
    base: str

    def label(self, name: str, key: str | int | None = None) -> str:
        element = f"[{key}]" if isinstance(key, int) else ""
        return f"`coverage_entries[{self.index}].{name}{element}`"


def _type_2023(content: dict[str, Any]) -> str | None:
    """The entry's `type` when it is one of the 2023 draft's territory types, else None."""
    value = content.get("type")
    return value if isinstance(value, str) and value in _COMMODITY_OF_2023_TYPE else None


def _entry_faults(content: dict[str, Any], at: _At, type_2023: str | None) -> Iterator[_Fault]:
    if type_2023 is not None:
        yield _draft_2023_fault(content, type_2023, at)
    yield from _field_faults(content, _CURRENT_FIELDS if type_2023 is None else _2023_FIELDS, at)
    entry_type = content.get("type") if type_2023 is None else "geographic"
    yield from _rule_faults(content, entry_type, at)
    for name, value in content.items():
        if name not in _FIELD_NAMES:
            yield _unknown_member_fault(
                at.base, str(name), value, f"of `coverage_entries[{at.index}]`"
            )


def _draft_2023_fault(content: dict[str, Any], type_2023: str, at: _At) -> _Fault:
    missing = [f.name for f in _CURRENT_FIELDS if f.required and f.name not in content]
    lacks = (
        f"lacks what the current draft (4.3) requires: {', '.join(missing)}"
        if missing
        else "has every member the current draft (4.3) requires, but a 2023 type"
    )
    commodity = _COMMODITY_OF_2023_TYPE[type_2023]
    return _Fault(
        rules.COVERAGE_DRAFT_2023_ENTRY,
        at.base,
        None,
        lambda: (
            f"entry follows the 2023 draft (type {quote(type_2023)}, 2023 draft 4.2 and "
            f"4.3) and is read as a geographic entry for {commodity}; it {lacks}"
        ),
    )


# --- the members of an entry -----------------------------------------------------------------


def _field_faults(content: dict[str, Any], fields: tuple[_Field, ...], at: _At) -> Iterator[_Fault]:
    for field in fields:
        if field.name in content:
            yield from _value_faults(field, content[field.name], at)
        elif field.required:
            yield _required_fault(field, at)


def _required_fault(field: _Field, at: _At) -> _Fault:
    return _Fault(
        rules.COVERAGE_REQUIRED,
        at.base,
        field.name,
        lambda: (
            f"required member `{field.name}` ({field.kind.value}) of "
            f"`coverage_entries[{at.index}]` is missing"
        ),
    )


def _value_faults(field: _Field, value: Any, at: _At) -> Iterator[_Fault]:
    if field.kind is _Kind.ENUM_LIST:
        yield from _list_faults(field, value, at)
    elif field.kind is _Kind.NULLABLE_TEXT and value is None:
        return
    elif not isinstance(value, str):
        yield _type_fault(field, at.base, field.name, value, at, field.kind.value)
    else:
        fault = _string_fault(field, at.base, field.name, value, at)
        if fault is not None:
            yield fault


def _type_fault(
    field: _Field, parent: str, key: str | int, value: Any, at: _At, expected: str
) -> _Fault:
    return _Fault(
        rules.COVERAGE_TYPE,
        parent,
        key,
        lambda: f"{at.label(field.name, key)} is {describe(value)}, expected {expected}",
    )


def _string_fault(field: _Field, parent: str, key: str | int, value: str, at: _At) -> _Fault | None:
    """The fault in the string `value` of `field` (or of one element of its array), if any."""
    found = _string_problem(field, value)
    if found is None:
        return None
    rule, detail = found
    section = field.known_section if rule is rules.COVERAGE_UNKNOWN_VALUE else ""
    return _Fault(
        rule,
        parent,
        key,
        lambda: f"{at.label(field.name, key)} is {quote(value)}{detail()}",
        section,
    )


def _string_problem(field: _Field, value: str) -> tuple[Rule, Callable[[], str]] | None:
    """The rule a string breaks, and how to say what is wrong after the quoted value."""
    if field.kind is _Kind.URL:
        problem = url_problem(value)
        return None if problem is None else (rules.COVERAGE_URL, lambda: f": {problem}")
    if field.kind is _Kind.DATETIME and parse_rfc3339(value) is None:
        return rules.COVERAGE_DATETIME, lambda: f": {datetime_problem(value)}"
    if field.kind is _Kind.COUNTRY and not is_country_code(value):
        return (
            rules.COVERAGE_COUNTRY,
            lambda: (
                ', expected an ISO 3166-1 alpha-2 code such as "US" (two upper-case letters '
                "that ISO 3166 assigns to a country)"
            ),
        )
    if field.kind is _Kind.MIME and _MIME_TYPE.fullmatch(value) is None:
        return (
            rules.COVERAGE_MIME_TYPE,
            lambda: ', expected a MIME type such as "image/png" (RFC 6838)',
        )
    if field.known and value not in field.known:
        return (
            rules.COVERAGE_UNKNOWN_VALUE,
            lambda: (
                f", not a value known for `{field.name}` ({', '.join(sorted(field.known))}); "
                "kept and otherwise ignored"
            ),
        )
    return None


def _list_faults(field: _Field, value: Any, at: _At) -> Iterator[_Fault]:
    if not isinstance(value, list):
        yield _type_fault(field, at.base, field.name, value, at, field.kind.value)
        return
    parent = at.base + json_pointer(field.name)
    first_seen: dict[str, int] = {}
    for index, element in enumerate(value):
        if not isinstance(element, str):
            yield _type_fault(field, parent, index, element, at, "a string")
            continue
        fault = _string_fault(field, parent, index, element, at)
        if fault is not None:
            yield fault
        first = first_seen.setdefault(element, index)
        if first != index:
            yield _duplicate_fault(field, parent, index, element, first, at)


def _duplicate_fault(
    field: _Field, parent: str, index: int, element: str, first: int, at: _At
) -> _Fault:
    return _Fault(
        rules.COVERAGE_DUPLICATE_VALUE,
        parent,
        index,
        lambda: f"{at.label(field.name, index)} repeats {quote(element)}, already at index {first}",
    )


# --- rules across members (4.3) --------------------------------------------------------------


def _rule_faults(content: dict[str, Any], entry_type: Any, at: _At) -> Iterator[_Fault]:
    capabilities = content.get("capabilities")
    if isinstance(capabilities, list) and "coverage" in capabilities:
        index = capabilities.index("coverage")
        yield _Fault(
            rules.COVERAGE_CAPABILITY_COVERAGE,
            at.base + json_pointer("capabilities"),
            index,
            lambda: (
                f'{at.label("capabilities", index)} is "coverage", which an entry\'s '
                "capabilities MUST NOT include"
            ),
        )
    mapped = "map_resource" in content or "geojson_resource" in content
    if entry_type == "geographic" and not mapped:
        yield _Fault(
            rules.COVERAGE_MAP_REQUIRED,
            at.base,
            None,
            lambda: (
                f"`coverage_entries[{at.index}]` is geographic, so `map_resource` or "
                "`geojson_resource` (or both) MUST be given; neither is"
            ),
        )
    if "map_resource" in content and "map_content_type" not in content:
        yield _Fault(
            rules.COVERAGE_MAP_CONTENT_TYPE_REQUIRED,
            at.base,
            "map_content_type",
            lambda: (
                f"`coverage_entries[{at.index}]` has a `map_resource`, so "
                "`map_content_type` MUST be given; it is missing"
            ),
        )


# --- the model -----------------------------------------------------------------------------------


def _mapped(
    content: dict[str, Any], type_2023: str | None, findings: tuple[Finding, ...]
) -> CoverageEntry:
    """`content` on the current model; `type_2023` is the entry's 2023 type, if it has one."""
    updated = content.get("updated")
    entry_type, commodities = _type_and_commodities(content, type_2023)
    return CoverageEntry(
        entry_id=content["id"],
        content=content,
        draft=CURRENT_DRAFT if type_2023 is None else DRAFT_2023,
        type=entry_type,
        role=string_or_none(content.get("role")),
        country=_country(content.get("country")),
        entity_name=string_or_none(content.get("entity_name")),
        name=string_or_none(content.get("name")),
        commodity_types=commodities,
        infrastructure_types=_strings(content, "infrastructure_types"),
        capabilities=_strings(content, "capabilities"),
        map_resource=_link(content.get("map_resource")),
        map_content_type=_matching(_MIME_TYPE, content.get("map_content_type")),
        geojson_resource=_link(content.get("geojson_resource")),
        updated=parse_rfc3339(updated) if isinstance(updated, str) else None,
        findings=findings,
    )


def _type_and_commodities(
    content: dict[str, Any], type_2023: str | None
) -> tuple[str | None, tuple[str, ...]]:
    """A 2023 territory type is geographic, for the commodity it names."""
    if type_2023 is not None:
        return "geographic", (_COMMODITY_OF_2023_TYPE[type_2023],)
    return string_or_none(content.get("type")), _strings(content, "commodity_types")


def _strings(content: dict[str, Any], name: str) -> tuple[str, ...]:
    """The distinct strings of the array `name`, in order; () when it is not an array."""
    value = content.get(name)
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(element for element in value if isinstance(element, str)))


def _country(value: Any) -> str | None:
    return value if isinstance(value, str) and is_country_code(value) else None


def _matching(pattern: re.Pattern[str], value: Any) -> str | None:
    return value if isinstance(value, str) and pattern.fullmatch(value) else None


# --- keeping a page's findings bounded -------------------------------------------------------

_MAX_LISTED = 100  # findings of one rule listed on a page
_MAX_BUILT = 100_000  # findings built for a page's entries, listed or not


class _Ledger:
    """Turns the faults of one page into findings, within the bounds `parse_coverage_page` states.

    A fault past a bound is counted, and its message never made: a hostile page costs time
    and memory in proportion to its size, not to the findings it could produce.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._built = 0
        self._listed: list[Finding] = []
        self._per_rule: Counter[str] = Counter()
        self._unlisted: dict[str, tuple[_Fault, int]] = {}
        self._not_kept: dict[str, Finding] = {}

    def record(self, faults: Iterable[_Fault], *, keep: bool = False) -> tuple[Finding, ...]:
        """The findings of one entry (`keep`: also those the page does not list)."""
        kept: list[Finding] = []
        seen: dict[tuple[str, str], int] = {}
        surplus: dict[tuple[str, str], tuple[_Fault, int]] = {}
        for fault in faults:
            bucket = (fault.rule.id, fault.parent)
            seen[bucket] = seen.get(bucket, 0) + 1
            if seen[bucket] <= MAX_REPEATS:
                self._take(fault, keep, kept)
            else:
                first, count = surplus.get(bucket, (fault, 0))
                surplus[bucket] = (first, count + 1)
        for first, count in surplus.values():
            self._take(_surplus_fault(first, count), keep, kept)
        return tuple(kept)

    def _take(self, fault: _Fault, keep: bool, kept: list[Finding]) -> None:
        """Count `fault` for the page; list it, or keep it in `kept`, within the bounds."""
        rule_id = fault.rule.id
        self._per_rule[rule_id] += 1
        if self._per_rule[rule_id] <= _MAX_LISTED:
            finding = fault.build(self._url)
            self._listed.append(finding)
            kept.append(finding)
            return
        first, count = self._unlisted.get(rule_id, (fault, 0))
        self._unlisted[rule_id] = (first, count + 1)
        if not keep:
            return
        if self._built < _MAX_BUILT:
            self._built += 1
            kept.append(fault.build(self._url))
            return
        marker = self._not_kept_marker(fault)
        if marker not in kept:  # once per rule and entry
            kept.append(marker)

    def _not_kept_marker(self, fault: _Fault) -> Finding:
        rule_id = fault.rule.id
        if rule_id not in self._not_kept:
            self._not_kept[rule_id] = fault.rule.finding(
                self._url,
                _ENTRIES_POINTER,
                f"this entry's {rule_id} findings are not kept: the page already has more "
                f"than {_MAX_BUILT} findings",
            )
        return self._not_kept[rule_id]

    def page_findings(self) -> tuple[Finding, ...]:
        """The findings listed for the page, then one per rule counting those not listed."""
        counts = [
            _unlisted_count(first, count, self._url) for first, count in self._unlisted.values()
        ]
        return (*self._listed, *counts)


def _surplus_fault(first: _Fault, count: int) -> _Fault:
    where = first.parent or "the page"
    return first._replace(
        key=None,
        message=lambda: (
            f"{count} more {first.rule.id} findings in {where} are not listed "
            f"(the first {MAX_REPEATS} are)"
        ),
    )


def _unlisted_count(first: _Fault, count: int, url: str) -> Finding:
    pointer = _ENTRIES_POINTER if first.parent.startswith(_ENTRIES_POINTER) else ""
    return cite(
        first.rule,
        first.section or first.rule.section,
        url,
        pointer,
        f"{count} more {first.rule.id} findings on this page are not listed "
        f"(the first {_MAX_LISTED} are)",
    )

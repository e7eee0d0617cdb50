"""Validation of an OAuth authorization server metadata document (CDSC-WG1-02 3, RFC 8414).

CDSC-WG1-02 3.2 takes RFC 8414's metadata object, makes most of its optional members
REQUIRED and adds its own `cds_*` members: scope descriptions (3.4), registration fields
(3.5-3.7) and authorization details fields (3.8-3.10). Pure.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from enum import Enum
from itertools import chain
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from crawler.domain import rules
from crawler.domain.checks import MAX_REPEATS, cite, describe, quote, string_or_none, url_problem
from crawler.domain.findings import has_errors, json_pointer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from crawler.domain.findings import Finding, Rule


# --- what the validator reports --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScopeOffer:
    """One scope description, as published: what a client may ask for under one scope."""

    id: str  # the description's key in `cds_scope_descriptions`
    name: str | None
    description: str | None
    documentation: str | None
    grant_types_supported: tuple[str, ...]
    coverages_supported: tuple[str, ...]
    registration_requirements: tuple[str, ...]
    registration_optional: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "documentation": self.documentation,
            "grant_types_supported": list(self.grant_types_supported),
            "coverages_supported": list(self.coverages_supported),
            "registration_requirements": list(self.registration_requirements),
            "registration_optional": list(self.registration_optional),
        }


@dataclass(frozen=True, slots=True)
class RegistrationRequirement:
    """One registration field, as published: what registering asks of a client (3.5)."""

    id: str  # the field's key in `cds_registration_fields`
    type: str | None
    description: str | None
    field_name: str | None
    format: str | None
    amount: int | float | None  # for payment_required
    currency: str | None

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "description": self.description,
            "field_name": self.field_name,
            "format": self.format,
            "amount": self.amount,
            "currency": self.currency,
        }


@dataclass(frozen=True, slots=True)
class OAuthMetadata:
    """What `validate_oauth_metadata` found about one OAuth authorization server metadata object.

    Text members hold what was published when it is a string (a malformed URL included; see
    the findings); lists hold the distinct strings published, in order.
    """

    findings: tuple[Finding, ...]
    issuer: str | None
    registration_endpoint: str | None
    cds_oauth_version: str | None
    cds_human_registration: str | None
    scopes_supported: tuple[str, ...]
    service_documentation: str | None
    op_policy_uri: str | None
    op_tos_uri: str | None
    cds_test_accounts: str | None
    grant_types_supported: tuple[str, ...]
    scopes: tuple[ScopeOffer, ...]  # the scope descriptions that are objects, in order
    registration_fields: tuple[RegistrationRequirement, ...]  # likewise

    @property
    def valid(self) -> bool:
        """True when no finding is an error."""
        return not has_errors(self.findings)

    def summary(self) -> dict[str, Any]:
        """JSON-ready: can a client register with this server, how, and for which scopes."""
        return {
            "valid": self.valid,
            "issuer": self.issuer,
            "cds_oauth_version": self.cds_oauth_version,
            "registration_endpoint": self.registration_endpoint,
            "cds_human_registration": self.cds_human_registration,
            "service_documentation": self.service_documentation,
            "op_policy_uri": self.op_policy_uri,
            "op_tos_uri": self.op_tos_uri,
            "cds_test_accounts": self.cds_test_accounts,
            "grant_types_supported": list(self.grant_types_supported),
            "scopes_supported": list(self.scopes_supported),
            "scope_descriptions": [scope.summary() for scope in self.scopes],
            "registration_fields": [field.summary() for field in self.registration_fields],
        }


def validate_oauth_metadata(
    document: Any, url: str, *, expected_issuer: str | None = None
) -> OAuthMetadata:
    """Check `document`, the OAuth metadata object fetched from `url`, against CDSC-WG1-02 3.

    `expected_issuer` is the issuer the RFC 8414 well-known URL was built from, given only
    when the document was fetched from there: `issuer` MUST then be identical (RFC 8414 3.3).
    Every finding carries an RFC 6901 pointer into the document and cites the section that
    defines what it checks. Errors: a REQUIRED member missing (conditionally REQUIRED ones
    included), a wrong JSON type, a malformed URL, an endpoint on plain http, lists that are
    not the union of the scope descriptions', broken PKCE, a defined scope configured
    otherwise, unknown registration fields, values outside an enumeration. Warnings: a
    `cds_oauth_version` other than "v1". Info: unknown members, kept and ignored.

    At most 50 findings of one rule are listed per object or array and 100 per rule in the
    whole document, each time followed by one finding counting the rest. Time is linear in
    the size of the document. Never raises, whatever JSON values it holds; pure.
    """
    if not isinstance(document, dict):
        return _not_an_object(document, url)
    faults = chain(
        _object_faults(document, _DOCUMENT, _ROOT),
        _conditional_member_faults(document),
        _version_faults(document),
        _issuer_mismatch_faults(document, expected_issuer),
        _scope_list_faults(document),
        _union_faults(document),
        _scope_description_faults(document),
        _registration_field_faults(document),
    )
    return _report(document, _bounded(faults, url))


_WELL_KNOWN_SUFFIX = "/.well-known/oauth-authorization-server"
_DEFAULT_PORTS = {"https": 443, "http": 80}


def well_known_oauth_url(issuer: str) -> str:
    """The RFC 8414 3.1 metadata URL of `issuer`: the well-known suffix between host and path.

    `https://example.com/tenant/` gives
    `https://example.com/.well-known/oauth-authorization-server/tenant` (a terminating "/"
    removed). A query or fragment, which an issuer MUST NOT have, is dropped. Raises
    ValueError when `issuer` has no scheme or no host.
    """
    parts = urlsplit(issuer)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not an absolute URL with a host: {quote(issuer)}")
    return f"{parts.scheme}://{parts.netloc}{_WELL_KNOWN_SUFFIX}{parts.path.rstrip('/')}"


def issuer_for(metadata_url: str) -> str:
    """The issuer assumed for a server without `oauth_metadata`: its metadata URL's origin.

    `https://Example.com:443/.well-known/carbon-data-spec.json` gives `https://example.com`
    (scheme and host in lower case, the scheme's default port left out). Raises ValueError
    when `metadata_url` has no scheme or no host, or a port that is not a number to 65535.
    """
    parts = urlsplit(metadata_url)
    host = parts.hostname
    if not parts.scheme or not host:
        raise ValueError(f"not an absolute URL with a host: {quote(metadata_url)}")
    scheme = parts.scheme.lower()
    port = parts.port
    shown_host = f"[{host}]" if ":" in host else host
    shown_port = "" if port is None or port == _DEFAULT_PORTS.get(scheme) else f":{port}"
    return f"{scheme}://{shown_host}{shown_port}"


# --- where findings point, and how they are named in messages ---------------------------------

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,79}")


class _Path(tuple[str | int, ...]):
    """A place in the document, as its member names and array indexes.

    Written as an RFC 6901 pointer for findings, and as a label for messages. A tuple, as a
    hostile document can need millions of them.
    """

    __slots__ = ()

    def __truediv__(self, part: Any) -> _Path:
        return _Path((*self, part if isinstance(part, int) else str(part)))

    @property
    def pointer(self) -> str:
        return json_pointer(*self)

    @property
    def label(self) -> str:
        """`cds_scope_descriptions.usage.grant_types_supported[0]`, keys quoted when unusual."""
        text = ""
        for part in self:
            if isinstance(part, int):
                text += f"[{part}]"
            elif _IDENTIFIER.fullmatch(part):
                text += f".{part}" if text else part
            else:
                text += f"[{quote(part)}]"
        return f"`{text}`" if text else "the document"


_ROOT = _Path(())


class _Fault(NamedTuple):
    """A finding to be; the URL is added, and the pointer written, only if it is listed."""

    rule: Rule
    at: _Path
    message: str
    section: str = ""  # cited instead of the rule's own section when given

    def build(self, url: str) -> Finding:
        return cite(
            self.rule, self.section or self.rule.section, url, self.at.pointer, self.message
        )


# --- what the specifications define ----------------------------------------------------------

_RFC8414 = "RFC 8414 2"
_DOCUMENT_SECTION = "CDSC-WG1-02 3.2"
_SCOPE_SECTION = "CDSC-WG1-02 3.4"
_FIELD_SECTION = "CDSC-WG1-02 3.5"
_FIELD_TYPE_SECTION = "CDSC-WG1-02 3.6"
_DETAILS_SECTION = "CDSC-WG1-02 3.8"
_CHOICE_SECTION = "CDSC-WG1-02 3.10"

_SUPPORTED_VERSION = "v1"
_ADMIN_SCOPES = ("client_admin", "grant_admin")
_FILES_SCOPE = "server_provided_files"
_REGISTRATION_FIELD = "registration_field"
_CHOICE = "choice"
_RELATIVE_DATE = "relative_or_absolute_date"


class _Kind(Enum):
    TEXT = "a string"
    URL = "a URL string"
    ENDPOINT = "an https URL string"
    ISSUER = "an https URL string without query or fragment"
    TEXT_LIST = "an array of strings"
    BOOLEAN = "a boolean"
    INTEGER = "a positive integer"
    NUMBER = "a number"
    ANY = "any JSON value"
    SCOPE_MAP = "an object of scope descriptions"
    FIELD_MAP = "an object of registration fields"
    DETAILS_LIST = "an array of authorization details field objects"
    CHOICE_LIST = "an array of authorization details field choice objects"


_URL_KINDS = frozenset({_Kind.URL, _Kind.ENDPOINT, _Kind.ISSUER})


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


_HAS_KIND: dict[_Kind, Callable[[Any], bool]] = {
    _Kind.TEXT: lambda value: isinstance(value, str),
    _Kind.URL: lambda value: isinstance(value, str),
    _Kind.ENDPOINT: lambda value: isinstance(value, str),
    _Kind.ISSUER: lambda value: isinstance(value, str),
    _Kind.TEXT_LIST: lambda value: isinstance(value, list),
    _Kind.BOOLEAN: lambda value: isinstance(value, bool),
    _Kind.INTEGER: _is_integer,
    _Kind.NUMBER: lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    _Kind.ANY: lambda value: True,
    _Kind.SCOPE_MAP: lambda value: isinstance(value, dict),
    _Kind.FIELD_MAP: lambda value: isinstance(value, dict),
    _Kind.DETAILS_LIST: lambda value: isinstance(value, list),
    _Kind.CHOICE_LIST: lambda value: isinstance(value, list),
}


@dataclass(frozen=True, slots=True)
class _Member:
    name: str
    kind: _Kind
    required: bool = True
    section: str = ""  # where the member is defined, when not where its object is
    known: frozenset[str] | None = None  # the enumerated values of a TEXT member
    known_section: str = ""  # where those values are listed


@dataclass(frozen=True, slots=True)
class _Shape:
    """One kind of object: its members, and the section that defines them."""

    title: str
    section: str
    members: tuple[_Member, ...]
    also_known: frozenset[str] = frozenset()  # members defined elsewhere, not checked here

    def names(self) -> frozenset[str]:
        return frozenset(member.name for member in self.members) | self.also_known


def _optional(name: str, kind: _Kind, section: str = _RFC8414) -> _Member:
    return _Member(name, kind, required=False, section=section)


# Registered in IANA's OAuth Authorization Server Metadata registry by other specifications
# (OpenID Connect Discovery, RFC 8628, 8705, 9101, 9126, 9207, 9449, 9701, JARM, CIBA):
# known, so not reported, and not checked.
_REGISTERED_ELSEWHERE = frozenset(
    {
        "userinfo_endpoint",
        "acr_values_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
        "id_token_encryption_alg_values_supported",
        "id_token_encryption_enc_values_supported",
        "userinfo_signing_alg_values_supported",
        "userinfo_encryption_alg_values_supported",
        "userinfo_encryption_enc_values_supported",
        "request_object_signing_alg_values_supported",
        "request_object_encryption_alg_values_supported",
        "request_object_encryption_enc_values_supported",
        "display_values_supported",
        "claim_types_supported",
        "claims_supported",
        "claims_locales_supported",
        "claims_parameter_supported",
        "request_parameter_supported",
        "request_uri_parameter_supported",
        "require_request_uri_registration",
        "prompt_values_supported",
        "check_session_iframe",
        "end_session_endpoint",
        "frontchannel_logout_supported",
        "frontchannel_logout_session_supported",
        "backchannel_logout_supported",
        "backchannel_logout_session_supported",
        "device_authorization_endpoint",
        "tls_client_certificate_bound_access_tokens",
        "mtls_endpoint_aliases",
        "require_signed_request_object",
        "require_pushed_authorization_requests",
        "authorization_response_iss_parameter_supported",
        "dpop_signing_alg_values_supported",
        "introspection_signing_alg_values_supported",
        "introspection_encryption_alg_values_supported",
        "introspection_encryption_enc_values_supported",
        "authorization_signing_alg_values_supported",
        "authorization_encryption_alg_values_supported",
        "authorization_encryption_enc_values_supported",
        "backchannel_token_delivery_modes_supported",
        "backchannel_authentication_endpoint",
        "backchannel_authentication_request_signing_alg_values_supported",
        "backchannel_user_code_parameter_supported",
    }
)

_DOCUMENT = _Shape(
    title="RFC 8414, CDSC-WG1-02 or another registered OAuth specification",
    section=_DOCUMENT_SECTION,
    members=(
        _Member("issuer", _Kind.ISSUER, section=_RFC8414),
        # REQUIRED depending on the grant types: see _conditional_member_faults
        _optional("authorization_endpoint", _Kind.ENDPOINT),
        _optional("token_endpoint", _Kind.ENDPOINT),
        _optional("jwks_uri", _Kind.URL),
        _Member("registration_endpoint", _Kind.ENDPOINT),
        _Member("scopes_supported", _Kind.TEXT_LIST),
        _Member("response_types_supported", _Kind.TEXT_LIST),
        _optional("response_modes_supported", _Kind.TEXT_LIST),
        _Member("grant_types_supported", _Kind.TEXT_LIST),
        _Member("token_endpoint_auth_methods_supported", _Kind.TEXT_LIST),
        _optional("token_endpoint_auth_signing_alg_values_supported", _Kind.TEXT_LIST),
        _Member("service_documentation", _Kind.URL),
        _optional("ui_locales_supported", _Kind.TEXT_LIST),
        _Member("op_policy_uri", _Kind.URL),
        _Member("op_tos_uri", _Kind.URL),
        _Member("revocation_endpoint", _Kind.ENDPOINT),
        _optional("revocation_endpoint_auth_methods_supported", _Kind.TEXT_LIST),
        _optional("revocation_endpoint_auth_signing_alg_values_supported", _Kind.TEXT_LIST),
        _Member("introspection_endpoint", _Kind.ENDPOINT),
        _optional("introspection_endpoint_auth_methods_supported", _Kind.TEXT_LIST),
        _optional("introspection_endpoint_auth_signing_alg_values_supported", _Kind.TEXT_LIST),
        _Member("code_challenge_methods_supported", _Kind.TEXT_LIST),
        _optional("signed_metadata", _Kind.TEXT, "RFC 8414 2.1"),
        _Member("authorization_details_types_supported", _Kind.TEXT_LIST),
        _Member("pushed_authorization_request_endpoint", _Kind.ENDPOINT),
        _Member("cds_oauth_version", _Kind.TEXT),
        _Member("cds_human_registration", _Kind.URL),
        _Member("cds_clients_api", _Kind.ENDPOINT),
        _Member("cds_messages_api", _Kind.ENDPOINT),
        _Member("cds_credentials_api", _Kind.ENDPOINT),
        _Member("cds_grants_api", _Kind.ENDPOINT),
        # REQUIRED depending on other members: see _conditional_member_faults
        _optional("cds_server_provided_files_api", _Kind.ENDPOINT, _DOCUMENT_SECTION),
        _optional("cds_test_accounts", _Kind.URL, _DOCUMENT_SECTION),
        _Member("cds_scope_descriptions", _Kind.SCOPE_MAP),
        _Member("cds_registration_fields", _Kind.FIELD_MAP),
    ),
    also_known=_REGISTERED_ELSEWHERE,
)

_SCOPE = _Shape(
    title="CDSC-WG1-02 3.4",
    section=_SCOPE_SECTION,
    members=(
        _Member("id", _Kind.TEXT),
        _Member("name", _Kind.TEXT),
        _Member("description", _Kind.TEXT),
        _Member("documentation", _Kind.URL),
        _Member("registration_requirements", _Kind.TEXT_LIST),
        _Member("registration_optional", _Kind.TEXT_LIST),
        _Member("response_types_supported", _Kind.TEXT_LIST),
        _Member("grant_types_supported", _Kind.TEXT_LIST),
        _Member("token_endpoint_auth_methods_supported", _Kind.TEXT_LIST),
        _Member("code_challenge_methods_supported", _Kind.TEXT_LIST),
        _Member("coverages_supported", _Kind.TEXT_LIST),
        _Member("authorization_details_fields_supported", _Kind.DETAILS_LIST),
    ),
)

_FIELD_TYPES = frozenset(
    {_REGISTRATION_FIELD, "internal_review", "payment_required", "email_verification"}
)
_FIELD_FORMATS = frozenset(
    {
        f"{base}{nullable}"
        for base in ("string", "url", "email", "boolean", "image", "pdf")
        for nullable in ("", "_or_null")
    }
)
_REGISTRATION_FIELD_SHAPE = _Shape(
    title="CDSC-WG1-02 3.5",
    section=_FIELD_SECTION,
    members=(
        _Member("id", _Kind.TEXT),
        _Member("type", _Kind.TEXT, known=_FIELD_TYPES, known_section=_FIELD_TYPE_SECTION),
        _Member("description", _Kind.TEXT),
        _Member("documentation", _Kind.URL),
        _Member("field_name", _Kind.TEXT, required=False),
        _Member(
            "format",
            _Kind.TEXT,
            required=False,
            known=_FIELD_FORMATS,
            known_section="CDSC-WG1-02 3.7",
        ),
        _Member("default", _Kind.ANY, required=False),
        _Member("max_length", _Kind.INTEGER, required=False),
        _Member("max_size", _Kind.INTEGER, required=False),
        _Member("amount", _Kind.NUMBER, required=False),
        _Member("currency", _Kind.TEXT, required=False),
    ),
)

_DETAILS_FORMATS = frozenset(
    {
        "int",
        "decimal",
        "string",
        "string_or_null",
        "boolean",
        _RELATIVE_DATE,
        _CHOICE,
        "jwk_or_null",
    }
)
_DETAILS_FIELD = _Shape(
    title="CDSC-WG1-02 3.8",
    section=_DETAILS_SECTION,
    members=(
        _Member("id", _Kind.TEXT),
        _Member("name", _Kind.TEXT),
        _Member("description", _Kind.TEXT),
        _Member("documentation", _Kind.URL),
        _Member("format", _Kind.TEXT, known=_DETAILS_FORMATS, known_section="CDSC-WG1-02 3.9"),
        _Member("is_required", _Kind.BOOLEAN),
        _Member("default", _Kind.ANY, required=False),
        _Member("relative_date_limit", _Kind.INTEGER, required=False),
        _Member("absolute_date_limit", _Kind.INTEGER, required=False),
        _Member("limit", _Kind.INTEGER, required=False),
        _Member("choices", _Kind.CHOICE_LIST, required=False),
    ),
)

_CHOICE_SHAPE = _Shape(
    title="CDSC-WG1-02 3.10",
    section=_CHOICE_SECTION,
    members=(
        _Member("id", _Kind.TEXT),
        _Member("name", _Kind.TEXT),
        _Member("description", _Kind.TEXT),
        _Member("documentation", _Kind.URL),
    ),
)


# --- members and their values ----------------------------------------------------------------


def _not_an_object(document: Any, url: str) -> OAuthMetadata:
    fault = _Fault(
        rules.OAUTH_TYPE,
        _ROOT,
        f"the document is {describe(document)}, expected an OAuth authorization server "
        "metadata object",
        "RFC 8414 3.2",
    )
    return _report({}, (fault.build(url),))


def _object_faults(value: dict[Any, Any], shape: _Shape, at: _Path) -> Iterator[_Fault]:
    """A missing, mistyped, malformed or unknown member of `value`, an object of `shape`."""
    yield from _missing_member_faults(value, shape, at)
    for member in shape.members:
        if member.name in value:
            section = member.section or shape.section
            yield from _value_faults(member, value[member.name], at / member.name, section)
    yield from _unknown_member_faults(value, shape, at)


def _missing_member_faults(value: dict[Any, Any], shape: _Shape, at: _Path) -> Iterator[_Fault]:
    missing = [m for m in shape.members if m.required and m.name not in value]
    of = _of(at) if missing else ""  # labelled once: hostile documents miss members by millions
    for member in missing:
        yield _Fault(
            rules.OAUTH_REQUIRED,
            at / member.name,
            f"required member `{member.name}` ({member.kind.value}){of} is missing",
            member.section or shape.section,
        )


def _of(at: _Path) -> str:
    return f" of {at.label}" if at else ""


def _value_faults(member: _Member, value: Any, at: _Path, section: str) -> Iterator[_Fault]:
    if not _HAS_KIND[member.kind](value):
        yield _type_fault(at, value, member.kind.value, section)
    elif member.kind is _Kind.TEXT_LIST:
        for index, element in enumerate(value):
            if not isinstance(element, str):
                yield _type_fault(at / index, element, "a string", section)
    elif member.kind in _URL_KINDS:
        yield from _url_faults(member.kind, value, at, section)
    elif member.known is not None and value not in member.known:
        yield _Fault(
            rules.OAUTH_ENUMERATION,
            at,
            f"{at.label} is {quote(value)}, not one of the values the specification lists "
            f"({', '.join(sorted(member.known))})",
            member.known_section,
        )


def _type_fault(at: _Path, value: Any, expected: str, section: str) -> _Fault:
    return _Fault(
        rules.OAUTH_TYPE, at, f"{at.label} is {describe(value)}, expected {expected}", section
    )


def _url_faults(kind: _Kind, text: str, at: _Path, section: str) -> Iterator[_Fault]:
    problem = url_problem(text)
    if kind is _Kind.ISSUER:
        problem = problem or _issuer_problem(text)
        if problem is not None:
            yield _Fault(rules.OAUTH_ISSUER, at, f"{at.label} is {quote(text)}: {problem}")
    elif problem is not None:
        yield _Fault(rules.OAUTH_URL, at, f"{at.label} is {quote(text)}: {problem}", section)
    elif kind is _Kind.ENDPOINT and not _is_https(text):
        yield _Fault(
            rules.OAUTH_ENDPOINT_HTTPS,
            at,
            f"{at.label} is {quote(text)}: an endpoint clients send credentials or tokens "
            "to MUST use https",
        )


def _is_https(url: str) -> bool:
    return url[:6].lower() == "https:"


def _issuer_problem(url: str) -> str | None:
    """What an RFC 8414 issuer must not be, given that `url` is an http(s) URL."""
    if not _is_https(url):
        return "uses http, but an issuer MUST use the https scheme"
    query, fragment = url.find("?"), url.find("#")
    if query != -1 and (fragment == -1 or query < fragment):
        return f"has a query (at position {query}), which an issuer MUST NOT have"
    if fragment != -1:
        return f"has a fragment (at position {fragment}), which an issuer MUST NOT have"
    return None


def _unknown_member_faults(value: dict[Any, Any], shape: _Shape, at: _Path) -> Iterator[_Fault]:
    known = shape.names()
    for name, item in value.items():
        if name in known:
            continue
        yield _Fault(
            rules.OAUTH_UNKNOWN_FIELD,
            at / name,
            f"unknown member {quote(str(name))} ({describe(item)}){_of(at)} is not defined by "
            f"{shape.title}; kept as published, otherwise ignored",
            "" if at is _ROOT else shape.section,
        )


# --- the document as a whole (CDSC-WG1-02 3.2, 3.3; RFC 8414 2, 3.3) -------------------------

# RFC 8414 2: the grant types assumed when grant_types_supported is omitted.
_DEFAULT_GRANT_TYPES = frozenset({"authorization_code", "implicit"})
_AUTHORIZATION_ENDPOINT_GRANTS = _DEFAULT_GRANT_TYPES


def _conditional_member_faults(document: dict[str, Any]) -> Iterator[_Fault]:
    """Members that other members' values make REQUIRED, when they are missing."""
    for name, kind, section, because in _conditions(document):
        if name not in document:
            yield _Fault(
                rules.OAUTH_REQUIRED,
                _ROOT / name,
                f"member `{name}` ({kind.value}) is missing; it is REQUIRED because {because}",
                section,
            )


def _conditions(document: dict[str, Any]) -> Iterator[tuple[str, _Kind, str, str]]:
    grants = _grant_types(document)
    if grants is not None:
        shown = "is omitted, so defaults to" if "grant_types_supported" not in document else "is"
        few = sorted(grants) if len(grants) <= _MAX_SHOWN_STRINGS else list(grants)
        listed = f"`grant_types_supported` {shown} {_shown_strings(few)}"
        if grants & _AUTHORIZATION_ENDPOINT_GRANTS:
            yield "authorization_endpoint", _Kind.ENDPOINT, _RFC8414, listed
        if grants != {"implicit"}:
            yield "token_endpoint", _Kind.ENDPOINT, _RFC8414, listed
    scopes = document.get("scopes_supported")
    if isinstance(scopes, list) and _FILES_SCOPE in scopes:
        because = f'`scopes_supported` includes "{_FILES_SCOPE}"'
        yield "cds_server_provided_files_api", _Kind.ENDPOINT, _DOCUMENT_SECTION, because
    response_types = document.get("response_types_supported")
    if isinstance(response_types, list) and response_types:
        because = "`response_types_supported` is not empty"
        yield "cds_test_accounts", _Kind.URL, _DOCUMENT_SECTION, because


def _grant_types(document: dict[str, Any]) -> frozenset[str] | None:
    """The grant types supported (RFC 8414's default when omitted); None when not an array."""
    if "grant_types_supported" not in document:
        return _DEFAULT_GRANT_TYPES
    listed = document["grant_types_supported"]
    if not isinstance(listed, list):
        return None
    return frozenset(value for value in listed if isinstance(value, str))


def _version_faults(document: dict[str, Any]) -> Iterator[_Fault]:
    version = document.get("cds_oauth_version")
    if isinstance(version, str) and version != _SUPPORTED_VERSION:
        yield _Fault(
            rules.OAUTH_VERSION,
            _ROOT / "cds_oauth_version",
            f'`cds_oauth_version` is {quote(version)}, expected "{_SUPPORTED_VERSION}"; '
            f"validated as {_SUPPORTED_VERSION} anyway",
        )


def _issuer_mismatch_faults(document: dict[str, Any], expected: str | None) -> Iterator[_Fault]:
    issuer = document.get("issuer")
    if expected is None or not isinstance(issuer, str) or issuer == expected:
        return
    yield _Fault(
        rules.OAUTH_ISSUER_MISMATCH,
        _ROOT / "issuer",
        f"`issuer` is {quote(issuer)}, but the metadata was fetched from the well-known URL "
        f"of the issuer {quote(expected)}; they MUST be identical, and the metadata MUST NOT "
        "be used",
    )


def _scope_list_faults(document: dict[str, Any]) -> Iterator[_Fault]:
    """3.3: the admin scopes are listed; 3.2: each listed scope, and no other, is described."""
    scopes = document.get("scopes_supported")
    if not isinstance(scopes, list):
        return
    listed = {scope for scope in scopes if isinstance(scope, str)}
    for scope in _ADMIN_SCOPES:
        if scope not in listed:
            yield _Fault(
                rules.OAUTH_ADMIN_SCOPES,
                _ROOT / "scopes_supported",
                f"`scopes_supported` lacks {quote(scope)}, which every server MUST support",
            )
    descriptions = document.get("cds_scope_descriptions")
    if isinstance(descriptions, dict):
        yield from _undescribed_scope_faults(scopes, descriptions)
        yield from _unlisted_description_faults(descriptions, listed)


def _undescribed_scope_faults(scopes: list[Any], descriptions: dict[Any, Any]) -> Iterator[_Fault]:
    reported: set[str] = set()
    for index, scope in enumerate(scopes):
        if not isinstance(scope, str) or scope in descriptions or scope in reported:
            continue
        reported.add(scope)
        yield _Fault(
            rules.OAUTH_SCOPE_DESCRIPTIONS,
            _ROOT / "cds_scope_descriptions" / scope,
            f"`scopes_supported[{index}]` is {quote(scope)}, but `cds_scope_descriptions` has "
            "no description of it; it MUST have one for every scope listed",
        )


def _unlisted_description_faults(
    descriptions: dict[Any, Any], listed: set[str]
) -> Iterator[_Fault]:
    for key in descriptions:
        if key not in listed:
            yield _Fault(
                rules.OAUTH_SCOPE_DESCRIPTIONS,
                _ROOT / "cds_scope_descriptions" / key,
                f"`cds_scope_descriptions` describes the scope {quote(str(key))}, which "
                "`scopes_supported` does not list; it MUST list every scope described",
            )


# Members of the document that MUST be the union of the scope descriptions' members.
_UNION_MEMBERS = (
    "response_types_supported",
    "grant_types_supported",
    "token_endpoint_auth_methods_supported",
    "code_challenge_methods_supported",
)


def _union_faults(document: dict[str, Any]) -> Iterator[_Fault]:
    """3.2: union lists, and authorization_details_types_supported the same as the scopes."""
    descriptions = document.get("cds_scope_descriptions")
    for name in _UNION_MEMBERS:
        listed = document.get(name)
        offered = _offered(descriptions, name)
        if not isinstance(listed, list) or offered is None:
            continue
        yield from _same_values_faults(
            _ROOT / name,
            listed,
            {value: f"the scope description {quote(key)} offers" for value, key in offered.items()},
            unexpected="no scope description offers",
            relation=f"it MUST be the union of the scope descriptions' `{name}`",
        )
    types = document.get("authorization_details_types_supported")
    scopes = document.get("scopes_supported")
    if isinstance(types, list) and isinstance(scopes, list):
        yield from _same_values_faults(
            _ROOT / "authorization_details_types_supported",
            types,
            dict.fromkeys(
                (scope for scope in scopes if isinstance(scope, str)), "`scopes_supported` lists"
            ),
            unexpected="`scopes_supported` does not list",
            relation="it MUST hold the same values as `scopes_supported`",
        )


def _offered(descriptions: Any, name: str) -> dict[str, str] | None:
    """Each value the descriptions' `name` arrays hold, with the key of the first to offer it.

    None when that cannot be known: a description that is not an object, or whose `name` is
    not an array (which other findings report).
    """
    if not isinstance(descriptions, dict):
        return None
    offered: dict[str, str] = {}
    for key, description in descriptions.items():
        values = description.get(name) if isinstance(description, dict) else None
        if not isinstance(values, list):
            return None
        for value in values:
            if isinstance(value, str):
                offered.setdefault(value, str(key))
    return offered


def _same_values_faults(
    at: _Path, listed: list[Any], expected: Mapping[str, str], *, unexpected: str, relation: str
) -> Iterator[_Fault]:
    """A value of `listed` not in `expected`, and one of `expected` not in `listed`."""
    present: set[str] = set()
    for index, value in enumerate(listed):
        if not isinstance(value, str):
            continue
        present.add(value)
        if value not in expected:
            yield _Fault(
                rules.OAUTH_UNION,
                at / index,
                f"{(at / index).label} is {quote(value)}, which {unexpected}; {relation}",
            )
    for value, source in expected.items():
        if value not in present:
            yield _Fault(
                rules.OAUTH_UNION,
                at,
                f"{at.label} lacks {quote(value)}, which {source}; {relation}",
            )


# --- scope descriptions (3.3.1-3.3.3, 3.4) ---------------------------------------------------


def _scope_description_faults(document: dict[str, Any]) -> Iterator[_Fault]:
    descriptions = document.get("cds_scope_descriptions")
    if not isinstance(descriptions, dict):
        return
    fields = document.get("cds_registration_fields")
    described_fields = fields if isinstance(fields, dict) else None
    for key, description in descriptions.items():
        at = _ROOT / "cds_scope_descriptions" / key
        if not isinstance(description, dict):
            yield _type_fault(at, description, "a scope description object", _DOCUMENT_SECTION)
            continue
        yield from _object_faults(description, _SCOPE, at)
        yield from _key_faults(description, key, at, "cds_scope_descriptions", _SCOPE_SECTION)
        yield from _no_grant_type_faults(description, key, at)
        yield from _pkce_faults(description, at)
        yield from _undefined_registration_field_faults(description, at, described_fields)
        yield from _details_fields_faults(description, at)
        yield from _defined_scope_faults(description, key, at)


def _key_faults(
    value: dict[Any, Any], key: Any, at: _Path, container: str, section: str
) -> Iterator[_Fault]:
    """The object's `id`, when a string, is its key in `container`."""
    own_id = value.get("id")
    if isinstance(own_id, str) and own_id != key:
        yield _Fault(
            rules.OAUTH_KEY_MISMATCH,
            at / "id",
            f"{(at / 'id').label} is {quote(own_id)}, but its key in `{container}` is "
            f"{quote(str(key))}; they MUST be the same",
            section,
        )


def _no_grant_type_faults(description: dict[str, Any], key: Any, at: _Path) -> Iterator[_Fault]:
    grants = description.get("grant_types_supported")
    # 3.3.3 configures the server_provided_files scope with no grant type at all.
    if isinstance(grants, list) and not grants and key != _FILES_SCOPE:
        yield _Fault(
            rules.OAUTH_EMPTY,
            at / "grant_types_supported",
            f"{(at / 'grant_types_supported').label} is empty; it MUST contain at least one "
            "grant type",
        )


def _pkce_faults(description: dict[str, Any], at: _Path) -> Iterator[_Fault]:
    """With authorization_code: S256 and not plain (RFC 7636); without it: no method at all."""
    grants = description.get("grant_types_supported")
    methods = description.get("code_challenge_methods_supported")
    if not isinstance(grants, list) or not isinstance(methods, list):
        return
    here = at / "code_challenge_methods_supported"
    if "authorization_code" not in grants:
        if methods:
            yield _Fault(
                rules.OAUTH_PKCE,
                here,
                f"{here.label} is {_shown_strings(methods)}, but the scope has no "
                "authorization_code grant, so it MUST be empty ([])",
            )
        return
    if "S256" not in methods:
        yield _Fault(
            rules.OAUTH_PKCE,
            here,
            f'{here.label} lacks "S256", which a scope with the authorization_code grant MUST '
            "offer (PKCE, RFC 7636)",
        )
    for index, method in enumerate(methods):
        if method == "plain":
            yield _Fault(
                rules.OAUTH_PKCE,
                here / index,
                f'{(here / index).label} is "plain", which a scope with the authorization_code '
                "grant MUST NOT offer",
            )


def _undefined_registration_field_faults(
    description: dict[str, Any], at: _Path, described: dict[Any, Any] | None
) -> Iterator[_Fault]:
    if described is None:
        return
    for name in ("registration_requirements", "registration_optional"):
        field_ids = description.get(name)
        if not isinstance(field_ids, list):
            continue
        for index, field_id in enumerate(field_ids):
            if isinstance(field_id, str) and field_id not in described:
                here = at / name / index
                yield _Fault(
                    rules.OAUTH_UNDEFINED_REGISTRATION_FIELD,
                    here,
                    f"{here.label} is {quote(field_id)}, which `cds_registration_fields` does "
                    "not describe; it MUST describe every registration field a scope lists",
                )


# --- authorization details fields and their choices (3.8-3.10) -------------------------------


def _details_fields_faults(description: dict[str, Any], at: _Path) -> Iterator[_Fault]:
    fields = description.get("authorization_details_fields_supported")
    if not isinstance(fields, list):
        return
    base = at / "authorization_details_fields_supported"
    for index, field in enumerate(fields):
        here = base / index
        if not isinstance(field, dict):
            expected = "an authorization details field object"
            yield _type_fault(here, field, expected, _SCOPE_SECTION)
            continue
        yield from _object_faults(field, _DETAILS_FIELD, here)
        yield from _choices_faults(field, here)
        yield from _excluded_member_faults(field, here)


def _choices_faults(field: dict[str, Any], at: _Path) -> Iterator[_Fault]:
    choices = field.get("choices")
    if field.get("format") == _CHOICE:
        if "choices" not in field:
            yield _Fault(
                rules.OAUTH_REQUIRED,
                at / "choices",
                f"member `choices` ({_Kind.CHOICE_LIST.value}) of {at.label} is "
                'missing; it is REQUIRED because `format` is "choice"',
                _DETAILS_SECTION,
            )
        elif isinstance(choices, list) and not choices:
            yield _Fault(
                rules.OAUTH_EMPTY,
                at / "choices",
                f'{(at / "choices").label} is empty; with `format` "choice" it MUST list one '
                "or more choices",
                _DETAILS_SECTION,
            )
    if not isinstance(choices, list):
        return
    for index, choice in enumerate(choices):
        here = at / "choices" / index
        if isinstance(choice, dict):
            yield from _object_faults(choice, _CHOICE_SHAPE, here)
        else:
            expected = "an authorization details field choice object"
            yield _type_fault(here, choice, expected, _DETAILS_SECTION)


def _excluded_member_faults(field: dict[str, Any], at: _Path) -> Iterator[_Fault]:
    if field.get("is_required") is True and "default" in field:
        yield _Fault(
            rules.OAUTH_EXCLUDED_MEMBER,
            at / "default",
            f"{at.label} has a `default`, but `is_required` is true, so it MUST NOT be included",
        )
    field_format = field.get("format")
    # An unknown format is reported as such; what it would exclude is not judged.
    if (
        "relative_date_limit" in field
        and isinstance(field_format, str)
        and field_format in _DETAILS_FORMATS
        and field_format != _RELATIVE_DATE
    ):
        yield _Fault(
            rules.OAUTH_EXCLUDED_MEMBER,
            at / "relative_date_limit",
            f"{at.label} has a `relative_date_limit`, but `format` is "
            f'{quote(field_format)}, not "{_RELATIVE_DATE}", so it MUST NOT be included',
        )


# --- scopes the specification defines (3.3.1-3.3.3) ------------------------------------------


@dataclass(frozen=True, slots=True)
class _DefinedScope:
    section: str
    lists: Mapping[str, tuple[str, ...]]  # members with a fixed array of strings
    details_fields: tuple[str, ...]  # the ids of its fixed authorization details fields


_NO_REGISTRATION_OR_AUTHORIZATION = {
    "registration_requirements": (),
    "registration_optional": (),
    "response_types_supported": (),
    "code_challenge_methods_supported": (),
    "coverages_supported": (),
}
_CLIENT_CREDENTIALS_ONLY = {
    **_NO_REGISTRATION_OR_AUTHORIZATION,
    "grant_types_supported": ("client_credentials",),
    "token_endpoint_auth_methods_supported": ("client_secret_basic",),
}
_DEFINED_SCOPES = {
    "client_admin": _DefinedScope("CDSC-WG1-02 3.3.1", _CLIENT_CREDENTIALS_ONLY, ()),
    "grant_admin": _DefinedScope(
        "CDSC-WG1-02 3.3.2", _CLIENT_CREDENTIALS_ONLY, ("client_id", "grant_id")
    ),
    _FILES_SCOPE: _DefinedScope(
        "CDSC-WG1-02 3.3.3",
        {
            **_NO_REGISTRATION_OR_AUTHORIZATION,
            "grant_types_supported": (),
            "token_endpoint_auth_methods_supported": (),
        },
        ("file_id",),
    ),
}
# What each fixed authorization details field of a defined scope has, and what it has not.
_FIXED_DETAILS_VALUES = (("format", "string"), ("is_required", True))
_FIXED_DETAILS_ABSENT = (
    "default",
    "relative_date_limit",
    "absolute_date_limit",
    "limit",
    "choices",
)


def _defined_scope_faults(description: dict[str, Any], key: Any, at: _Path) -> Iterator[_Fault]:
    defined = _DEFINED_SCOPES.get(key) if isinstance(key, str) else None
    if defined is None:
        return
    for name, expected in defined.lists.items():
        value = description.get(name)
        if isinstance(value, list) and value != list(expected):
            yield _defined_scope_fault(
                defined,
                key,
                at / name,
                f"is {_shown_strings(value)}, but MUST be {_shown_strings(list(expected))}",
            )
    fields = description.get("authorization_details_fields_supported")
    if isinstance(fields, list):
        yield from _defined_details_faults(defined, key, fields, at)


def _defined_details_faults(
    defined: _DefinedScope, key: str, fields: list[Any], at: _Path
) -> Iterator[_Fault]:
    here = at / "authorization_details_fields_supported"
    ids = [field.get("id") for field in fields if isinstance(field, dict)]
    if len(fields) != len(defined.details_fields) or set(defined.details_fields) - set(
        value for value in ids if isinstance(value, str)
    ):
        yield _defined_scope_fault(
            defined,
            key,
            here,
            f"holds {_shown_strings(ids)} (the fields' ids), but MUST hold exactly the fields "
            f"{_shown_strings(list(defined.details_fields))}",
        )
    for index, field in enumerate(fields):
        if isinstance(field, dict) and field.get("id") in defined.details_fields:
            yield from _fixed_details_field_faults(defined, key, field, here / index)


def _fixed_details_field_faults(
    defined: _DefinedScope, key: str, field: dict[str, Any], at: _Path
) -> Iterator[_Fault]:
    for name, expected in _FIXED_DETAILS_VALUES:
        if name in field and field[name] != expected:
            shown = "true" if expected is True else quote(str(expected))
            yield _defined_scope_fault(
                defined, key, at / name, f"is {describe(field[name])}, but MUST be {shown}"
            )
    for name in _FIXED_DETAILS_ABSENT:
        if name in field:
            yield _defined_scope_fault(defined, key, at / name, "is included, but MUST NOT be")


def _defined_scope_fault(defined: _DefinedScope, key: str, at: _Path, what: str) -> _Fault:
    return _Fault(
        rules.OAUTH_DEFINED_SCOPE,
        at,
        f"{at.label} {what} for the `{key}` scope ({defined.section})",
        defined.section,
    )


_MAX_SHOWN_STRINGS = 5


def _shown_strings(values: list[Any]) -> str:
    """A short array of strings as JSON (each clipped), any other array described."""
    if len(values) > _MAX_SHOWN_STRINGS or not all(isinstance(v, str) for v in values):
        return describe(values)
    return "[" + ", ".join(quote(value) for value in values) + "]"


# --- registration fields (3.5-3.7) -----------------------------------------------------------


def _registration_field_faults(document: dict[str, Any]) -> Iterator[_Fault]:
    fields = document.get("cds_registration_fields")
    if not isinstance(fields, dict):
        return
    for key, field in fields.items():
        at = _ROOT / "cds_registration_fields" / key
        if not isinstance(field, dict):
            yield _type_fault(at, field, "a registration field object", _DOCUMENT_SECTION)
            continue
        yield from _object_faults(field, _REGISTRATION_FIELD_SHAPE, at)
        yield from _key_faults(field, key, at, "cds_registration_fields", _FIELD_SECTION)
        yield from _submitted_field_faults(field, at)


def _submitted_field_faults(field: dict[str, Any], at: _Path) -> Iterator[_Fault]:
    """3.6: a field submitted at registration has a `field_name` (3.5: `cds_*`) and a `format`."""
    if field.get("type") == _REGISTRATION_FIELD:
        for name, kind in (("field_name", _Kind.TEXT), ("format", _Kind.TEXT)):
            if name not in field:
                yield _Fault(
                    rules.OAUTH_REQUIRED,
                    at / name,
                    f"member `{name}` ({kind.value}) of {at.label} is missing; it is REQUIRED "
                    f'because `type` is "{_REGISTRATION_FIELD}"',
                    _FIELD_TYPE_SECTION,
                )
    field_name = field.get("field_name")
    if isinstance(field_name, str) and not field_name.startswith("cds_"):
        yield _Fault(
            rules.OAUTH_FIELD_NAME,
            at / "field_name",
            f'{(at / "field_name").label} is {quote(field_name)}; it MUST start with "cds_"',
        )


# --- keeping the findings bounded ------------------------------------------------------------

_MAX_LISTED = 100  # findings of one rule listed for the whole document


def _bounded(faults: Iterable[_Fault], url: str) -> tuple[Finding, ...]:
    """The findings listed for `faults`, within the bounds `validate_oauth_metadata` states."""
    ledger = _Ledger(url)
    for fault in faults:
        ledger.add(fault)
    return ledger.findings()


class _Ledger:
    """Lists at most MAX_REPEATS findings of a rule per object or array, _MAX_LISTED per rule.

    A fault past a bound is only counted, in its object or array when that is full, else in
    the document; each count becomes one finding of the same rule, severity and section, so
    an error is never hidden. Memory grows with the findings listed, not with the faults.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._listed: list[Finding] = []
        self._per_rule: Counter[str] = Counter()
        self._per_parent: Counter[tuple[str, tuple[str | int, ...]]] = Counter()
        self._full_parents: dict[str, set[tuple[str | int, ...]]] = {}
        self._unlisted: dict[tuple[str, tuple[str | int, ...] | None], tuple[_Fault, int]] = {}

    def add(self, fault: _Fault) -> None:
        rule_id, parent = fault.rule.id, fault.at[:-1]
        if parent in self._full_parents.get(rule_id, ()):
            self._count((rule_id, parent), fault)
        elif self._per_rule[rule_id] >= _MAX_LISTED:
            self._count((rule_id, None), fault)
        else:
            self._list(rule_id, parent, fault)

    def _list(self, rule_id: str, parent: tuple[str | int, ...], fault: _Fault) -> None:
        self._listed.append(fault.build(self._url))
        self._per_rule[rule_id] += 1
        self._per_parent[rule_id, parent] += 1
        if self._per_parent[rule_id, parent] == MAX_REPEATS:
            self._full_parents.setdefault(rule_id, set()).add(parent)

    def _count(self, key: tuple[str, tuple[str | int, ...] | None], fault: _Fault) -> None:
        first, count = self._unlisted.get(key, (fault, 0))
        self._unlisted[key] = (first, count + 1)

    def findings(self) -> tuple[Finding, ...]:
        """The findings listed, then one per object, array or rule counting those that are not."""
        counts = [
            _unlisted_count(first, count, parent, self._url)
            for (_, parent), (first, count) in self._unlisted.items()
        ]
        return (*self._listed, *counts)


def _unlisted_count(
    first: _Fault, count: int, parent: tuple[str | int, ...] | None, url: str
) -> Finding:
    if parent is None:
        where, bound = _ROOT, f"at most {_MAX_LISTED} of a rule are"
    else:
        where, bound = _Path(parent), f"the first {MAX_REPEATS} are"
    place = where.pointer or "the document"
    message = f"{count} more {first.rule.id} findings in {place} are not listed ({bound})"
    return first._replace(at=where, message=message).build(url)


# --- the report ------------------------------------------------------------------------------


def _report(document: dict[Any, Any], findings: tuple[Finding, ...]) -> OAuthMetadata:
    def text(name: str) -> str | None:
        return string_or_none(document.get(name))

    return OAuthMetadata(
        findings=findings,
        issuer=text("issuer"),
        registration_endpoint=text("registration_endpoint"),
        cds_oauth_version=text("cds_oauth_version"),
        cds_human_registration=text("cds_human_registration"),
        scopes_supported=_strings(document.get("scopes_supported")),
        service_documentation=text("service_documentation"),
        op_policy_uri=text("op_policy_uri"),
        op_tos_uri=text("op_tos_uri"),
        cds_test_accounts=text("cds_test_accounts"),
        grant_types_supported=_strings(document.get("grant_types_supported")),
        scopes=tuple(_scope_offers(document.get("cds_scope_descriptions"))),
        registration_fields=tuple(
            _registration_requirements(document.get("cds_registration_fields"))
        ),
    )


def _scope_offers(descriptions: Any) -> Iterator[ScopeOffer]:
    if not isinstance(descriptions, dict):
        return
    for key, description in descriptions.items():
        if isinstance(description, dict):
            yield ScopeOffer(
                id=str(key),
                name=string_or_none(description.get("name")),
                description=string_or_none(description.get("description")),
                documentation=string_or_none(description.get("documentation")),
                grant_types_supported=_strings(description.get("grant_types_supported")),
                coverages_supported=_strings(description.get("coverages_supported")),
                registration_requirements=_strings(description.get("registration_requirements")),
                registration_optional=_strings(description.get("registration_optional")),
            )


def _registration_requirements(fields: Any) -> Iterator[RegistrationRequirement]:
    if not isinstance(fields, dict):
        return
    for key, field in fields.items():
        if isinstance(field, dict):
            amount = field.get("amount")
            yield RegistrationRequirement(
                id=str(key),
                type=string_or_none(field.get("type")),
                description=string_or_none(field.get("description")),
                field_name=string_or_none(field.get("field_name")),
                format=string_or_none(field.get("format")),
                amount=amount if _HAS_KIND[_Kind.NUMBER](amount) else None,
                currency=string_or_none(field.get("currency")),
            )


def _strings(value: Any) -> tuple[str, ...]:
    """The distinct strings of `value`, in order; () when it is not an array."""
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(element for element in value if isinstance(element, str)))

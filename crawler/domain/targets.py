"""Seed targets: what an operator types, turned into the metadata URL that is fetched."""

from __future__ import annotations

import ipaddress
import re
import string
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import idna

WELL_KNOWN_PATH = "/.well-known/carbon-data-spec.json"
MAX_TARGET_LENGTH = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_PERCENT_ENCODED = re.compile(r"%([0-9A-Fa-f]{2})")
_MALFORMED_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# urlsplit keeps only the bracketed part of "[::1]junk" or "x[::1]": check the netloc whole.
_BRACKETED_HOST_PORT = re.compile(r"\[[^\[\]]*\](?::[^\[\]]*)?")


class InvalidTarget(ValueError):
    """The target is not a domain, an origin or an http(s) URL; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    given: str  # what the operator typed (trimmed)
    url: str  # the normalised URL to fetch


def normalise_target(raw: str) -> Target:
    """A domain or origin becomes its well-known metadata URL; a full URL is normalised
    (RFC 3986 6.2.2 syntax-based normalisation included), so equivalent URLs are equal.

    Raises InvalidTarget for anything else (empty, too long, control or invisible format
    characters, another scheme, credentials in the URL, a host that is not a valid name or
    address, an IPv6 zone id, a malformed percent-encoding).
    """
    given = _checked_text(raw)
    if "://" not in given:
        if ":" in given.split("/", 1)[0] and not given.startswith("["):
            scheme = given.split(":", 1)[0]
            if scheme.lower() in _DEFAULT_PORTS:
                raise InvalidTarget(f"{given[:80]!r} is missing // after {scheme + ':'!r}")
            if not _looks_like_host_port(given) and "." not in scheme:
                raise InvalidTarget(f"unsupported scheme {scheme!r}: use https:// (or http://)")
        return Target(given, _normalise_url("https://" + given))
    return Target(given, _normalise_url(given))


def normalise_list_url(raw: str) -> Target:
    """A remote seed list's URL: a full http(s) URL, normalised, with its own path kept.

    Raises InvalidTarget as `normalise_target` does, and for anything but a full URL.
    """
    given = _checked_text(raw)
    if "://" not in given:
        raise InvalidTarget(f"a seed list needs a full URL (https://...), not {given[:80]!r}")
    return Target(given, _normalise_url(given, empty_path="/"))


def _checked_text(raw: str) -> str:
    given = raw.strip()
    if not given:
        raise InvalidTarget("empty target")
    if len(given) > MAX_TARGET_LENGTH:
        raise InvalidTarget(f"target is {len(given)} characters long (at most {MAX_TARGET_LENGTH})")
    if _CONTROL.search(given):
        raise InvalidTarget(f"target contains control characters: {given[:80]!r}")
    if any(ch.isspace() for ch in given):
        raise InvalidTarget(f"target contains white space: {given[:80]!r}")
    for ch in given:
        category = unicodedata.category(ch)
        if category == "Cf":
            raise InvalidTarget(
                f"target contains the invisible format character U+{ord(ch):04X}: {given[:80]!r}"
            )
        if category == "Cs":  # from undecodable bytes on the command line
            raise InvalidTarget(f"target contains U+{ord(ch):04X}, which is not a character")
    return given


def _looks_like_host_port(text: str) -> bool:
    _, _, rest = text.partition(":")
    return rest.split("/", 1)[0].isdigit()


def _normalise_url(text: str, empty_path: str = WELL_KNOWN_PATH) -> str:
    try:
        parts = urlsplit(text)
        hostname = parts.hostname
    except ValueError as exc:
        raise InvalidTarget(f"{text[:80]!r} is not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidTarget(f"unsupported scheme {parts.scheme!r}: use https:// (or http://)")
    if parts.username is not None or parts.password is not None:
        raise InvalidTarget("credentials in a target URL are not accepted")
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidTarget(f"invalid port in {text[:80]!r}") from exc
    if port == 0:
        raise InvalidTarget(f"invalid port in {text[:80]!r}: 0 cannot be connected to")
    host_port = parts.netloc.rpartition("@")[2]
    bracketed = "[" in host_port or "]" in host_port
    if bracketed and not _BRACKETED_HOST_PORT.fullmatch(host_port):
        raise InvalidTarget(
            f"{host_port[:80]!r} is not a valid host: an IPv6 address in brackets"
            " may be followed only by :PORT"
        )
    host = _normalise_host(hostname or "", bracketed)
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _remove_dot_segments(_normalise_percent_encoding(parts.path))
    if path in ("", "/"):
        path = empty_path
    query = _normalise_percent_encoding(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def _normalise_percent_encoding(component: str) -> str:
    """RFC 3986 6.2.2: UTF-8 encode non-ASCII, decode unreserved, upper-case the rest."""
    malformed = _MALFORMED_PERCENT.search(component)
    if malformed:
        bad = component[malformed.start() : malformed.start() + 3]
        raise InvalidTarget(f"malformed percent-encoding {bad!r} in {component[:80]!r}")
    encoded = _NON_ASCII.sub(lambda match: quote(match.group(), safe=""), component)
    return _PERCENT_ENCODED.sub(_decoded_if_unreserved, encoded)


def _decoded_if_unreserved(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else match.group().upper()


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4 for the absolute path of a URL with an authority."""
    segments: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if segments:
                segments.pop()
        elif segment != ".":
            segments.append(segment)
    if path.endswith(("/.", "/..")):
        segments.append("")
    return "/" + "/".join(segments) if path else ""


def _normalise_host(host: str, bracketed: bool) -> str:
    if not host:
        raise InvalidTarget("target has no host")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if bracketed:
            raise InvalidTarget(f"[{host[:80]}] is not an IPv6 address") from None
        return _normalise_domain(host)
    if address.version == 6 and address.scope_id is not None:
        raise InvalidTarget(f"[{host[:80]}] has a zone id, which means nothing to a remote host")
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def _normalise_domain(host: str) -> str:
    name = host.rstrip(".").lower()
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise InvalidTarget(f"{host[:80]!r} is not a valid host name: {exc}") from exc
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise InvalidTarget(f"{host[:80]!r} is not a valid host name")
    if len(labels) < 2 and ascii_name != "localhost":
        raise InvalidTarget(f"{host[:80]!r} is not a domain (expected a name like example.com)")
    if labels[-1].isdigit():
        raise InvalidTarget(f"{host[:80]!r} is neither a domain nor an IP address")
    return ascii_name


def host_key(url: str) -> str:
    """ "host:port" of an http(s) URL (the default port spelt out): the unit of per-host
    limits and of the daemon's leases."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname or ''}:{port}"

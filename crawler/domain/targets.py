"""Seed targets: what an operator types, turned into the metadata URL that is fetched."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import idna

WELL_KNOWN_PATH = "/.well-known/carbon-data-spec.json"
MAX_TARGET_LENGTH = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class InvalidTarget(ValueError):
    """The target is not a domain, an origin or an http(s) URL; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    given: str  # what the operator typed (trimmed)
    url: str  # the normalised URL to fetch


def normalise_target(raw: str) -> Target:
    """A domain or origin becomes its well-known metadata URL; a full URL is normalised.

    Raises InvalidTarget for anything else (empty, too long, control characters, another
    scheme, credentials in the URL, a host that is not a valid name or address).
    """
    given = _checked_text(raw)
    if "://" not in given:
        if ":" in given.split("/", 1)[0] and not given.startswith("["):
            scheme = given.split(":", 1)[0]
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
    bracketed = parts.netloc.rpartition("@")[2].startswith("[")
    host = _normalise_host(hostname or "", bracketed)
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = parts.path
    if path in ("", "/"):
        path = empty_path
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def _normalise_host(host: str, bracketed: bool) -> str:
    if not host:
        raise InvalidTarget("target has no host")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if bracketed:
            raise InvalidTarget(f"[{host[:80]}] is not an IPv6 address") from None
        return _normalise_domain(host)
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

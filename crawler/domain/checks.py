"""Checks shared by the validators of metadata objects and coverage listings.

Describing JSON values in messages, RFC 3339 and RFC 3986 problems in words, citing a rule
under another section, and bounding how many findings of one rule are listed. Pure.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crawler.domain.findings import Finding, Rule


def cite(rule: Rule, section: str, url: str, pointer: str, message: str) -> Finding:
    """A finding of `rule` that cites `section` instead of the rule's own when they differ."""
    cited = rule if rule.section == section else replace(rule, section=section)
    return cited.finding(url, pointer, message)


# --- keeping the list of findings readable ---------------------------------------------------

MAX_REPEATS = 50


def cap_repeats(findings: list[Finding]) -> tuple[Finding, ...]:
    """At most MAX_REPEATS findings per rule and parent pointer, then one that counts the rest.

    The count keeps the rule, severity and section of what it replaces, so a long hostile
    array cannot hide an error or flood the store.
    """
    seen: Counter[tuple[str, str]] = Counter()
    dropped: dict[tuple[str, str], tuple[Finding, int]] = {}
    kept: list[Finding] = []
    for finding in findings:
        key = (finding.rule, _parent(finding.pointer))
        seen[key] += 1
        if seen[key] <= MAX_REPEATS:
            kept.append(finding)
        else:
            first, count = dropped.get(key, (finding, 0))
            dropped[key] = (first, count + 1)
    for (rule_id, parent), (first, count) in dropped.items():
        where = parent or "the document"
        message = (
            f"{count} more {rule_id} findings in {where} are not listed "
            f"(the first {MAX_REPEATS} are)"
        )
        kept.append(replace(first, pointer=parent, message=message))
    return tuple(kept)


def _parent(pointer: str) -> str:
    return pointer.rpartition("/")[0]


# --- describing values in messages -----------------------------------------------------------

_MAX_SHOWN = 80
_MAX_INT_BITS_SHOWN = 256  # repr() of a far longer int is slow, or refused past 4300 digits


def describe(value: Any) -> str:
    """A short phrase naming a JSON value's type and (clipped) value; never recurses."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS_SHOWN:
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, int | float):
        return f"the number {clip(repr(value))}"
    if isinstance(value, str):
        return f"the string {quote(value)}"
    if isinstance(value, list):
        return f"an array of {count(len(value), 'element')}"
    if isinstance(value, dict):
        return f"an object with {count(len(value), 'member')}"
    return f"a {type(value).__name__}"


def count(n: int, noun: str) -> str:
    """`n` and `noun`, plural unless `n` is 1."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def quote(text: str) -> str:
    """`text` clipped to about 80 characters, as a JSON string literal."""
    return json.dumps(clip(text), ensure_ascii=False)


def clip(text: str) -> str:
    """`text` cut to at most 80 characters, ending in "..." when cut."""
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def string_or_none(value: Any) -> str | None:
    """`value` when it is a string, else None."""
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


def datetime_problem(text: str) -> str:
    """Why `text`, which is not an RFC 3339 date-time, is not one, in words."""
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


def url_problem(text: str) -> str | None:
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
        return f"has the scheme {quote(scheme.group())}, expected http or https"
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
        return f"has the host {quote(host)}, which is not a host name or address"
    return _port_problem(port)


def _ip_literal_problem(host_port: str) -> str | None:
    literal, bracket, after = host_port[1:].partition("]")
    if not bracket:
        return "has a '[' that opens an IP address but no ']'"
    if not _is_ip_literal(literal):
        return f"has [{clip(literal)}], which is not an IPv6 address"
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
        return f"has the port {quote(port)}, expected digits"
    if len(port) > 5 or int(port) > _MAX_PORT:
        return f"has the port {clip(port)}, beyond {_MAX_PORT}"
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

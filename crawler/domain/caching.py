"""What a server says about when to ask again: `Cache-Control: max-age` / `Expires` (RFC 9111)
on an answer, `Retry-After` (RFC 9110 10.2.3) on a 429 or 503."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def freshness_s(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds the answer stays fresh: `max-age` (or `s-maxage`), else `Expires` minus `Date`
    (or `now`); 0 for `no-cache` / `no-store`; None when the server says nothing usable."""
    directives = _cache_control(headers.get("cache-control", ""))
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    for name in ("s-maxage", "max-age"):
        seconds = _seconds(directives.get(name))
        if seconds is not None:
            return seconds
    expires = _http_date(headers.get("expires"))
    if expires is None:
        return None if "expires" not in headers else 0.0  # an invalid date is in the past
    base = _http_date(headers.get("date")) or now
    return max(0.0, (expires - base).total_seconds())


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """The wait a `Retry-After` value asks for: delta-seconds or an HTTP-date; None when it is
    missing or unusable."""
    if value is None:
        return None
    seconds = _seconds(value.strip())
    if seconds is not None:
        return seconds
    when = _http_date(value)
    return None if when is None else max(0.0, (when - now).total_seconds())


def _cache_control(value: str) -> dict[str, str | None]:
    directives: dict[str, str | None] = {}
    for part in value.split(","):
        name, sep, argument = part.strip().partition("=")
        if name:
            directives[name.strip().lower()] = argument.strip().strip('"') if sep else None
    return directives


def _seconds(value: str | None) -> float | None:
    if value is None or not value.isdigit():
        return None
    return float(min(int(value), 2**31))


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

"""RFC 3339 `date-time` (section 5.6), strictly: the only datetime format the drafts use."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_DATE_TIME = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"[Tt](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]+))?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<off_hour>[0-9]{2}):(?P<off_minute>[0-9]{2}))"
)
_LAST_MINUTE_OF_DAY = 23 * 60 + 59


def parse_rfc3339(text: str) -> datetime | None:
    """The instant `text` names, as an aware datetime in UTC; None when it is not one.

    Accepts exactly RFC 3339 5.6 `date-time`: a 'T' (or 't') between date and time, an offset
    ('Z', 'z' or +hh:mm/-hh:mm, '-00:00' meaning UTC), fractional seconds of any length
    (truncated to microseconds). A leap second (:60) is accepted where it can occur, in the
    last minute of a UTC day, and read as 59.999999 seconds. Dates outside what `datetime`
    represents (year 0, or beyond 9999 once in UTC) give None. Never raises for a str.
    """
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        return None
    offset = _offset_minutes(match)
    if offset is None:
        return None
    try:
        local = _local_datetime(match, offset)
        return local.astimezone(UTC) if local is not None else None
    except (ValueError, OverflowError):
        return None


def _offset_minutes(match: re.Match[str]) -> int | None:
    if match["utc"] is not None:
        return 0
    hours, minutes = int(match["off_hour"]), int(match["off_minute"])
    if hours > 23 or minutes > 59:
        return None
    total = hours * 60 + minutes
    return -total if match["sign"] == "-" else total


def _local_datetime(match: re.Match[str], offset: int) -> datetime | None:
    """Raises ValueError for a calendar date or time of day that does not exist."""
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"])
    microsecond = int((match["fraction"] or "0")[:6].ljust(6, "0"))
    if second == 60:
        if (hour * 60 + minute - offset) % (24 * 60) != _LAST_MINUTE_OF_DAY:
            return None
        second, microsecond = 59, 999_999
    return datetime(
        int(match["year"]),
        int(match["month"]),
        int(match["day"]),
        hour,
        minute,
        second,
        microsecond,
        tzinfo=timezone(timedelta(minutes=offset)),
    )

"""Query parameters that need more than a type: moments, boxes, countries and cursors.

Each parser raises `BadRequest` with a message that says what was expected.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any

import orjson

from crawler.domain.countries import is_country_code
from crawler.domain.rfc3339 import parse_rfc3339


class BadRequest(Exception):
    """The request cannot be answered as asked; the message says why."""


# The days a query may name: no record predates the first, and a day after the last could
# not be counted to its end.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9999, 12, 30)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A decimal number as people write it: no underscores, no "inf" or "nan".
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def day(text: str | None, name: str) -> date | None:
    """`2025-06-30`, a day from FIRST_DAY to LAST_DAY."""
    if text is None:
        return None
    try:
        value = date.fromisoformat(text) if _DAY.fullmatch(text) else None
    except ValueError:
        value = None
    if value is None:
        raise BadRequest(f"{name} {text[:40]!r} is not a date such as 2025-06-30")
    if not FIRST_DAY <= value <= LAST_DAY:
        raise BadRequest(f"{name} {text!r} is not between {FIRST_DAY} and {LAST_DAY}")
    return value


def as_of(text: str | None) -> datetime | None:
    """`2025-06-30` (the end of that day, UTC) or an RFC 3339 date-time with an offset."""
    if text is None:
        return None
    if _DAY.fullmatch(text):
        end_of = day(text, "as_of")
        assert end_of is not None
        return datetime.combine(end_of, time.max, tzinfo=UTC)
    moment = parse_rfc3339(text)
    if moment is None:
        raise BadRequest(
            f"as_of {text[:40]!r} is neither a date (2025-06-30) nor an RFC 3339 date-time with "
            "an offset (2025-06-30T12:00:00Z)"
        )
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not FIRST_DAY <= utc.date() <= LAST_DAY:
        raise BadRequest(f"as_of {text!r} is not between {FIRST_DAY} and {LAST_DAY}")
    return moment


def country(text: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code, in either case."""
    if text is None:
        return None
    code = text.strip().upper()
    if not is_country_code(code):
        raise BadRequest(f"country {text!r} is not an ISO 3166-1 alpha-2 code such as US or DE")
    return code


def bbox(text: str, max_area: float) -> tuple[float, float, float, float]:
    """`min_lon,min_lat,max_lon,max_lat` in WGS 84 degrees, not inverted, at most `max_area`
    square degrees."""
    parts = text.split(",")
    values = [float(part) for part in parts] if all(map(_NUMBER.fullmatch, parts)) else []
    if len(values) != 4 or not all(math.isfinite(value) for value in values):
        raise BadRequest(
            f"bbox {text!r} is not four numbers min_lon,min_lat,max_lon,max_lat "
            "(for example -123.0,45.0,-122.0,46.0)"
        )
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
        raise BadRequest(f"bbox {text!r}: longitudes must lie within -180..180")
    if not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise BadRequest(f"bbox {text!r}: latitudes must lie within -90..90")
    if min_lon > max_lon or min_lat > max_lat:
        raise BadRequest(f"bbox {text!r} is inverted: give min_lon,min_lat before max_lon,max_lat")
    area = (max_lon - min_lon) * (max_lat - min_lat)
    if area > max_area:
        raise BadRequest(
            f"bbox {text!r} covers {area:g} square degrees; at most {max_area:g} are answered"
        )
    return min_lon, min_lat, max_lon, max_lat


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode("ascii").rstrip("=")


def decode_cursor(text: str | None, *types: type) -> tuple[Any, ...] | None:
    """The key a cursor of `encode_cursor` holds, checked against the expected types."""
    if text is None:
        return None
    try:
        key = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        key = None
    if (
        not isinstance(key, list)
        or len(key) != len(types)
        or not all(type(value) is kind for value, kind in zip(key, types, strict=True))
    ):
        raise BadRequest("cursor is not one this API issued; use the `next` of a previous page")
    return tuple(key)


def no_control_characters(query: Iterable[tuple[str, str]]) -> None:
    """Refuse a query parameter holding a control character (a NUL ends a pattern early in
    SQLite and is refused by Postgres, so such a value cannot be answered as asked)."""
    for name, value in query:
        if any(unicodedata.category(char) == "Cc" for char in value):
            raise BadRequest(f"query parameter {name[:40]!r} contains a control character")

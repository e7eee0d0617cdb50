"""RFC 3339 section 5.6 date-time parsing: strict, aware, normalised to UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.domain.rfc3339 import parse_rfc3339


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2022-06-01T00:00:00.000000Z", datetime(2022, 6, 1, tzinfo=UTC)),
        ("2024-01-01t12:30:45z", datetime(2024, 1, 1, 12, 30, 45, tzinfo=UTC)),
        ("2024-01-01T02:00:00+02:00", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2023-12-31T19:00:00-05:00", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T05:30:00+05:30", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T00:00:00-00:00", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T00:00:00.5Z", datetime(2024, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC)),
        ("2024-01-01T00:00:00.123456789Z", datetime(2024, 1, 1, 0, 0, 0, 123_456, tzinfo=UTC)),
        ("2024-01-01T00:00:00.9999999999Z", datetime(2024, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC)),
        ("2024-02-29T00:00:00Z", datetime(2024, 2, 29, tzinfo=UTC)),
        ("1990-12-31T23:59:60Z", datetime(1990, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
        ("1990-12-31T15:59:60-08:00", datetime(1990, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
        ("1996-12-19T16:39:57-08:00", datetime(1996, 12, 20, 0, 39, 57, tzinfo=UTC)),
    ],
)
def test_valid_date_times_are_read_as_utc(text: str, expected: datetime) -> None:
    parsed = parse_rfc3339(text)
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() is not None
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2024-01-01",  # a date alone
        "2024-01-01T00:00:00",  # no offset
        "2024-01-01 00:00:00Z",  # space instead of T
        "2024-01-01T00:00Z",  # no seconds
        "2024-01-01T00:00:00.Z",  # empty fraction
        "2024-01-01T00:00:00,5Z",  # comma fraction (ISO 8601, not RFC 3339)
        "2024-01-01T00:00:00+0200",  # offset without colon
        "2024-01-01T00:00:00+02",  # offset without minutes
        "2024-01-01T00:00:00+24:00",  # offset hour out of range
        "2024-01-01T00:00:00+02:60",  # offset minute out of range
        "20240101T000000Z",  # ISO 8601 basic format
        "2024-1-01T00:00:00Z",
        "2023-02-29T00:00:00Z",  # not a leap year
        "2024-04-31T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-00-10T00:00:00Z",
        "2024-01-00T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T23:60:00Z",
        "2024-01-01T23:59:61Z",
        "2024-01-01T12:00:60Z",  # a leap second outside the last minute of the UTC day
        "2024-01-01T23:59:60+01:00",  # 22:59:60 UTC
        "0000-01-01T00:00:00Z",  # year 0 cannot be a datetime
        "9999-12-31T23:00:00-05:00",  # beyond year 9999 once in UTC
        "0001-01-01T00:00:00+01:00",  # before year 1 once in UTC
        "2024-01-01T00:00:00Z\n",  # a trailing newline
        " 2024-01-01T00:00:00Z",
        "2024-01-01T00:00:00ZZ",
        "２０２４-01-01T00:00:00Z",  # noqa: RUF001 (non-ASCII digits)
        "2024-01-01T00:00:00.٣Z",  # Arabic-Indic digit in the fraction
    ],
)
def test_anything_else_is_none(text: str) -> None:
    assert parse_rfc3339(text) is None


def test_a_long_fraction_is_truncated_not_rounded() -> None:
    assert parse_rfc3339("2024-12-31T23:59:59.99999999Z") == datetime(
        2024, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC
    )

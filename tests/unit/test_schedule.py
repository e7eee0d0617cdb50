"""The daemon's adaptive schedule (Nutch-like) and what servers say about caching."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from crawler.domain.caching import freshness_s, retry_after_s
from crawler.domain.schedule import Cadence, Outcome, next_poll

HOUR, DAY, WEEK = 3600.0, 86400.0, 604800.0
CADENCE = Cadence(min_s=HOUR, max_s=WEEK, probe_min_s=DAY, probe_max_s=WEEK, max_retry_after_s=DAY)
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def interval(previous: float | None, outcome: Outcome, failures: int = 0, **hints: float) -> float:
    return next_poll(previous, outcome, failures, CADENCE, rng=random.Random(1), **hints).interval_s


def test_a_first_poll_is_followed_by_the_shortest_interval() -> None:
    assert interval(None, Outcome.CHANGED) == HOUR
    assert interval(None, Outcome.UNCHANGED) == HOUR


def test_unchanged_polls_lengthen_the_interval_and_a_change_shortens_it() -> None:
    assert interval(10 * HOUR, Outcome.UNCHANGED) == pytest.approx(14 * HOUR)
    assert interval(10 * HOUR, Outcome.CHANGED) == pytest.approx(8 * HOUR)


def test_the_interval_stays_within_its_bounds() -> None:
    assert interval(WEEK, Outcome.UNCHANGED) == WEEK
    assert interval(HOUR, Outcome.CHANGED) == HOUR


def test_failures_back_off_exponentially_up_to_the_longest_interval() -> None:
    assert [interval(DAY, Outcome.FAILED, n) for n in (1, 2, 3)] == [HOUR, 2 * HOUR, 4 * HOUR]
    assert interval(DAY, Outcome.FAILED, 30) == WEEK


def test_a_url_where_nothing_is_published_is_probed_daily_then_less_often() -> None:
    assert interval(None, Outcome.ABSENT) == DAY
    assert interval(DAY, Outcome.ABSENT) == pytest.approx(1.4 * DAY)
    assert interval(WEEK, Outcome.ABSENT) == WEEK


def test_max_age_and_retry_after_only_ever_lengthen_the_interval_within_bounds() -> None:
    assert interval(None, Outcome.UNCHANGED, fresh_for_s=6 * HOUR) == 6 * HOUR
    assert interval(None, Outcome.UNCHANGED, fresh_for_s=60) == HOUR
    assert interval(None, Outcome.UNCHANGED, fresh_for_s=30 * DAY) == WEEK
    assert interval(None, Outcome.FAILED, 1, retry_after_s=3 * HOUR) == 3 * HOUR
    assert interval(None, Outcome.FAILED, 1, retry_after_s=30 * DAY) == DAY  # capped


def test_jitter_spreads_targets_and_keeps_them_within_bounds() -> None:
    rng = random.Random(7)
    delays = [
        next_poll(10 * HOUR, Outcome.UNCHANGED, 0, CADENCE, rng=rng).delay_s for _ in range(200)
    ]
    assert min(delays) >= 14 * HOUR * 0.9
    assert max(delays) <= 14 * HOUR * 1.1
    assert len({round(d) for d in delays}) > 150
    at_top = [next_poll(WEEK, Outcome.UNCHANGED, 0, CADENCE, rng=rng).delay_s for _ in range(50)]
    assert max(at_top) <= WEEK
    assert min(at_top) < WEEK


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"cache-control": "public, max-age=600"}, 600.0),
        ({"cache-control": "max-age=600, s-maxage=60"}, 60.0),
        ({"cache-control": "no-cache"}, 0.0),
        ({"expires": "Sun, 01 Mar 2026 13:00:00 GMT"}, 3600.0),
        (
            {"expires": "Sun, 01 Mar 2026 13:00:00 GMT", "date": "Sun, 01 Mar 2026 12:30:00 GMT"},
            1800.0,
        ),
        ({"expires": "0"}, 0.0),
        ({"cache-control": "max-age=soon"}, None),
        ({}, None),
    ],
)
def test_freshness_comes_from_cache_control_or_expires(
    headers: dict[str, str], expected: float | None
) -> None:
    assert freshness_s(headers, NOW) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("Sun, 01 Mar 2026 12:05:00 GMT", 300.0),
        ("Sun, 01 Mar 2026 11:00:00 GMT", 0.0),
        ("-5", None),
        ("later", None),
        (None, None),
    ],
)
def test_retry_after_is_delta_seconds_or_an_http_date(
    value: str | None, expected: float | None
) -> None:
    assert retry_after_s(value, NOW) == expected

"""When a listing read may stop at its watermark, and how ids are asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from crawler.pipeline.coverage import watermark
from crawler.pipeline.spot_check import askable, ids_url
from crawler.settings import Settings
from storage.repositories.coverage_listings import ListingState

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
MARK = datetime(2026, 5, 30, tzinfo=UTC)
SETTINGS = Settings(coverage_sweep_interval=3600)


def state(
    swept_ago: float | None, *, ordered: bool = True, mark: datetime | None = MARK
) -> ListingState:
    swept = None if swept_ago is None else NOW - timedelta(seconds=swept_ago)
    return ListingState(mark, swept, swept, ordered)


def test_a_read_within_the_sweep_interval_stops_at_the_watermark() -> None:
    assert watermark(state(3599), SETTINGS, NOW) == MARK


@pytest.mark.parametrize(
    "since",
    [
        None,  # never read
        state(3600),  # a whole read is due
        state(None),  # never read whole
        state(60, ordered=False),  # out of order when last read whole
        state(60, mark=None),  # no entry had an `updated`
    ],
)
def test_otherwise_the_listing_is_read_whole(since: ListingState | None) -> None:
    assert watermark(since, SETTINGS, NOW) is None


def test_a_zero_sweep_interval_reads_every_listing_whole() -> None:
    assert watermark(state(0.001), Settings(coverage_sweep_interval=0), NOW) is None


def test_ids_are_asked_for_space_separated_beside_the_listing_s_own_query() -> None:
    url = ids_url("https://u.example/coverage?region=north", ["a", "b/c", "d&e"])
    query = parse_qs(urlsplit(url).query)
    assert query == {"region": ["north"], "ids": ["a b/c d&e"]}
    assert "%20" in url
    assert ids_url("https://u.example/coverage", ["a"]) == "https://u.example/coverage?ids=a"


@pytest.mark.parametrize(("entry_id", "expected"), [("e1", True), ("a b", False), ("", False)])
def test_only_ids_without_spaces_can_be_asked_for(entry_id: str, expected: bool) -> None:
    assert askable(entry_id) is expected

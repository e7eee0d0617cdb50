"""Garbage collection around start-up: deferred while a command starts, then settled."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from crawler import heap


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    heap._StartUp.deferred_thresholds = None


@pytest.mark.usefixtures("collector")
def test_start_up_defers_collection_and_settling_freezes_what_it_built() -> None:
    before = gc.get_threshold()
    heap.defer_collection()
    deferred = gc.get_threshold()
    built = [[n] for n in range(1000)]  # what start-up allocates
    heap.settle()

    assert deferred[0] >= 100_000
    assert deferred[1:] == before[1:]
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() >= len(built)


@pytest.mark.usefixtures("collector")
def test_settling_without_a_deferred_start_up_leaves_the_collector_alone() -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())
    heap.settle()

    assert (gc.get_threshold(), gc.get_freeze_count()) == before


@pytest.mark.usefixtures("collector")
def test_settling_twice_freezes_once() -> None:
    heap.defer_collection()
    heap.settle()
    frozen = gc.get_freeze_count()
    _later = [[n] for n in range(1000)]
    heap.settle()

    assert gc.get_freeze_count() == frozen

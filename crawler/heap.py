"""Garbage collection in a process that builds a large, long-lived heap while it starts.

Importing SQLAlchemy, httpx, pydantic and the crawler creates a few hundred thousand objects
that live as long as the process. CPython's collector traverses all of them again on every
full collection: in a crawl of a thousand servers that cost about a tenth of the crawl's
time, and about a fifth of a second more while importing and at exit. So `defer_collection`
(when a command starts) makes collections rare while it imports what it needs, and `settle`
(when its work begins) moves what start-up built out of the collector's sight with
`gc.freeze` and restores the usual pace for what the work itself allocates. Without
`defer_collection` first, `settle` does nothing, so a process that merely calls the commands
(a test) keeps its own collector as it is.
"""

from __future__ import annotations

import gc

_START_UP_THRESHOLD = 100_000  # allocations between young collections while starting


class _StartUp:
    deferred_thresholds: tuple[int, int, int] | None = None


def defer_collection() -> None:
    if _StartUp.deferred_thresholds is None:
        _StartUp.deferred_thresholds = gc.get_threshold()
        young, *older = _StartUp.deferred_thresholds
        gc.set_threshold(max(young, _START_UP_THRESHOLD), *older)


def settle() -> None:
    thresholds, _StartUp.deferred_thresholds = _StartUp.deferred_thresholds, None
    if thresholds is not None:
        gc.freeze()
        gc.set_threshold(*thresholds)

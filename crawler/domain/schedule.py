"""When to poll a metadata URL again, in the manner of Nutch's adaptive fetch schedule: sooner
after a change, later after an unchanged poll, exponentially later after failures, on a slow
cadence while nothing is published there; always within bounds, and jittered so that
thousands of targets never fall due in the same second."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawler.settings import Settings

INCREASE = 0.4  # an unchanged poll lengthens the interval by 40% (Nutch's inc_rate)
DECREASE = 0.2  # a change shortens it by 20% (Nutch's dec_rate)
JITTER = 0.1  # +-10%


class Outcome(StrEnum):
    CHANGED = "changed"  # a new version (or the first one)
    UNCHANGED = "unchanged"  # the same content, or a 304; also what is not a failure
    FAILED = "failed"  # unreachable: the network, a timeout, a 5xx or 429
    ABSENT = "absent"  # nothing published there (404, 410)


@dataclass(frozen=True, slots=True)
class Cadence:
    """The bounds of every interval, in seconds."""

    min_s: float
    max_s: float
    probe_min_s: float  # while nothing is published at the URL
    probe_max_s: float
    max_retry_after_s: float  # the longest pause a Retry-After may ask for

    @classmethod
    def of(cls, settings: Settings) -> Cadence:
        return cls(
            settings.poll_min_interval,
            settings.poll_max_interval,
            settings.probe_min_interval,
            settings.probe_max_interval,
            settings.max_retry_after,
        )


@dataclass(frozen=True, slots=True)
class Next:
    interval_s: float  # the interval the next one builds on (unjittered)
    delay_s: float  # until the next poll (jittered)


def next_poll(
    previous_s: float | None,
    outcome: Outcome,
    failures: int,
    cadence: Cadence,
    *,
    fresh_for_s: float | None = None,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> Next:
    """The next interval after a poll with `outcome`, the target's `failures`-th consecutive
    failure (when it failed), `previous_s` being the interval that led to it (None for a
    first poll). A server's `Cache-Control: max-age` / `Expires` (`fresh_for_s`) and
    `Retry-After` only ever lengthen the interval, within the bounds."""
    low, high = cadence.min_s, cadence.max_s
    if outcome is Outcome.ABSENT:
        low, high = cadence.probe_min_s, cadence.probe_max_s
        interval = low if previous_s is None else previous_s * (1 + INCREASE)
    elif outcome is Outcome.FAILED:
        interval = low * 2.0 ** max(0, failures - 1)
        if retry_after_s is not None:
            interval = max(interval, min(retry_after_s, cadence.max_retry_after_s))
    elif previous_s is None:
        interval = low
    elif outcome is Outcome.CHANGED:
        interval = previous_s * (1 - DECREASE)
    else:
        interval = previous_s * (1 + INCREASE)
    if fresh_for_s is not None and outcome is not Outcome.FAILED:
        interval = max(interval, fresh_for_s)
    interval = min(max(interval, low), high)
    return Next(interval, _jittered(interval, low, high, rng or random.Random()))


def _jittered(interval: float, low: float, high: float, rng: random.Random) -> float:
    """`interval` moved by up to +-JITTER, kept within the bounds: at a bound it moves only
    inwards, so that targets at the bound spread out too."""
    lowest = max(low, interval * (1 - JITTER))
    highest = min(high, interval * (1 + JITTER))
    return rng.uniform(lowest, highest) if highest > lowest else interval

"""When a sink tries a failed batch again."""

from __future__ import annotations

# Seconds to wait after each failed attempt at a batch, before it is dead-lettered: from
# seconds to a day, as webhook senders commonly do.
DEFAULT_RETRY_SCHEDULE: tuple[float, ...] = (
    5.0,
    30.0,
    120.0,
    600.0,
    1800.0,
    7200.0,
    18000.0,
    43200.0,
    86400.0,
)

"""What a crawl's change events cost on their own, measured in process: building them with
the crawler's event builders from the changes a crawl saw (JSON Patches, territory
differences), and appending them to the outbox of a fresh database."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crawler.domain.events import Event


@dataclass(frozen=True, slots=True)
class ServerChange:
    """What changed at one server between two crawls."""

    url: str
    old_document: dict[str, Any]
    new_document: dict[str, Any]
    added: dict[str, Any]  # a new entry
    old_entry: dict[str, Any]  # an entry whose fields changed, before
    new_entry: dict[str, Any]  # ... and after
    territory_entry_id: str  # the entry whose territory changed
    old_territory: dict[str, Any]  # its GeoJSON before
    new_territory: dict[str, Any]  # ... and after
    removed_entry_id: str


@dataclass(frozen=True, slots=True)
class EventsCost:
    events: int
    build_s: float  # building every event
    write_s: float  # appending them, one transaction per server


def build_events(changes: list[ServerChange]) -> tuple[list[list[Event]], float]:
    """Each server's events, built as the crawler builds them, and the seconds that took (the
    stored territory's WKB read back included, as the crawler reads it for the difference)."""
    from crawler.domain import events
    from crawler.domain.territory import read_territory, territory_from_wkb

    at = datetime.now(UTC)
    inputs = []
    for change in changes:
        old = read_territory(change.old_territory, change.url).territory
        new = read_territory(change.new_territory, change.url).territory
        if old is None or new is None:
            raise ValueError(f"a territory of {change.url} is not usable")
        inputs.append((change, old.wkb, new))
    start = time.perf_counter()
    built = [
        [
            events.server_changed(change.url, 2, change.old_document, change.new_document, at),
            events.entry_added(change.url, change.added["id"], 1, change.added, at),
            events.entry_changed(
                change.url, change.old_entry["id"], 2, change.old_entry, change.new_entry, at
            ),
            events.entry_territory_changed(
                change.url, change.territory_entry_id, 2, territory_from_wkb(old_wkb), new, at
            ),
            events.entry_removed(change.url, change.removed_entry_id, 1, at),
        ]
        for change, old_wkb, new in inputs
    ]
    return built, time.perf_counter() - start


def write_events(database_url: str, per_server: list[list[Event]]) -> float:
    """Seconds to append each server's events to the outbox of the empty database at
    `database_url`, one transaction per server (the crawler writes many servers' polls per
    transaction, so this overstates its cost)."""
    return asyncio.run(_write(database_url, per_server))


async def _write(database_url: str, per_server: list[list[Event]]) -> float:
    from crawler.pipeline.outbox import Outbox
    from storage.engine import create_engine
    from storage.migrate import upgrade

    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        start = time.perf_counter()
        for server_events in per_server:
            outbox = Outbox()
            for event in server_events:
                outbox.add(event, None, None)
            async with engine.begin() as conn:
                await outbox.flush(conn)
        return time.perf_counter() - start
    finally:
        await engine.dispose()


def measure(database_url: str, changes: list[ServerChange]) -> EventsCost:
    """Build the events of `changes` and write them to the empty database at `database_url`."""
    built, build_s = build_events(changes)
    write_s = write_events(database_url, built)
    return EventsCost(sum(len(server) for server in built), build_s, write_s)

"""Change events as CloudEvents 1.0 (interface.md, "Event types").

An event's id is derived from what changed (the server, the entry, the version it made), so
the same change always carries the same id: an event written twice is stored once, and a
receiver that gets it twice can tell.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crawler.domain.diff import describe_changes, json_patch

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from crawler.domain.territory import Territory

SERVER_DISCOVERED = "cds.server.discovered"
SERVER_CHANGED = "cds.server.changed"
SERVER_MOVED = "cds.server.moved"
ENTRY_ADDED = "cds.coverage.entry.added"
ENTRY_CHANGED = "cds.coverage.entry.changed"
ENTRY_REMOVED = "cds.coverage.entry.removed"

SOURCE = "urn:cds-crawler"
_NAMESPACE = uuid.UUID("5b0c4bb4-6a3e-4d8e-9f4b-0c2d8a0b6e51")


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    subject: str
    time: datetime
    data: dict[str, Any]
    key: str  # what makes this change this change, and no other

    @property
    def event_id(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{self.type}\n{self.key}"))


def cloudevent(
    sequence: int, event_id: str, type_: str, subject: str, time: datetime, data: Any
) -> dict[str, Any]:
    """The CloudEvents 1.0 JSON form of a stored event; `sequence` is its place in the
    database's order (the extension attribute `events --after` pages by)."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": SOURCE,
        "type": type_,
        "subject": subject,
        "time": time.isoformat(),
        "datacontenttype": "application/json",
        "sequence": sequence,
        "data": data,
    }


def server_discovered(url: str, version: int, document: Any, at: datetime) -> Event:
    data = {"url": url, "version": version, "name": _name(document)}
    return Event(SERVER_DISCOVERED, url, at, data, f"{url}\n{version}")


def server_changed(url: str, version: int, old: Any, new: Any, at: datetime) -> Event:
    data = {
        "url": url,
        "version": version,
        "previous_version": version - 1,
        "name": _name(new),
        "changes": describe_changes(old, new),
        "patch": json_patch(old, new),
    }
    return Event(SERVER_CHANGED, url, at, data, f"{url}\n{version}")


def server_moved(url: str, to: str, at: datetime) -> Event:
    return Event(SERVER_MOVED, url, at, {"url": url, "to": to}, f"{url}\n{to}\n{at.isoformat()}")


def server_availability(type_: str, url: str, reason: str, at: datetime) -> Event:
    """cds.server.unreachable, .recovered or .removed: the server's availability changed."""
    data = {"url": url, "reason": reason}
    return Event(type_, url, at, data, f"{url}\n{at.isoformat()}")


def entry_added(url: str, entry_id: str, version: int, model: Any, at: datetime) -> Event:
    data = {"url": url, "entry_id": entry_id, "version": version, "entry": model}
    subject = _entry_subject(url, entry_id)
    return Event(ENTRY_ADDED, subject, at, data, f"{subject}\n{version}")


def entry_changed(url: str, entry_id: str, version: int, old: Any, new: Any, at: datetime) -> Event:
    data = {
        "url": url,
        "entry_id": entry_id,
        "version": version,
        "previous_version": version - 1,
        "changes": describe_changes(old, new),
        "patch": json_patch(old, new),
    }
    subject = _entry_subject(url, entry_id)
    return Event(ENTRY_CHANGED, subject, at, data, f"{subject}\n{version}")


def entry_territory_changed(
    url: str,
    entry_id: str,
    territory_version: int,
    old: BaseGeometry,
    new: Territory,
    at: datetime,
) -> Event:
    """The entry's territory (its GeoJSON resource) now covers another area."""
    # shapely loads only when a territory changes: a crawl without coverage never needs it
    import shapely

    from crawler.domain.territory import spherical_area_km2

    old_km2 = spherical_area_km2(old)
    moved_km2 = spherical_area_km2(shapely.symmetric_difference(old, new.geometry))
    data = {
        "url": url,
        "entry_id": entry_id,
        "territory": {
            "version": territory_version,
            "area_km2": round(new.area_km2, 3),
            "previous_area_km2": round(old_km2, 3),
            "symmetric_difference_km2": round(moved_km2, 3),
            "relative_change": round(moved_km2 / old_km2, 6) if old_km2 else None,
        },
    }
    subject = _entry_subject(url, entry_id)
    return Event(ENTRY_CHANGED, subject, at, data, f"{subject}\nterritory\n{territory_version}")


def entry_removed(url: str, entry_id: str, last_version: int, at: datetime) -> Event:
    data = {"url": url, "entry_id": entry_id, "last_version": last_version}
    subject = _entry_subject(url, entry_id)
    return Event(ENTRY_REMOVED, subject, at, data, f"{subject}\n{last_version}")


def _entry_subject(url: str, entry_id: str) -> str:
    return f"{url}#{entry_id}"


def _name(document: Any) -> Any:
    return document.get("name") if isinstance(document, dict) else None

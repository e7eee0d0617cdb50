"""What a poll read beyond the metadata document and its listing, and how it is stored:
each entry's territory, the map checks, and the OAuth metadata.

Stored like coverage entries: a version per distinct content, valid from one time to another.
A resource that could not be read leaves its stored version as it is; one the document (or a
complete listing) no longer links is closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crawler.domain import events
from crawler.domain.findings import Finding
from crawler.pipeline.oauth import OAuthRead
from crawler.pipeline.outbox import Outbox
from crawler.pipeline.territories import TerritoryRead
from storage.repositories import history, snapshots
from storage.repositories import territories as territory_rows
from storage.repositories.history import StoredResource
from storage.schema import oauth_metadata, territories


@dataclass(frozen=True, slots=True)
class Linked:
    stored_territories: dict[str, StoredResource]  # by entry id, as they were before this poll
    territories: tuple[TerritoryRead, ...]
    listing_complete: bool  # entries missing from the listing have left it
    listed: frozenset[str]  # the entry ids the listing holds (when it was read)
    map_findings: tuple[Finding, ...]
    stored_oauth: StoredResource | None
    oauth: OAuthRead | None  # None: the document links no OAuth metadata (any stored closes)
    removed: frozenset[str] = frozenset()  # entry ids found gone by a spot check

    @property
    def writes_nothing(self) -> bool:
        """Nothing was stored before and nothing read now: the write would change nothing."""
        return not (self.stored_territories or self.territories or self.stored_oauth or self.oauth)

    @property
    def findings(self) -> tuple[Finding, ...]:
        territory = tuple(f for read in self.territories for f in read.findings)
        oauth = self.oauth.findings if self.oauth else ()
        return territory + self.map_findings + oauth


@dataclass(frozen=True, slots=True)
class LinkedWrite:
    server_id: int
    url: str  # the metadata URL (the subject of the events)
    at: datetime
    crawl_id: int | None
    linked: Linked


async def write_linked(
    conn: AsyncConnection, writes: Sequence[LinkedWrite], outbox: Outbox
) -> None:
    server_ids = [write.server_id for write in writes]
    plan = _Plan(
        await history.last_versions(conn, territories, server_ids, "entry_id"),
        await history.last_versions(conn, oauth_metadata, server_ids),
    )
    for write in writes:
        plan.territories(write)
        plan.oauth(write)
    await snapshots.store_documents(conn, plan.documents)
    await _territory_events(conn, plan.replaced, outbox)
    for table, closing, rows, confirming in (
        (territories, plan.territories_closed, plan.territory_rows, plan.territories_confirmed),
        (oauth_metadata, plan.oauth_closed, plan.oauth_rows, plan.oauth_confirmed),
    ):
        await history.close(conn, table, closing)
        await history.add(conn, table, rows)
        await history.confirm(conn, table, confirming)


class _Plan:
    """The rows a batch writes, gathered before any statement runs."""

    def __init__(
        self, last_territory: dict[tuple[Any, ...], int], last_oauth: dict[tuple[Any, ...], int]
    ) -> None:
        self.last_territory = last_territory  # version numbers go on after closed versions too
        self.last_oauth = last_oauth
        self.documents: list[dict[str, Any]] = []
        self.territory_rows: list[dict[str, Any]] = []
        self.territories_closed: list[tuple[int, datetime]] = []
        self.territories_confirmed: list[tuple[int, dict[str, Any]]] = []
        self.oauth_rows: list[dict[str, Any]] = []
        self.oauth_closed: list[tuple[int, datetime]] = []
        self.oauth_confirmed: list[tuple[int, dict[str, Any]]] = []
        self.replaced: list[tuple[LinkedWrite, TerritoryRead, int, int]] = []  # ..., old row

    def territories(self, write: LinkedWrite) -> None:
        linked, at = write.linked, write.at
        read_for = {read.entry_id: read for read in linked.territories}
        for entry_id, old in linked.stored_territories.items():
            gone = entry_id in linked.removed or (
                linked.listing_complete and entry_id not in linked.listed
            )
            unmapped = entry_id in linked.listed and entry_id not in read_for
            if gone or unmapped:
                self.territories_closed.append((old.row_id, at))
        for read in linked.territories:
            stored = linked.stored_territories.get(read.entry_id)
            if read.not_modified and stored is not None:
                self.territories_confirmed.append((stored.row_id, _confirmed(at, read)))
            elif read.territory is None:
                continue  # nothing usable this time: the stored territory stands
            elif stored is not None and stored.sha256 == read.territory.sha256:
                self.territories_confirmed.append((stored.row_id, _confirmed(at, read)))
            else:
                version = self.last_territory.get((write.server_id, read.entry_id), 0) + 1
                if stored is not None:
                    self.territories_closed.append((stored.row_id, at))
                    self.replaced.append((write, read, version, stored.row_id))
                self.territory_rows.append(_territory_row(write, read, version))

    def oauth(self, write: LinkedWrite) -> None:
        linked, at = write.linked, write.at
        stored, read = linked.stored_oauth, linked.oauth
        if read is None:
            if stored is not None:
                self.oauth_closed.append((stored.row_id, at))
            return
        if read.not_modified and stored is not None:
            self.oauth_confirmed.append((stored.row_id, _confirmed(at, read)))
            return
        document = read.document
        if document is None:
            return  # nothing usable this time: the stored version stands
        if stored is not None and stored.sha256 == document.sha256 and stored.url == read.link.url:
            self.oauth_confirmed.append((stored.row_id, _confirmed(at, read)))
            return
        if stored is not None:
            self.oauth_closed.append((stored.row_id, at))
        self.documents.append(
            {
                "sha256": document.sha256,
                "content": document.content,
                "size_bytes": document.size_bytes,
                "first_seen_at": at,
            }
        )
        self.oauth_rows.append(
            {
                "server_id": write.server_id,
                "version": self.last_oauth.get((write.server_id,), 0) + 1,
                "url": read.link.url,
                "well_known": read.link.well_known,
                "document_sha256": document.sha256,
                "valid": document.metadata.valid,
                "summary": document.metadata.summary(),
                "findings": [f.to_json() for f in read.findings],
                **_validity(write, read),
            }
        )


def _confirmed(at: datetime, read: TerritoryRead | OAuthRead) -> dict[str, Any]:
    return {
        "last_confirmed_at": at,
        "etag": read.etag,
        "last_modified": read.last_modified,
        "findings": [f.to_json() for f in read.findings],
    }


def _validity(write: LinkedWrite, read: TerritoryRead | OAuthRead) -> dict[str, Any]:
    return {
        "etag": read.etag,
        "last_modified": read.last_modified,
        "valid_from": write.at,
        "valid_to": None,
        "last_confirmed_at": write.at,
        "crawl_id": write.crawl_id,
    }


def _territory_row(write: LinkedWrite, read: TerritoryRead, version: int) -> dict[str, Any]:
    territory = read.territory
    assert territory is not None
    return {
        "server_id": write.server_id,
        "entry_id": read.entry_id,
        "version": version,
        "url": read.url,
        "sha256": territory.sha256,
        "geometry": territory.wkb,
        "min_lon": territory.min_lon,
        "min_lat": territory.min_lat,
        "max_lon": territory.max_lon,
        "max_lat": territory.max_lat,
        "area_km2": territory.area_km2,
        "vertices": territory.vertices,
        "findings": [f.to_json() for f in read.findings],
        **_validity(write, read),
    }


async def _territory_events(
    conn: AsyncConnection,
    replaced: Sequence[tuple[LinkedWrite, TerritoryRead, int, int]],
    outbox: Outbox,
) -> None:
    """An entry whose territory now covers another area has changed (issue: exact change
    detection): the event says by how much, as the symmetric difference."""
    if not replaced:
        return
    # shapely loads only when a territory changes: a crawl without coverage never needs it
    from crawler.domain.territory import territory_from_wkb

    old = await territory_rows.geometries(conn, [old_row for *_, old_row in replaced])
    for write, read, version, old_row in replaced:
        assert read.territory is not None
        event = events.entry_territory_changed(
            write.url,
            read.entry_id,
            version,
            territory_from_wkb(old[old_row]),
            read.territory,
            write.at,
        )
        outbox.add(event, write.server_id, write.crawl_id)

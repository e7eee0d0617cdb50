"""Territories: the geometry of each coverage entry's GeoJSON resource, one row per version."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.repositories.history import StoredResource
from storage.schema import coverage_entries, servers, territories


async def current(
    conn: AsyncConnection, server_ids: Sequence[int]
) -> dict[int, dict[str, StoredResource]]:
    """The current territory of every entry of these servers, by server and entry id."""
    found: dict[int, dict[str, StoredResource]] = {sid: {} for sid in server_ids}
    if not server_ids:
        return found
    t = territories.c
    query = select(
        t.id,
        t.server_id,
        t.entry_id,
        t.url,
        t.sha256,
        t.etag,
        t.last_modified,
        t.findings,
    ).where(t.server_id.in_(list(server_ids)), t.valid_to.is_(None))
    for row in await conn.execute(query):
        found[row.server_id][row.entry_id] = StoredResource.from_row(row, row.sha256)
    return found


@dataclass(frozen=True, slots=True)
class AuthoritativeTerritory:
    server_id: int
    server_url: str
    entry_id: str
    commodity_types: tuple[str, ...]
    wkb: bytes
    area_km2: float


async def authoritative(conn: AsyncConnection) -> list[AuthoritativeTerritory]:
    """The current territory of every current entry whose role is authoritative."""
    e, t = coverage_entries.c, territories.c
    query = (
        select(t.server_id, servers.c.url, t.entry_id, e.model, t.geometry, t.area_km2)
        .select_from(territories)
        .join(
            coverage_entries,
            and_(e.server_id == t.server_id, e.entry_id == t.entry_id, e.valid_to.is_(None)),
        )
        .join(servers, servers.c.id == t.server_id)
        .where(t.valid_to.is_(None), e.role == "authoritative")
        .order_by(t.id)
    )
    return [
        AuthoritativeTerritory(
            server_id=row.server_id,
            server_url=row.url,
            entry_id=row.entry_id,
            commodity_types=tuple(row.model.get("commodity_types") or ()),
            wkb=row.geometry,
            area_km2=row.area_km2,
        )
        for row in await conn.execute(query)
    ]


async def geometries(conn: AsyncConnection, row_ids: Sequence[int]) -> dict[int, bytes]:
    """The WKB of these territory versions, by row id."""
    if not row_ids:
        return {}
    query = select(territories.c.id, territories.c.geometry).where(
        territories.c.id.in_(list(row_ids))
    )
    return {row.id: bytes(row.geometry) for row in await conn.execute(query)}

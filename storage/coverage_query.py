"""Coverage questions of the API: what covers a point or meets a box, now or at a past
moment, answered from the version history of entries and territories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from storage.reader import Reader
from storage.readmodel import entry_json, entry_rows, in_effect, iso, territory_summary
from storage.territory_index import TerritoryIndex, entries_at


@dataclass(frozen=True, slots=True)
class EntryFilters:
    """Each given filter narrows the entries."""

    role: str | None = None
    type: str | None = None
    country: str | None = None
    commodity: str | None = None
    infrastructure: str | None = None
    capability: str | None = None

    def admit(self, entry: dict[str, Any]) -> bool:
        scalars = {"role": self.role, "type": self.type, "country": self.country}
        arrays = {
            "commodity_types": self.commodity,
            "infrastructure_types": self.infrastructure,
            "capabilities": self.capability,
        }
        return all(
            wanted is None or entry.get(key) == wanted for key, wanted in scalars.items()
        ) and all(
            wanted is None or wanted in (entry.get(key) or []) for key, wanted in arrays.items()
        )


def _in_effect_at(reader: Reader, as_of: datetime | None) -> tuple[str, dict[str, Any]]:
    entries, params = in_effect(reader, "c", as_of)
    territories, _ = in_effect(reader, "t", as_of)
    return f"{entries} AND {territories}", params


def _meeting(reader: Reader, shape: BaseGeometry, as_of: datetime | None) -> list[dict[str, Any]]:
    """Entries whose territory in effect meets `shape`: a bounding-box filter in SQL, then
    the exact test on the few territories left."""
    current, params = _in_effect_at(reader, as_of)
    min_lon, min_lat, max_lon, max_lat = shape.bounds
    rows = entry_rows(
        reader,
        f"{current} AND t.min_lon <= :max_lon AND t.max_lon >= :min_lon "
        "AND t.min_lat <= :max_lat AND t.max_lat >= :min_lat",
        {**params, "min_lon": min_lon, "min_lat": min_lat, "max_lon": max_lon, "max_lat": max_lat},
        geometry=True,
    )
    geometries = shapely.from_wkb([bytes(row["geometry"]) for row in rows])
    return [
        entry_json(reader, row)
        for row, geometry in zip(rows, geometries, strict=True)
        if geometry.intersects(shape)
    ]


def covering_point(
    reader: Reader,
    lat: float,
    lon: float,
    as_of: datetime | None = None,
    index: TerritoryIndex | None = None,
) -> list[dict[str, Any]]:
    """Entries whose territory contains the point (or has it on its border), now or at
    `as_of`; `index` answers the current question from memory."""
    if as_of is None and index is not None:
        return entries_at(reader, index, lat, lon)
    return _meeting(reader, shapely.Point(lon, lat), as_of)


def meeting_box(
    reader: Reader,
    box: tuple[float, float, float, float],
    as_of: datetime | None = None,
) -> list[dict[str, Any]]:
    """Entries whose territory intersects the box (min lon, min lat, max lon, max lat)."""
    return _meeting(reader, shapely.box(*box), as_of)


def entry_detail(
    reader: Reader, server_id: int, entry_id: str, as_of: datetime | None = None
) -> dict[str, Any] | None:
    """One entry now (or at `as_of`): as published, as mapped, with its territory's GeoJSON
    geometry (null when it has none)."""
    current, params = in_effect(reader, "c", as_of)
    territory_current, _ = in_effect(reader, "t", as_of)
    rows = reader.rows(
        f"""
        SELECT c.content, c.model, c.version, c.valid, c.valid_from, c.valid_to,
               c.last_confirmed_at, t.url AS territory_url, t.version AS territory_version,
               t.area_km2, t.vertices, t.min_lon, t.min_lat, t.max_lon, t.max_lat, t.geometry,
               t.findings AS territory_findings
        FROM coverage_entries c
        LEFT JOIN territories t ON t.server_id = c.server_id AND t.entry_id = c.entry_id
             AND {territory_current}
        WHERE c.server_id = :server_id AND c.entry_id = :entry_id AND {current}
        """,
        {**params, "server_id": server_id, "entry_id": entry_id},
    )
    if not rows:
        return None
    row = rows[0]
    territory = territory_summary(row)
    if territory is not None:
        geometry = shapely.from_wkb(bytes(row["geometry"]))
        territory["findings"] = reader.json(row["territory_findings"])
        territory["geometry"] = reader.json(shapely.to_geojson(geometry))
    return {
        "entry_id": entry_id,
        "version": row["version"],
        "valid": bool(row["valid"]),
        "first_seen": iso(reader.timestamp(row["valid_from"])),
        "until": iso(reader.timestamp(row["valid_to"])),
        "last_confirmed_at": iso(reader.timestamp(row["last_confirmed_at"])),
        "published": reader.json(row["content"]),
        "model": reader.json(row["model"]),
        "territory": territory,
    }

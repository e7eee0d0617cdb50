"""Which current territories contain a point: an STRtree, rebuilt only when they change."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import shapely
from shapely import STRtree

from storage.reader import Reader
from storage.readmodel import entries_with_territories

_GENERATION = "SELECT count(*) AS n, max(id) AS last FROM territories WHERE valid_to IS NULL"


class TerritoryIndex:
    """A spatial index over the current territories (`valid_to` null) of one database.

    `refresh` costs one small query when nothing changed: a new version raises the highest
    current row id, and a closed one lowers the count, so either rebuilds the tree. With
    `recheck_s`, it asks at most that often (answers may then lag a crawl by as much).
    """

    def __init__(self, recheck_s: float = 0.0) -> None:
        self._recheck_s = recheck_s  # a server answering many points checks at most this often
        self._checked_at = -math.inf
        self._generation: tuple[Any, ...] | None = None
        self._tree: STRtree | None = None
        self._row_ids: np.ndarray[Any, np.dtype[np.int64]] = np.empty(0, dtype=np.int64)

    def refresh(self, reader: Reader) -> None:
        now = time.monotonic()
        if self._tree is not None and now - self._checked_at < self._recheck_s:
            return
        self._checked_at = now
        row = reader.rows(_GENERATION)[0]
        generation = (row["n"], row["last"])
        if generation == self._generation:
            return
        rows = reader.rows(
            "SELECT id, geometry FROM territories WHERE valid_to IS NULL ORDER BY id"
        )
        geometries = shapely.from_wkb([bytes(r["geometry"]) for r in rows])
        self._row_ids = np.array([r["id"] for r in rows], dtype=np.int64)
        self._tree = STRtree(geometries)
        self._generation = generation

    def containing(self, lon: float, lat: float) -> list[int]:
        """The row ids of the territories that contain the point or have it on their border."""
        if self._tree is None or not len(self._row_ids):
            return []
        hits = self._tree.query(shapely.Point(lon, lat), predicate="intersects")
        return sorted(int(row_id) for row_id in self._row_ids[hits])


def entries_at(
    reader: Reader, index: TerritoryIndex, lat: float, lon: float
) -> list[dict[str, Any]]:
    """`coverage --at LAT,LON`: the current entries whose current territory contains the point."""
    index.refresh(reader)
    return entries_with_territories(reader, index.containing(lon, lat))

"""GeoJSON for tests, and an even-odd point-in-polygon test written without shapely, so
that expected answers are computed independently of the code under test."""

from __future__ import annotations

import itertools
from typing import Any

Ring = list[tuple[float, float]]  # (lon, lat), closed


def box(west: float, south: float, east: float, north: float) -> Ring:
    return [(west, south), (east, south), (east, north), (west, north), (west, south)]


def polygon(*rings: Ring) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring] for ring in rings]}


def multipolygon(*polygons: list[Ring]) -> dict[str, Any]:
    coordinates = [[[list(p) for p in ring] for ring in rings] for rings in polygons]
    return {"type": "MultiPolygon", "coordinates": coordinates}


def feature(geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "properties": {}, "geometry": geometry}


def inside(lon: float, lat: float, ring: Ring) -> bool:
    crossings = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            crossings = not crossings
    return crossings


def covers(polygons: list[list[Ring]], lon: float, lat: float) -> bool:
    return any(
        inside(lon, lat, rings[0]) and not any(inside(lon, lat, hole) for hole in rings[1:])
        for rings in polygons
    )

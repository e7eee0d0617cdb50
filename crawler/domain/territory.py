"""Coverage territories: the area a coverage entry's `geojson_resource` maps (CDSC-WG1-01 4.3).

`read_territory` reads a parsed GeoJSON document (RFC 7946) into one areal geometry, the union
of every Polygon and MultiPolygon in it, with findings about how it was published. The result
is normalised (snapped to a 1e-7 degree grid, about 1 cm, then put in GEOS normal form), so a
territory republished with float noise, another ring start or orientation, or repeated
vertices keeps its WKB and hash. Pure.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely import affinity
from shapely.errors import GEOSException
from shapely.geometry import GeometryCollection, MultiPolygon, Polygon, box

from crawler.domain import rules
from crawler.domain.checks import MAX_REPEATS, cite, clip, count, describe, quote

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt
    from shapely.geometry.base import BaseGeometry

    from crawler.domain.findings import Finding, Rule

    Ring = npt.NDArray[np.float64]  # (n, 2): longitude, latitude

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
GRID_DEGREES = 1e-7  # about 1 cm: the precision territories are compared at
MAX_NESTING = 8  # GeometryCollections within GeometryCollections
# Repairing a self-intersecting ring costs far more than reading it (a 5-million-vertex
# zig-zag took gigabytes); an invalid polygon with more vertices than this is skipped.
MAX_REPAIR_VERTICES = 100_000


@dataclass(frozen=True, slots=True)
class Territory:
    """A coverage territory: a valid 2-D (Multi)Polygon in WGS 84 longitude/latitude degrees.

    `sha256` is the hex SHA-256 of `wkb` (little-endian WKB of the normalised geometry).
    `area_km2` is the area on a sphere of radius EARTH_RADIUS_KM.
    """

    geometry: Polygon | MultiPolygon
    wkb: bytes
    sha256: str
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    area_km2: float
    vertices: int

    def summary(self) -> dict[str, Any]:
        """The territory's size and extent, JSON-ready."""
        return {
            "area_km2": float(f"{self.area_km2:.6g}"),
            "bbox": [self.min_lon, self.min_lat, self.max_lon, self.max_lat],
            "vertices": self.vertices,
            "geometry_type": self.geometry.geom_type,
        }


@dataclass(frozen=True, slots=True)
class TerritoryRead:
    """What `read_territory` read: the territory (None when no area was usable) and findings."""

    territory: Territory | None
    findings: tuple[Finding, ...]


def read_territory(document: Any, url: str) -> TerritoryRead:
    """Read `document`, the parsed GeoJSON fetched from `url`, into a coverage territory.

    Feature, FeatureCollection, Polygon, MultiPolygon and GeometryCollection documents are
    read; the territory is the union of their polygons. Other geometries, null geometries and
    malformed polygons are skipped with a finding, invalid polygons are repaired, polygons
    crossing the antimeridian are cut there. No territory is read when the document is not
    GeoJSON, when any position lies outside WGS 84's ranges (the whole document is suspect),
    or when no area remains; an error finding says which.

    Findings point into `document` (RFC 6901) and are bounded: at most MAX_REPEATS per rule,
    then one counting the rest. Time and memory are linear in the size of the document.
    Never raises; pure.
    """
    report = _Report(url)
    with np.errstate(all="ignore"):  # GEOS meets subnormal numbers in hostile coordinates
        territory = _read(document, report)
    return TerritoryRead(territory=territory, findings=report.findings())


def territory_from_wkb(wkb: bytes) -> Polygon | MultiPolygon:
    """The geometry stored as a `Territory.wkb`; raises ValueError if it holds anything else."""
    geometry = shapely.from_wkb(wkb)
    if not isinstance(geometry, Polygon | MultiPolygon):
        raise ValueError(
            f"expected the WKB of a Polygon or MultiPolygon, got a {geometry.geom_type}"
        )
    return geometry


# --- GeoJSON types (RFC 7946 1.4) --------------------------------------------------------------

_AREAL_TYPES = frozenset({"Polygon", "MultiPolygon"})
_OTHER_GEOMETRY_TYPES = frozenset({"Point", "MultiPoint", "LineString", "MultiLineString"})
_GEOMETRY_TYPES = _AREAL_TYPES | _OTHER_GEOMETRY_TYPES | {"GeometryCollection"}
_GEOJSON_TYPES = _GEOMETRY_TYPES | {"Feature", "FeatureCollection"}
_GEOMETRY_PHRASE = "a geometry object (Polygon, MultiPolygon or GeometryCollection)"


# --- findings, at most MAX_REPEATS per rule ------------------------------------------------------


class _Report:
    """The findings about one document: at most MAX_REPEATS per rule, then one counting the rest.

    Messages are functions, called only for the findings that are listed.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._listed: list[Finding] = []
        self._counts: Counter[str] = Counter()
        self._first_unlisted: dict[str, tuple[Rule, str]] = {}

    def add(self, rule: Rule, pointer: str, message: Callable[[], str], section: str = "") -> None:
        cited = section or rule.section
        self._counts[rule.id] += 1
        if self._counts[rule.id] <= MAX_REPEATS:
            self._listed.append(cite(rule, cited, self._url, pointer, message()))
        else:
            self._first_unlisted.setdefault(rule.id, (rule, cited))

    def findings(self) -> tuple[Finding, ...]:
        unlisted = [
            cite(rule, section, self._url, "", self._unlisted_message(rule.id))
            for rule, section in self._first_unlisted.values()
        ]
        return (*self._listed, *unlisted)

    def _unlisted_message(self, rule_id: str) -> str:
        more = self._counts[rule_id] - MAX_REPEATS
        return (
            f"{more} more {rule_id} findings in the document are not listed "
            f"(the first {MAX_REPEATS} are)"
        )


# --- reading a document ------------------------------------------------------------------------


def _read(document: Any, report: _Report) -> Territory | None:
    if _geojson_type(document) is None:
        report.add(rules.TERRITORY_NOT_GEOJSON, "", lambda: _not_geojson_message(document))
        return None
    reader = _Reader(report)
    reader.read_document(document)
    if reader.extent.outside:
        extent = reader.extent
        report.add(rules.TERRITORY_OUT_OF_RANGE, extent.first_pointer, extent.message)
        return None
    areas = [area for polygon in reader.polygons for area in _areas(polygon, report)]
    try:
        territory = _territory(areas)
    except GEOSException as error:
        reason = clip(str(error))
        report.add(
            rules.TERRITORY_EMPTY, "", lambda: f"the polygons could not be combined ({reason})"
        )
        return None
    if territory is None:
        report.add(rules.TERRITORY_EMPTY, "", lambda: _empty_message(len(reader.polygons)))
    return territory


def _geojson_type(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) and kind in _GEOJSON_TYPES else None


def _not_geojson_message(document: Any) -> str:
    if not isinstance(document, dict):
        return f"the document is {describe(document)}, expected a GeoJSON object"
    if "type" not in document:
        return "the document has no `type` member, so it is not a GeoJSON object"
    return f"the document's `type` is {_type_description(document['type'])}"


def _type_description(kind: Any) -> str:
    if not isinstance(kind, str):
        return f"{describe(kind)}, not a GeoJSON type name"
    alike = next((name for name in _GEOJSON_TYPES if name.lower() == kind.lower()), None)
    if alike is not None:
        return f"{quote(kind)} (GeoJSON type names are case-sensitive: {quote(alike)})"
    return f"{quote(kind)}, not a GeoJSON type"


def _empty_message(polygons_read: int) -> str:
    if polygons_read:
        return (
            f"no area remains of the {count(polygons_read, 'polygon')} read: repaired or "
            f"snapped to a {GRID_DEGREES:g} degree grid, they cover nothing; no territory"
        )
    return "the document holds no polygon that could be read, so it maps no area; no territory"


@dataclass(frozen=True, slots=True)
class _PolygonRings:
    """One polygon's rings as published (exterior first), and where its coordinates are."""

    rings: tuple[Ring, ...]
    pointer: str


class _Reader:
    """Walks a GeoJSON document, collecting its polygons' rings and reporting what it skips."""

    def __init__(self, report: _Report) -> None:
        self.report = report
        self.polygons: list[_PolygonRings] = []
        self.extent = _Extent()

    def read_document(self, document: dict[str, Any]) -> None:
        kind = document["type"]
        if kind == "FeatureCollection":
            self._feature_collection(document)
        elif kind == "Feature":
            self._feature(document, "")
        else:
            self._geometry(document, "", depth=0)

    def _feature_collection(self, collection: dict[str, Any]) -> None:
        self._crs(collection, "")
        features = collection.get("features")
        if not isinstance(features, list):
            self._member_fault(collection, "", "features", "an array of Feature objects", "3.3")
            return
        for index, feature in enumerate(features):
            pointer = f"/features/{index}"
            if _geojson_type(feature) == "Feature":
                self._feature(feature, pointer)
            else:
                self._object_fault(pointer, feature, "a Feature object", "3.3")

    def _feature(self, feature: dict[str, Any], pointer: str) -> None:
        self._crs(feature, pointer)
        if "geometry" not in feature:
            self.report.add(
                rules.TERRITORY_TYPE,
                pointer,
                lambda: "required member `geometry` of the Feature is missing; skipped",
                "RFC 7946 3.2",
            )
        elif feature["geometry"] is None:
            self._not_an_area(pointer + "/geometry", "the Feature's geometry is null")
        else:
            self._geometry(feature["geometry"], pointer + "/geometry", depth=0)

    def _geometry(self, geometry: Any, pointer: str, depth: int) -> None:
        kind = _geojson_type(geometry)
        if kind not in _GEOMETRY_TYPES:
            self._object_fault(pointer, geometry, _GEOMETRY_PHRASE, "3.1")
            return
        self._crs(geometry, pointer)
        if kind == "GeometryCollection":
            self._geometry_collection(geometry, pointer, depth + 1)
        elif kind in _AREAL_TYPES:
            self._areal_geometry(geometry, kind, pointer)
        else:
            self._not_an_area(pointer, f"a {kind} is not an area")

    def _geometry_collection(self, collection: dict[str, Any], pointer: str, depth: int) -> None:
        if depth > MAX_NESTING:
            self.report.add(
                rules.TERRITORY_TOO_DEEP,
                pointer,
                lambda: (
                    f"GeometryCollection nested {depth} deep, deeper than the {MAX_NESTING} "
                    "levels the crawler reads (RFC 7946 says to avoid nesting them); skipped"
                ),
            )
            return
        geometries = collection.get("geometries")
        if not isinstance(geometries, list):
            self._member_fault(collection, pointer, "geometries", "an array of geometries", "3.1.8")
            return
        for index, geometry in enumerate(geometries):
            self._geometry(geometry, f"{pointer}/geometries/{index}", depth)

    def _areal_geometry(self, geometry: dict[str, Any], kind: str, pointer: str) -> None:
        if "coordinates" not in geometry:
            self.report.add(
                rules.TERRITORY_COORDINATES,
                pointer,
                lambda: f"required member `coordinates` of the {kind} is missing; skipped",
                "RFC 7946 3.1",
            )
            return
        coordinates = geometry["coordinates"]
        pointer += "/coordinates"
        if coordinates == []:
            self._not_an_area(pointer, f"the {kind} is empty (read as a null geometry)")
        elif kind == "Polygon":
            self._polygon(coordinates, pointer)
        elif not isinstance(coordinates, list):
            self._coordinates_fault(
                pointer, f"is {describe(coordinates)}, expected an array of polygons", "3.1.7"
            )
        else:
            for index, polygon in enumerate(coordinates):
                self._polygon(polygon, f"{pointer}/{index}")

    def _polygon(self, coordinates: Any, pointer: str) -> None:
        if not isinstance(coordinates, list) or not coordinates:
            self._coordinates_fault(
                pointer,
                f"is {describe(coordinates)}, expected an array of linear rings (exterior first)",
                "3.1.6",
            )
            return
        rings: list[Ring] = []
        for index, ring in enumerate(coordinates):
            read = self._ring(ring, f"{pointer}/{index}")
            if read is None:
                return
            rings.append(read)
        self.polygons.append(_PolygonRings(tuple(rings), pointer))

    def _ring(self, ring: Any, pointer: str) -> Ring | None:
        """The ring's longitudes and latitudes, or None (reported) when it is malformed."""
        expected = "a linear ring (an array of at least 4 positions)"
        if not isinstance(ring, list):
            self._coordinates_fault(pointer, f"is {describe(ring)}, expected {expected}", "3.1.6")
            return None
        if _lon_lat(ring) is not None:
            problem = f"is a single position, expected {expected}: one level of array is missing"
            self._coordinates_fault(pointer, problem, "3.1.6")
            return None
        positions: list[tuple[float, float]] = []
        for index, position in enumerate(ring):
            lon_lat = _lon_lat(position)
            if lon_lat is None:
                self._coordinates_fault(f"{pointer}/{index}", _position_problem(position), "3.1.1")
                return None
            positions.append(lon_lat)
        malformed = _ring_problem(positions)
        if malformed is not None:
            self._coordinates_fault(pointer, malformed, "3.1.6")
            return None
        read = np.array(positions, dtype=np.float64)
        self.extent.add(read, pointer)
        return read

    def _crs(self, value: dict[str, Any], pointer: str) -> None:
        if "crs" in value:
            crs = value["crs"]
            self.report.add(
                rules.TERRITORY_CRS,
                pointer + "/crs",
                lambda: (
                    f"a `crs` member ({_crs_name(crs)}), which RFC 7946 removed: GeoJSON "
                    "coordinates are WGS 84 longitude and latitude, and are read as such"
                ),
            )

    def _not_an_area(self, pointer: str, what: str) -> None:
        self.report.add(rules.TERRITORY_NOT_AN_AREA, pointer, lambda: f"{what}; skipped")

    def _coordinates_fault(self, pointer: str, problem: str, section: str) -> None:
        self.report.add(
            rules.TERRITORY_COORDINATES,
            pointer,
            lambda: f"{problem}; the polygon is skipped",
            "RFC 7946 " + section,
        )

    def _member_fault(
        self, container: dict[str, Any], parent: str, name: str, expected: str, section: str
    ) -> None:
        def message() -> str:
            if name not in container:
                return f"required member `{name}` ({expected}) is missing; skipped"
            return f"`{name}` is {describe(container[name])}, expected {expected}; skipped"

        self.report.add(rules.TERRITORY_TYPE, f"{parent}/{name}", message, "RFC 7946 " + section)

    def _object_fault(self, pointer: str, value: Any, expected: str, section: str) -> None:
        def message() -> str:
            if not isinstance(value, dict):
                return f"is {describe(value)}, expected {expected}; skipped"
            if "type" not in value:
                return f"an object without `type`, expected {expected}; skipped"
            kind = _type_description(value["type"])
            return f"`type` is {kind}; expected {expected}; skipped"

        self.report.add(rules.TERRITORY_TYPE, pointer, message, "RFC 7946 " + section)


def _crs_name(crs: Any) -> str:
    properties = crs.get("properties") if isinstance(crs, dict) else None
    name = properties.get("name") if isinstance(properties, dict) else None
    return f"naming {quote(name)}" if isinstance(name, str) else describe(crs)


# --- positions and rings (RFC 7946 3.1.1, 3.1.6) ----------------------------------------------


def _lon_lat(position: Any) -> tuple[float, float] | None:
    """Longitude and latitude of a position; further values (altitude ...) are dropped."""
    if not isinstance(position, list) or len(position) < 2:
        return None
    lon, lat = _finite(position[0]), _finite(position[1])
    return None if lon is None or lat is None else (lon, lat)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _position_problem(position: Any) -> str:
    expected = "expected [longitude, latitude] in degrees"
    if not isinstance(position, list):
        return f"the position is {describe(position)}, {expected}"
    if len(position) < 2:
        return f"the position has {count(len(position), 'number')}, {expected}"
    axis, value = next(
        (axis, value)
        for axis, value in zip(("longitude", "latitude"), position, strict=False)
        if _finite(value) is None
    )
    return f"the position's {axis} is {describe(value)}, expected a finite number"


def _ring_problem(positions: list[tuple[float, float]]) -> str | None:
    if len(positions) < 4:
        return (
            f"the linear ring has {count(len(positions), 'position')}, expected at least 4 "
            "(a closed ring: the last position repeats the first)"
        )
    if positions[0] != positions[-1]:
        first, last = positions[0], positions[-1]
        return (
            f"the linear ring is not closed: it starts at {_shown(first)} but ends at "
            f"{_shown(last)}"
        )
    return None


def _shown(lon_lat: tuple[float, float]) -> str:
    return clip(f"[{lon_lat[0]!r}, {lon_lat[1]!r}]")


class _Extent:
    """How many positions fall outside WGS 84's ranges, the first of them, and how far out."""

    def __init__(self) -> None:
        self.outside = 0
        self.first_pointer = ""
        self.first_position = (0.0, 0.0)
        self.max_abs_lon = 0.0
        self.max_abs_lat = 0.0

    def add(self, ring: Ring, pointer: str) -> None:
        magnitude = np.abs(ring)
        self.max_abs_lon = max(self.max_abs_lon, float(magnitude[:, 0].max()))
        self.max_abs_lat = max(self.max_abs_lat, float(magnitude[:, 1].max()))
        beyond = (magnitude[:, 0] > 180) | (magnitude[:, 1] > 90)
        outside = int(beyond.sum())
        if outside and not self.outside:
            index = int(beyond.argmax())
            self.first_pointer = f"{pointer}/{index}"
            self.first_position = (float(ring[index, 0]), float(ring[index, 1]))
        self.outside += outside

    def message(self) -> str:
        return (
            f"{count(self.outside, 'position')} outside WGS 84's ranges (longitude -180 to "
            f"180, latitude -90 to 90), the first {_shown(self.first_position)}{self._hint()}; "
            "GeoJSON positions are longitude, latitude in degrees, so no territory is read"
        )

    def _hint(self) -> str:
        if self.max_abs_lon <= 90 and self.max_abs_lat <= 180:
            return (
                ": every position would fit with its two numbers swapped, so the document "
                "probably lists latitude first"
            )
        if max(self.max_abs_lon, self.max_abs_lat) > 1000:
            return ": numbers this large look like projected coordinates (metres, say)"
        return ""


# --- from rings to areas ---------------------------------------------------------------------


def _areas(polygon: _PolygonRings, report: _Report) -> list[Polygon]:
    """The valid polygons that `polygon` covers, cut at the antimeridian; reports repairs."""
    try:
        if not _crosses_antimeridian(polygon.rings):
            return _repaired(_as_drawn(polygon.rings), polygon.pointer, report)
        report.add(rules.TERRITORY_ANTIMERIDIAN, polygon.pointer, _antimeridian_message)
        unwrapped = _unwrapped_polygon(polygon.rings)
        return _cut_at_antimeridian(_repaired(unwrapped, polygon.pointer, report))
    except GEOSException as error:
        reason = clip(str(error))
        report.add(
            rules.TERRITORY_INVALID_GEOMETRY,
            polygon.pointer,
            lambda: f"the polygon could not be read or repaired ({reason}); skipped",
        )
        return []


def _antimeridian_message() -> str:
    return (
        "the polygon crosses the antimeridian (consecutive positions more than 180 degrees of "
        "longitude apart) instead of being cut there as RFC 7946 asks; it is read the short "
        "way across and cut at longitude 180 (a ring that winds around the globe encloses the "
        "pole on its left, as the right-hand rule has it)"
    )


def _repaired(shape: Polygon, pointer: str, report: _Report) -> list[Polygon]:
    if shape.is_valid:
        return [shape]
    reason = shapely.is_valid_reason(shape)
    vertices = int(shapely.get_num_coordinates(shape))
    if vertices > MAX_REPAIR_VERTICES:
        report.add(
            rules.TERRITORY_INVALID_GEOMETRY,
            pointer,
            lambda: (
                f"the polygon is not valid ({clip(reason)}) and has {vertices:,} vertices, more "
                f"than the {MAX_REPAIR_VERTICES:,} a repair is attempted for; skipped"
            ),
        )
        return []
    areas = _polygons_of(shapely.make_valid(shape))
    outcome = (
        f"repaired into {count(len(areas), 'polygon')}"
        if areas
        else "no area remains once repaired, so it is skipped"
    )
    report.add(
        rules.TERRITORY_INVALID_GEOMETRY,
        pointer,
        lambda: f"the polygon is not valid ({clip(reason)}); {outcome}",
    )
    return areas


def _polygons_of(geometry: BaseGeometry) -> list[Polygon]:
    """The non-empty polygons in `geometry`, however it is nested; points and lines dropped."""
    if isinstance(geometry, Polygon):
        return [] if geometry.is_empty else [geometry]
    if isinstance(geometry, MultiPolygon | GeometryCollection):
        return [polygon for part in geometry.geoms for polygon in _polygons_of(part)]
    return []


# --- the antimeridian (RFC 7946 3.1.9) ---------------------------------------------------------


def _as_drawn(rings: tuple[Ring, ...]) -> Polygon:
    return Polygon(rings[0], rings[1:])


def _crosses_antimeridian(rings: tuple[Ring, ...]) -> bool:
    """Whether the polygon jumps across the antimeridian instead of being cut there.

    A step from -180 to 180 (or back) runs along the antimeridian, the edge of the map: it is
    how a polygon drawn up to that edge (a whole-world box, say) is written, so such steps
    alone are read as drawn, unless that is no valid polygon and reading them as a crossing is.
    """
    if any((_jumps(ring) & ~_along_antimeridian(ring)).any() for ring in rings):
        return True
    if not any(_along_antimeridian(ring).any() for ring in rings):
        return False
    return not _as_drawn(rings).is_valid and _unwrapped_polygon(rings).is_valid


def _along_antimeridian(ring: Ring) -> npt.NDArray[np.bool_]:
    lons = np.abs(ring[:, 0])
    along: npt.NDArray[np.bool_] = (
        (lons[:-1] == 180) & (lons[1:] == 180) & (np.diff(ring[:, 0]) != 0)
    )
    return along


def _jumps(ring: Ring) -> npt.NDArray[np.bool_]:
    """Where consecutive positions are more than 180 degrees of longitude apart.

    An edge between two positions at a pole is no jump: it is the pole itself, as in polygons
    that cover a pole and are cut along the antimeridian.
    """
    steps = np.diff(ring[:, 0])
    at_pole = (np.abs(ring[:-1, 1]) == 90) & (np.abs(ring[1:, 1]) == 90)
    jumps: npt.NDArray[np.bool_] = (np.abs(steps) > 180) & ~at_pole
    return jumps


def _unwrapped(ring: Ring) -> Ring:
    """`ring` with longitudes shifted by multiples of 360 so that it never jumps."""
    steps = np.diff(ring[:, 0])
    shifts = np.where(_jumps(ring), -360.0 * np.sign(steps), 0.0)
    offsets = np.concatenate(([0.0], np.cumsum(shifts)))
    return np.column_stack((ring[:, 0] + offsets, ring[:, 1]))


def _closed_around_pole(ring: Ring, exterior: bool) -> Ring:
    """An unwrapped ring that winds once around the globe, closed along the pole it encloses.

    Which pole follows RFC 7946's right-hand rule: an exterior ring has its area on the left
    (eastwards: the north pole), a hole on the right.
    """
    winding = ring[-1, 0] - ring[0, 0]
    if winding == 0:
        return ring
    north = (winding > 0) == exterior
    pole = 90.0 if north else -90.0
    closure = np.array([[ring[-1, 0], pole], [ring[0, 0], pole], ring[0]])
    return np.concatenate((ring, closure))


def _unwrapped_polygon(rings: tuple[Ring, ...]) -> Polygon:
    exterior = _closed_around_pole(_unwrapped(rings[0]), exterior=True)
    centre = float(exterior[:, 0].mean())
    holes = [
        _near(_closed_around_pole(_unwrapped(hole), exterior=False), centre) for hole in rings[1:]
    ]
    return Polygon(exterior, holes)


def _near(ring: Ring, longitude: float) -> Ring:
    """`ring` shifted by a multiple of 360 degrees of longitude to lie nearest `longitude`."""
    turns = round((longitude - float(ring[:, 0].mean())) / 360)
    shifted: Ring = ring + np.array([360.0 * turns, 0.0])
    return shifted


_WORLD_COPIES = (-360.0, 0.0, 360.0)


def _cut_at_antimeridian(areas: list[Polygon]) -> list[Polygon]:
    """`areas` (longitudes unwrapped into -540..540) cut at +-180, each piece moved into range."""
    pieces: list[Polygon] = []
    for offset in _WORLD_COPIES:
        window = box(offset - 180, -90, offset + 180, 90)
        for area in areas:
            inside = affinity.translate(area.intersection(window), xoff=-offset)
            pieces.extend(_polygons_of(inside))
    return pieces


# --- the territory ------------------------------------------------------------------------------


def _territory(areas: list[Polygon]) -> Territory | None:
    geometry = _normalised(areas) if areas else None
    if geometry is None:
        return None
    wkb = shapely.to_wkb(geometry, byte_order=1)
    min_lon, min_lat, max_lon, max_lat = (float(bound) for bound in geometry.bounds)
    return Territory(
        geometry=geometry,
        wkb=wkb,
        sha256=hashlib.sha256(wkb).hexdigest(),
        min_lon=min_lon,
        min_lat=min_lat,
        max_lon=max_lon,
        max_lat=max_lat,
        area_km2=spherical_area_km2(geometry),
        vertices=int(shapely.get_num_coordinates(geometry)),
    )


def _normalised(areas: list[Polygon]) -> Polygon | MultiPolygon | None:
    """The union of `areas` snapped to the GRID_DEGREES grid, in normal form; None if empty.

    Snapping vertex by vertex is fast; only when that breaks validity (parts narrower than
    the grid collapse) is the union snapped again by GEOS's slower topology-preserving mode.
    """
    union = shapely.union_all(areas)
    snapped = shapely.set_precision(union, GRID_DEGREES, mode="pointwise")
    if not snapped.is_valid:
        snapped = shapely.set_precision(union, GRID_DEGREES)
    parts = _polygons_of(snapped)
    if not parts:
        return None
    single_or_multi = parts[0] if len(parts) == 1 else MultiPolygon(parts)
    return shapely.normalize(shapely.remove_repeated_points(single_or_multi))


def spherical_area_km2(geometry: BaseGeometry) -> float:
    """The area of `geometry` (longitude/latitude degrees) on a sphere of EARTH_RADIUS_KM.

    The planar area in Lambert's cylindrical equal-area projection: exact for edges along
    meridians and parallels; other edges are taken as straight in longitude/latitude.
    """
    return float(shapely.transform(geometry, _lambert_equal_area).area)


def _lambert_equal_area(lon_lat: Ring) -> Ring:
    radians = np.radians(lon_lat)
    projected: Ring = np.column_stack(
        (EARTH_RADIUS_KM * radians[:, 0], EARTH_RADIUS_KM * np.sin(radians[:, 1]))
    )
    return projected

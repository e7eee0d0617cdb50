"""Coverage territories read from GeoJSON resources (RFC 7946): geometry, hash, area, findings."""

from __future__ import annotations

import hashlib
import json
import math
import time
from typing import Any

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon

from crawler.domain.checks import MAX_REPEATS
from crawler.domain.findings import Finding, Severity
from crawler.domain.territory import (
    EARTH_RADIUS_KM,
    MAX_NESTING,
    Territory,
    TerritoryRead,
    read_territory,
    spherical_area_km2,
    territory_from_wkb,
)

URL = "https://static.example.com/cds-coverage-map-geo.json"

Ring = list[list[float]]


def square(lon: float, lat: float, size: float = 1.0) -> Ring:
    """A closed counter-clockwise ring from (lon, lat) to (lon + size, lat + size)."""
    east, north = lon + size, lat + size
    return [[lon, lat], [east, lat], [east, north], [lon, north], [lon, lat]]


def polygon(*rings: Any) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


def multipolygon(*polygons: Any) -> dict[str, Any]:
    return {"type": "MultiPolygon", "coordinates": list(polygons)}


def feature(geometry: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"name": "west"}, "geometry": geometry}


def collection(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def geometries(*members: Any) -> dict[str, Any]:
    return {"type": "GeometryCollection", "geometries": list(members)}


def read(document: Any) -> TerritoryRead:
    return read_territory(document, URL)


def territory_of(document: Any) -> Territory:
    territory = read(document).territory
    assert territory is not None
    return territory


def found(document: Any) -> list[tuple[str, str]]:
    """(rule, pointer) of each finding about `document`."""
    return [(f.rule, f.pointer) for f in read(document).findings]


def only_finding(document: Any) -> Finding:
    findings = read(document).findings
    assert len(findings) == 1, findings
    return findings[0]


def cell_km2(west: float, south: float, east: float, north: float) -> float:
    """The exact area of a longitude/latitude cell on the sphere."""
    width = math.radians(east - west)
    return (
        EARTH_RADIUS_KM**2 * width * (math.sin(math.radians(north)) - math.sin(math.radians(south)))
    )


def covers(territory: Territory, lon: float, lat: float) -> bool:
    return bool(territory.geometry.covers(Point(lon, lat)))


# --- reading valid documents -------------------------------------------------------------------


def test_a_polygon_is_read_with_its_area_bounds_and_hash() -> None:
    result = read(polygon(square(0, 0)))
    assert result.findings == ()
    territory = result.territory
    assert territory is not None
    assert isinstance(territory.geometry, Polygon)
    assert territory.area_km2 == pytest.approx(12_363.7, abs=0.1)
    assert territory.area_km2 == pytest.approx(cell_km2(0, 0, 1, 1), rel=1e-9)
    assert (territory.min_lon, territory.min_lat, territory.max_lon, territory.max_lat) == (
        0,
        0,
        1,
        1,
    )
    assert territory.vertices == 5
    assert territory.wkb == shapely.to_wkb(territory.geometry, byte_order=1)
    assert territory.sha256 == hashlib.sha256(territory.wkb).hexdigest()


@pytest.mark.parametrize(
    ("ring", "expected_km2"),
    [
        (square(0, 0, 90), math.pi / 2 * EARTH_RADIUS_KM**2),  # an eighth of the sphere
        (square(10, 50), cell_km2(10, 50, 11, 51)),
        (square(-75, -60, 5), cell_km2(-75, -60, -70, -55)),
        ([[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]], 4 * math.pi * 6371.0088**2),
    ],
)
def test_area_is_the_area_on_the_sphere(ring: Ring, expected_km2: float) -> None:
    assert territory_of(polygon(ring)).area_km2 == pytest.approx(expected_km2, rel=1e-9)


def test_the_area_of_any_geometry_is_its_areal_parts_area() -> None:
    cell = Polygon(square(0, 0))
    collection_ = shapely.GeometryCollection(
        [cell, Point(5, 5), shapely.LineString([(0, 0), (9, 9)])]
    )
    assert spherical_area_km2(collection_) == pytest.approx(cell_km2(0, 0, 1, 1), rel=1e-9)
    assert spherical_area_km2(shapely.intersection(cell, Polygon(square(5, 5)))) == 0


def test_summary_is_json_ready() -> None:
    summary = territory_of(multipolygon([square(0, 0)], [square(5, 5)])).summary()
    assert json.loads(json.dumps(summary)) == summary
    assert summary == {
        "area_km2": 24_671.0,  # 6 significant digits
        "bbox": [0.0, 0.0, 6.0, 6.0],
        "vertices": 10,
        "geometry_type": "MultiPolygon",
    }


def test_the_territory_is_the_union_of_every_polygon_in_the_document() -> None:
    document = collection(
        feature(polygon(square(0, 0))),
        feature(multipolygon([square(1, 0)], [square(10, 10)])),
        feature(geometries(polygon(square(0, 1)), geometries(polygon(square(1, 1))))),
    )
    result = read(document)
    assert result.findings == ()
    territory = result.territory
    assert territory is not None
    assert isinstance(territory.geometry, MultiPolygon)
    assert len(territory.geometry.geoms) == 2
    assert territory.area_km2 == pytest.approx(
        cell_km2(0, 0, 2, 2) + cell_km2(10, 10, 11, 11), rel=1e-9
    )
    assert covers(territory, 1.5, 1.5)
    assert covers(territory, 10.5, 10.5)
    assert not covers(territory, 5, 5)


def test_overlapping_polygons_count_once() -> None:
    territory = territory_of(multipolygon([square(0, 0, 2)], [square(1, 1, 2)]))
    assert isinstance(territory.geometry, Polygon)
    assert territory.area_km2 == pytest.approx(
        cell_km2(0, 0, 2, 2) + cell_km2(1, 2, 3, 3) + cell_km2(2, 1, 3, 2), rel=1e-9
    )


def test_holes_are_not_covered() -> None:
    territory = territory_of(polygon(square(0, 0, 10), square(4, 4, 2)[::-1]))
    assert covers(territory, 1, 1)
    assert not covers(territory, 5, 5)
    assert territory.area_km2 == pytest.approx(
        cell_km2(0, 0, 10, 10) - cell_km2(4, 4, 6, 6), rel=1e-9
    )


@pytest.mark.parametrize("document", [feature(polygon(square(3, 4))), polygon(square(3, 4))])
def test_a_feature_reads_as_its_geometry(document: dict[str, Any]) -> None:
    assert territory_of(document).sha256 == territory_of(geometries(polygon(square(3, 4)))).sha256


def test_altitude_and_further_values_are_dropped() -> None:
    ring = [[*position, 120.5, 7] for position in square(3, 4)]
    result = read(polygon(ring))
    assert result.findings == ()
    assert result.territory is not None
    assert not shapely.has_z(result.territory.geometry)
    assert result.territory.sha256 == territory_of(polygon(square(3, 4))).sha256


def test_foreign_members_and_bbox_are_ignored() -> None:
    document = {**polygon(square(3, 4)), "bbox": [3, 4, 4, 5], "title": "west"}
    assert read(document).findings == ()


def test_a_crs_member_is_reported_and_coordinates_read_as_wgs84() -> None:
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    document = {**collection(feature({**polygon(square(3, 4)), "crs": crs})), "crs": crs}
    result = read(document)
    assert [(f.rule, f.severity, f.pointer, f.section) for f in result.findings] == [
        ("territory.crs", Severity.WARNING, "/crs", "RFC 7946 4"),
        ("territory.crs", Severity.WARNING, "/features/0/geometry/crs", "RFC 7946 4"),
    ]
    assert '"urn:ogc:def:crs:OGC:1.3:CRS84"' in result.findings[0].message
    assert result.territory is not None
    assert covers(result.territory, 3.5, 4.5)


# --- what is not an area -----------------------------------------------------------------------


def test_points_and_lines_are_skipped() -> None:
    document = collection(
        feature({"type": "Point", "coordinates": [1, 2]}),
        feature(polygon(square(0, 0))),
        feature(geometries({"type": "LineString", "coordinates": [[0, 0], [1, 1]]})),
    )
    result = read(document)
    assert [(f.rule, f.severity, f.pointer) for f in result.findings] == [
        ("territory.not-an-area", Severity.WARNING, "/features/0/geometry"),
        ("territory.not-an-area", Severity.WARNING, "/features/2/geometry/geometries/0"),
    ]
    assert result.findings[0].message == "a Point is not an area; skipped"
    assert result.territory is not None
    assert result.territory.area_km2 == pytest.approx(cell_km2(0, 0, 1, 1), rel=1e-9)


def test_a_null_geometry_is_skipped_with_a_warning() -> None:
    result = read(collection(feature(None), feature(polygon(square(0, 0)))))
    assert [(f.rule, f.severity, f.pointer) for f in result.findings] == [
        ("territory.not-an-area", Severity.WARNING, "/features/0/geometry"),
    ]
    assert result.territory is not None


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"type": "MultiPoint", "coordinates": [[1, 2]]},
            [("territory.not-an-area", ""), ("territory.empty", "")],
        ),
        (
            feature(None),
            [("territory.not-an-area", "/geometry"), ("territory.empty", "")],
        ),
        (
            {"type": "Polygon", "coordinates": []},
            [("territory.not-an-area", "/coordinates"), ("territory.empty", "")],
        ),
        (collection(), [("territory.empty", "")]),
        (geometries(), [("territory.empty", "")]),
    ],
)
def test_without_an_area_there_is_no_territory(
    document: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    result = read(document)
    assert result.territory is None
    assert [(f.rule, f.pointer) for f in result.findings] == expected
    assert result.findings[-1].severity is Severity.ERROR
    assert result.findings[-1].section == "CDSC-WG1-01 4.3"


# --- documents that are not GeoJSON, and misplaced objects -------------------------------------


@pytest.mark.parametrize(
    ("document", "in_message"),
    [
        (None, "null, expected a GeoJSON object"),
        ([polygon(square(0, 0))], "an array of 1 element, expected a GeoJSON object"),
        ("Polygon", 'the string "Polygon"'),
        ({}, "no `type` member"),
        ({"type": "Topology", "objects": {}}, '"Topology", not a GeoJSON type'),
        (
            {"type": "polygon", "coordinates": [square(0, 0)]},
            'case-sensitive: "Polygon"',
        ),
        ({"type": ["Polygon"]}, "an array of 1 element, not a GeoJSON type name"),
    ],
)
def test_a_document_that_is_not_geojson_has_no_territory(document: Any, in_message: str) -> None:
    result = read(document)
    assert result.territory is None
    assert len(result.findings) == 1
    finding = result.findings[0]
    assert (finding.rule, finding.severity, finding.pointer, finding.section, finding.url) == (
        "territory.not-geojson",
        Severity.ERROR,
        "",
        "RFC 7946 3",
        URL,
    )
    assert in_message in finding.message


@pytest.mark.parametrize(
    ("document", "pointer", "section"),
    [
        ({"type": "FeatureCollection"}, "/features", "RFC 7946 3.3"),
        ({"type": "FeatureCollection", "features": {}}, "/features", "RFC 7946 3.3"),
        (collection(polygon(square(0, 0))), "/features/0", "RFC 7946 3.3"),
        (collection(collection()), "/features/0", "RFC 7946 3.3"),
        (collection("Feature"), "/features/0", "RFC 7946 3.3"),
        ({"type": "Feature", "properties": {}}, "", "RFC 7946 3.2"),
        (feature(feature(polygon(square(0, 0)))), "/geometry", "RFC 7946 3.1"),
        (feature({"coordinates": [square(0, 0)]}), "/geometry", "RFC 7946 3.1"),
        (feature([square(0, 0)]), "/geometry", "RFC 7946 3.1"),
        ({"type": "GeometryCollection"}, "/geometries", "RFC 7946 3.1.8"),
        ({"type": "GeometryCollection", "geometries": None}, "/geometries", "RFC 7946 3.1.8"),
        (geometries(feature(polygon(square(0, 0)))), "/geometries/0", "RFC 7946 3.1"),
    ],
)
def test_misplaced_or_mistyped_parts_are_type_errors(
    document: dict[str, Any], pointer: str, section: str
) -> None:
    result = read(document)
    assert result.territory is None
    finding = result.findings[0]
    assert (finding.rule, finding.severity, finding.pointer, finding.section) == (
        "territory.type",
        Severity.ERROR,
        pointer,
        section,
    )
    assert finding.message.endswith("; skipped")
    assert [f.rule for f in result.findings[1:]] == ["territory.empty"]


def test_a_null_member_is_wrong_not_missing() -> None:
    message = only_finding_of({"type": "GeometryCollection", "geometries": None})
    assert message == "`geometries` is null, expected an array of geometries; skipped"
    missing = only_finding_of({"type": "GeometryCollection"})
    assert missing == "required member `geometries` (an array of geometries) is missing; skipped"


def only_finding_of(document: Any) -> str:
    findings = [f for f in read(document).findings if f.rule != "territory.empty"]
    assert len(findings) == 1, findings
    return findings[0].message


def test_a_misplaced_object_does_not_hide_the_others() -> None:
    document = collection(polygon(square(0, 0)), feature(polygon(square(5, 5))))
    result = read(document)
    assert [(f.rule, f.pointer) for f in result.findings] == [("territory.type", "/features/0")]
    assert result.territory is not None
    assert covers(result.territory, 5.5, 5.5)
    assert not covers(result.territory, 0.5, 0.5)


# --- malformed coordinates ---------------------------------------------------------------------


def with_position(index: int, position: Any) -> Ring:
    ring: Ring = square(0, 0)
    ring[index] = position
    return ring


@pytest.mark.parametrize(
    ("coordinates", "pointer", "section", "in_message"),
    [
        (
            [with_position(2, ["1", 1])],
            "/coordinates/0/2",
            "RFC 7946 3.1.1",
            'longitude is the string "1"',
        ),
        ([with_position(2, [1, None])], "/coordinates/0/2", "RFC 7946 3.1.1", "latitude is null"),
        ([with_position(1, [math.nan, 0])], "/coordinates/0/1", "RFC 7946 3.1.1", "nan"),
        ([with_position(1, [1, math.inf])], "/coordinates/0/1", "RFC 7946 3.1.1", "inf"),
        ([with_position(1, [True, 0])], "/coordinates/0/1", "RFC 7946 3.1.1", "boolean true"),
        ([with_position(1, [10**400, 0])], "/coordinates/0/1", "RFC 7946 3.1.1", "integer"),
        ([with_position(3, [1])], "/coordinates/0/3", "RFC 7946 3.1.1", "has 1 number"),
        ([with_position(3, {"lon": 1})], "/coordinates/0/3", "RFC 7946 3.1.1", "an object"),
        ([with_position(3, 7)], "/coordinates/0/3", "RFC 7946 3.1.1", "the number 7"),
        ([square(0, 0)[1:]], "/coordinates/0", "RFC 7946 3.1.6", "is not closed"),
        ([[[0, 0], [1, 0], [0, 0]]], "/coordinates/0", "RFC 7946 3.1.6", "has 3 positions"),
        ([[]], "/coordinates/0", "RFC 7946 3.1.6", "has 0 positions"),
        ([square(0, 0), "hole"], "/coordinates/1", "RFC 7946 3.1.6", "expected a linear ring"),
        ({"rings": []}, "/coordinates", "RFC 7946 3.1.6", "expected an array of linear rings"),
        (square(0, 0), "/coordinates/0", "RFC 7946 3.1.6", "one level of array is missing"),
    ],
)
def test_a_malformed_polygon_is_an_error_and_skipped(
    coordinates: Any, pointer: str, section: str, in_message: str
) -> None:
    result = read({"type": "Polygon", "coordinates": coordinates})
    assert result.territory is None
    assert [(f.rule, f.severity, f.pointer, f.section) for f in result.findings] == [
        ("territory.coordinates", Severity.ERROR, pointer, section),
        ("territory.empty", Severity.ERROR, "", "CDSC-WG1-01 4.3"),
    ]
    assert in_message in result.findings[0].message
    assert result.findings[0].message.endswith("; the polygon is skipped")


def test_missing_coordinates_are_an_error() -> None:
    result = read(collection(feature({"type": "MultiPolygon"})))
    assert [(f.rule, f.pointer, f.section) for f in result.findings] == [
        ("territory.coordinates", "/features/0/geometry", "RFC 7946 3.1"),
        ("territory.empty", "", "CDSC-WG1-01 4.3"),
    ]


def test_multipolygon_coordinates_that_are_not_an_array_are_an_error() -> None:
    result = read({"type": "MultiPolygon", "coordinates": "POLYGON ((0 0, 1 0, 1 1, 0 0))"})
    assert [(f.rule, f.pointer, f.section) for f in result.findings] == [
        ("territory.coordinates", "/coordinates", "RFC 7946 3.1.7"),
        ("territory.empty", "", "CDSC-WG1-01 4.3"),
    ]


def test_only_the_malformed_polygon_is_skipped() -> None:
    document = multipolygon([square(0, 0)], [with_position(3, ["x", 1])], [], [square(5, 5)])
    result = read(document)
    assert [(f.rule, f.pointer) for f in result.findings] == [
        ("territory.coordinates", "/coordinates/1/0/3"),
        ("territory.coordinates", "/coordinates/2"),
    ]
    assert result.territory is not None
    assert covers(result.territory, 0.5, 0.5)
    assert covers(result.territory, 5.5, 5.5)
    assert result.territory.area_km2 == pytest.approx(
        cell_km2(0, 0, 1, 1) + cell_km2(5, 5, 6, 6), rel=1e-9
    )


def test_a_malformed_polygon_reports_its_first_fault_only() -> None:
    ring: list[Any] = [["x", "y"]] * 1000
    assert found(polygon(ring, ring)) == [
        ("territory.coordinates", "/coordinates/0/0"),
        ("territory.empty", ""),
    ]


# --- positions out of range --------------------------------------------------------------------


def test_swapped_coordinates_give_no_territory_and_say_so() -> None:
    queensland = [[lat, lon] for lon, lat in square(140, -25, 2)]  # latitude first
    result = read(collection(feature(polygon(square(4, 0))), feature(polygon(queensland))))
    assert result.territory is None
    assert len(result.findings) == 1
    finding = result.findings[0]
    assert (finding.rule, finding.severity, finding.pointer, finding.section) == (
        "territory.out-of-range",
        Severity.ERROR,
        "/features/1/geometry/coordinates/0/0",
        "RFC 7946 4",
    )
    assert finding.message == (
        "5 positions outside WGS 84's ranges (longitude -180 to 180, latitude -90 to 90), the "
        "first [-25.0, 140.0]: every position would fit with its two numbers swapped, so the "
        "document probably lists latitude first; GeoJSON positions are longitude, latitude in "
        "degrees, so no territory is read"
    )


def test_projected_coordinates_give_no_territory() -> None:
    metres = [[x * 100_000, y * 100_000] for x, y in square(4, 51)]
    finding = only_finding(polygon(metres))
    assert finding.rule == "territory.out-of-range"
    assert finding.pointer == "/coordinates/0/0"
    assert "projected" in finding.message
    assert "latitude first" not in finding.message


def test_a_longitude_beyond_180_gives_no_territory() -> None:
    finding = only_finding(multipolygon([square(0, 0)], [square(179.5, 10)]))
    assert finding.rule == "territory.out-of-range"
    assert finding.pointer == "/coordinates/1/0/1"
    assert finding.message.startswith("2 positions outside")
    assert "latitude first" not in finding.message


def test_the_edges_of_the_ranges_are_in_range() -> None:
    whole_earth = [[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]
    assert read(polygon(whole_earth)).findings == ()


# --- the antimeridian --------------------------------------------------------------------------

FIJI = [[177, -16], [-179, -16], [-179, -19], [177, -19], [177, -16]]
CHUKOTKA = [[170, 65], [-170, 65], [-170, 70], [170, 70], [170, 65]]


@pytest.mark.parametrize(
    ("ring", "west_side", "east_side", "same_size"),
    [
        (FIJI, (178, -17.5), (-179.5, -17.5), [[0, -19], [4, -19], [4, -16], [0, -16], [0, -19]]),
        (CHUKOTKA, (175, 67), (-175, 67), [[0, 65], [20, 65], [20, 70], [0, 70], [0, 65]]),
        (CHUKOTKA[::-1], (175, 67), (-175, 67), [[0, 65], [20, 65], [20, 70], [0, 70], [0, 65]]),
    ],
)
def test_a_polygon_across_the_antimeridian_is_cut_there(
    ring: Ring, west_side: tuple[float, float], east_side: tuple[float, float], same_size: Ring
) -> None:
    result = read(feature(polygon(ring)))
    assert [(f.rule, f.severity, f.pointer, f.section) for f in result.findings] == [
        ("territory.antimeridian", Severity.WARNING, "/geometry/coordinates", "RFC 7946 3.1.9"),
    ]
    territory = result.territory
    assert territory is not None
    assert isinstance(territory.geometry, MultiPolygon)
    assert covers(territory, *west_side)
    assert covers(territory, *east_side)
    assert not covers(territory, 0, west_side[1])
    assert (territory.min_lon, territory.max_lon) == (-180, 180)
    assert territory.area_km2 == pytest.approx(territory_of(polygon(same_size)).area_km2, rel=1e-9)


def test_a_crossing_ring_with_positions_on_the_antimeridian_is_cut() -> None:
    ring = [
        [170, 65],
        [180, 65],
        [-180, 65],
        [-170, 65],
        [-170, 70],
        [180, 70],
        [170, 70],
        [170, 65],
    ]
    territory = territory_of(polygon(ring))
    assert covers(territory, 175, 67)
    assert covers(territory, -175, 67)
    assert not covers(territory, 0, 67)
    assert territory.area_km2 == pytest.approx(cell_km2(170, 65, 190, 70), rel=1e-9)


def test_a_crossing_ring_along_the_antimeridian_on_both_sides_is_cut() -> None:
    ring = [[170, 65], [180, 65], [-180, 65], [-170, 65], [-170, 70], [-180, 70], [180, 70]]
    territory = territory_of(polygon([*ring, [170, 70], [170, 65]]))
    assert covers(territory, 175, 67)
    assert covers(territory, -175, 67)
    assert not covers(territory, 0, 67)
    assert territory.area_km2 == pytest.approx(cell_km2(170, 65, 190, 70), rel=1e-9)


def test_a_box_drawn_up_to_the_edges_of_the_map_is_read_as_drawn() -> None:
    world = [[-180, -85], [180, -85], [180, 85], [-180, 85], [-180, -85]]
    result = read(polygon(world))
    assert result.findings == ()
    assert result.territory is not None
    assert covers(result.territory, 0, 0)
    assert covers(result.territory, 179.5, 80)
    assert result.territory.area_km2 == pytest.approx(cell_km2(-180, -85, 180, 85), rel=1e-9)


def test_a_hole_on_the_far_side_of_the_antimeridian_stays_a_hole() -> None:
    hole = [[-175, 66], [-175, 68], [-172, 68], [-172, 66], [-175, 66]]
    territory = territory_of(polygon(CHUKOTKA, hole))
    assert covers(territory, 175, 67)
    assert covers(territory, -171, 67)
    assert not covers(territory, -173.5, 67)
    assert territory.area_km2 == pytest.approx(
        cell_km2(170, 65, 190, 70) - cell_km2(185, 66, 188, 68), rel=1e-9
    )


def test_a_polygon_already_cut_at_the_antimeridian_is_read_as_it_is() -> None:
    rfc_7946_example = multipolygon(
        [[[180, 40], [180, 50], [170, 50], [170, 40], [180, 40]]],
        [[[-170, 40], [-170, 50], [-180, 50], [-180, 40], [-170, 40]]],
    )
    result = read(rfc_7946_example)
    assert result.findings == ()
    assert result.territory is not None
    assert covers(result.territory, 175, 45)
    assert covers(result.territory, -175, 45)
    assert not covers(result.territory, 0, 45)


def test_a_cut_polygon_around_a_pole_is_read_as_it_is() -> None:
    antarctica = [[-180, -90], [-180, -80], [0, -80], [180, -80], [180, -90], [-180, -90]]
    result = read(polygon(antarctica))
    assert result.findings == ()
    assert result.territory is not None
    assert covers(result.territory, 0, -85)
    assert covers(result.territory, 179.9, -85)
    assert result.territory.area_km2 == pytest.approx(cell_km2(-180, -90, 180, -80), rel=1e-9)


@pytest.mark.parametrize(
    ("ring", "inside", "outside", "expected_km2"),
    [
        (
            [[-170, 80], [-90, 80], [0, 80], [90, 80], [170, 80], [-170, 80]],
            (0, 85),
            (0, 75),
            cell_km2(-180, 80, 180, 90),
        ),
        (
            [[170, -80], [90, -80], [0, -80], [-90, -80], [-170, -80], [170, -80]],
            (175, -85),
            (0, -75),
            cell_km2(-180, -90, 180, -80),
        ),
    ],
)
def test_a_ring_winding_around_the_globe_encloses_the_pole_on_its_left(
    ring: Ring, inside: tuple[float, float], outside: tuple[float, float], expected_km2: float
) -> None:
    result = read(polygon(ring))
    assert [f.rule for f in result.findings] == ["territory.antimeridian"]
    territory = result.territory
    assert territory is not None
    assert covers(territory, *inside)
    assert not covers(territory, *outside)
    assert territory.area_km2 == pytest.approx(expected_km2, rel=1e-9)


# --- invalid geometry --------------------------------------------------------------------------


def test_a_bow_tie_is_repaired_into_its_two_triangles() -> None:
    bow_tie = [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]
    result = read(feature(polygon(bow_tie)))
    assert [(f.rule, f.severity, f.pointer, f.section) for f in result.findings] == [
        ("territory.invalid-geometry", Severity.WARNING, "/geometry/coordinates", "RFC 7946 3.1.6"),
    ]
    assert result.findings[0].message == (
        "the polygon is not valid (Self-intersection[0.5 0.5]); repaired into 2 polygons"
    )
    territory = result.territory
    assert territory is not None
    assert territory.geometry.is_valid
    assert covers(territory, 0.1, 0.5)
    assert covers(territory, 0.9, 0.5)
    assert not covers(territory, 0.5, 0.1)
    assert not covers(territory, 0.5, 0.9)


def zig_zag(teeth: int) -> Ring:
    """A closed ring whose teeth cross the ring's return edge: self-intersecting all along."""
    top = [[i / teeth, 1.0 if i % 2 else -1.0] for i in range(teeth + 1)]
    return [*top, [1.0, 0.0], [0.0, 0.0], top[0]]


def test_an_invalid_polygon_too_large_to_repair_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("crawler.domain.territory.MAX_REPAIR_VERTICES", 50)
    repaired = read(feature(polygon(zig_zag(40))))
    too_large = read(feature(polygon(zig_zag(60))))

    assert repaired.territory is not None
    assert too_large.territory is None
    skipped = next(f for f in too_large.findings if f.rule == "territory.invalid-geometry")
    assert skipped.severity == Severity.WARNING
    assert "has 64 vertices, more than the 50 a repair is attempted for; skipped" in (
        skipped.message
    )


def test_a_hole_outside_its_polygon_is_repaired() -> None:
    result = read(polygon(square(0, 0), square(5, 5)))
    assert [f.rule for f in result.findings] == ["territory.invalid-geometry"]
    assert "Hole lies outside shell" in result.findings[0].message
    assert result.territory is not None
    assert result.territory.geometry.is_valid


def test_a_polygon_without_area_is_skipped() -> None:
    flat = [[0, 0], [1, 0], [2, 0], [0, 0]]
    result = read(polygon(flat))
    assert result.territory is None
    assert [(f.rule, f.severity) for f in result.findings] == [
        ("territory.invalid-geometry", Severity.WARNING),
        ("territory.empty", Severity.ERROR),
    ]
    assert "no area remains once repaired" in result.findings[0].message
    assert "of the 1 polygon read" in result.findings[1].message


def test_an_area_smaller_than_the_grid_vanishes() -> None:
    speck = square(10, 10, 1e-8)
    result = read(polygon(speck))
    assert result.territory is None
    assert [f.rule for f in result.findings] == ["territory.empty"]


# --- normalisation: the same area, the same hash -----------------------------------------------

BASE = [[4.1234567, 52.0], [5.5, 52.1], [5.25, 53.3], [4.4, 53.0], [4.1234567, 52.0]]


def rotated(ring: Ring, by: int) -> Ring:
    open_ring = ring[:-1]
    start = open_ring[by:] + open_ring[:by]
    return [*start, start[0]]


@pytest.mark.parametrize(
    "variant",
    [
        [[lon + 1e-9, lat - 1e-9] for lon, lat in BASE],
        rotated(BASE, 2),
        BASE[::-1],
        [BASE[0], BASE[1], BASE[1], *BASE[2:]],
        [BASE[0], BASE[0], *BASE[1:]],
    ],
    ids=["float-noise", "start-vertex", "orientation", "duplicate-vertex", "duplicate-start"],
)
def test_the_same_area_has_the_same_hash(variant: Ring) -> None:
    assert territory_of(polygon(variant)).sha256 == territory_of(polygon(BASE)).sha256
    assert territory_of(polygon(variant)).wkb == territory_of(polygon(BASE)).wkb


def test_a_territory_split_in_two_features_has_the_hash_of_the_whole() -> None:
    whole = polygon(square(0, 0, 2))
    halves = collection(
        feature(polygon([[0, 0], [1, 0], [1, 2], [0, 2], [0, 0]])),
        feature(polygon([[1, 0], [2, 0], [2, 2], [1, 2], [1, 0]])),
    )
    assert territory_of(halves).area_km2 == pytest.approx(territory_of(whole).area_km2)
    assert territory_of(halves).geometry.equals(territory_of(whole).geometry)


def test_the_order_of_polygons_does_not_matter() -> None:
    forth = multipolygon([square(0, 0)], [square(5, 5)])
    back = collection(feature(polygon(square(5, 5))), feature(polygon(square(0, 0))))
    assert territory_of(forth).sha256 == territory_of(back).sha256


def test_moving_a_vertex_by_a_hundredth_of_a_degree_changes_the_hash() -> None:
    moved = [list(position) for position in BASE]
    moved[2][0] += 0.01
    assert territory_of(polygon(moved)).sha256 != territory_of(polygon(BASE)).sha256


def test_the_geometry_is_snapped_to_the_grid() -> None:
    territory = territory_of(polygon([[lon + 3.3e-9, lat] for lon, lat in BASE]))
    xs = shapely.get_coordinates(territory.geometry)[:, 0]
    assert set(xs.round(7)) == set(xs)


# --- stored rows -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document", [polygon(square(0, 0)), multipolygon([square(0, 0)], [square(5, 5)])]
)
def test_a_territory_reads_back_from_its_wkb(document: dict[str, Any]) -> None:
    territory = territory_of(document)
    geometry = territory_from_wkb(territory.wkb)
    assert type(geometry) is type(territory.geometry)
    assert geometry.equals_exact(territory.geometry, tolerance=0)


def test_wkb_of_anything_but_an_area_is_refused() -> None:
    with pytest.raises(ValueError, match="Point"):
        territory_from_wkb(shapely.to_wkb(Point(1, 2)))


# --- nesting and hostile sizes -----------------------------------------------------------------


def nested(depth: int, innermost: dict[str, Any]) -> dict[str, Any]:
    document = innermost
    for _ in range(depth):
        document = geometries(document)
    return document


def test_geometry_collections_may_nest_up_to_the_limit() -> None:
    assert read(nested(MAX_NESTING, polygon(square(0, 0)))).findings == ()


def test_deeper_geometry_collections_are_skipped() -> None:
    document = geometries(polygon(square(5, 5)), nested(MAX_NESTING, polygon(square(0, 0))))
    result = read(document)
    pointer = "/geometries/1" + "/geometries/0" * (MAX_NESTING - 1)
    assert [(f.rule, f.severity, f.pointer, f.section) for f in result.findings] == [
        ("territory.too-deep", Severity.ERROR, pointer, "RFC 7946 3.1.8"),
    ]
    assert result.territory is not None
    assert not covers(result.territory, 0.5, 0.5)


def test_very_deep_nesting_is_no_recursion_error() -> None:
    document: Any = polygon(square(0, 0))
    for _ in range(100_000):
        document = geometries(document)
    assert [f.rule for f in read(document).findings] == ["territory.too-deep", "territory.empty"]


def test_a_million_bad_positions_make_a_bounded_number_of_findings() -> None:
    bad_ring = [["x", 0]] * 4
    result = read(multipolygon(*[[bad_ring]] * 250_000, *[[[[0, 0]] * 4]] * 10))
    coordinates = [f for f in result.findings if f.rule == "territory.coordinates"]
    assert len(coordinates) == MAX_REPEATS + 1
    assert coordinates[-1].pointer == ""
    assert coordinates[-1].severity is Severity.ERROR
    assert coordinates[-1].message == (
        f"{250_000 - MAX_REPEATS} more territory.coordinates findings in the document are not "
        f"listed (the first {MAX_REPEATS} are)"
    )
    assert [f.rule for f in result.findings if f.rule != "territory.coordinates"] == [
        "territory.invalid-geometry"
    ] * 10 + ["territory.empty"]


def test_a_million_points_make_a_bounded_number_of_findings() -> None:
    point = {"type": "Point", "coordinates": [1, 2]}
    result = read(geometries(*[point] * 1_000_000, polygon(square(0, 0))))
    assert len(result.findings) == MAX_REPEATS + 1
    assert result.findings[-1].message.startswith(f"{1_000_000 - MAX_REPEATS} more territory.not")
    assert result.territory is not None


def test_a_million_positions_out_of_range_make_one_finding() -> None:
    ring = [[0, 0], *[[0, 91]] * 1_000_000, [0, 0]]
    finding = only_finding(polygon(ring))
    assert finding.rule == "territory.out-of-range"
    assert finding.pointer == "/coordinates/0/1"
    assert finding.message.startswith("1000000 positions outside")


def circle(lon: float, lat: float, radius: float, vertices: int) -> Ring:
    ring = [
        [
            lon + radius * math.cos(2 * math.pi * k / vertices),
            lat + radius * math.sin(2 * math.pi * k / vertices),
        ]
        for k in range(vertices)
    ]
    return [*ring, ring[0]]


def test_a_megabyte_collection_of_hundreds_of_polygons_reads_in_well_under_a_second() -> None:
    document = collection(
        *(feature(polygon(circle(-100 + i * 0.1, 40, 0.04, 125))) for i in range(400))
    )
    assert len(json.dumps(document)) > 1_000_000
    started = time.perf_counter()
    result = read(document)
    elapsed = time.perf_counter() - started
    assert result.findings == ()
    assert result.territory is not None
    assert isinstance(result.territory.geometry, MultiPolygon)
    assert len(result.territory.geometry.geoms) == 400
    assert elapsed < 2  # about 0.1 s on a laptop; generous for slow CI machines


# --- never raises ------------------------------------------------------------------------------

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.sampled_from(["Polygon", "MultiPolygon", "Feature", "GeometryCollection", "x"])
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                ["type", "coordinates", "geometry", "geometries", "features", "crs", "bbox", "x"]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=40,
)


def assert_well_formed(result: TerritoryRead) -> None:
    assert all(isinstance(f, Finding) for f in result.findings)
    assert all(f.rule.startswith("territory.") and f.url == URL for f in result.findings)
    if result.territory is None:
        assert any(f.severity is Severity.ERROR for f in result.findings)
        return
    territory = result.territory
    assert isinstance(territory.geometry, Polygon | MultiPolygon)
    assert territory.geometry.is_valid
    assert not territory.geometry.is_empty
    assert -180 <= territory.min_lon <= territory.max_lon <= 180
    assert -90 <= territory.min_lat <= territory.max_lat <= 90
    assert territory.area_km2 > 0
    assert territory_from_wkb(territory.wkb).equals_exact(territory.geometry, tolerance=0)


@given(json_values)
@settings(max_examples=400)
def test_any_json_value_reads_without_raising(document: Any) -> None:
    assert_well_formed(read(document))


@given(json_values.map(lambda value: {"type": "GeometryCollection", "geometries": [value]}))
def test_any_json_value_in_a_collection_reads_without_raising(document: Any) -> None:
    assert_well_formed(read(document))


coordinates = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-400, 400)
near_coordinates = st.floats(min_value=-181, max_value=181)
positions = st.lists(near_coordinates | coordinates, min_size=2, max_size=3) | st.lists(
    near_coordinates, min_size=2, max_size=2
)
rings = st.lists(positions, min_size=0, max_size=8).map(
    lambda ring: [*ring, ring[0]] if ring and len(ring) % 3 else ring
)
fuzzed_polygons = st.lists(rings, min_size=0, max_size=3)


@given(st.lists(fuzzed_polygons, min_size=1, max_size=4))
@settings(max_examples=400)
def test_fuzzed_coordinates_read_without_raising(polygons: list[Any]) -> None:
    assert_well_formed(read(multipolygon(*polygons)))


lons = st.floats(min_value=-180, max_value=180)
lats = st.floats(min_value=-90, max_value=90)
in_range_rings = st.lists(st.tuples(lons, lats).map(list), min_size=3, max_size=9).map(
    lambda ring: [*ring, ring[0]]
)


@given(st.lists(st.lists(in_range_rings, min_size=1, max_size=3), min_size=1, max_size=3))
@settings(max_examples=300)
def test_any_polygon_in_range_gives_a_territory_or_says_why_not(polygons: list[Any]) -> None:
    result = read(multipolygon(*polygons))
    assert_well_formed(result)
    if result.territory is None:
        assert result.findings[-1].rule == "territory.empty"


edge_lons = st.sampled_from([-180, 180, 179.9, -179.9, 0, 170, -170]) | lons
edge_lats = st.sampled_from([-90, 90, 0, 89.9, -89.9]) | lats
edge_rings = st.lists(st.tuples(edge_lons, edge_lats).map(list), min_size=3, max_size=9).map(
    lambda ring: [*ring, ring[0]]
)


@given(st.lists(st.lists(edge_rings, min_size=1, max_size=3), min_size=1, max_size=3))
@settings(max_examples=300)
def test_polygons_along_the_antimeridian_and_poles_read_without_raising(polygons: Any) -> None:
    assert_well_formed(read(multipolygon(*polygons)))

"""CDSC-WG1-01 4.5: at most one authoritative entity per commodity for any place.

Two servers whose current entries are both `authoritative` for the same commodity over the
same area contradict each other; each is told about the other. Shared borders are not
overlaps: an intersection counts only when its area is a noticeable part of the smaller
territory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from shapely.geometry.base import BaseGeometry

from crawler.domain import rules
from crawler.domain.findings import Finding
from crawler.domain.territory import spherical_area_km2

_MIN_SHARE = 0.001  # of the smaller territory
_MIN_KM2 = 0.01


@dataclass(frozen=True, slots=True)
class Claim:
    """A current entry that says its server is authoritative for these commodities here."""

    server_id: int
    server_url: str
    entry_id: str
    commodities: frozenset[str]
    geometry: BaseGeometry
    area_km2: float


def authoritative_overlaps(claims: Sequence[Claim]) -> list[tuple[int, Finding]]:
    """(server id, finding) for both sides of every overlap between two servers' claims."""
    if len(claims) < 2:
        return []
    tree = shapely.STRtree([claim.geometry for claim in claims])
    left, right = tree.query([claim.geometry for claim in claims], predicate="intersects")
    found: list[tuple[int, Finding]] = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        a, b = claims[i], claims[j]
        shared = sorted(a.commodities & b.commodities)
        if i >= j or a.server_id == b.server_id or not shared:
            continue
        overlap = spherical_area_km2(shapely.intersection(a.geometry, b.geometry))
        if overlap < max(_MIN_KM2, _MIN_SHARE * min(a.area_km2, b.area_km2)):
            continue
        found.append((a.server_id, _finding(a, b, shared, overlap)))
        found.append((b.server_id, _finding(b, a, shared, overlap)))
    return found


def _finding(own: Claim, other: Claim, commodities: list[str], overlap_km2: float) -> Finding:
    share = 100 * overlap_km2 / own.area_km2 if own.area_km2 else 100.0
    return rules.COVERAGE_AUTHORITATIVE_OVERLAP.finding(
        own.server_url,
        "",
        f"entry {own.entry_id[:80]!r} and entry {other.entry_id[:80]!r} of {other.server_url} "
        f"are both authoritative for {', '.join(commodities)} over {overlap_km2:,.1f} km² "
        f"({share:.1f}% of this entry's territory)",
    )

"""After a pass: report overlapping authoritative territories (CDSC-WG1-01 4.5)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.domain import rules
from crawler.domain.findings import Finding
from storage.repositories import snapshots, territories
from storage.repositories.territories import AuthoritativeTerritory


async def report_authoritative_overlaps(engine: AsyncEngine) -> int:
    """Recompute the overlap findings over every current territory; how many were found."""
    async with engine.connect() as conn:
        stored = await territories.authoritative(conn)
    found = _overlaps(stored) if stored else []
    async with engine.begin() as conn:
        await snapshots.replace_rule_findings(conn, rules.COVERAGE_AUTHORITATIVE_OVERLAP.id, found)
    return len(found)


def _overlaps(stored: Sequence[AuthoritativeTerritory]) -> list[tuple[int, Finding]]:
    # shapely loads only when there are territories: a crawl without coverage never needs it
    from crawler.domain.overlaps import Claim, authoritative_overlaps
    from crawler.domain.territory import territory_from_wkb

    claims = [
        Claim(
            server_id=row.server_id,
            server_url=row.server_url,
            entry_id=row.entry_id,
            commodities=frozenset(row.commodity_types),
            geometry=territory_from_wkb(row.wkb),
            area_km2=row.area_km2,
        )
        for row in stored
    ]
    return authoritative_overlaps(claims)

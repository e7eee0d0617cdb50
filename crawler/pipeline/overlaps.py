"""After a pass: report overlapping authoritative territories (CDSC-WG1-01 4.5)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.domain import rules
from crawler.domain.overlaps import Claim, authoritative_overlaps
from crawler.domain.territory import territory_from_wkb
from storage.repositories import snapshots, territories


async def report_authoritative_overlaps(engine: AsyncEngine) -> int:
    """Recompute the overlap findings over every current territory; how many were found."""
    async with engine.connect() as conn:
        stored = await territories.authoritative(conn)
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
    found = authoritative_overlaps(claims)
    async with engine.begin() as conn:
        await snapshots.replace_rule_findings(conn, rules.COVERAGE_AUTHORITATIVE_OVERLAP.id, found)
    return len(found)

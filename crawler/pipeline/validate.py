"""Conformance report for one live metadata URL and what it links, without storing anything."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from crawler.domain.findings import Finding, has_errors
from crawler.http.client import build_transport
from crawler.http.fetch import Fetcher
from crawler.http.politeness import HostLimiter
from crawler.pipeline.coverage import CoverageRead, read_listing, with_union_findings
from crawler.pipeline.interpret import Snapshot, interpret
from crawler.pipeline.resources import LinkedReaders
from crawler.pipeline.spot_check import askable, spot_check
from crawler.settings import Settings

_IDS_ASKED = 3  # entries a validation asks for through the `ids` filter


@dataclass(frozen=True, slots=True)
class ValidationReport:
    url: str
    status: str
    findings: tuple[Finding, ...]

    @property
    def has_errors(self) -> bool:
        return has_errors(self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "findings": [finding.to_json() for finding in self.findings],
        }


async def validate_url(settings: Settings, url: str) -> ValidationReport:
    """Fetch `url` (unconditionally) and everything its document links that a crawl reads:
    the whole coverage listing, each entry's GeoJSON territory and map, the OAuth metadata;
    report every finding on what came back.

    `status` is the metadata document's, as a crawl would record it. Never raises for
    anything the servers do; nothing is written anywhere.
    """
    async with build_transport(settings) as transport:
        fetcher = Fetcher(transport, settings, HostLimiter(settings))
        fetched = await fetcher.fetch(url, migrations=True)
        meaning = interpret(fetched, current_valid=None, max_links=settings.max_links_per_document)
        if meaning.snapshot is None:
            return ValidationReport(url, meaning.status.value, meaning.findings)
        linked = await _linked_findings(fetcher, settings, meaning.snapshot, url)
    return ValidationReport(url, meaning.status.value, meaning.snapshot.findings + linked)


async def _linked_findings(
    fetcher: Fetcher, settings: Settings, snapshot: Snapshot, url: str
) -> tuple[Finding, ...]:
    listing = None
    if snapshot.coverage_url is not None:
        read = await read_listing(fetcher, snapshot.coverage_url, settings)
        listing = with_union_findings(read, snapshot.content, url)
        filter_finding = await _ids_filter_finding(fetcher, read)
        if filter_finding is not None:
            listing = replace(listing, findings=(*listing.findings, filter_finding))
    linked = await LinkedReaders(fetcher, settings).read(
        listing.entries if listing else (),
        snapshot.oauth_link,
        listing_complete=listing is not None and listing.complete,
    )
    return (listing.findings if listing else ()) + linked.findings


async def _ids_filter_finding(fetcher: Fetcher, read: CoverageRead) -> Finding | None:
    """Whether the listing honours the `ids` filter (CDSC-WG1-01 4.2), asked for a few of the
    entries a whole read found; a listing read in part is not asked."""
    listed = [entry.entry_id for entry in read.entries if askable(entry.entry_id)]
    if read.url is None or not read.complete or not listed:
        return None
    checked = await spot_check(fetcher, read.url, listed[-_IDS_ASKED:], frozenset(listed))
    return checked.finding

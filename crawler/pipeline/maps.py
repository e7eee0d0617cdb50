"""Check each coverage entry's `map_resource`: reachable, and of its `map_content_type`.

Maps are not stored; a probe reads the response headers and leaves the body unread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from crawler.domain import rules
from crawler.domain.coverage import CoverageEntry
from crawler.domain.fetching import FetchOutcome, FetchResult
from crawler.domain.findings import Finding
from crawler.http.fetch import Fetcher
from crawler.pipeline.failures import unavailable
from crawler.pipeline.once import OncePerPass


class MapProber:
    """Probes map resources for a pass, each URL once."""

    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher
        self._once: OncePerPass[FetchResult] = OncePerPass()
        self.requests = 0

    async def check(self, entries: Sequence[CoverageEntry]) -> tuple[Finding, ...]:
        """Findings about the map resources of these entries (none when all answer as named)."""
        mapped = [entry for entry in entries if entry.map_resource is not None]
        found = await asyncio.gather(*(self._entry(entry) for entry in mapped))
        return tuple(finding for finding in found if finding is not None)

    async def _entry(self, entry: CoverageEntry) -> Finding | None:
        url = entry.map_resource
        assert url is not None
        probed = await self._once.get(url, lambda: self._probe(url))
        label = f"the map_resource of entry {entry.entry_id[:80]!r}"
        if probed.outcome is not FetchOutcome.OK:
            return unavailable(probed, rules.MAP_UNREACHABLE, label)
        declared = (entry.map_content_type or "").split(";", 1)[0].strip().lower()
        if declared and probed.media_type != declared:
            served = probed.content_type or "no Content-Type"
            return rules.MAP_CONTENT_TYPE.finding(
                url, "", f"{label} is served as {served!r}, but map_content_type is {declared!r}"
            )
        return None

    async def _probe(self, url: str) -> FetchResult:
        probed = await self._fetcher.fetch(url, read_body=False)
        self.requests += probed.requests
        return probed

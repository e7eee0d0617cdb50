"""Read the territory of every coverage entry that links a GeoJSON resource."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from crawler.domain import rules
from crawler.domain.coverage import CoverageEntry
from crawler.domain.fetching import FetchOutcome, FetchResult
from crawler.domain.findings import Finding
from crawler.domain.jsondoc import parse_json_object
from crawler.http.fetch import Fetcher
from crawler.pipeline.failures import unavailable
from crawler.pipeline.once import OncePerPass
from storage.repositories.history import StoredResource

if TYPE_CHECKING:
    from crawler.domain.territory import Territory

_KEPT_WKB_BYTES = 1 << 20  # larger territories are not held for the rest of the pass


@dataclass(frozen=True, slots=True)
class TerritoryFetch:
    """One fetch of a GeoJSON resource, read into a territory when a body came back."""

    fetch: FetchResult
    territory: Territory | None
    findings: tuple[Finding, ...]


@dataclass(frozen=True, slots=True)
class TerritoryRead:
    """What one entry's GeoJSON resource gave this pass."""

    entry_id: str
    url: str
    territory: Territory | None  # read from a body fetched now
    not_modified: bool  # 304: the stored territory stands
    findings: tuple[Finding, ...]
    etag: str | None
    last_modified: str | None


class TerritoryReader:
    """Fetches GeoJSON resources for a pass, each (URL, validators) once."""

    def __init__(self, fetcher: Fetcher, max_bytes: int) -> None:
        self._fetcher = fetcher
        self._max_bytes = max_bytes
        self._once: OncePerPass[TerritoryFetch] = OncePerPass(keep=_small)
        self.requests = 0

    async def read(
        self, entries: Sequence[CoverageEntry], stored: dict[str, StoredResource]
    ) -> tuple[TerritoryRead, ...]:
        """The territory of each entry with a `geojson_resource`, read concurrently."""
        mapped = [entry for entry in entries if entry.geojson_resource is not None]
        return tuple(
            await asyncio.gather(*(self._entry(e, stored.get(e.entry_id)) for e in mapped))
        )

    async def _entry(self, entry: CoverageEntry, stored: StoredResource | None) -> TerritoryRead:
        url = entry.geojson_resource
        assert url is not None
        same_url = stored is not None and stored.url == url
        etag = stored.etag if stored and same_url else None
        last_modified = stored.last_modified if stored and same_url else None
        got = await self._once.get(
            (url, etag, last_modified), lambda: self._fetch(url, etag, last_modified)
        )
        not_modified = got.fetch.outcome is FetchOutcome.NOT_MODIFIED
        findings = stored.findings if stored and not_modified else got.findings
        if got.fetch.outcome not in (FetchOutcome.OK, FetchOutcome.NOT_MODIFIED):
            findings = (_unavailable(entry, got.fetch),)
        return TerritoryRead(
            entry_id=entry.entry_id,
            url=url,
            territory=got.territory,
            not_modified=not_modified,
            findings=findings,
            etag=got.fetch.etag,
            last_modified=got.fetch.last_modified,
        )

    async def _fetch(self, url: str, etag: str | None, last_modified: str | None) -> TerritoryFetch:
        fetched = await self._fetcher.fetch(
            url, etag=etag, last_modified=last_modified, max_bytes=self._max_bytes
        )
        self.requests += fetched.requests
        if fetched.outcome is not FetchOutcome.OK:
            return TerritoryFetch(fetched, None, ())
        # The body is needed only until it is parsed: the pass keeps the result, not the bytes.
        body, fetched = fetched.body or b"", replace(fetched, body=None)
        document, parse_findings = parse_json_object(body, fetched.final_url)
        del body
        if document is None:
            return TerritoryFetch(fetched, None, parse_findings)
        # shapely loads only when a territory is read: a crawl without coverage never needs it
        from crawler.domain.territory import read_territory

        read = read_territory(document, fetched.final_url)
        return TerritoryFetch(fetched, read.territory, parse_findings + read.findings)


def _small(got: TerritoryFetch) -> bool:
    return got.territory is None or len(got.territory.wkb) <= _KEPT_WKB_BYTES


def _unavailable(entry: CoverageEntry, fetched: FetchResult) -> Finding:
    return unavailable(
        fetched,
        rules.TERRITORY_UNAVAILABLE,
        f"the GeoJSON resource of entry {entry.entry_id[:80]!r}",
    )

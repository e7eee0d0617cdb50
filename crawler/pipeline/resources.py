"""Read what a metadata document links beyond its listing: territories, maps, OAuth metadata."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from crawler.domain.coverage import CoverageEntry
from crawler.http.fetch import Fetcher
from crawler.pipeline.linked import Linked
from crawler.pipeline.maps import MapProber
from crawler.pipeline.oauth import OAuthLink, OAuthRead, OAuthReader
from crawler.pipeline.territories import TerritoryReader
from crawler.settings import Settings
from storage.repositories.history import StoredResource


class LinkedReaders:
    """The readers of one pass (or one validation), so that each URL is fetched once."""

    def __init__(self, fetcher: Fetcher, settings: Settings) -> None:
        self.territories = TerritoryReader(fetcher, settings.max_geojson_bytes)
        self.maps = MapProber(fetcher)
        self.oauth = OAuthReader(fetcher)

    @property
    def requests(self) -> int:
        return self.territories.requests + self.maps.requests + self.oauth.requests

    async def read(
        self,
        entries: Sequence[CoverageEntry],
        oauth_link: OAuthLink | None,
        *,
        listing_complete: bool,
        removed: frozenset[str] = frozenset(),
        stored_territories: dict[str, StoredResource] | None = None,
        stored_oauth: StoredResource | None = None,
    ) -> Linked:
        """Every entry's territory and map, and the OAuth metadata, read concurrently."""
        stored = stored_territories or {}
        if entries:
            territories, map_findings, oauth = await asyncio.gather(
                self.territories.read(entries, stored),
                self.maps.check(entries),
                self._oauth(oauth_link, stored_oauth),
            )
        else:  # most documents: no tasks to start for what is not there
            territories, map_findings = (), ()
            oauth = await self._oauth(oauth_link, stored_oauth)
        return Linked(
            stored_territories=stored,
            territories=territories,
            listing_complete=listing_complete,
            removed=removed,
            listed=frozenset(entry.entry_id for entry in entries),
            map_findings=map_findings,
            stored_oauth=stored_oauth,
            oauth=oauth,
        )

    async def _oauth(
        self, link: OAuthLink | None, stored: StoredResource | None
    ) -> OAuthRead | None:
        return None if link is None else await self.oauth.read(link, stored)

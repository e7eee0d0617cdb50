"""robots.txt files kept in the database, so that every crawl and worker shares them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.http.robots import StoredRobots, origin_of
from storage.repositories import robots

_FLUSH_AT = 256  # saves gathered before they are written in one transaction


class DatabaseRobotsStore:
    """Reads one origin at a time; gathers saves and writes them together (a transaction
    per origin would contend with the pass's own writers), at the latest on `flush`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.pending: dict[str, StoredRobots] = {}
        self.prefetched: dict[str, StoredRobots | None] = {}

    async def prefetch(self, urls: Iterable[str]) -> None:
        """Read the stored files of these URLs' origins at once (a query per origin costs
        a pass of a thousand servers about a second); `load` then answers from memory."""
        origins = sorted({origin for url in urls if (origin := origin_of(url)) is not None})
        async with self.engine.connect() as conn:
            found = await robots.load_many(conn, origins)
        # What an earlier prefetch read and nobody asked for is dropped: memory stays bounded
        # by one pass's (or one round's) origins.
        self.prefetched = {origin: None for origin in origins}
        self.prefetched.update({origin: StoredRobots(**row) for origin, row in found.items()})

    async def load(self, origin: str) -> StoredRobots | None:
        if origin in self.pending:
            return self.pending[origin]
        if origin in self.prefetched:
            return self.prefetched.pop(origin)
        async with self.engine.connect() as conn:
            row = await robots.load(conn, origin)
        return None if row is None else StoredRobots(**row)

    async def save(self, origin: str, kept: StoredRobots) -> None:
        self.pending[origin] = kept
        if len(self.pending) >= _FLUSH_AT:
            await self.flush()

    async def flush(self) -> None:
        if not self.pending:
            return
        rows = [
            {
                "origin": origin,
                "text": kept.text,
                "etag": kept.etag,
                "last_modified": kept.last_modified,
                "read_at": kept.read_at,
            }
            for origin, kept in self.pending.items()
        ]
        self.pending = {}
        async with self.engine.begin() as conn:
            await robots.save(conn, rows)

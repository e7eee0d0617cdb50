"""robots.txt files kept in the database, so that every crawl and worker shares them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.http.robots import StoredRobots
from storage.repositories import robots


class DatabaseRobotsStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def load(self, origin: str) -> StoredRobots | None:
        async with self.engine.connect() as conn:
            row = await robots.load(conn, origin)
        return None if row is None else StoredRobots(**row)

    async def save(self, origin: str, kept: StoredRobots) -> None:
        async with self.engine.begin() as conn:
            await robots.save(conn, origin, kept.text, kept.etag, kept.last_modified, kept.read_at)

"""What one pass fetches: the seeds, then every URL their documents link to, each URL once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from crawler.domain.targets import Target
from crawler.pipeline.interpret import CrawlTarget
from storage.repositories.seeds import SeedRow


def from_seeds(seeds: Sequence[SeedRow]) -> list[CrawlTarget]:
    unique = {s.url: CrawlTarget(s.url, s.target, s.id) for s in reversed(seeds)}
    return list(reversed(unique.values()))


def from_targets(targets: Sequence[Target], known: Sequence[SeedRow]) -> list[CrawlTarget]:
    """The targets asked for on the command line, linked to their seed when there is one."""
    seed_ids = {s.url: s.id for s in known}
    unique = {t.url: CrawlTarget(t.url, t.given, seed_ids.get(t.url)) for t in targets}
    return list(unique.values())


class Frontier:
    """The URLs of one pass, in the order they were found; each is handed out once.

    `join()` returns when every URL offered has been taken and marked done, including the URLs
    found while processing the others.
    """

    def __init__(self) -> None:
        self._queue: asyncio.Queue[CrawlTarget] = asyncio.Queue()
        self._seen: set[str] = set()

    @property
    def size(self) -> int:
        """How many URLs this pass has taken on so far."""
        return len(self._seen)

    def unseen(self, urls: Sequence[str]) -> list[str]:
        return [url for url in dict.fromkeys(urls) if url not in self._seen]

    def offer(self, target: CrawlTarget) -> bool:
        """Queue the target unless its URL was already queued in this pass."""
        if target.url in self._seen:
            return False
        self._seen.add(target.url)
        self._queue.put_nowait(target)
        return True

    async def take(self) -> CrawlTarget:
        return await self._queue.get()

    def done(self) -> None:
        self._queue.task_done()

    async def join(self) -> None:
        await self._queue.join()

"""What one poll of a metadata URL observed, on its way to being recorded."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from crawler.domain.fetching import FetchResult
from crawler.pipeline.coverage import CoverageRead
from crawler.pipeline.interpret import CrawlTarget, Interpretation
from crawler.pipeline.linked import Linked
from storage.repositories.servers import ServerState


class Change(StrEnum):
    """How one poll changed what is stored; the crawl summary counts these."""

    NEW = "new"  # first version of this server
    CHANGED = "changed"  # a version with different content
    UNCHANGED = "unchanged"  # 304, or the same content again
    FAILED = "failed"  # no document this time (the last good version stays)
    MOVED = "moved"  # redirected to another origin (the target is crawled as its own server)


@dataclass(frozen=True, slots=True)
class Poll:
    target: CrawlTarget
    state: ServerState | None
    fetch: FetchResult
    meaning: Interpretation
    crawl_id: int | None
    coverage: CoverageRead | None = None  # the coverage listing, when it was read
    linked: Linked | None = None  # territories, maps and OAuth, when a document was at hand
    retried: tuple[FetchResult, ...] = ()  # earlier attempts of this pass that failed
    availability: str | None = None  # a cds.server.unreachable/recovered/removed candidate
    served_again: int | None = None  # an earlier version's id, served again while alternating

"""What one pass fetches: the seeds (or the targets asked for), each URL once."""

from __future__ import annotations

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

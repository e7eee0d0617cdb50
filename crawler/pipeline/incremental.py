"""What a listing read needs beyond its pages: after a read that stopped at the watermark, a
spot check of some entries it did not read (by the `ids` filter), and the findings the last
poll made about what this one did not read again."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.domain import rules
from crawler.http.fetch import Fetcher
from crawler.pipeline.coverage import CoverageRead
from crawler.pipeline.poll import Poll
from crawler.pipeline.spot_check import askable, spot_check
from crawler.settings import Settings
from storage.repositories import coverage, snapshots

# Found only by a whole read, or only by a spot check: kept until the next one.
_WHOLE_READ_RULES = frozenset({rules.METADATA_CAPABILITIES_UNION.id})
_SPOT_CHECK_RULES = frozenset({rules.COVERAGE_IDS_FILTER.id})


async def with_spot_check(
    read: CoverageRead,
    fetcher: Fetcher,
    engine: AsyncEngine,
    server_id: int | None,
    settings: Settings,
) -> tuple[CoverageRead, int]:
    """After a read that stopped at the watermark, once per `coverage_spot_check_interval`,
    the read with some of the server's stored entries it did not read asked for by id, those
    confirmed longest ago first (one absent from the answer has been deleted); and the
    requests that took."""
    state = read.state
    if not read.incremental or read.url is None or server_id is None or state is None:
        return read, 0
    now = datetime.now(UTC)
    interval = timedelta(seconds=settings.coverage_spot_check_interval)
    due = state.checked_at is None or now - state.checked_at >= interval
    if not due or settings.coverage_spot_checks == 0:
        return read, 0
    size = settings.coverage_spot_checks
    listed = frozenset(entry.entry_id for entry in read.entries)
    async with engine.connect() as conn:
        stored = await coverage.least_recently_confirmed(conn, server_id, listed, size * 2)
    ids = [entry_id for entry_id in stored if askable(entry_id)][:size]
    if not ids:
        return read, 0
    checked = await spot_check(fetcher, read.url, ids, listed)
    spotted = replace(
        read,
        spot_checked=True,
        checked=checked.entries,
        absent=checked.absent,
        findings=read.findings + ((checked.finding,) if checked.finding else ()),
        state=replace(state, checked_at=now),
    )
    return spotted, checked.requests


async def with_carried_findings(poll: Poll, engine: AsyncEngine) -> Poll:
    """The poll with the last poll's findings about what it did not check again: the pages
    and linked resources a read that stopped at the watermark did not read, what only a
    whole read checks, and what only a spot check checks. Each holds until checked again."""
    read, state = poll.coverage, poll.state
    if read is None or read.url is None or state is None or not state.has_attempt_findings:
        return poll
    if not read.incremental and read.spot_checked:
        return poll
    async with engine.connect() as conn:
        previous = await snapshots.attempt_findings(conn, state.id)
    read_now = _urls_read(poll) if read.incremental else None
    carried = tuple(
        finding
        for finding in previous
        if (finding.rule in _SPOT_CHECK_RULES and finding.url == read.url and not read.spot_checked)
        or (read_now is not None and finding.rule in _WHOLE_READ_RULES)
        or (read_now is not None and finding.url not in read_now)
    )
    return replace(poll, coverage=replace(read, findings=read.findings + carried))


def _urls_read(poll: Poll) -> set[str]:
    """The URLs this poll read, whose findings it made afresh."""
    read = poll.coverage
    assert read is not None
    urls = {poll.target.url, poll.fetch.url, poll.fetch.final_url, *read.page_urls}
    urls.update(fetch.url for fetch in poll.retried)
    if read.url is not None:
        urls.add(read.url)
    for entry in read.entries:
        urls.update(url for url in (entry.geojson_resource, entry.map_resource) if url)
    if poll.linked is not None and poll.linked.oauth is not None:
        urls.add(poll.linked.oauth.link.url)
    return urls

"""Record interpreted fetches: server state, versions, findings, the fetch log, the coverage
and linked resources read, and the events all of it causes.

A batch of polls is written in one transaction with a fixed handful of set-based statements,
whatever its size; a batch holds at most one poll per server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crawler.domain import rules
from crawler.domain.fetching import FetchResult
from crawler.domain.findings import Finding
from crawler.domain.status import ServerStatus
from crawler.pipeline.coverage_writes import save_pages, write_coverage
from crawler.pipeline.interpret import Interpretation, Snapshot
from crawler.pipeline.linked import LinkedWrite, write_linked
from crawler.pipeline.outbox import Outbox
from crawler.pipeline.poll import Change, Poll
from crawler.pipeline.server_events import server_events
from storage.repositories import fetch_log, servers, snapshots
from storage.repositories.servers import (
    COVERAGE,
    OAUTH_METADATA,
    OAUTH_WELL_KNOWN,
    RELATED_METADATA,
)


async def record_polls(
    engine: AsyncEngine, polls: Sequence[Poll], *, flap_window: timedelta = timedelta(days=1)
) -> list[Change]:
    """Write what a batch of polls observed, and the events it causes, in one transaction;
    returns what each changed.

    Idempotent per content: a document whose hash equals the current version's adds no version.
    If the database refuses the batch, each poll is written alone, so one unstorable document
    costs only its own version.
    """
    try:
        async with engine.begin() as conn:
            return await _write(conn, polls, flap_window)
    except DBAPIError as exc:
        if len(polls) > 1:
            return [
                change
                for poll in polls
                for change in await record_polls(engine, [poll], flap_window=flap_window)
            ]
        if polls[0].meaning.snapshot is None:
            raise
        rejected = _as_unstorable(polls[0], exc)
    return await record_polls(engine, [rejected], flap_window=flap_window)


def _as_unstorable(poll: Poll, exc: DBAPIError) -> Poll:
    """A document the database refuses (e.g. a NUL character in Postgres JSONB) is a finding."""
    reason = str(exc.orig or exc).strip().splitlines()[0]
    finding = rules.STORAGE_REJECTED.finding(
        poll.fetch.final_url, "", f"the document could not be stored: {reason}"
    )
    return replace(poll, meaning=Interpretation(ServerStatus.INVALID, findings=(finding,)))


@dataclass
class _Batch:
    """The rows one batch writes, gathered before any statement runs."""

    documents: list[dict[str, Any]] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)
    version_findings: list[tuple[Finding, ...]] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)  # of the new versions, in order
    confirmations: list[tuple[int, datetime]] = field(default_factory=list)
    server_updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    stale_findings: list[int] = field(default_factory=list)
    attempt_findings: list[tuple[int, int | None, Finding]] = field(default_factory=list)
    fetch_log: list[dict[str, Any]] = field(default_factory=list)


async def _write(
    conn: AsyncConnection, polls: Sequence[Poll], flap_window: timedelta
) -> list[Change]:
    server_ids = await _server_ids(conn, polls)
    batch = _Batch()
    changes = [_plan(poll, sid, batch) for poll, sid in zip(polls, server_ids, strict=True)]
    outbox = Outbox()
    await server_events(conn, polls, server_ids, changes, outbox, flap_window)
    await snapshots.store_documents(conn, batch.documents)
    version_ids = await snapshots.add_versions(conn, batch.versions)
    await snapshots.add_links(conn, _link_rows(batch, version_ids))
    await snapshots.add_findings(
        conn,
        [
            (row["server_id"], version_id, finding)
            for row, version_id, found in zip(
                batch.versions, version_ids, batch.version_findings, strict=True
            )
            for finding in found
        ],
    )
    await snapshots.confirm_versions(conn, batch.confirmations)
    await servers.update_servers(conn, batch.server_updates)
    await snapshots.clear_attempt_findings(conn, batch.stale_findings)
    await snapshots.add_findings(conn, batch.attempt_findings)
    await fetch_log.record(conn, batch.fetch_log)
    read = [(poll, sid) for poll, sid in zip(polls, server_ids, strict=True) if poll.coverage]
    if read:
        await write_coverage(conn, read, outbox)
        await save_pages(conn, [poll for poll, _ in read])
    linked = [
        LinkedWrite(sid, poll.target.url, poll.fetch.started_at, poll.crawl_id, poll.linked)
        for poll, sid in zip(polls, server_ids, strict=True)
        if poll.linked and not poll.linked.writes_nothing
    ]
    if linked:
        await write_linked(conn, linked, outbox)
    await outbox.flush(conn)
    return changes


def _link_rows(batch: _Batch, version_ids: list[int]) -> list[dict[str, Any]]:
    """The links each new version makes: related_metadata, the coverage listing, OAuth."""
    rows = []
    for row, version_id, snap in zip(batch.versions, version_ids, batch.snapshots, strict=True):
        kinds = [(RELATED_METADATA, url) for url in snap.links]
        if snap.coverage_url:
            kinds.append((COVERAGE, snap.coverage_url))
        if snap.oauth_link:
            kind = OAUTH_WELL_KNOWN if snap.oauth_link.well_known else OAUTH_METADATA
            kinds.append((kind, snap.oauth_link.url))
        rows += [
            {
                "version_id": version_id,
                "server_id": row["server_id"],
                "kind": kind,
                "url": url,
                "position": position,
            }
            for position, (kind, url) in enumerate(kinds)
        ]
    return rows


async def _server_ids(conn: AsyncConnection, polls: Sequence[Poll]) -> list[int]:
    """Each poll's server id, inserting the servers seen for the first time."""
    new = [poll for poll in polls if poll.state is None]
    inserted = iter(await servers.insert_servers(conn, [_new_server(poll) for poll in new]))
    return [poll.state.id if poll.state else next(inserted) for poll in polls]


def _plan(poll: Poll, server_id: int, batch: _Batch) -> Change:
    """Add this poll's rows to the batch; what it changes."""
    state, meaning, fetch = poll.state, poll.meaning, poll.fetch
    change = Change.MOVED if meaning.moved_to else Change.FAILED
    values = _attempt_values(poll)
    if meaning.snapshot is not None:
        change = _plan_snapshot(poll, server_id, meaning.snapshot, batch)
        if poll.served_again is None:  # the server's columns follow its current version
            changed = change != Change.UNCHANGED
            values.update(_document_values(meaning.snapshot, fetch, changed=changed))
    elif meaning.not_modified and state and state.current_version_id is not None:
        batch.confirmations.append((state.current_version_id, fetch.started_at))
        change = Change.UNCHANGED
    if state is not None:
        batch.server_updates.append((server_id, values))
        if state.has_attempt_findings:
            batch.stale_findings.append(server_id)
    read_findings = poll.coverage.findings if poll.coverage else ()
    linked_findings = poll.linked.findings if poll.linked else ()
    batch.attempt_findings.extend(
        (server_id, None, f) for f in (*meaning.findings, *read_findings, *linked_findings)
    )
    batch.fetch_log.extend(
        _fetch_log_row(fetch, poll.crawl_id, server_id) for fetch in (*poll.retried, poll.fetch)
    )
    return change


def _plan_snapshot(poll: Poll, server_id: int, snap: Snapshot, batch: _Batch) -> Change:
    state, fetch = poll.state, poll.fetch
    if state and state.current_sha256 == snap.sha256 and state.current_version_id is not None:
        batch.confirmations.append((state.current_version_id, fetch.started_at))
        return Change.UNCHANGED
    if poll.served_again is not None:
        batch.confirmations.append((poll.served_again, fetch.started_at))
        return Change.UNCHANGED
    batch.documents.append(
        {
            "sha256": snap.sha256,
            "content": snap.content,
            "size_bytes": snap.size_bytes,
            "first_seen_at": fetch.started_at,
        }
    )
    batch.versions.append(
        {
            "server_id": server_id,
            "version": (state.current_version if state else 0) + 1,
            "document_sha256": snap.sha256,
            "fetched_at": fetch.started_at,
            "last_confirmed_at": fetch.started_at,
            "draft": snap.draft,
            "valid": snap.valid,
            "content_type": fetch.content_type,
            "etag": fetch.etag,
            "last_modified": fetch.last_modified,
            "crawl_id": poll.crawl_id,
        }
    )
    batch.version_findings.append(snap.findings)
    batch.snapshots.append(snap)
    return Change.CHANGED if state and state.current_version else Change.NEW


_DOCUMENT_COLUMNS = ("name", "canonical_url", "etag", "last_modified", "last_changed")


def _new_server(poll: Poll) -> dict[str, Any]:
    """A new server's row; every row has the same columns, so they insert as one statement."""
    now = poll.fetch.started_at
    values: dict[str, Any] = dict.fromkeys(_DOCUMENT_COLUMNS)
    values.update(_attempt_values(poll))
    values.update(
        url=poll.target.url,
        first_seen=now,
        status_since=now,
        discovered_via=poll.target.discovered_via,
        seed_id=poll.target.seed_id,
    )
    if poll.meaning.snapshot is not None:
        values.update(_document_values(poll.meaning.snapshot, poll.fetch, changed=True))
    return values


def _attempt_values(poll: Poll) -> dict[str, Any]:
    """Columns every attempt updates, whatever its outcome."""
    status = poll.meaning.status.value
    meaning = poll.meaning
    failed = meaning.snapshot is None and not meaning.not_modified and not meaning.moved_to
    previous_failures = poll.state.consecutive_failures if poll.state else 0
    values: dict[str, Any] = {
        "status": status,
        "last_fetched": poll.fetch.started_at,
        "consecutive_failures": previous_failures + 1 if failed else 0,
        "moved_to": meaning.moved_to,
        "last_outcome": poll.fetch.outcome.value,
    }
    if poll.state is None or poll.state.status != status:
        values["status_since"] = poll.fetch.started_at
    return values


def _document_values(snap: Snapshot, fetch: FetchResult, *, changed: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": snap.name,
        "canonical_url": snap.canonical_url,
        "etag": fetch.etag,
        "last_modified": fetch.last_modified,
    }
    if changed:
        values["last_changed"] = fetch.started_at
    return values


def _fetch_log_row(fetch: FetchResult, crawl_id: int | None, server_id: int) -> dict[str, Any]:
    return {
        "crawl_id": crawl_id,
        "server_id": server_id,
        "url": fetch.url,
        "started_at": fetch.started_at,
        "duration_ms": round(fetch.duration_s * 1000),
        "status_code": fetch.status_code,
        "bytes": fetch.bytes_received,
        "requests": fetch.requests,
        "outcome": fetch.outcome.value,
        "error_class": fetch.error_class,
        "redirects": [
            {"url": h.url, "status_code": h.status_code, "location": h.location}
            for h in fetch.redirects
        ]
        or None,
    }

"""Record interpreted fetches: server state, versions, findings and the fetch log.

A batch of polls is written in one transaction with a fixed handful of set-based statements,
whatever its size; a batch holds at most one poll per server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crawler.domain import events, rules
from crawler.domain.availability import worth_announcing
from crawler.domain.canonical import canonical_form
from crawler.domain.coverage import CoverageEntry
from crawler.domain.fetching import FetchResult
from crawler.domain.findings import Finding
from crawler.domain.status import ServerStatus
from crawler.pipeline.coverage import CoverageRead
from crawler.pipeline.interpret import CrawlTarget, Interpretation, Snapshot
from crawler.pipeline.linked import Linked, LinkedWrite, write_linked
from crawler.pipeline.outbox import Outbox
from storage.repositories import coverage, coverage_pages, fetch_log, history, servers, snapshots
from storage.repositories import events as stored_events
from storage.repositories.servers import (
    COVERAGE,
    OAUTH_METADATA,
    OAUTH_WELL_KNOWN,
    RELATED_METADATA,
    ServerState,
)
from storage.schema import coverage_entries


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
    await _server_events(conn, polls, server_ids, changes, outbox, flap_window)
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
        await _write_coverage(conn, read, outbox)
        await _save_pages(conn, [poll for poll, _ in read])
    linked = [
        LinkedWrite(sid, poll.target.url, poll.fetch.started_at, poll.crawl_id, poll.linked)
        for poll, sid in zip(polls, server_ids, strict=True)
        if poll.linked
    ]
    if linked:
        await write_linked(conn, linked, outbox)
    await outbox.flush(conn)
    return changes


async def _server_events(
    conn: AsyncConnection,
    polls: Sequence[Poll],
    server_ids: Sequence[int],
    changes: Sequence[Change],
    outbox: Outbox,
    flap_window: timedelta,
) -> None:
    """A server's first document, a change of its content, its migration and its
    availability, as events."""
    previous = await snapshots.document_contents(
        conn,
        [
            poll.state.current_sha256
            for poll, change in zip(polls, changes, strict=True)
            if change is Change.CHANGED and poll.state and poll.state.current_sha256
        ],
    )
    for poll, server_id, change in zip(polls, server_ids, changes, strict=True):
        url, at, snap, state = (
            poll.target.url,
            poll.fetch.started_at,
            poll.meaning.snapshot,
            poll.state,
        )
        if snap is not None and change is Change.NEW:
            outbox.add(events.server_discovered(url, 1, snap.content, at), server_id, poll.crawl_id)
        elif snap is not None and change is Change.CHANGED and state and state.current_sha256:
            old = previous.get(state.current_sha256)
            event = events.server_changed(url, state.current_version + 1, old, snap.content, at)
            outbox.add(event, server_id, poll.crawl_id)
        moved_to = poll.meaning.moved_to
        if moved_to and (state is None or state.moved_to != moved_to):
            outbox.add(events.server_moved(url, moved_to, at), server_id, poll.crawl_id)
    await _availability_events(conn, polls, server_ids, outbox, flap_window)


async def _availability_events(
    conn: AsyncConnection,
    polls: Sequence[Poll],
    server_ids: Sequence[int],
    outbox: Outbox,
    flap_window: timedelta,
) -> None:
    """Unreachable, recovered and removed, with a flapping server's noise held back."""
    candidates = [(p, sid) for p, sid in zip(polls, server_ids, strict=True) if p.availability]
    if not candidates:
        return
    last = await stored_events.last_availability(conn, [p.target.url for p, _ in candidates])
    for poll, server_id in candidates:
        assert poll.availability is not None
        url, at = poll.target.url, poll.fetch.started_at
        if worth_announcing(poll.availability, last.get(url), at, flap_window):
            event = events.server_availability(poll.availability, url, poll.fetch.reason, at)
            outbox.add(event, server_id, poll.crawl_id)


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


async def _write_coverage(
    conn: AsyncConnection, read: list[tuple[Poll, int]], outbox: Outbox
) -> None:
    """New versions for new or changed entries; the end of those gone from a complete listing.
    Each is an event."""
    server_ids = [server_id for _, server_id in read]
    stored = await coverage.current(conn, server_ids)
    last = await history.last_versions(conn, coverage_entries, server_ids, "entry_id")
    rows: list[dict[str, Any]] = []
    closing: list[tuple[int, datetime]] = []
    confirming: list[tuple[int, dict[str, Any]]] = []
    replaced: list[tuple[Poll, int, CoverageEntry, int, int]] = []  # ..., version, old row
    for poll, server_id in read:
        assert poll.coverage is not None
        now, current, url = poll.fetch.started_at, stored[server_id], poll.target.url
        for entry in poll.coverage.entries:
            _, sha256 = canonical_form(entry.content)
            old = current.get(entry.entry_id)
            if old is not None and old.sha256 == sha256:
                confirming.append((old.row_id, {"last_confirmed_at": now}))
                continue
            version = last.get((server_id, entry.entry_id), 0) + 1
            if old is not None:
                closing.append((old.row_id, now))
                replaced.append((poll, server_id, entry, version, old.row_id))
            else:
                added = events.entry_added(url, entry.entry_id, version, entry.model(), now)
                outbox.add(added, server_id, poll.crawl_id)
            rows.append(_entry_row(poll, server_id, entry, sha256, version))
        if poll.coverage.complete:
            listed = {entry.entry_id for entry in poll.coverage.entries}
            for entry_id, gone in current.items():
                if entry_id not in listed:
                    closing.append((gone.row_id, now))
                    removed = events.entry_removed(url, entry_id, gone.version, now)
                    outbox.add(removed, server_id, poll.crawl_id)
    before = await coverage.contents(conn, [old_row for *_, old_row in replaced])
    for poll, server_id, entry, version, old_row in replaced:
        at = poll.fetch.started_at
        changed = events.entry_changed(
            poll.target.url, entry.entry_id, version, before.get(old_row), entry.content, at
        )
        outbox.add(changed, server_id, poll.crawl_id)
    await history.close(conn, coverage_entries, closing)
    await history.add(conn, coverage_entries, rows)
    await history.confirm(conn, coverage_entries, confirming)


async def _save_pages(conn: AsyncConnection, polls: Sequence[Poll]) -> None:
    """Keep the listings' pages that came with validators, to ask for them conditionally."""
    documents, rows = [], []
    for poll in polls:
        assert poll.coverage is not None
        for page in poll.coverage.fresh_pages:
            at = poll.fetch.started_at
            documents.append(
                {
                    "sha256": page.sha256,
                    "content": page.content,
                    "size_bytes": page.size_bytes,
                    "first_seen_at": at,
                }
            )
            rows.append(
                {
                    "listing_url": poll.coverage.url,
                    "url": page.url,
                    "etag": page.etag,
                    "last_modified": page.last_modified,
                    "document_sha256": page.sha256,
                    "fetched_at": at,
                }
            )
    await snapshots.store_documents(conn, documents)
    await coverage_pages.save(conn, rows)


def _entry_row(
    poll: Poll, server_id: int, entry: CoverageEntry, sha256: str, version: int
) -> dict[str, Any]:
    return {
        "server_id": server_id,
        "entry_id": entry.entry_id,
        "version": version,
        "sha256": sha256,
        "content": entry.content,
        "model": entry.model(),
        "type": entry.type,
        "role": entry.role,
        "country": entry.country,
        "entity_name": entry.entity_name,
        "name": entry.name,
        "valid": entry.valid,
        "valid_from": poll.fetch.started_at,
        "valid_to": None,
        "last_confirmed_at": poll.fetch.started_at,
        "crawl_id": poll.crawl_id,
    }


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

"""Record interpreted fetches: server state, versions, findings and the fetch log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crawler.domain import rules
from crawler.domain.fetching import FetchResult
from crawler.domain.status import ServerStatus
from crawler.pipeline.interpret import CrawlTarget, Interpretation, Snapshot
from storage.repositories import fetch_log, servers, snapshots
from storage.repositories.servers import ServerState


class Change(StrEnum):
    """How one poll changed what is stored; the crawl summary counts these."""

    NEW = "new"  # first version of this server
    CHANGED = "changed"  # a version with different content
    UNCHANGED = "unchanged"  # 304, or the same content again
    FAILED = "failed"  # no document this time (the last good version stays)


@dataclass(frozen=True, slots=True)
class Poll:
    target: CrawlTarget
    state: ServerState | None
    fetch: FetchResult
    meaning: Interpretation
    crawl_id: int | None


async def record_polls(engine: AsyncEngine, polls: Sequence[Poll]) -> list[Change]:
    """Write what a batch of polls observed in one transaction; returns what each changed.

    Idempotent per content: a document whose hash equals the current version's adds no version.
    If the database refuses the batch, each poll is written alone, so one unstorable document
    costs only its own version.
    """
    try:
        async with engine.begin() as conn:
            log_rows: list[dict[str, Any]] = []
            changes = [await _record(conn, poll, log_rows) for poll in polls]
            await fetch_log.record(conn, log_rows)
            return changes
    except DBAPIError as exc:
        if len(polls) > 1:
            return [change for poll in polls for change in await record_polls(engine, [poll])]
        if polls[0].meaning.snapshot is None:
            raise
        rejected = _as_unstorable(polls[0], exc)
    return await record_polls(engine, [rejected])


def _as_unstorable(poll: Poll, exc: DBAPIError) -> Poll:
    """A document the database refuses (e.g. a NUL character in Postgres JSONB) is a finding."""
    reason = str(exc.orig or exc).strip().splitlines()[0]
    finding = rules.STORAGE_REJECTED.finding(
        poll.fetch.final_url, "", f"the document could not be stored: {reason}"
    )
    return replace(poll, meaning=Interpretation(ServerStatus.INVALID, findings=(finding,)))


async def _record(conn: AsyncConnection, poll: Poll, log_rows: list[dict[str, Any]]) -> Change:
    fetch, meaning, state = poll.fetch, poll.meaning, poll.state
    now = fetch.started_at
    server_id = state.id if state else await servers.insert_server(conn, _new_server(poll))
    change, values = Change.FAILED, _attempt_values(poll)
    if meaning.snapshot is not None:
        change = await _record_snapshot(conn, poll, server_id, meaning.snapshot)
        values.update(_document_values(meaning.snapshot, fetch, changed=change != Change.UNCHANGED))
    elif meaning.not_modified and state and state.current_version_id is not None:
        await snapshots.confirm_version(conn, state.current_version_id, now)
        change = Change.UNCHANGED
    if state is not None:
        await servers.update_server(conn, server_id, values)
    if state is not None and state.has_attempt_findings:
        await snapshots.clear_attempt_findings(conn, server_id)
    await snapshots.add_findings(conn, server_id, None, meaning.findings)
    log_rows.append(_fetch_log_row(poll, server_id))
    return change


async def _record_snapshot(
    conn: AsyncConnection, poll: Poll, server_id: int, snap: Snapshot
) -> Change:
    state, fetch = poll.state, poll.fetch
    if state and state.current_sha256 == snap.sha256 and state.current_version_id is not None:
        await snapshots.confirm_version(conn, state.current_version_id, fetch.started_at)
        return Change.UNCHANGED
    await snapshots.store_document(
        conn, snap.sha256, snap.content, snap.size_bytes, fetch.started_at
    )
    version_id = await snapshots.add_version(
        conn,
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
        },
    )
    await snapshots.add_findings(conn, server_id, version_id, snap.findings)
    return Change.CHANGED if state and state.current_version else Change.NEW


def _new_server(poll: Poll) -> dict[str, Any]:
    now = poll.fetch.started_at
    values = _attempt_values(poll)
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
    failed = poll.meaning.snapshot is None and not poll.meaning.not_modified
    previous_failures = poll.state.consecutive_failures if poll.state else 0
    values: dict[str, Any] = {
        "status": status,
        "last_fetched": poll.fetch.started_at,
        "consecutive_failures": previous_failures + 1 if failed else 0,
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


def _fetch_log_row(poll: Poll, server_id: int) -> dict[str, Any]:
    fetch = poll.fetch
    return {
        "crawl_id": poll.crawl_id,
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

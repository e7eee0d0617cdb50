"""Write what a batch read of coverage listings: entry versions (with their events), and
the pages kept for conditional requests."""

from __future__ import annotations

from collections.abc import KeysView, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crawler.domain import events
from crawler.domain.canonical import canonical_form
from crawler.domain.coverage import CoverageEntry
from crawler.pipeline.coverage import CoverageRead
from crawler.pipeline.outbox import Outbox
from crawler.pipeline.poll import Poll
from storage.repositories import coverage, coverage_listings, coverage_pages, history, snapshots
from storage.repositories.coverage_listings import ListingState
from storage.schema import coverage_entries


async def write_coverage(
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
        for entry in (*poll.coverage.entries, *poll.coverage.checked):
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
        for entry_id in gone_entries(poll.coverage, current.keys()):
            gone = current[entry_id]
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


def gone_entries(read: CoverageRead, stored: KeysView[str]) -> list[str]:
    """The stored entry ids the listing no longer holds: those a complete read did not list,
    or those the spot check by id found gone."""
    if read.complete:
        listed = {entry.entry_id for entry in read.entries}
        return [entry_id for entry_id in stored if entry_id not in listed]
    return [entry_id for entry_id in stored if entry_id in read.absent]


async def save_pages(conn: AsyncConnection, polls: Sequence[Poll]) -> None:
    """Keep the listings' pages that came with validators, to ask for them conditionally,
    and what each read learnt for the next one (its watermark, its last whole read)."""
    documents, rows = [], []
    states: list[tuple[str, ListingState]] = []
    for poll in polls:
        assert poll.coverage is not None
        if poll.coverage.url is not None and poll.coverage.state is not None:
            states.append((poll.coverage.url, poll.coverage.state))
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
    await coverage_listings.save(conn, states)


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

"""The events a batch of polls causes about servers: discovered, changed, moved, and their
availability (unreachable, recovered, removed), written with the batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from crawler.domain import events
from crawler.domain.availability import worth_announcing
from crawler.pipeline.outbox import Outbox
from crawler.pipeline.poll import Change, Poll
from storage.repositories import events as stored_events
from storage.repositories import snapshots


async def server_events(
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
    await availability_events(conn, polls, server_ids, outbox, flap_window)


async def availability_events(
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

"""Change events as CloudEvents, paged by their sequence (`next` is the `after` of the next
page), or pushed as server-sent events as they are written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import anyio.to_thread
import orjson
from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from crawler.api.deps import ReaderDep, StateDep
from crawler.api.responses import Json, page
from storage.reader_pool import ReaderPool
from storage.readmodel import events_after

router = APIRouter(prefix="/events", tags=["events"])

After = Annotated[int, Query(ge=0, le=2**63 - 1, description="The last sequence seen.")]
POLL_SECONDS = 1.0
KEEP_ALIVE_POLLS = 15  # a comment line every 15 s keeps proxies from closing an idle stream


@router.get("", summary="Events after a sequence number, in the order they happened")
def list_events(
    reader: ReaderDep, after: After = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> Json:
    events = events_after(reader, after, limit + 1)
    items = events[:limit]
    more = len(events) > limit
    return Json(page(items, items[-1]["sequence"] if more else None))


@router.get(
    "/stream",
    summary="Events as server-sent events, from `after` (or Last-Event-ID) on, as they come",
    response_class=StreamingResponse,
)
def stream_events(
    state: StateDep,
    after: After = 0,
    last_event_id: Annotated[int | None, Header(ge=0, le=2**63 - 1)] = None,
) -> StreamingResponse:
    start = last_event_id if last_event_id is not None else after
    return StreamingResponse(
        _server_sent(state.pool, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _server_sent(pool: ReaderPool, after: int) -> AsyncIterator[bytes]:
    idle = 0
    while True:
        events = await anyio.to_thread.run_sync(_read, pool, after)
        for event in events:
            yield _message(event)
            after = event["sequence"]
        idle = 0 if events else idle + 1
        if idle >= KEEP_ALIVE_POLLS:
            idle = 0
            yield b": keep-alive\n\n"
        if not events:
            await anyio.sleep(POLL_SECONDS)


def _read(pool: ReaderPool, after: int) -> list[dict[str, Any]]:
    with pool.borrow() as reader:
        return events_after(reader, after, 100)


def _message(event: dict[str, Any]) -> bytes:
    return (
        f"id: {event['sequence']}\nevent: {event['type']}\ndata: ".encode()
        + orjson.dumps(event)
        + b"\n\n"
    )

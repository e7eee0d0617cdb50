"""Change events as CloudEvents, paged by their sequence: `next` is the `after` of the next
page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from crawler.api.deps import ReaderDep
from crawler.api.responses import Json, page
from storage.readmodel import events_after

router = APIRouter(prefix="/events", tags=["events"])


@router.get("", summary="Events after a sequence number, in the order they happened")
def list_events(
    reader: ReaderDep,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="The last sequence seen.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Json:
    events = events_after(reader, after, limit + 1)
    items = events[:limit]
    more = len(events) > limit
    return Json(page(items, items[-1]["sequence"] if more else None))

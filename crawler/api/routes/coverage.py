"""Coverage: the entries whose territory contains a point or meets a box, now or as of a
past moment."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from crawler.api import params
from crawler.api.deps import ApiState, ReaderDep, StateDep
from crawler.api.filters import EntryFiltersDep
from crawler.api.params import BadRequest
from crawler.api.responses import Json, page
from crawler.api.routes.servers import AsOf, Cursor, Limit, entry_link
from storage.coverage_query import covering_point, meeting_box
from storage.reader import Reader

router = APIRouter(prefix="/coverage", tags=["coverage"])

Latitude = Annotated[float | None, Query(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float | None, Query(ge=-180, le=180, allow_inf_nan=False)]


@router.get("", summary="Entries whose territory contains a point or meets a box")
def coverage(
    reader: ReaderDep,
    state: StateDep,
    filters: EntryFiltersDep,
    lat: Latitude = None,
    lon: Longitude = None,
    bbox: Annotated[
        str | None, Query(max_length=200, description="min_lon,min_lat,max_lon,max_lat")
    ] = None,
    as_of: AsOf = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Json:
    after = params.decode_cursor(cursor, str, str)
    found = [
        entry
        for entry in _located(reader, state, lat, lon, bbox, params.as_of(as_of))
        if filters.admit(entry) and (after is None or _key(entry) > after)
    ]
    items = found[:limit]
    for entry in items:
        entry["link"] = entry_link(entry["server_id"], entry["entry_id"])
    more = len(found) > limit
    return Json(page(items, params.encode_cursor(*_key(items[-1])) if more else None))


def _key(entry: dict[str, Any]) -> tuple[str, str]:
    return entry["server_url"], entry["entry_id"]


def _located(
    reader: Reader,
    state: ApiState,
    lat: float | None,
    lon: float | None,
    bbox: str | None,
    as_of: Any,
) -> list[dict[str, Any]]:
    point_given = lat is not None or lon is not None
    if point_given == (bbox is not None):
        raise BadRequest("give either a point (lat and lon) or a bbox, not both nor neither")
    if bbox is not None:
        return meeting_box(reader, params.bbox(bbox, state.settings.api_max_bbox_area), as_of)
    if lat is None or lon is None:
        raise BadRequest("a point needs both lat and lon")
    if as_of is not None:
        return covering_point(reader, lat, lon, as_of)
    with state.index_lock:
        return covering_point(reader, lat, lon, index=state.index)

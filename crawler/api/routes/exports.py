"""Downloads: current territories as GeoJSON, servers and entries as CSV, and the live
metadata URLs as a seed list another crawler can follow (`seeds add --list URL`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.responses import StreamingResponse

from crawler.api.deps import ReaderDep, StateDep
from crawler.api.filters import EntryFiltersDep
from crawler.api.routes.servers import entry_link
from storage.coverage_query import EntryFilters
from storage.exports import entries_csv, feature_collection, seed_list, servers_csv
from storage.reader_pool import ReaderPool
from storage.readmodel import server_by_id

router = APIRouter(tags=["exports"])

GEOJSON = "application/geo+json"


def _feature_collection(
    pool: ReaderPool, filters: EntryFilters, server_id: int | None
) -> Iterator[bytes]:
    """Read with a reader of its own: the stream outlives the request's."""
    with pool.borrow() as reader:
        yield from feature_collection(reader, filters, server_id, entry_link)


@router.get("/exports/territories.geojson", summary="Current territories, GeoJSON")
def territories_geojson(
    state: StateDep,
    reader: ReaderDep,
    filters: EntryFiltersDep,
    server_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> StreamingResponse:
    if server_id is not None and server_by_id(reader, server_id) is None:
        raise HTTPException(404, f"no server has id {server_id}")
    return StreamingResponse(
        _feature_collection(state.pool, filters, server_id), media_type=GEOJSON
    )


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/exports/servers.csv", summary="Every server, CSV")
def servers_csv_export(reader: ReaderDep) -> Response:
    return _csv(servers_csv(reader), "servers.csv")


@router.get("/exports/entries.csv", summary="Every current coverage entry, CSV")
def entries_csv_export(reader: ReaderDep) -> Response:
    return _csv(entries_csv(reader), "entries.csv")


@router.get("/seeds.txt", summary="Every live metadata URL, as a seed list")
def seeds_txt(reader: ReaderDep) -> Response:
    return Response(seed_list(reader), media_type="text/plain")

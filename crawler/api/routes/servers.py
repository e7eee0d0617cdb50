"""Servers: the filtered list, one server now or at a past moment, its versions and their
differences, and one coverage entry with its territory."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Query

from crawler.api import params
from crawler.api.deps import ReaderDep
from crawler.api.responses import Json, page
from crawler.domain.coverage import CommodityType, InfrastructureType, Role
from crawler.domain.status import ServerStatus
from storage.catalog import ServerFilters, servers_page
from storage.coverage_query import entry_detail
from storage.readmodel import (
    difference,
    history_of,
    server_by_id,
    server_detail,
    version_of,
)

router = APIRouter(prefix="/servers", tags=["servers"])

ServerId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The server's `id`.")]
AsOf = Annotated[
    str | None,
    Query(description="A date (its end, UTC) or an RFC 3339 date-time: answer as of then."),
]
Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
Cursor = Annotated[str | None, Query(description="The `next` of the previous page.")]


def entry_link(server_id: int, entry_id: str) -> str:
    return f"/v1/servers/{server_id}/entries/{quote(entry_id, safe='')}"


def _server(reader: ReaderDep, server_id: int) -> dict[str, Any]:
    server = server_by_id(reader, server_id)
    if server is None:
        raise HTTPException(404, f"no server has id {server_id}")
    return server


@router.get("", summary="Known metadata URLs, filtered")
def list_servers(
    reader: ReaderDep,
    status: Annotated[
        list[ServerStatus] | None, Query(description="Any of these statuses.")
    ] = None,
    country: Annotated[str | None, Query(description="Has a current entry in it.")] = None,
    commodity: Annotated[CommodityType | None, Query()] = None,
    infrastructure: Annotated[InfrastructureType | None, Query()] = None,
    role: Annotated[Role | None, Query()] = None,
    capability: Annotated[str | None, Query(max_length=100)] = None,
    tag: Annotated[str | None, Query(max_length=200, description="An operator tag.")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Text in a server or entry name.")
    ] = None,
    url: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Json:
    filters = ServerFilters(
        statuses=tuple(status or ()),
        country=params.country(country),
        commodity=commodity,
        infrastructure=infrastructure,
        role=role,
        capability=capability,
        tag=tag,
        text=q,
        url=url,
    )
    after = params.decode_cursor(cursor, str)
    items, last = servers_page(reader, filters, after[0] if after else None, limit)
    for item in items:
        item["link"] = f"/v1/servers/{item['id']}"
    return Json(page(items, params.encode_cursor(last) if last is not None else None))


@router.get("/{server_id}", summary="One server: document, entries, findings, provenance")
def get_server(reader: ReaderDep, server_id: ServerId, as_of: AsOf = None) -> Json:
    detail = server_detail(reader, _server(reader, server_id), params.as_of(as_of))
    for entry in detail["coverage_entries"]:
        entry["link"] = entry_link(server_id, entry["entry_id"])
    return Json({"id": server_id, **detail})


@router.get("/{server_id}/versions", summary="Its versions, newest first, with what changed")
def list_versions(reader: ReaderDep, server_id: ServerId) -> Json:
    _server(reader, server_id)
    return Json(page(history_of(reader, server_id), None))


@router.get("/{server_id}/versions/{version}", summary="One version's document")
def get_version(
    reader: ReaderDep,
    server_id: ServerId,
    version: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Json:
    _server(reader, server_id)
    found = version_of(reader, server_id, version)
    if found is None:
        raise HTTPException(404, f"server {server_id} has no version {version}")
    return Json(found)


@router.get("/{server_id}/diff", summary="What changed between two versions")
def diff_versions(
    reader: ReaderDep,
    server_id: ServerId,
    since: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
    until: Annotated[int, Query(alias="to", ge=1, le=2**31 - 1)],
) -> Json:
    _server(reader, server_id)
    found = difference(reader, server_id, since, until)
    if found is None:
        raise HTTPException(404, f"server {server_id} has no version {since} or {until}")
    return Json(found)


@router.get("/{server_id}/entries/{entry_id:path}", summary="One coverage entry and territory")
def get_entry(reader: ReaderDep, server_id: ServerId, entry_id: str, as_of: AsOf = None) -> Json:
    _server(reader, server_id)
    moment = params.as_of(as_of)
    found = entry_detail(reader, server_id, entry_id, moment)
    if found is None:
        when = f" at {as_of}" if as_of else ""
        raise HTTPException(404, f"server {server_id} has no entry {entry_id!r}{when}")
    return Json({"server_id": server_id, **found})

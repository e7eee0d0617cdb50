"""Servers: one row per metadata URL, with its status and crawl state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import among
from storage.schema import findings, links, oauth_metadata, servers, territories, versions

RELATED_METADATA = "related_metadata"  # the kinds of link a version records
COVERAGE = "coverage"
OAUTH_METADATA = "oauth_metadata"  # the document's oauth_metadata URL
OAUTH_WELL_KNOWN = "oauth_well_known"  # the RFC 8414 location, assumed when that is missing


@dataclass(frozen=True, slots=True)
class ServerState:
    """What a poll needs to know about a server before fetching it."""

    id: int
    url: str
    status: str
    etag: str | None
    last_modified: str | None
    consecutive_failures: int
    current_version_id: int | None
    current_version: int  # 0 before the first version
    current_sha256: str | None
    current_valid: bool | None
    has_attempt_findings: bool  # findings about the last attempt, to clear on the next one
    has_linked_resources: bool = False  # a current territory or OAuth metadata version
    moved_to: str | None = None  # the migration target, while the status is moved
    last_outcome: str | None = None  # of the latest fetch (a FetchOutcome value)
    current_fetched_at: datetime | None = None  # when the current version was first fetched
    earlier_versions: tuple[tuple[int, str], ...] = ()  # (version id, sha256), the last few
    last_fetched: datetime | None = None
    current_links: tuple[str, ...] = ()  # related_metadata URLs of the current version
    current_coverage_url: str | None = None  # its coverage listing
    current_oauth_url: str | None = None  # its OAuth metadata
    current_oauth_well_known: bool = False  # ... assumed at the RFC 8414 location


def _latest_version_of_server() -> Any:
    """The server's highest version number, found per server through the (server_id,
    version) index: grouping the whole versions table instead costs a scan of every version
    ever stored on each call (a daemon calls this for every batch it polls)."""
    newer = versions.alias("newer")
    return (
        select(func.max(newer.c.version)).where(newer.c.server_id == servers.c.id).scalar_subquery()
    )


async def states_for(conn: AsyncConnection, urls: Sequence[str]) -> dict[str, ServerState]:
    """The crawl state of each known URL among `urls` (unknown URLs are absent)."""
    if not urls:
        return {}
    query = (
        select(
            servers.c.id,
            servers.c.url,
            servers.c.status,
            servers.c.etag,
            servers.c.last_modified,
            servers.c.consecutive_failures,
            servers.c.moved_to,
            servers.c.last_fetched,
            servers.c.last_outcome,
            versions.c.id.label("version_id"),
            versions.c.version,
            versions.c.document_sha256,
            versions.c.valid,
            versions.c.fetched_at,
            exists()
            .where(findings.c.server_id == servers.c.id, findings.c.version_id.is_(None))
            .label("has_attempt_findings"),
            (
                exists().where(
                    territories.c.server_id == servers.c.id, territories.c.valid_to.is_(None)
                )
                | exists().where(
                    oauth_metadata.c.server_id == servers.c.id,
                    oauth_metadata.c.valid_to.is_(None),
                )
            ).label("has_linked_resources"),
        )
        .select_from(servers)
        .outerjoin(
            versions,
            and_(
                versions.c.server_id == servers.c.id,
                versions.c.version == _latest_version_of_server(),
            ),
        )
    )
    rows = {r.url: r for r in await conn.execute(query.where(among(conn, servers.c.url, urls)))}
    version_ids = [r.version_id for r in rows.values() if r.version_id is not None]
    links_of = await _links_of(conn, version_ids)
    earlier = await _earlier_versions(conn, [(r.id, r.version or 0) for r in rows.values()])
    return {
        url: _state(r, links_of.get(r.version_id), earlier.get(r.id)) for url, r in rows.items()
    }


def _state(r: Any, current: _Links | None, earlier: list[tuple[int, str]] | None) -> ServerState:
    current = current or _Links()
    return ServerState(
        id=r.id,
        url=r.url,
        status=r.status,
        etag=r.etag,
        last_modified=r.last_modified,
        consecutive_failures=r.consecutive_failures,
        current_version_id=r.version_id,
        current_version=r.version or 0,
        current_sha256=r.document_sha256,
        current_valid=r.valid,
        current_fetched_at=r.fetched_at,
        has_attempt_findings=bool(r.has_attempt_findings),
        has_linked_resources=bool(r.has_linked_resources),
        moved_to=r.moved_to,
        last_fetched=r.last_fetched,
        last_outcome=r.last_outcome,
        earlier_versions=tuple(earlier or ()),
        current_links=tuple(current.related),
        current_coverage_url=current.coverage,
        current_oauth_url=current.oauth[0] if current.oauth else None,
        current_oauth_well_known=current.oauth[1] if current.oauth else False,
    )


_EARLIER = 3  # versions before the current one that a server may be alternating with


async def _earlier_versions(
    conn: AsyncConnection, current: Sequence[tuple[int, int]]
) -> dict[int, list[tuple[int, str]]]:
    """(version id, sha256) of the few versions before each server's current one (newest
    first), by server id, for the (server id, current version) pairs given."""
    versioned = [(server_id, version) for server_id, version in current if version > 1]
    earlier: dict[int, list[tuple[int, str]]] = {}
    for start in range(0, len(versioned), 500):
        chunk = versioned[start : start + 500]
        query = (
            select(versions.c.server_id, versions.c.id, versions.c.document_sha256)
            .where(
                or_(
                    *(
                        and_(
                            versions.c.server_id == server_id,
                            versions.c.version >= version - _EARLIER,
                            versions.c.version < version,
                        )
                        for server_id, version in chunk
                    )
                )
            )
            .order_by(versions.c.server_id, versions.c.version.desc())
        )
        for row in await conn.execute(query):
            earlier.setdefault(row.server_id, []).append((row.id, row.document_sha256))
    return earlier


@dataclass(slots=True)
class _Links:
    """What a version links to: related metadata, its coverage listing, its OAuth metadata
    (URL, whether assumed at the RFC 8414 location)."""

    related: list[str] = field(default_factory=list)
    coverage: str | None = None
    oauth: tuple[str, bool] | None = None


async def _links_of(conn: AsyncConnection, version_ids: Sequence[int]) -> dict[int, _Links]:
    """The links each of these versions recorded, by version id."""
    if not version_ids:
        return {}
    query = (
        select(links.c.version_id, links.c.kind, links.c.url)
        .where(among(conn, links.c.version_id, version_ids))
        .order_by(links.c.version_id, links.c.position)
    )
    found: dict[int, _Links] = {}
    for row in await conn.execute(query):
        of_version = found.setdefault(row.version_id, _Links())
        if row.kind == COVERAGE:
            of_version.coverage = row.url
        elif row.kind in (OAUTH_METADATA, OAUTH_WELL_KNOWN):
            of_version.oauth = (row.url, row.kind == OAUTH_WELL_KNOWN)
        else:
            of_version.related.append(row.url)
    return found


async def insert_servers(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert servers (every row with the same columns); their ids, in the order of `rows`."""
    if not rows:
        return []
    statement = insert(servers).returning(servers.c.id, sort_by_parameter_order=True)
    result = await conn.execute(statement, list(rows))
    return list(result.scalars())


async def update_servers(
    conn: AsyncConnection, changes: Sequence[tuple[int, dict[str, Any]]]
) -> None:
    """Apply (server_id, column values) pairs, one executemany per distinct set of columns."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for server_id, values in changes:
        groups.setdefault(tuple(sorted(values)), []).append({"b_id": server_id, **values})
    for columns, rows in groups.items():
        statement = (
            update(servers)
            .where(servers.c.id == bindparam("b_id"))
            .values({c: bindparam(c) for c in columns})
        )
        await conn.execute(statement, rows)

"""Servers: one row per metadata URL, with its status and crawl state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

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


def _latest_versions() -> Any:
    return (
        select(versions.c.server_id, func.max(versions.c.version).label("version"))
        .group_by(versions.c.server_id)
        .subquery("latest")
    )


async def states_for(conn: AsyncConnection, urls: Sequence[str]) -> dict[str, ServerState]:
    """The crawl state of each known URL among `urls` (unknown URLs are absent)."""
    if not urls:
        return {}
    latest = _latest_versions()
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
        .outerjoin(latest, latest.c.server_id == servers.c.id)
        .outerjoin(
            versions,
            and_(versions.c.server_id == servers.c.id, versions.c.version == latest.c.version),
        )
    )
    states: dict[str, ServerState] = {}
    wanted = list(dict.fromkeys(urls))
    for start in range(0, len(wanted), 500):  # stay under SQLite's bound-parameter limit
        chunk = wanted[start : start + 500]
        for r in await conn.execute(query.where(servers.c.url.in_(chunk))):
            states[r.url] = ServerState(
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
            )
    return await _with_earlier_versions(conn, await _with_links(conn, states))


_EARLIER = 3  # versions before the current one that a server may be alternating with


async def _with_earlier_versions(
    conn: AsyncConnection, states: dict[str, ServerState]
) -> dict[str, ServerState]:
    """The states with the few versions before their current one (newest first)."""
    versioned = {s.id: s for s in states.values() if s.current_version > 1}
    earlier: dict[int, list[tuple[int, str]]] = {}
    ids = list(versioned)
    for start in range(0, len(ids), 500):
        chunk = [versioned[i] for i in ids[start : start + 500]]
        query = (
            select(versions.c.server_id, versions.c.id, versions.c.document_sha256)
            .where(
                or_(
                    *(
                        and_(
                            versions.c.server_id == s.id,
                            versions.c.version >= s.current_version - _EARLIER,
                            versions.c.version < s.current_version,
                        )
                        for s in chunk
                    )
                )
            )
            .order_by(versions.c.server_id, versions.c.version.desc())
        )
        for row in await conn.execute(query):
            earlier.setdefault(row.server_id, []).append((row.id, row.document_sha256))
    return {
        url: replace(state, earlier_versions=tuple(earlier.get(state.id, ())))
        for url, state in states.items()
    }


async def _with_links(
    conn: AsyncConnection, states: dict[str, ServerState]
) -> dict[str, ServerState]:
    """The states with their current version's related_metadata links filled in."""
    by_version = {s.current_version_id: s for s in states.values() if s.current_version_id}
    found: dict[int, list[str]] = {}
    coverage: dict[int, str] = {}
    oauth: dict[int, tuple[str, bool]] = {}
    ids = list(by_version)
    for start in range(0, len(ids), 500):
        query = (
            select(links.c.version_id, links.c.kind, links.c.url)
            .where(links.c.version_id.in_(ids[start : start + 500]))
            .order_by(links.c.version_id, links.c.position)
        )
        for row in await conn.execute(query):
            if row.kind == COVERAGE:
                coverage[row.version_id] = row.url
            elif row.kind in (OAUTH_METADATA, OAUTH_WELL_KNOWN):
                oauth[row.version_id] = (row.url, row.kind == OAUTH_WELL_KNOWN)
            else:
                found.setdefault(row.version_id, []).append(row.url)
    updated = {}
    for url, state in states.items():
        version_id = state.current_version_id or 0
        oauth_url, well_known = oauth.get(version_id, (None, False))
        updated[url] = replace(
            state,
            current_links=tuple(found.get(version_id, ())),
            current_coverage_url=coverage.get(version_id),
            current_oauth_url=oauth_url,
            current_oauth_well_known=well_known,
        )
    return updated


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

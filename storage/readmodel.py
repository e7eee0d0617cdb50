"""The analysts' queries (the read side), shared by the CLI and, later, the HTTP API.

Every function returns plain JSON-ready dicts, the shapes that `--json` prints.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crawler.domain.diff import describe_changes, json_patch
from storage.schema import documents, findings, servers, versions

_SERVER_COLUMNS = (
    servers.c.url,
    servers.c.canonical_url,
    servers.c.name,
    servers.c.status,
    servers.c.status_since,
    servers.c.first_seen,
    servers.c.last_fetched,
    servers.c.last_changed,
    servers.c.consecutive_failures,
    servers.c.discovered_via,
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _server_json(row: Any, version_count: int) -> dict[str, Any]:
    return {
        "url": row.url,
        "canonical_url": row.canonical_url,
        "name": row.name,
        "status": row.status,
        "status_since": _iso(row.status_since),
        "first_seen": _iso(row.first_seen),
        "last_fetched": _iso(row.last_fetched),
        "last_changed": _iso(row.last_changed),
        "versions": version_count,
        "consecutive_failures": row.consecutive_failures,
        "discovered_via": row.discovered_via,
    }


async def list_servers(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every known metadata URL with its status and version count, ordered by URL."""
    counts = (
        select(versions.c.server_id, func.count().label("n"))
        .group_by(versions.c.server_id)
        .subquery()
    )
    query = (
        select(*_SERVER_COLUMNS, func.coalesce(counts.c.n, 0).label("n"))
        .select_from(servers.outerjoin(counts, counts.c.server_id == servers.c.id))
        .order_by(servers.c.url)
    )
    return [_server_json(row, row.n) for row in await conn.execute(query)]


async def _find_server(conn: AsyncConnection, urls: list[str]) -> Any:
    query = select(servers.c.id, *_SERVER_COLUMNS).where(
        or_(servers.c.url.in_(urls), servers.c.canonical_url.in_(urls))
    )
    rows = (await conn.execute(query.order_by(servers.c.url.in_(urls).desc()))).all()
    return rows[0] if rows else None


def _version_query(server_id: int) -> Any:
    return (
        select(
            versions.c.id,
            versions.c.version,
            versions.c.fetched_at,
            versions.c.last_confirmed_at,
            versions.c.document_sha256,
            versions.c.draft,
            versions.c.valid,
            documents.c.content,
        )
        .join(documents, documents.c.sha256 == versions.c.document_sha256)
        .where(versions.c.server_id == server_id)
        .order_by(versions.c.version.desc())
    )


def _version_json(row: Any) -> dict[str, Any]:
    return {
        "version": row.version,
        "fetched_at": _iso(row.fetched_at),
        "last_confirmed_at": _iso(row.last_confirmed_at),
        "content_sha256": row.document_sha256,
        "draft": row.draft,
        "valid": row.valid,
    }


async def show_server(conn: AsyncConnection, urls: list[str]) -> dict[str, Any] | None:
    """The server known by any of `urls` with its current version, document and findings."""
    server = await _find_server(conn, urls)
    if server is None:
        return None
    current = (await conn.execute(_version_query(server.id).limit(1))).first()
    count = await conn.scalar(
        select(func.count()).select_from(versions).where(versions.c.server_id == server.id)
    )
    version_ids = [current.id] if current is not None else []
    finding_rows = await conn.execute(
        select(findings)
        .where(
            findings.c.server_id == server.id,
            or_(findings.c.version_id.is_(None), findings.c.version_id.in_(version_ids)),
        )
        .order_by(findings.c.version_id.is_(None).desc(), findings.c.id)
    )
    return {
        **_server_json(server, count or 0),
        "current_version": _version_json(current) if current is not None else None,
        "document": current.content if current is not None else None,
        "coverage_entries": [],
        "oauth_metadata": None,
        "findings": [_finding_json(f) for f in finding_rows],
    }


def _finding_json(row: Any) -> dict[str, Any]:
    return {
        "rule": row.rule,
        "severity": row.severity,
        "url": row.url,
        "pointer": row.pointer,
        "section": row.section,
        "message": row.message,
        "scope": "version" if row.version_id is not None else "latest_fetch",
    }


async def server_history(conn: AsyncConnection, urls: list[str]) -> list[dict[str, Any]] | None:
    """Every version of the server, newest first, each with what changed from the one before."""
    server = await _find_server(conn, urls)
    if server is None:
        return None
    rows = (await conn.execute(_version_query(server.id))).all()
    history = []
    for row, previous in zip(rows, [*rows[1:], None], strict=True):
        entry = _version_json(row)
        if previous is None:
            entry["changes"] = ["first version"]
            entry["patch"] = []
        else:
            entry["changes"] = describe_changes(previous.content, row.content) or [
                "no change in content (served again after another version)"
            ]
            entry["patch"] = json_patch(previous.content, row.content)
        history.append(entry)
    return history

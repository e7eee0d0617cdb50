"""Documents (content-addressed), their append-only versions per server, and findings.

Every function takes a batch and issues one statement (an executemany) for all of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crawler.domain.findings import Finding
from storage.dialect import insert_ignoring_conflicts
from storage.schema import documents, findings, links, versions

_CONFIRM = (
    update(versions)
    .where(versions.c.id == bindparam("b_id"))
    .values(last_confirmed_at=bindparam("b_at"))
)


async def store_documents(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Store documents (sha256, content, size_bytes, first_seen_at) once per distinct content."""
    unique = list({row["sha256"]: row for row in rows}.values())
    await insert_ignoring_conflicts(conn, documents, unique)


async def add_versions(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Append versions; their ids, in the order of `rows`."""
    if not rows:
        return []
    statement = insert(versions).returning(versions.c.id, sort_by_parameter_order=True)
    result = await conn.execute(statement, list(rows))
    return list(result.scalars())


async def confirm_versions(
    conn: AsyncConnection, confirmed: Sequence[tuple[int, datetime]]
) -> None:
    """These versions' content was served again at the given times: move last_confirmed_at."""
    if confirmed:
        await conn.execute(_CONFIRM, [{"b_id": vid, "b_at": at} for vid, at in confirmed])


async def add_findings(
    conn: AsyncConnection, found: Sequence[tuple[int, int | None, Finding]]
) -> None:
    """Insert (server_id, version_id or None for the latest attempt, finding) triples."""
    if found:
        rows = [{"server_id": s, "version_id": v, **f.to_json()} for s, v, f in found]
        await conn.execute(insert(findings), rows)


async def clear_attempt_findings(conn: AsyncConnection, server_ids: Sequence[int]) -> None:
    """Drop the findings about these servers' previous attempts (not tied to a version)."""
    if server_ids:
        await conn.execute(
            delete(findings).where(
                findings.c.server_id.in_(list(server_ids)), findings.c.version_id.is_(None)
            )
        )


async def attempt_findings(conn: AsyncConnection, server_id: int) -> list[Finding]:
    """The findings about the server's latest attempt (not tied to a version)."""
    f = findings.c
    query = (
        select(f.rule, f.severity, f.url, f.pointer, f.section, f.message)
        .where(f.server_id == server_id, f.version_id.is_(None))
        .order_by(f.id)
    )
    return [Finding.from_json(dict(row._mapping)) for row in await conn.execute(query)]


async def replace_rule_findings(
    conn: AsyncConnection, rule: str, found: Sequence[tuple[int, Finding]]
) -> None:
    """Replace every finding of `rule` about the latest state of any server: for findings
    that compare servers with each other, recomputed whole after a pass."""
    await conn.execute(
        delete(findings).where(findings.c.rule == rule, findings.c.version_id.is_(None))
    )
    await add_findings(conn, [(server_id, None, finding) for server_id, finding in found])


async def add_links(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert links (version_id, server_id, kind, url, position) made by new versions."""
    if rows:
        await conn.execute(insert(links), list(rows))


async def document_content(conn: AsyncConnection, sha256: str) -> Any:
    """The stored document with this content hash (None when there is none)."""
    return await conn.scalar(select(documents.c.content).where(documents.c.sha256 == sha256))


async def document_contents(conn: AsyncConnection, hashes: Sequence[str]) -> dict[str, Any]:
    """The stored documents with these content hashes, by hash."""
    if not hashes:
        return {}
    query = select(documents.c.sha256, documents.c.content).where(
        documents.c.sha256.in_(list(set(hashes)))
    )
    return {row.sha256: row.content for row in await conn.execute(query)}

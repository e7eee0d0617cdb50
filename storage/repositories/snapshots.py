"""Documents (content-addressed), their append-only versions per server, and findings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crawler.domain.findings import Finding
from storage.dialect import insert_ignoring_conflicts
from storage.schema import documents, findings, versions


async def store_document(
    conn: AsyncConnection, sha256: str, content: Any, size_bytes: int, now: datetime
) -> None:
    """Store a document once per distinct content (idempotent)."""
    row = {"sha256": sha256, "content": content, "size_bytes": size_bytes, "first_seen_at": now}
    await insert_ignoring_conflicts(conn, documents, [row])


async def add_version(conn: AsyncConnection, values: dict[str, Any]) -> int:
    result = await conn.execute(insert(versions).values(values).returning(versions.c.id))
    version_id: int = result.scalar_one()
    return version_id


async def confirm_version(conn: AsyncConnection, version_id: int, now: datetime) -> None:
    """The server served this version's content again: move `last_confirmed_at`."""
    await conn.execute(
        update(versions).where(versions.c.id == version_id).values(last_confirmed_at=now)
    )


async def add_findings(
    conn: AsyncConnection, server_id: int, version_id: int | None, found: Sequence[Finding]
) -> None:
    if found:
        rows = [{"server_id": server_id, "version_id": version_id, **f.to_json()} for f in found]
        await conn.execute(insert(findings), rows)


async def clear_attempt_findings(conn: AsyncConnection, server_id: int) -> None:
    """Drop the findings about the previous attempt (those not tied to a stored version)."""
    await conn.execute(
        delete(findings).where(findings.c.server_id == server_id, findings.c.version_id.is_(None))
    )

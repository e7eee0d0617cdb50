"""Rows that are valid from one time to another: the shared steps of versioned histories.

Coverage entries, territories and OAuth metadata each keep one row per version; `valid_to` is
null on the current one and set when a new version replaces it or the thing disappears.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crawler.domain.findings import Finding


@dataclass(frozen=True, slots=True)
class StoredResource:
    """The current version of a resource a metadata document links to, as a poll needs it:
    what to send back in a conditional request, and what to repeat when it answers 304."""

    row_id: int
    url: str
    sha256: str
    etag: str | None
    last_modified: str | None
    findings: tuple[Finding, ...]

    @classmethod
    def from_row(cls, row: Any, sha256: str) -> StoredResource:
        return cls(
            row_id=row.id,
            url=row.url,
            sha256=sha256,
            etag=row.etag,
            last_modified=row.last_modified,
            findings=tuple(Finding.from_json(f) for f in row.findings),
        )


async def add(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(table), list(rows))


async def close(
    conn: AsyncConnection, table: Table, closing: Sequence[tuple[int, datetime]]
) -> None:
    """End these versions (replaced, or gone) at the given times."""
    if closing:
        statement = (
            update(table).where(table.c.id == bindparam("b_id")).values(valid_to=bindparam("b_at"))
        )
        await conn.execute(statement, [{"b_id": row_id, "b_at": at} for row_id, at in closing])


async def confirm(
    conn: AsyncConnection, table: Table, confirmed: Sequence[tuple[int, dict[str, Any]]]
) -> None:
    """Set `last_confirmed_at` (and any other columns given) on current versions, by row id.

    One executemany per distinct set of columns.
    """
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row_id, values in confirmed:
        groups.setdefault(tuple(sorted(values)), []).append(
            {"b_id": row_id, **{f"b_{name}": value for name, value in values.items()}}
        )
    for columns, rows in groups.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({name: bindparam(f"b_{name}") for name in columns})
        )
        await conn.execute(statement, rows)


async def last_versions(
    conn: AsyncConnection, table: Table, server_ids: Sequence[int], *keys: str
) -> dict[tuple[Any, ...], int]:
    """The highest version per (server_id, *keys) these servers ever had."""
    if not server_ids:
        return {}
    columns = [table.c.server_id, *(table.c[key] for key in keys)]
    query = (
        select(*columns, func.max(table.c.version).label("version"))
        .where(table.c.server_id.in_(list(server_ids)))
        .group_by(*columns)
    )
    return {tuple(row[:-1]): row.version for row in await conn.execute(query)}

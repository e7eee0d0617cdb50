"""The few statements whose SQL differs between SQLite and Postgres."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_ignoring_conflicts(
    conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]
) -> None:
    """INSERT ... ON CONFLICT DO NOTHING (content-addressed rows written by racing writers)."""
    if not rows:
        return
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    await conn.execute(module.insert(table).on_conflict_do_nothing(), rows)


async def upsert(
    conn: AsyncConnection, table: Table, rows: list[dict[str, Any]], keys: list[str]
) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE: rows with the same columns, by key."""
    if not rows:
        return
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = module.insert(table)
    updated = {c: statement.excluded[c] for c in rows[0] if c not in keys}
    await conn.execute(statement.on_conflict_do_update(index_elements=keys, set_=updated), rows)

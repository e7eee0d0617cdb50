"""The few statements whose SQL differs between SQLite and Postgres."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, bindparam, func, select
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


def among(conn: AsyncConnection, column: ColumnElement[Any], values: Sequence[Any]) -> Any:
    """`column IN values` with the values bound as one parameter (an array on Postgres, a
    JSON array on SQLite): no limit on their number, and no per-value SQL to compile."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    listed = func.json_each(bindparam(None, json.dumps(list(values)))).table_valued("value")
    return column.in_(select(listed.c.value))

"""Migrations: one head, equal to schema.py, reversible, and known to the fast schema check."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.migrate import alembic_config, current_revision, ensure_schema
from storage.schema import SCHEMA_REVISION, metadata


def test_one_head_and_it_is_the_revision_commands_expect() -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()

    assert heads == [SCHEMA_REVISION]


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_upgraded_database_matches_schema_py(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        differences = await conn.run_sync(_differences)

    assert differences == []


def _downgrade_then_upgrade(connection: Connection) -> None:
    config = alembic_config(connection)
    command.downgrade(config, "base")
    command.upgrade(config, "head")


async def test_downgrade_and_upgrade_round_trip(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_downgrade_then_upgrade)

    async with engine.connect() as conn:
        assert await current_revision(conn) == SCHEMA_REVISION
        assert await conn.run_sync(_differences) == []


async def test_ensure_schema_is_idempotent(engine: AsyncEngine) -> None:
    await ensure_schema(engine)
    await ensure_schema(engine)

    async with engine.connect() as conn:
        assert await current_revision(conn) == SCHEMA_REVISION

"""Bring a database to the current schema with the Alembic migrations under `migrations/`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from storage.errors import StorageError
from storage.schema import SCHEMA_REVISION

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# Serialises concurrent upgrades of one Postgres database (several workers starting at once).
_PG_MIGRATION_LOCK = 0x0CD5_C4A7


def migrations_dir() -> Path:
    """`storage/migrations` in an installed wheel, `migrations/` in a source checkout."""
    packaged = Path(__file__).parent / "migrations"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "migrations"


async def current_revision(conn: AsyncConnection) -> str | None:
    try:
        result = await conn.execute(text("SELECT version_num FROM alembic_version"))
    except (OperationalError, ProgrammingError):
        return None
    return result.scalar_one_or_none()


async def ensure_schema(engine: AsyncEngine) -> None:
    """Create or upgrade the schema when it is missing or behind; one query when it is not."""
    try:
        async with engine.connect() as conn:
            revision = await current_revision(conn)
            await conn.rollback()
    except (DBAPIError, OSError) as exc:
        raise StorageError(f"database unreachable: {_first_line(exc)}") from exc
    if revision != SCHEMA_REVISION:
        await upgrade(engine)


async def upgrade(engine: AsyncEngine) -> None:
    """Run every pending migration (idempotent; safe when several processes start at once)."""
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})"))
            await conn.run_sync(_upgrade_sync)
    except (DBAPIError, OSError) as exc:
        raise StorageError(f"database upgrade failed: {_first_line(exc)}") from exc


def _upgrade_sync(connection: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


def alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__

"""Alembic environment: async, for SQLite and Postgres.

The crawler runs migrations itself (storage.migrate) and hands over an open connection. Run by
hand (`alembic upgrade head` in the repository), the URL comes from CDS_CRAWLER_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection

from storage.engine import create_engine
from storage.schema import metadata

DEFAULT_URL = "sqlite+aiosqlite:///cds-crawler.sqlite3"


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_standalone() -> None:
    engine = create_engine(os.environ.get("CDS_CRAWLER_DATABASE_URL", DEFAULT_URL))
    async with engine.begin() as conn:
        await conn.run_sync(run_with)
    await engine.dispose()


given = context.config.attributes.get("connection")
if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported")
elif given is not None:
    run_with(given)
else:
    asyncio.run(run_standalone())

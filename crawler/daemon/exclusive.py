"""Who may run what: one daemon per SQLite file, and periodic jobs (seed-list refresh, event
delivery, retention) on one worker at a time when several share Postgres."""

from __future__ import annotations

import contextlib
import fcntl
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine


class AlreadyRunning(Exception):
    """Another daemon holds the SQLite database."""


@contextlib.contextmanager
def sole_daemon(database_url: str) -> Iterator[None]:
    """On SQLite, hold a lock beside the database file for as long as the daemon runs (the
    system releases it when the process dies, however it dies); raise AlreadyRunning when
    another daemon holds it. Postgres needs none: its workers coordinate through leases."""
    url = make_url(database_url)
    if not url.get_backend_name().startswith("sqlite") or not url.database:
        yield
        return
    lock_path = Path(url.database).resolve().with_name(Path(url.database).name + ".daemon-lock")
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(
                f"another `cds-crawler run` is using {url.database}; a SQLite database has "
                "one daemon at a time (several workers need Postgres)"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.asynccontextmanager
async def singleton(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """Whether this worker may run the job `name` now: on Postgres, while it holds a
    session advisory lock no other worker holds (released when the block ends or the
    connection dies); on SQLite, always (the daemon is alone)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = zlib.crc32(f"cds-crawler:{name}".encode())
    async with engine.connect() as conn:
        held = bool(
            (await conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})).scalar()
        )
        await conn.commit()
        try:
            yield held
        finally:
            if held:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                await conn.commit()

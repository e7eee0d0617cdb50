"""One async engine per database URL, set up for its dialect."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from crawler.domain.database_url import ASYNC_DRIVERS, sqlite_path, url_problem
from storage.errors import StorageError


def async_url(url: str) -> str:
    """The URL with an async driver: `postgresql://` gets asyncpg, `sqlite://` aiosqlite."""
    problem = url_problem(url)
    if problem is not None:
        raise StorageError(problem)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(f"not a database URL: {url!r}") from exc
    driver = ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def create_engine(url: str, *, pool_size: int = 8) -> AsyncEngine:
    """An engine for `url`: SQLite in WAL mode with a busy timeout, Postgres with a pool."""
    final = async_url(url)
    if final.startswith("sqlite"):
        _check_sqlite_file(sqlite_path(final))
        engine = create_async_engine(final, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(final, pool_size=pool_size, max_overflow=pool_size)


def _check_sqlite_file(path: str) -> None:
    """Raise StorageError when the SQLite file cannot be opened. aiosqlite reports that from
    its worker thread, which outlives the event loop of a command that then exits at once and
    prints a thread traceback; opening the file here first fails cleanly instead."""
    try:
        sqlite3.connect(path).close()
    except sqlite3.Error as exc:
        raise StorageError(f"database unreachable: {exc}") from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()

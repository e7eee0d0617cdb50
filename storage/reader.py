"""A read-only connection for the analysts' queries, on the plain DB-API drivers.

Reading commands are run in loops by scripts, so they must start fast: they talk to the
database through the standard library's sqlite3 or psycopg directly, and never import
SQLAlchemy or Alembic unless the schema has to be created or upgraded first.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson

from crawler.domain.database_url import sqlite_path
from storage.errors import StorageError
from storage.schema_revision import SCHEMA_REVISION
from storage.timestamps import as_utc

_NAMED_PARAMETER = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")


class Reader:
    """Runs SELECTs written with `:name` parameters on SQLite or Postgres alike."""

    def __init__(self, connection: Any, dialect: str, errors: tuple[type[Exception], ...]) -> None:
        self._connection = connection
        self.dialect = dialect
        self.errors = errors  # the driver's exception classes

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        cursor = self._connection.cursor()
        try:
            if self.dialect == "postgresql":
                sql = _NAMED_PARAMETER.sub(r"%(\1)s", sql)
            cursor.execute(sql, params or {})
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def close(self) -> None:
        self._connection.close()

    def in_list(self, prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
        """`(:p0, :p1, ...)` and its parameters, for `column IN (...)`."""
        params = {f"{prefix}{i}": value for i, value in enumerate(values)}
        return "(" + ", ".join(f":{name}" for name in params) + ")", params

    def json(self, value: Any) -> Any:
        """A JSON column's value (SQLite returns the text, psycopg the parsed value)."""
        return orjson.loads(value) if isinstance(value, str | bytes) else value

    def timestamp(self, value: Any) -> datetime | None:
        """A UTC timestamp column's value as an aware datetime."""
        return as_utc(value)

    def at(self, moment: datetime) -> Any:
        """`moment` as a parameter compared with timestamp columns (SQLite keeps them as UTC
        text in SQLAlchemy's format, which sorts as the instants do)."""
        utc = moment.astimezone(UTC)
        if self.dialect == "sqlite":
            return utc.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        return utc

    def json_array_has(self, column: str, key: str | None, param: str) -> str:
        """SQL true when the JSON array at `column` (or its member `key`) holds the string
        parameter `param`."""
        if self.dialect == "sqlite":
            path = f"'$.{key}'" if key else "'$'"
            return f"EXISTS (SELECT 1 FROM json_each({column}, {path}) j WHERE j.value = :{param})"
        array = f"(({column})::jsonb -> '{key}')" if key else f"(({column})::jsonb)"
        return f"{array} @> jsonb_build_array(CAST(:{param} AS text))"


def connect(url: str) -> Reader:
    """A reader on `url` as it is (see open_reader); raises StorageError when unreachable."""
    scheme = url.split("://", 1)[0].split("+", 1)[0]
    if scheme == "sqlite":
        try:
            # One reader may be handed from thread to thread (the API's pool), never shared.
            connection = sqlite3.connect(sqlite_path(url), timeout=30, check_same_thread=False)
            connection.execute("PRAGMA busy_timeout=30000")
        except sqlite3.Error as exc:
            raise StorageError(f"database unreachable: {exc}") from exc
        return Reader(connection, "sqlite", (sqlite3.Error,))
    if scheme in ("postgresql", "postgres"):
        import psycopg
        from psycopg.types.json import set_json_loads

        conninfo = "postgresql://" + url.split("://", 1)[1]
        try:
            pg = psycopg.connect(conninfo, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StorageError(f"database unreachable: {exc}") from exc
        # JSON columns decoded by orjson rather than the standard library: several times
        # faster on the entries and documents that listings and exports read.
        set_json_loads(orjson.loads, pg)
        return Reader(pg, "postgresql", (psycopg.Error,))
    raise StorageError(f"unsupported database URL scheme {scheme!r}")


def _schema_is_current(reader: Reader) -> bool:
    try:
        found = reader.rows("SELECT version_num FROM alembic_version")
    except reader.errors:
        return False
    return [row["version_num"] for row in found] == [SCHEMA_REVISION]


def _upgrade(url: str) -> None:
    import asyncio

    from storage.engine import create_engine
    from storage.migrate import ensure_schema

    async def run() -> None:
        engine = create_engine(url)
        try:
            await ensure_schema(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


def ensure_current_schema(reader: Reader, url: str) -> None:
    """Create or upgrade the schema of `url` (which `reader` reads) when missing or behind."""
    if not _schema_is_current(reader):
        _upgrade(url)


@contextmanager
def open_reader(url: str) -> Iterator[Reader]:
    """A reader on an up-to-date schema (created or upgraded first when missing or behind).

    Raises StorageError when the database cannot be reached.
    """
    reader = connect(url)
    try:
        ensure_current_schema(reader, url)
        yield reader
    except reader.errors as exc:
        raise StorageError(f"database query failed: {exc}") from exc
    finally:
        reader.close()

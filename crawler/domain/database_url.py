"""Database URLs as the crawler accepts them, read without importing SQLAlchemy (the reading
commands and the settings check them before anything heavy is loaded)."""

from __future__ import annotations

from urllib.parse import unquote

ASYNC_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}
ACCEPTED_DRIVERS = {"postgresql+asyncpg", "postgresql+psycopg", "sqlite+aiosqlite"}
SPELLINGS = "sqlite+aiosqlite:///PATH, postgresql://USER@HOST:PORT/DB, postgresql+asyncpg:// or postgresql+psycopg://"


def url_problem(url: str) -> str | None:
    """Why `url` is not a database URL the crawler can use, or None when it is."""
    scheme, separator, _ = url.partition("://")
    if not separator:
        return f"not a database URL: {url!r} (use {SPELLINGS})"
    if ASYNC_DRIVERS.get(scheme, scheme) not in ACCEPTED_DRIVERS:
        return f"unsupported database URL scheme {scheme!r}: use {SPELLINGS}"
    return None


def sqlite_path(url: str) -> str:
    """The file a SQLite URL names, as SQLAlchemy reads it: after `sqlite:///`, before any
    `?query`, percent-decoded; `:memory:` when it names none."""
    _, _, rest = url.partition("://")
    rest = rest.partition("?")[0]
    path = unquote(rest[1:] if rest.startswith("/") else rest)
    return path or ":memory:"

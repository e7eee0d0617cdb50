"""Database URLs checked and read without SQLAlchemy, as SQLAlchemy reads them."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from crawler.domain.database_url import sqlite_path, url_problem


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///x.sqlite3",
        "sqlite+aiosqlite:////tmp/x.sqlite3?timeout=5",
        "postgresql://u@h:5432/d",
        "postgres://u@h/d",
        "postgresql+asyncpg://u:p@h/d?ssl=require",
        "postgresql+psycopg://u@h/d",
    ],
)
def test_every_accepted_spelling_passes(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("not a url", "not a database URL: 'not a url'"),
        ("", "not a database URL: ''"),
        ("mysql://u@h/d", "unsupported database URL scheme 'mysql'"),
        ("postgresql+pg8000://u@h/d", "unsupported database URL scheme 'postgresql+pg8000'"),
        ("sqlite+pysqlite:///x", "unsupported database URL scheme 'sqlite+pysqlite'"),
    ],
)
def test_every_other_url_is_refused_with_what_to_use(url: str, problem: str) -> None:
    message = url_problem(url)

    assert message is not None
    assert message.startswith(problem)
    assert "postgresql://USER@HOST:PORT/DB" in message


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:////tmp/x/q.db?timeout=5",
        "sqlite+aiosqlite:///relative.sqlite3",
        "sqlite:///with%20space.sqlite3",
        "sqlite:///:memory:",
        "sqlite+aiosqlite:///a.db?",
    ],
)
def test_the_sqlite_file_is_the_one_sqlalchemy_opens(url: str) -> None:
    assert sqlite_path(url) == make_url(url).database


def test_a_sqlite_url_without_a_file_is_in_memory() -> None:
    assert sqlite_path("sqlite://") == ":memory:"

"""Database URLs: the driver chosen for each spelling, and each accepted driver really works."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select, text

from storage.dialect import among
from storage.engine import async_url, create_engine
from storage.errors import StorageError
from storage.migrate import ensure_schema
from storage.reader import open_reader
from storage.repositories import robots as robots_repo
from storage.repositories import seeds as seeds_repo
from storage.repositories.seeds import NewSeed
from storage.schema import SCHEMA_REVISION, seeds

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///x.sqlite3", "sqlite+aiosqlite:///x.sqlite3"),
        ("sqlite+aiosqlite:////tmp/x.sqlite3", "sqlite+aiosqlite:////tmp/x.sqlite3"),
        ("postgresql://u@h:5432/d", "postgresql+asyncpg://u@h:5432/d"),
        ("postgres://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql+psycopg://u:p@h/d", "postgresql+psycopg://u:p@h/d"),
    ],
)
def test_async_driver_for_each_url_spelling(given: str, expected: str) -> None:
    assert async_url(given) == expected


@pytest.mark.parametrize("bad", ["mysql://u@h/d", "not a url", "postgresql+pg8000://u@h/d"])
def test_unsupported_urls_are_refused_with_a_message(bad: str) -> None:
    with pytest.raises(StorageError, match="database URL"):
        async_url(bad)


@pytest.mark.postgres
@pytest.mark.parametrize("driver", ["postgresql", "postgresql+asyncpg", "postgresql+psycopg"])
async def test_every_postgres_driver_spelling_works(postgres_url: str, driver: str) -> None:
    url = driver + "://" + postgres_url.split("://", 1)[1]
    engine = create_engine(url)
    try:
        await ensure_schema(engine)
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM servers")) is not None
    finally:
        await engine.dispose()
    with open_reader(url) as reader:
        assert reader.rows("SELECT version_num FROM alembic_version") == [
            {"version_num": SCHEMA_REVISION}
        ]


def test_reader_creates_the_schema_of_a_new_database(tmp_path: object) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/fresh.sqlite3"

    with open_reader(url) as reader:
        assert reader.rows("SELECT count(*) AS n FROM servers") == [{"n": 0}]


def test_reader_reports_an_unreachable_database(tmp_path: object) -> None:
    with (
        pytest.raises(StorageError, match="unreachable"),
        open_reader(f"sqlite:///{tmp_path}/no/such/dir/db.sqlite3"),
    ):
        pass


@pytest.mark.parametrize("count", [0, 1, 1200])
async def test_among_matches_any_number_of_values_of_any_column_type(
    engine: AsyncEngine, count: int
) -> None:
    now = datetime.now(UTC)
    new = [NewSeed(f"https://s{n}.example/x", f"s{n}.example", (), "test") for n in range(1300)]
    async with engine.begin() as conn:
        await seeds_repo.add(conn, new, now)
        await robots_repo.save(
            conn,
            [
                {"origin": f"https://s{n}.example", "text": None, "etag": None}
                | {"last_modified": None, "read_at": now}
                for n in range(1300)
            ],
        )
    async with engine.connect() as conn:
        ids = list(await conn.scalars(select(seeds.c.id).order_by(seeds.c.id)))
        wanted_ids = [*ids[:count], -1]  # one that matches nothing
        found_ids = list(
            await conn.scalars(select(seeds.c.id).where(among(conn, seeds.c.id, wanted_ids)))
        )
        origins = [f"https://s{n}.example" for n in range(count)] + ["https://none.example"]
        found_origins = await robots_repo.load_many(conn, origins)

    assert sorted(found_ids) == ids[:count]
    assert sorted(found_origins) == sorted(origins[:count])


@pytest.mark.postgres
async def test_among_binds_an_array_with_the_psycopg_driver_too(postgres_database: str) -> None:
    engine = create_engine("postgresql+psycopg://" + postgres_database.split("://", 1)[1])
    try:
        async with engine.connect() as conn:
            query = select(seeds.c.id).where(among(conn, seeds.c.url, ["a", "b"]))
            assert list(await conn.scalars(query)) == []
    finally:
        await engine.dispose()

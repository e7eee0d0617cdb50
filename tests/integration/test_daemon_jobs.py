"""The daemon's periodic jobs run on one worker at a time: on Postgres by advisory lock."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from crawler.daemon.exclusive import singleton


async def test_a_periodic_job_runs_on_one_worker_at_a_time(engine: AsyncEngine) -> None:
    ran: list[str] = []
    inside = asyncio.Event()
    leave = asyncio.Event()

    async def worker(name: str) -> None:
        async with singleton(engine, "seed-lists") as mine:
            if mine:
                ran.append(name)
            if name == "first":
                inside.set()
                await leave.wait()

    first = asyncio.create_task(worker("first"))
    await inside.wait()
    await worker("second")  # while the first holds it
    leave.set()
    await first
    await worker("third")  # once it is free again

    if engine.dialect.name == "postgresql":
        assert ran == ["first", "third"]
    else:  # one daemon per SQLite file: nothing to share with
        assert ran == ["first", "second", "third"]

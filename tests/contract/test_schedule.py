"""The daemon's schedule on SQLite and Postgres: hosts are leased with their due work, never
to two workers at once; leases expire; released hosts are due at their earliest target."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import create_engine
from storage.repositories import robots, schedule
from storage.repositories.schedule import Polled
from storage.schema import hosts

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def target(host: str, n: int) -> dict[str, object]:
    return {
        "url": f"https://{host}/m{n}.json",
        "host": f"{host}:443",
        "seed_id": None,
        "via": "https://seed.example/",
        "depth": 1,
    }


async def schedule_targets(engine: AsyncEngine, hosts: int, per_host: int, due: datetime) -> None:
    rows = [target(f"h{h}.example", n) for h in range(hosts) for n in range(per_host)]
    async with engine.begin() as conn:
        await schedule.add(conn, rows, due)


async def claim(engine: AsyncEngine, owner: str, limit: int, now: datetime = NOW) -> list[str]:
    async with engine.begin() as conn:
        return await schedule.claim(conn, owner, limit, LEASE, now)


async def test_due_hosts_are_leased_once_with_their_due_targets(engine: AsyncEngine) -> None:
    await schedule_targets(engine, hosts=3, per_host=2, due=NOW)
    await schedule_targets(engine, hosts=5, per_host=1, due=NOW + timedelta(hours=1))

    first = await claim(engine, "a", 2)
    second = await claim(engine, "b", 10)
    none_left = await claim(engine, "c", 10)
    async with engine.connect() as conn:
        due = await schedule.due_targets(conn, first, NOW)

    assert len(first) == 2
    assert sorted(first + second) == ["h0.example:443", "h1.example:443", "h2.example:443"]
    assert none_left == []
    assert sorted(d.url for d in due) == sorted(
        f"https://{host.removesuffix(':443')}/m{n}.json" for host in first for n in range(2)
    )
    assert {d.via for d in due} == {"https://seed.example/"}


async def test_a_lease_that_expires_goes_to_another_worker_and_renewal_tells_the_loss(
    engine: AsyncEngine,
) -> None:
    await schedule_targets(engine, hosts=1, per_host=1, due=NOW)
    leased = await claim(engine, "a", 1)
    later = NOW + LEASE + timedelta(seconds=1)
    taken = await claim(engine, "b", 1, later)
    async with engine.begin() as conn:
        lost = await schedule.renew(conn, "a", leased, LEASE, later)

    assert taken == leased
    assert lost == leased


async def test_released_hosts_are_due_at_their_earliest_target_or_when_paused(
    engine: AsyncEngine,
) -> None:
    await schedule_targets(engine, hosts=2, per_host=2, due=NOW)
    leased = await claim(engine, "a", 2)
    async with engine.connect() as conn:
        due = await schedule.due_targets(conn, leased, NOW)
    polled = [
        Polled(d.url, NOW + timedelta(hours=1 + i), 3600.0, 0, NOW) for i, d in enumerate(due)
    ]
    paused = {"h1.example:443": NOW + timedelta(hours=10)}
    async with engine.begin() as conn:
        await schedule.reschedule(conn, polled)
        await schedule.release(conn, "a", leased, paused)

    assert await claim(engine, "b", 10, NOW + timedelta(minutes=59)) == []
    assert await claim(engine, "b", 10, NOW + timedelta(hours=2)) == ["h0.example:443"]
    # b's lease on h0 has expired by then, and h1's pause is over.
    assert await claim(engine, "c", 10, NOW + timedelta(hours=10)) == [
        "h0.example:443",
        "h1.example:443",
    ]
    async with engine.connect() as conn:
        seen = await schedule.frontier(conn, NOW + timedelta(hours=10))
    assert (seen.targets, seen.due, seen.leased_hosts) == (4, 4, 2)


async def test_scheduling_a_target_again_keeps_its_schedule(engine: AsyncEngine) -> None:
    await schedule_targets(engine, hosts=1, per_host=1, due=NOW)
    leased = await claim(engine, "a", 1)
    async with engine.begin() as conn:
        url = (await schedule.due_targets(conn, leased, NOW))[0].url
        await schedule.reschedule(conn, [Polled(url, NOW + timedelta(days=1), 86400.0, 0, NOW)])
        await schedule.release(conn, "a", leased)
        await schedule.add(conn, [target("h0.example", 0)], NOW)  # found again, linked

    assert await claim(engine, "b", 1, NOW + timedelta(hours=1)) == []


async def test_concurrent_claims_never_lease_a_host_twice(postgres_database: str) -> None:
    """Postgres only: one daemon per SQLite file, so claims never race there."""
    engine = create_engine(postgres_database)
    try:
        await schedule_targets(engine, hosts=40, per_host=1, due=NOW)
        claims = await asyncio.gather(*(claim(engine, f"w{n}", 5) for n in range(8)))
    finally:
        await engine.dispose()

    leased = [host for hosts in claims for host in hosts]
    assert len(leased) == len(set(leased)) == 40


async def borrow(engine: AsyncEngine, owner: str, host: str, now: datetime = NOW) -> bool:
    async with engine.begin() as conn:
        return await schedule.borrow(conn, owner, host, LEASE, now)


async def give_back(engine: AsyncEngine, owner: str, host: str, now: datetime = NOW) -> None:
    async with engine.begin() as conn:
        await schedule.give_back(conn, owner, host, SPACING, now)


SPACING = timedelta(milliseconds=250)


async def test_a_borrowed_host_is_lent_to_one_worker_at_a_time_and_spaced_after(
    engine: AsyncEngine,
) -> None:
    cdn = "cdn.example:443"  # no target of its own: borrowing creates its row
    assert await borrow(engine, "a", cdn)
    assert not await borrow(engine, "b", cdn)
    assert not await borrow(engine, "a", cdn)  # one request per borrowed lease

    await give_back(engine, "b", cdn)  # not b's to give back: nothing changes
    assert not await borrow(engine, "b", cdn)
    await give_back(engine, "a", cdn)
    assert not await borrow(engine, "b", cdn, NOW + SPACING / 2)  # the next request waits
    assert await borrow(engine, "b", cdn, NOW + SPACING)
    assert not await borrow(engine, "a", cdn, NOW + LEASE)  # b's lease still runs
    assert await borrow(engine, "a", cdn, NOW + SPACING + LEASE + timedelta(seconds=1))
    assert await claim(engine, "c", 10, NOW + timedelta(days=1)) == []  # never due by itself


async def test_claimed_and_borrowed_leases_exclude_each_other(engine: AsyncEngine) -> None:
    await schedule_targets(engine, hosts=2, per_host=1, due=NOW)
    assert await borrow(engine, "a", "h0.example:443")
    assert await claim(engine, "b", 10) == ["h1.example:443"]  # the borrowed host is skipped
    assert not await borrow(engine, "a", "h1.example:443")  # b's round holds it

    async with engine.begin() as conn:
        await schedule.release(conn, "b", ["h1.example:443"], {"h1.example:443": NOW + LEASE})
    await give_back(engine, "a", "h0.example:443")
    assert not await borrow(engine, "a", "h1.example:443", NOW + SPACING)  # Retry-After holds
    assert await claim(engine, "b", 10, NOW + SPACING) == ["h0.example:443"]

    assert await borrow(engine, "a", "cdn.example:443")
    async with engine.begin() as conn:  # as a Retry-After answer to the borrowed request would
        pause = update(hosts).where(hosts.c.host == "cdn.example:443")
        await conn.execute(pause.values(paused_until=NOW + LEASE))
    await give_back(engine, "a", "cdn.example:443")
    async with engine.connect() as conn:
        paused = await conn.execute(
            select(hosts.c.paused_until).where(hosts.c.host == "cdn.example:443")
        )
    assert paused.scalar_one() == NOW + LEASE  # a longer pause is never shortened


async def test_robots_txt_is_kept_per_origin(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await robots.save(conn, [kept_row("User-agent: *\nDisallow: /\n", '"1"', NOW)])
        await robots.save(conn, [kept_row(None, None, NOW + LEASE)])
    async with engine.connect() as conn:
        kept = await robots.load(conn, "https://a.example")
        missing = await robots.load(conn, "https://b.example")

    assert kept == {"text": None, "etag": None, "last_modified": None, "read_at": NOW + LEASE}
    assert missing is None


def kept_row(text: str | None, etag: str | None, read_at: datetime) -> dict[str, object]:
    return {
        "origin": "https://a.example",
        "text": text,
        "etag": etag,
        "last_modified": None,
        "read_at": read_at,
    }

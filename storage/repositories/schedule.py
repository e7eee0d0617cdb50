"""The daemon's schedule: when each metadata URL is due, and per host who polls it now.

Work is leased by host, not by URL, so that one worker at a time talks to a host and its
per-host limits hold across workers. A lease expires unless renewed; a worker that dies
loses its hosts to the others after that. On Postgres the claim skips rows other workers
hold locked (`FOR UPDATE SKIP LOCKED`), so concurrent claims never wait or overlap.

A host a worker has not leased (one serving resources for servers on other hosts, say a
CDN) is borrowed for each request instead: the same lease, held for one request, then given
back with a pause that spaces the next borrower's request by the per-host rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from storage.dialect import insert_ignoring_conflicts
from storage.schema import hosts, schedule, seeds


@dataclass(frozen=True, slots=True)
class Due:
    """A target whose poll is due."""

    url: str
    host: str
    seed_id: int | None
    via: str | None  # the URL whose document linked it, or the seed as the operator gave it
    depth: int
    interval_s: float  # 0 before its first poll
    failures: int


@dataclass(frozen=True, slots=True)
class Polled:
    """When a polled target is next due."""

    url: str
    next_poll_at: datetime
    interval_s: float
    failures: int
    polled_at: datetime


async def add(conn: AsyncConnection, rows: Sequence[dict[str, Any]], due: datetime) -> None:
    """Schedule targets not scheduled yet, due at `due`: rows of url, host, seed_id, via,
    depth. A target already scheduled keeps its schedule."""
    if not rows:
        return
    known = select(schedule.c.url).where(schedule.c.url.in_([row["url"] for row in rows]))
    scheduled = {row.url for row in await conn.execute(known)}
    unique = list({row["url"]: row for row in rows if row["url"] not in scheduled}.values())
    if not unique:
        return
    await insert_ignoring_conflicts(
        conn,
        schedule,
        [
            {**row, "next_poll_at": due, "interval_s": 0.0, "failures": 0, "last_polled_at": None}
            for row in unique
        ],
    )
    await _ensure_hosts(conn, sorted({row["host"] for row in unique}), due)


async def unscheduled_seeds(conn: AsyncConnection) -> list[tuple[int, str]]:
    """The metadata seeds (id, url) the schedule does not hold yet."""
    query = (
        select(seeds.c.id, seeds.c.url)
        .outerjoin(schedule, schedule.c.url == seeds.c.url)
        .where(seeds.c.kind == "metadata", schedule.c.url.is_(None))
        .order_by(seeds.c.id)
    )
    return [(row.id, row.url) for row in await conn.execute(query)]


async def claim(
    conn: AsyncConnection, owner: str, limit: int, lease: timedelta, now: datetime
) -> list[str]:
    """Lease up to `limit` hosts with due work that no live lease or pause holds, earliest
    due first; call in a transaction of its own."""
    h = hosts.c
    query = (
        select(h.host)
        .where(h.next_due <= now, _available(now))
        .order_by(h.next_due)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = [row.host for row in await conn.execute(query)]
    if claimed:
        # Due again when the lease runs out (release sets the real time): the index on
        # next_due then leads other workers' claims past leased hosts.
        await conn.execute(
            update(hosts)
            .where(h.host.in_(claimed))
            .values(lease_owner=owner, lease_expires_at=now + lease, next_due=now + lease)
        )
    return claimed


async def renew(
    conn: AsyncConnection, owner: str, leased: Sequence[str], lease: timedelta, now: datetime
) -> list[str]:
    """Extend the leases `owner` still holds among `leased`; the hosts it lost."""
    if not leased:
        return []
    h = hosts.c
    result = await conn.execute(
        update(hosts)
        .where(h.host.in_(list(leased)), h.lease_owner == owner)
        .values(lease_expires_at=now + lease, next_due=now + lease)
        .returning(h.host)
    )
    kept = {row.host for row in result}
    return [host for host in leased if host not in kept]


async def due_targets(conn: AsyncConnection, leased: Sequence[str], now: datetime) -> list[Due]:
    """The targets of these hosts that are due, earliest first."""
    if not leased:
        return []
    s = schedule.c
    via = func.coalesce(s.via, seeds.c.target, s.url)
    query = (
        select(s.url, s.host, s.seed_id, via, s.depth, s.interval_s, s.failures)
        .outerjoin(seeds, seeds.c.id == s.seed_id)
        .where(s.host.in_(list(leased)), s.next_poll_at <= now)
        .order_by(s.next_poll_at, s.url)
    )
    return [Due(*row) for row in await conn.execute(query)]


_RESCHEDULE = (
    update(schedule)
    .where(schedule.c.url == bindparam("b_url"))
    .values(
        next_poll_at=bindparam("b_next"),
        interval_s=bindparam("b_interval"),
        failures=bindparam("b_failures"),
        last_polled_at=bindparam("b_polled"),
    )
)


async def reschedule(conn: AsyncConnection, polled: Sequence[Polled]) -> None:
    if polled:
        await conn.execute(
            _RESCHEDULE,
            [
                {
                    "b_url": p.url,
                    "b_next": p.next_poll_at,
                    "b_interval": p.interval_s,
                    "b_failures": p.failures,
                    "b_polled": p.polled_at,
                }
                for p in polled
            ],
        )


async def release(
    conn: AsyncConnection,
    owner: str,
    leased: Sequence[str],
    pauses: dict[str, datetime] | None = None,
) -> None:
    """Give up `owner`'s leases on these hosts, each due again at its earliest target (and
    paused until `pauses[host]`, where given)."""
    if not leased:
        return
    h = hosts.c
    earliest = (
        select(func.min(schedule.c.next_poll_at)).where(schedule.c.host == h.host).scalar_subquery()
    )
    mine = and_(h.host.in_(list(leased)), h.lease_owner == owner)
    for host, until in (pauses or {}).items():
        await conn.execute(update(hosts).where(mine, h.host == host).values(paused_until=until))
    await conn.execute(
        update(hosts)
        .where(mine)
        .values(
            lease_owner=None,
            lease_expires_at=None,
            next_due=func.coalesce(earliest, h.next_due),
        )
    )


async def borrow(
    conn: AsyncConnection, owner: str, host: str, hold: timedelta, now: datetime
) -> bool:
    """Lease `host` for one request if no lease or pause holds it; call in a transaction of
    its own. A host without a row gets one, due only once a target on it is scheduled."""
    await insert_ignoring_conflicts(conn, hosts, [_host_row(host, now + _NOT_DUE)])
    h = hosts.c
    result = await conn.execute(
        update(hosts)
        .where(h.host == host, _available(now))
        .values(lease_owner=owner, lease_expires_at=now + hold)
        .returning(h.host)
    )
    return result.first() is not None


async def give_back(
    conn: AsyncConnection, owner: str, host: str, pause: timedelta, now: datetime
) -> None:
    """End `owner`'s borrowed lease on `host`; no one may borrow or claim it for `pause`
    (the per-host rate's spacing, or a Retry-After; a longer pause already set stays)."""
    h = hosts.c
    until = now + pause
    await conn.execute(
        update(hosts)
        .where(h.host == host, h.lease_owner == owner)
        .values(
            lease_owner=None,
            lease_expires_at=None,
            paused_until=case((h.paused_until > until, h.paused_until), else_=until),
        )
    )


@dataclass(frozen=True, slots=True)
class Frontier:
    targets: int
    due: int  # due now
    lag_s: float  # how long the most overdue target has waited
    leased_hosts: int


async def frontier(conn: AsyncConnection, now: datetime) -> Frontier:
    s, h = schedule.c, hosts.c
    targets, due, oldest = (
        await conn.execute(
            select(
                func.count(),
                func.count().filter(s.next_poll_at <= now),
                func.min(s.next_poll_at),
            ).select_from(schedule)
        )
    ).one()
    leased = (
        await conn.execute(select(func.count()).select_from(hosts).where(h.lease_expires_at > now))
    ).scalar_one()
    lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return Frontier(int(targets), int(due or 0), lag, int(leased))


async def forget_hosts_without_targets(conn: AsyncConnection) -> None:
    """Drop the host rows no target needs any more (their seeds were removed)."""
    scheduled = select(schedule.c.host).distinct()
    await conn.execute(
        delete(hosts).where(hosts.c.host.not_in(scheduled), hosts.c.lease_owner.is_(None))
    )


async def _ensure_hosts(conn: AsyncConnection, names: Sequence[str], due: datetime) -> None:
    """Host rows for `names`, each due no later than `due`."""
    if not names:
        return
    await insert_ignoring_conflicts(conn, hosts, [_host_row(name, due) for name in names])
    await conn.execute(
        update(hosts)
        .where(hosts.c.host.in_(list(names)), hosts.c.next_due > due)
        .values(next_due=due)
    )


def _available(now: datetime) -> ColumnElement[bool]:
    """Hosts no live lease and no pause holds."""
    h = hosts.c
    return and_(
        or_(h.lease_expires_at.is_(None), h.lease_expires_at < now),
        or_(h.paused_until.is_(None), h.paused_until <= now),
    )


# A borrowed host's row is due this far ahead: a worker claims it only once targets on it
# are scheduled, which brings next_due forward.
_NOT_DUE = timedelta(days=3650)


def _host_row(host: str, due: datetime) -> dict[str, Any]:
    return {
        "host": host,
        "next_due": due,
        "lease_owner": None,
        "lease_expires_at": None,
        "paused_until": None,
        "failures": 0,
    }

"""Claim benchmark: the daemon's scheduling queries over a frontier of 100,000 targets.

    .venv/bin/python benchmarks/claim_benchmark.py [--targets 100000] [--per-host 4]
        [--repetitions 200] [--batch 256] [--databases sqlite,postgres]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test] [--write docs/benchmarks.md]

A fresh database per kind gets the schema (`storage.migrate.upgrade`) and a schedule of
`--targets` metadata URLs, `--per-host` on each host, written directly into the `seeds`,
`schedule` and `hosts` tables as `seeds import` and `schedule.add` write them: half the
targets are due (up to an hour overdue), the others in 1 to 24 hours. Then, in process, as a
worker's round does it, each repetition claims a batch of hosts (`schedule.claim`, in a
transaction of its own) and reads their due targets (`schedule.due_targets`), timed; then
moves those targets days ahead (`schedule.reschedule`) and gives the hosts back
(`schedule.release`), timed apart, so that the next claim finds other work. The metrics
query, `schedule.frontier`, is timed too. Every answer is checked against the benchmark's own
account of the schedule. Nothing goes over the network but to the Postgres server on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from harness import (
    WELL_KNOWN,
    Measure,
    Target,
    add_common_arguments,
    code_changed,
    fresh_database,
    outcome,
    parse_common,
    results_table,
    run_benchmark,
    section_header,
    targets_table,
)
from point_query_benchmark import percentile

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from sqlalchemy.ext.asyncio import AsyncEngine

    from storage.repositories.schedule import Due

SEED = 20261129
OVERDUE_S = 3600.0  # due targets are up to an hour overdue
FUTURE_S = (3600.0, 86400.0)  # the others are due in 1 to 24 hours
LATER_S = 3 * 86400.0  # a polled target's next poll: after every other target's
INTERVAL_S = 3600.0
LEASE = timedelta(seconds=120)  # the daemon's default lease
OWNER = "claim-benchmark"
OTHER_OWNER = "claim-benchmark-other"
INSERT_ROWS = 5000  # rows per INSERT while filling
WARMUP = 3  # repetitions before the timed ones: connections opened, statements compiled

TARGET_P99_MS = 50.0


# --- the schedule ----------------------------------------------------------------------------


def target_url(number: int, per_host: int) -> str:
    return f"https://utility-{number // per_host:05d}.example/{number % per_host}{WELL_KNOWN}"


@dataclass(slots=True)
class Plan:
    """The benchmark's own account of the schedule, which the queries' answers are checked
    against: when each target is next due, by host."""

    initial: dict[str, datetime]  # url: next_poll_at as written first
    next_poll: dict[str, datetime]  # url: next_poll_at now
    urls_of: dict[str, list[str]]  # host: its targets
    due_hosts: dict[str, datetime] = field(default_factory=dict)  # due host: its next_due

    def host_due_at(self, host: str) -> datetime:
        return min(self.next_poll[url] for url in self.urls_of[host])

    def find_due_hosts(self, now: datetime) -> None:
        self.due_hosts = {
            host: due for host in self.urls_of if (due := self.host_due_at(host)) <= now
        }

    def due_urls(self, hosts: Sequence[str], now: datetime) -> set[str]:
        return {url for host in hosts for url in self.urls_of[host] if self.next_poll[url] <= now}

    def due_count(self, now: datetime) -> int:
        return sum(1 for due in self.next_poll.values() if due <= now)


def make_plan(targets: int, per_host: int, now: datetime) -> Plan:
    """Exactly half the targets due, spread over the hour before `now`; the rest due in 1 to
    24 hours."""
    from crawler.domain.targets import host_key

    rng = random.Random(SEED)
    due = set(rng.sample(range(targets), targets // 2))
    initial: dict[str, datetime] = {}
    urls_of: dict[str, list[str]] = {}
    for number in range(targets):
        url = target_url(number, per_host)
        offset = -rng.uniform(0, OVERDUE_S) if number in due else rng.uniform(*FUTURE_S)
        initial[url] = now + timedelta(seconds=offset)
        urls_of.setdefault(host_key(url), []).append(url)
    plan = Plan(initial, dict(initial), urls_of)
    plan.find_due_hosts(now)
    return plan


def table_rows(plan: Plan, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """The rows of `seeds`, `schedule` and `hosts`: every target a metadata seed, polled an
    interval before it is due."""
    rows: dict[str, list[dict[str, Any]]] = {"seeds": [], "schedule": [], "hosts": []}
    for host, urls in plan.urls_of.items():
        for url in urls:
            seed_id = len(rows["seeds"]) + 1
            due = plan.initial[url]
            rows["seeds"].append(
                {
                    "id": seed_id,
                    "kind": "metadata",
                    "url": url,
                    "target": url,
                    "tags": [],
                    "source": "cli",
                    "list_seed_id": None,
                    "added_at": now,
                }
            )
            rows["schedule"].append(
                {
                    "url": url,
                    "host": host,
                    "seed_id": seed_id,
                    "via": None,
                    "depth": 0,
                    "next_poll_at": due,
                    "interval_s": INTERVAL_S,
                    "failures": 0,
                    "last_polled_at": due - timedelta(seconds=INTERVAL_S),
                }
            )
        rows["hosts"].append(
            {
                "host": host,
                "next_due": plan.host_due_at(host),
                "lease_owner": None,
                "lease_expires_at": None,
                "paused_until": None,
                "failures": 0,
            }
        )
    return rows


async def fill(engine: AsyncEngine, plan: Plan, now: datetime) -> None:
    """The schema, then the rows in one transaction; then on Postgres ANALYZE (what
    autovacuum does to tables that grew this much), on SQLite a checkpoint that empties the
    write-ahead log the filling left."""
    from sqlalchemy import insert, text

    from storage.migrate import upgrade
    from storage.schema import hosts, schedule, seeds

    await upgrade(engine)
    rows = table_rows(plan, now)
    async with engine.begin() as conn:
        for table in (seeds, schedule, hosts):
            batch = rows[table.name]
            for start in range(0, len(batch), INSERT_ROWS):
                await conn.execute(insert(table), batch[start : start + INSERT_ROWS])
    tidy = "ANALYZE" if engine.dialect.name == "postgresql" else "PRAGMA wal_checkpoint(TRUNCATE)"
    async with engine.begin() as conn:
        await conn.execute(text(tidy))


async def restore(engine: AsyncEngine, plan: Plan, now: datetime) -> None:
    """Every target due as first written again, and each host due at its earliest (not
    timed: when too few hosts are left due for a full claim)."""
    from sqlalchemy import bindparam, func, select, update

    from storage.schema import hosts, schedule

    moved = [url for url, due in plan.next_poll.items() if due != plan.initial[url]]
    back = (
        update(schedule)
        .where(schedule.c.url == bindparam("b_url"))
        .values(next_poll_at=bindparam("b_next"))
    )
    earliest = (
        select(func.min(schedule.c.next_poll_at))
        .where(schedule.c.host == hosts.c.host)
        .scalar_subquery()
    )
    async with engine.begin() as conn:
        for start in range(0, len(moved), INSERT_ROWS):
            chunk = moved[start : start + INSERT_ROWS]
            await conn.execute(back, [{"b_url": u, "b_next": plan.initial[u]} for u in chunk])
        await conn.execute(update(hosts).values(next_due=earliest))
    plan.next_poll = dict(plan.initial)
    plan.find_due_hosts(now)


# --- measuring -------------------------------------------------------------------------------


@dataclass(slots=True)
class DatabaseResult:
    kind: str
    fill_s: float = 0.0
    claim_ms: list[float] = field(default_factory=list)
    claim_commit_ms: list[float] = field(default_factory=list)  # the part of claim_ms
    due_ms: list[float] = field(default_factory=list)  # due_targets of the claimed hosts
    reschedule_ms: list[float] = field(default_factory=list)
    release_ms: list[float] = field(default_factory=list)
    frontier_ms: list[float] = field(default_factory=list)
    hosts_claimed: list[int] = field(default_factory=list)
    targets_due: list[int] = field(default_factory=list)
    restores: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def round_ms(self) -> list[float]:
        """A claim and its due targets: what a worker waits for before it can poll."""
        return [c + d for c, d in zip(self.claim_ms, self.due_ms, strict=True)]


@dataclass(frozen=True, slots=True)
class Round:
    """One repetition's milliseconds, and what its claim got."""

    claim_ms: float
    claim_commit_ms: float
    due_ms: float
    reschedule_ms: float
    release_ms: float
    hosts: int
    targets: int

    def record(self, result: DatabaseResult) -> None:
        result.claim_ms.append(self.claim_ms)
        result.claim_commit_ms.append(self.claim_commit_ms)
        result.due_ms.append(self.due_ms)
        result.reschedule_ms.append(self.reschedule_ms)
        result.release_ms.append(self.release_ms)
        result.hosts_claimed.append(self.hosts)
        result.targets_due.append(self.targets)


@dataclass(slots=True)
class Cycle:
    """The claims since the schedule was last restored, whose hosts must all differ."""

    claimed: set[str] = field(default_factory=set)


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def claim_round(
    engine: AsyncEngine, plan: Plan, batch: int, result: DatabaseResult, cycle: Cycle
) -> Round:
    """One round on the schedule: claim, due targets (the answers checked), reschedule,
    release."""
    from storage.repositories import schedule

    now = datetime.now(UTC)
    started = time.perf_counter()
    async with engine.begin() as conn:
        leased = await schedule.claim(conn, OWNER, batch, LEASE, now)
        committing = time.perf_counter()
    claim_ms = elapsed_ms(started)
    claim_commit_ms = elapsed_ms(committing)
    started = time.perf_counter()
    async with engine.connect() as conn:
        due = await schedule.due_targets(conn, leased, now)
    due_ms = elapsed_ms(started)
    result.problems += check_claim(plan, leased, due, batch, now, cycle)
    polled = polled_later(due, now)
    started = time.perf_counter()
    async with engine.begin() as conn:
        await schedule.reschedule(conn, polled)
    reschedule_ms = elapsed_ms(started)
    started = time.perf_counter()
    async with engine.begin() as conn:
        await schedule.release(conn, OWNER, leased)
    release_ms = elapsed_ms(started)
    for moved in polled:
        plan.next_poll[moved.url] = moved.next_poll_at
    for host in leased:
        plan.due_hosts.pop(host, None)
    return Round(
        claim_ms, claim_commit_ms, due_ms, reschedule_ms, release_ms, len(leased), len(due)
    )


def polled_later(due: Sequence[Due], now: datetime) -> list[Any]:
    """The due targets as a poll leaves them: due again days later (after every target not
    polled yet), each at its own time."""
    from storage.repositories.schedule import Polled

    return [
        Polled(d.url, now + timedelta(seconds=LATER_S + i), INTERVAL_S, 0, now)
        for i, d in enumerate(due)
    ]


def check_claim(
    plan: Plan, leased: list[str], due: Sequence[Due], batch: int, now: datetime, cycle: Cycle
) -> list[str]:
    """The claim took a full batch of distinct due hosts, the earliest due, none claimed
    before in this cycle; due_targets gave exactly the due targets of those hosts."""
    problems = []
    claimed = set(leased)
    wanted = min(batch, len(plan.due_hosts))
    if len(leased) != wanted or len(claimed) != len(leased):
        problems.append(f"a claim gave {len(leased)} hosts ({len(claimed)} distinct), not {wanted}")
    not_due = [host for host in leased if host not in plan.due_hosts]
    if not_due:
        problems.append(f"a claim gave hosts with nothing due, e.g. {not_due[0]}")
    again = cycle.claimed & claimed
    if again:
        problems.append(f"a claim gave {len(again)} hosts already claimed and rescheduled")
    cycle.claimed |= claimed
    left = [due_at for host, due_at in plan.due_hosts.items() if host not in claimed]
    taken = [plan.due_hosts[host] for host in leased if host in plan.due_hosts]
    if taken and left and max(taken) > min(left):
        problems.append("a claim passed over hosts due earlier than some it took")
    got = [d.url for d in due]
    expected = plan.due_urls(leased, now)
    if set(got) != expected or len(got) != len(set(got)):
        problems.append(
            f"due_targets gave {len(got)} targets ({len(set(got) - expected)} not due or not "
            f"of a claimed host), not the {len(expected)} due"
        )
    return problems


async def check_leases_hold(engine: AsyncEngine, batch: int) -> list[str]:
    """While one owner holds a batch, a second claim gets none of its hosts; both given back
    (not timed; nothing rescheduled, so the same hosts stay due)."""
    from storage.repositories import schedule

    now = datetime.now(UTC)
    async with engine.begin() as conn:
        held = await schedule.claim(conn, OTHER_OWNER, batch, LEASE, now)
    async with engine.begin() as conn:
        other = await schedule.claim(conn, OWNER, batch, LEASE, now)
    async with engine.begin() as conn:
        await schedule.release(conn, OTHER_OWNER, held)
        await schedule.release(conn, OWNER, other)
    both = set(held) & set(other)
    return [f"{len(both)} hosts claimed while another owner held them"] if both else []


async def time_frontier(engine: AsyncEngine, plan: Plan, runs: int, result: DatabaseResult) -> None:
    """`schedule.frontier`, checked against the plan."""
    from storage.repositories import schedule

    for _ in range(runs):
        now = datetime.now(UTC)
        started = time.perf_counter()
        async with engine.connect() as conn:
            seen = await schedule.frontier(conn, now)
        result.frontier_ms.append(elapsed_ms(started))
    expected = (len(plan.next_poll), plan.due_count(now), 0)
    if (seen.targets, seen.due, seen.leased_hosts) != expected:
        result.problems.append(
            f"frontier() gave {seen.targets} targets, {seen.due} due, {seen.leased_hosts} "
            f"leased hosts; expected {expected[0]}, {expected[1]}, {expected[2]}"
        )


async def bench_engine(
    engine: AsyncEngine,
    args: argparse.Namespace,
    result: DatabaseResult,
    log: Callable[[str], None],
) -> None:
    now = datetime.now(UTC)
    plan = make_plan(args.targets, args.per_host, now)
    started = time.perf_counter()
    await fill(engine, plan, now)
    result.fill_s = time.perf_counter() - started
    log(f"{result.kind}: filled in {result.fill_s:.1f}s, {len(plan.due_hosts)} hosts due")
    await time_frontier(engine, plan, args.frontier_runs, result)
    result.problems += await check_leases_hold(engine, args.batch)
    cycle = Cycle()
    for repetition in range(WARMUP + args.repetitions):
        if len(plan.due_hosts) < args.batch:
            await restore(engine, plan, datetime.now(UTC))
            result.problems += await check_leases_hold(engine, args.batch)
            result.restores += 1
            cycle = Cycle()
        done = await claim_round(engine, plan, args.batch, result, cycle)
        if repetition >= WARMUP:
            done.record(result)


def bench_database(
    kind: str, args: argparse.Namespace, log: Callable[[str], None]
) -> DatabaseResult:
    from storage.engine import create_engine

    result = DatabaseResult(kind)

    async def run(url: str) -> None:
        engine = create_engine(url)
        try:
            await bench_engine(engine, args, result, log)
        finally:
            await engine.dispose()

    with fresh_database(kind, args.postgres_url, 0) as url:
        asyncio.run(run(url))
    log(
        f"{kind}: claim + due targets p50 {percentile(result.round_ms, 0.5):.2f} ms, p99 "
        f"{percentile(result.round_ms, 0.99):.2f} ms; {result.restores} restores"
    )
    return result


# --- the report ------------------------------------------------------------------------------


def measures(result: DatabaseResult) -> dict[str, Measure]:
    return {
        "filling the database (s, not a target)": Measure([result.fill_s], 1),
        "`schedule.frontier()` (ms)": Measure(result.frontier_ms, 2),
        "hosts per claim": Measure([float(n) for n in result.hosts_claimed], 0),
        "due targets per claim": Measure([float(n) for n in result.targets_due], 0),
    }


def latency_rows(results: list[DatabaseResult]) -> list[str]:
    kinds = [r.kind for r in results]
    lines = ["| measure (ms) | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
    series: list[tuple[str, Callable[[DatabaseResult], list[float]]]] = [
        ("claim + due targets", lambda r: r.round_ms),
        ("`claim` alone (its transaction)", lambda r: r.claim_ms),
        ("... of which its commit", lambda r: r.claim_commit_ms),
        ("`due_targets` alone", lambda r: r.due_ms),
        ("`reschedule` (its transaction)", lambda r: r.reschedule_ms),
        ("`release` (its transaction)", lambda r: r.release_ms),
    ]
    for name, values in series:
        for label, share in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)):
            cells = [f"{percentile(values(r), share):.2f}" if values(r) else "-" for r in results]
            lines.append(f"| {name}: {label} | " + " | ".join(cells) + " |")
    return lines


def targets(result: DatabaseResult) -> list[Target]:
    p99 = percentile(result.round_ms, 0.99) if result.round_ms else None
    return [
        Target(
            f"claim of a batch + its due targets: p99 < {TARGET_P99_MS:g} ms",
            p99,
            lambda v: v < TARGET_P99_MS,
        )
    ]


def report(results: list[DatabaseResult], args: argparse.Namespace) -> str:
    """The claim section of docs/benchmarks.md."""
    problems = [(r.kind, problem) for r in results for problem in r.problems]
    problems += [("all", problem) for problem in code_changed(args.code_digest)]
    kinds = [r.kind for r in results]
    hosts = -(-args.targets // args.per_host)
    restores = ", ".join(f"{r.kind} {r.restores}" for r in results)
    return "\n".join(
        [
            *section_header("Claim benchmark", "claim_benchmark.py", args),
            "### Method",
            "",
            f"- Schedule: a fresh database per kind (SQLite: a new temporary file; Postgres: "
            "a new database, dropped afterwards) with the schema of `storage.migrate.upgrade`, "
            f"holding {args.targets:,} metadata URLs on {hosts:,} hosts ({args.per_host} each), "
            "written directly (not timed) as `seeds import` and `schedule.add` write them: a "
            "`seeds` row, a `schedule` row and, per host, a `hosts` row whose `next_due` is "
            "its earliest target's. Exactly half the targets, chosen at random, are due, "
            f"spread over the hour before; the others are due in {FUTURE_S[0] / 3600:g} to "
            f"{FUTURE_S[1] / 3600:g} hours, so that most hosts have something due. On "
            "Postgres the tables are then analyzed, as autovacuum would do after such growth.",
            f"- Repetitions, in process on an engine of `storage.engine.create_engine`, as a "
            f"worker's round: `schedule.claim` of up to {args.batch} hosts (the daemon's "
            "batch, `servers_in_progress`) with a 120 s lease, in a transaction of its own, "
            "then `schedule.due_targets` of the claimed hosts on a connection of its own, each "
            "timed; then, timed apart, `schedule.reschedule` of those targets days ahead and "
            "`schedule.release` of the hosts, each in a transaction of its own, so that the "
            f"next claim finds other hosts due. {args.repetitions} timed repetitions after "
            f"{WARMUP} untimed ones. When fewer hosts than a batch are left due, the moved "
            "targets are put back where they were and each host's `next_due` recomputed (not "
            f"timed; {restores} times), so the claims run over a due set between "
            "about all the hosts and a batch.",
            f"- `schedule.frontier()`, the query behind the daemon's frontier metrics, timed "
            f"{args.frontier_runs} times on the schedule as first written.",
            "- Correctness: each claim gave a full batch of distinct hosts with something due, "
            "the earliest due, none claimed before since the last restore; `due_targets` "
            "gave exactly the due targets of the claimed hosts; while one owner holds a batch "
            "a second claim gets none of its hosts (checked at the start and after each "
            "restore); `frontier()` counts every target, the due ones and no lease. All "
            "against the benchmark's own account of the schedule.",
            "",
            *outcome(
                [
                    *results_table(kinds, [measures(r) for r in results]),
                    "",
                    *latency_rows(results),
                ],
                targets_table(kinds, [targets(r) for r in results]),
                problems,
            ),
            *reading_notes(results, args),
        ]
    )


def reading_notes(results: list[DatabaseResult], args: argparse.Namespace) -> list[str]:
    """What the figures come from, with the shares computed from the runs."""
    lines = [
        "### Reading the figures",
        "",
        "- A claim is one range scan of `hosts` in `next_due` order (`ix_hosts_next_due`), "
        "stopping at the batch, and one UPDATE of the claimed rows; `due_targets` looks up "
        "each claimed host's targets (`ix_schedule_host_next_poll_at`) and joins their seeds. "
        "Neither reads the rest of the frontier, so their cost follows the batch, not the "
        f"{args.targets:,} targets.",
        "- `frontier()` counts the whole `schedule` table (every target, the due ones, the "
        "earliest `next_poll_at`) and the live leases: its time grows with the targets; each "
        "worker runs it every 15 s for its metrics.",
    ]
    for r in results:
        if not r.claim_ms:
            continue
        commit = statistics.fmean(r.claim_commit_ms) / statistics.fmean(r.claim_ms)
        lines.append(
            f"- {r.kind}: the commit is {100 * commit:.0f}% of the claim's time on average."
            + (
                " A SQLite commit that takes the write-ahead log past its auto-checkpoint "
                "threshold (1,000 pages) also copies the log into the database file and syncs "
                "it; the claims whose commit does that are the slow ones."
                if r.kind == "sqlite"
                else ""
            )
        )
    return [*lines, ""]


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    from crawler.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--targets", type=int, default=100_000, help="targets on the schedule")
    parser.add_argument("--per-host", type=int, default=4, help="targets per host")
    parser.add_argument("--repetitions", type=int, default=200, help="claims timed")
    parser.add_argument(
        "--batch",
        type=int,
        default=Settings.model_construct().servers_in_progress,
        help="hosts per claim (default: the daemon's)",
    )
    parser.add_argument("--frontier-runs", type=int, default=20, help="frontier() calls timed")
    add_common_arguments(parser)
    args = parse_common(parser, argv)
    counts = (args.targets, args.per_host, args.repetitions, args.batch, args.frontier_runs)
    if min(counts) < 1:
        parser.error("every count must be at least 1")
    if args.targets // args.per_host < 2 * args.batch:
        parser.error("--targets / --per-host must give at least two batches of hosts")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def work(log: Callable[[str], None]) -> tuple[str, bool]:
        results = [bench_database(kind, args, log) for kind in args.databases]
        problems = any(r.problems for r in results) or code_changed(args.code_digest)
        return report(results, args), bool(problems)

    return run_benchmark(args, "claim", work)


if __name__ == "__main__":
    sys.exit(main())

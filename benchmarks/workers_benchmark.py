"""Workers benchmark: one and two `cds-crawler run` daemons sharing a Postgres database, each
time polling every target of a loopback federation once; the throughput two reach against one.

    .venv/bin/python benchmarks/workers_benchmark.py [--servers 1000] [--runs 5]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test]
        [--setting per_host_rate=1000 ...] [--write docs/benchmarks.md]

Every server has its own loopback address (127.0.X.Y, all on one port) and serves a
conforming metadata document without a coverage listing, and a robots.txt that allows
everything, from a `crawler.testing.LoopbackServer` in a process of its own. Each measurement
imports every URL as a seed into a fresh database, starts the daemons as subprocesses with an
hour's poll interval, so that each target is polled once, and watches the `schedule` table
until every target has been polled. The daemons' CPU time and peak RSS come from `os.wait4`.
All traffic stays on 127.0.0.0/8.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import (
    WELL_KNOWN,
    BenchmarkError,
    Context,
    Measure,
    Routes,
    ServerProcess,
    Site,
    Target,
    add_common_arguments,
    add_setting_arguments,
    add_site_arguments,
    code_changed,
    crawler_env,
    crawler_name,
    fresh_database,
    import_seeds,
    layout_note,
    metadata_document,
    outcome,
    parse_common,
    reap,
    results_table,
    run_benchmark,
    running_servers,
    section_header,
    targets_table,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from psycopg import Connection

WORKER_COUNTS = (1, 2)
# The next poll of every target is an hour away at least, so each is polled once.
POLLED_ONCE = {"poll_min_interval": "3600", "poll_max_interval": "7200", "http_port": "0"}
WATCH_EVERY_S = 0.15
ALL_POLLED_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 90.0  # the daemon's stop_grace (30 s) and then some
POLLED_SQL = "SELECT count(*) FROM schedule WHERE last_polled_at IS NOT NULL"

TARGET_RATIO = 1.4  # two workers' throughput / one worker's


# --- the served documents --------------------------------------------------------------------


def metadata_routes(site: Site, port: int) -> Routes:
    """What one site serves: its metadata document, with a strong ETag (runs in the server
    process, which adds the host's robots.txt)."""
    from crawler.testing import Response

    document = metadata_document(site, port, "workers benchmark")
    return {WELL_KNOWN: ("metadata", Response.json(document, etag=True))}


# --- the daemons -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Worker:
    """A `cds-crawler run` subprocess, its log (JSON lines on stderr) in a file."""

    process: subprocess.Popen[bytes]
    log: Path


@dataclass(frozen=True, slots=True)
class WorkerUsage:
    """How a worker ended, what it used, and what its log says it did."""

    exit_code: int
    cpu_s: float
    peak_rss_mb: float
    polled: int | None  # from its `stopped` line; None without one
    rounds: int


def start_worker(ctx: Context, number: int) -> Worker:
    log = Path(ctx.workdir, f"worker-{number}.log")
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [*ctx.crawler, "run"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=ctx.env,
            cwd=ctx.workdir,
        )
    return Worker(process, log)


def has_exited(process: subprocess.Popen[bytes]) -> bool:
    """Whether the process ended, without reaping it (os.wait4 must get its rusage)."""
    flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
    return os.waitid(os.P_PID, process.pid, flags) is not None


def stop_workers(workers: Sequence[Worker]) -> list[WorkerUsage]:
    """SIGTERM to every worker, then each one reaped (killed if it outlives STOP_TIMEOUT_S:
    exit code -9)."""
    for worker in workers:
        # os.kill, not Popen.send_signal, which would reap an exited worker before os.wait4
        os.kill(worker.process.pid, signal.SIGTERM)
    return [usage_of(worker) for worker in workers]


def usage_of(worker: Worker) -> WorkerUsage:
    try:
        reaped = reap(worker.process, STOP_TIMEOUT_S)
    except BenchmarkError:
        return WorkerUsage(-9, 0.0, 0.0, None, 0)
    lines = worker.log.read_text(encoding="utf-8", errors="replace").splitlines()
    logged: list[dict[str, Any]] = [json.loads(line) for line in lines if line.startswith("{")]
    stopped = [line for line in logged if line.get("event") == "stopped"]
    rounds = sum(1 for line in logged if line.get("event") == "round")
    polled = int(stopped[0]["polled"]) if stopped else None
    return WorkerUsage(reaped.exit_code, reaped.cpu_s, reaped.peak_rss_mb, polled, rounds)


# --- one measurement -------------------------------------------------------------------------


def machine_cpu_s() -> tuple[float, float]:
    """CPU seconds of the whole machine so far (every core), busy and in all, from /proc/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    first_line = Path("/proc/stat").read_text(encoding="utf-8").split("\n", 1)[0]
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, first_line.split()[1:9])
    busy = user + nice + system + irq + softirq + steal
    return busy / ticks, (busy + idle + iowait) / ticks


@dataclass(frozen=True, slots=True)
class WorkersRun:
    """One measurement: `workers` daemons polling every target of a fresh database once."""

    workers: int
    targets: int
    wall_s: float  # from starting the daemons until every target was seen polled
    first_poll_s: float  # ... until the first was
    recorded_s: float  # between the first and the last poll recorded (database timestamps)
    machine_busy: float  # share of the machine's cores busy during `wall_s`
    machine_busy_s: float  # CPU seconds the machine's cores were busy during `wall_s`
    usage: list[WorkerUsage]
    served: Counter[str]
    servers_ok: int
    polled_rows: int  # targets with last_polled_at, after the workers stopped

    @property
    def targets_per_s(self) -> float:
        return self.targets / self.wall_s

    @property
    def recorded_targets_per_s(self) -> float:
        return self.targets / self.recorded_s if self.recorded_s > 0 else 0.0

    @property
    def cpu_s(self) -> float:
        return sum(u.cpu_s for u in self.usage)

    @property
    def least_wall_s(self) -> float:
        """The wall time the machine's busy CPU time allows at best: all of it spread over
        every core."""
        return self.machine_busy_s / (os.cpu_count() or 1)

    @property
    def smallest_share(self) -> float:
        """The share of the targets the least busy worker polled."""
        return min(u.polled or 0 for u in self.usage) / self.targets


def polled_count(conn: Connection[Any]) -> int:
    row = conn.execute(POLLED_SQL).fetchone()
    return int(row[0]) if row else 0


def wait_until_all_polled(
    conn: Connection[Any], targets: int, workers: Sequence[Worker], started: float
) -> tuple[float, float]:
    """Seconds from `started` until the first and until every target was seen polled."""
    first: float | None = None
    while True:
        polled = polled_count(conn)
        elapsed = time.perf_counter() - started
        if polled and first is None:
            first = elapsed
        if polled >= targets:
            return first or elapsed, elapsed
        if any(has_exited(worker.process) for worker in workers):
            raise BenchmarkError(f"a worker exited after {polled} of {targets} targets")
        if elapsed > ALL_POLLED_TIMEOUT_S:
            raise BenchmarkError(
                f"{polled} of {targets} targets polled after {ALL_POLLED_TIMEOUT_S:.0f}s"
            )
        time.sleep(WATCH_EVERY_S)


def recorded_window_s(conn: Connection[Any]) -> float:
    row = conn.execute(
        "SELECT extract(epoch FROM max(last_polled_at) - min(last_polled_at)) FROM schedule"
    ).fetchone()
    return float(row[0]) if row and row[0] is not None else 0.0


def servers_ok(conn: Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM servers WHERE status = 'ok'").fetchone()
    return int(row[0]) if row else 0


def measure_workers(
    server: ServerProcess, args: argparse.Namespace, workers: int, database: int
) -> WorkersRun:
    """`workers` daemons on a fresh database holding every URL as a seed, until every target
    was polled; then SIGTERM."""
    import psycopg

    with (
        fresh_database("postgres", args.postgres_url, database) as url,
        tempfile.TemporaryDirectory(prefix="cds-bench-work-") as workdir,
    ):
        env = crawler_env(url, **{**POLLED_ONCE, **args.settings})
        ctx = Context(server, server.urls(), env, workdir, args.crawler, url)
        import_seeds(ctx)
        server.stats()  # reset the server's counts
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            busy_before, total_before = machine_cpu_s()
            started = time.perf_counter()
            running = [start_worker(ctx, n) for n in range(workers)]
            try:
                first, wall = wait_until_all_polled(conn, len(ctx.urls), running, started)
                busy_after, total_after = machine_cpu_s()
            finally:
                usage = stop_workers(running)
            served = server.stats()
            return WorkersRun(
                workers=workers,
                targets=len(ctx.urls),
                wall_s=wall,
                first_poll_s=first,
                recorded_s=recorded_window_s(conn),
                machine_busy=(busy_after - busy_before) / (total_after - total_before),
                machine_busy_s=busy_after - busy_before,
                usage=usage,
                served=served,
                servers_ok=servers_ok(conn),
                polled_rows=polled_count(conn),
            )


def check_run(run: WorkersRun, hosts: int) -> list[str]:
    """Every worker exited 0 and logged its polls, which add up to the targets (none polled
    twice); the servers answered one metadata request per target and one robots.txt request
    per host, nothing else; every target polled and every server `ok`."""
    label = workers_label(run.workers)
    problems = []
    for number, usage in enumerate(run.usage, 1):
        if usage.exit_code != 0:
            problems.append(f"{label}: worker {number} exited {usage.exit_code}, not 0")
        if usage.polled is None:
            problems.append(f"{label}: worker {number} logged no `stopped` line")
    polled = sum(u.polled or 0 for u in run.usage)
    if polled != run.targets:
        problems.append(f"{label}: the workers polled {polled} targets in all, not {run.targets}")
    for kind, wanted in (("metadata", run.targets), ("robots", hosts), ("other", 0)):
        got = run.served[f"{kind}/requests"]
        if got != wanted:
            problems.append(f"{label}: the servers answered {got} {kind} requests, not {wanted}")
    for what, got in (("targets polled", run.polled_rows), ("servers ok", run.servers_ok)):
        if got != run.targets:
            problems.append(f"{label}: {got} {what} in the database, not {run.targets}")
    return problems


# --- the runs --------------------------------------------------------------------------------


@dataclass(slots=True)
class Result:
    runs: dict[int, list[WorkersRun]] = field(
        default_factory=lambda: {count: [] for count in WORKER_COUNTS}
    )
    ratios: list[float] = field(default_factory=list)  # per run: two workers' targets/s / one's
    # per run: the ratio had two workers' run taken its least wall time (see least_wall_s)
    ratio_bounds: list[float] = field(default_factory=list)
    recorded_ratios: list[float] = field(default_factory=list)  # the same, recorded window
    problems: list[str] = field(default_factory=list)


def workers_label(count: int) -> str:
    return f"{count} worker" + ("s" if count > 1 else "")


def bench(args: argparse.Namespace, server: ServerProcess, log: Callable[[str], None]) -> Result:
    """Each run measures one worker and two, each on a fresh database, in alternating order."""
    result = Result()
    for run in range(args.runs):
        order = WORKER_COUNTS if run % 2 == 0 else WORKER_COUNTS[::-1]
        measured: dict[int, WorkersRun] = {}
        for count in order:
            label = workers_label(count)
            try:
                done = measure_workers(server, args, count, run * len(WORKER_COUNTS) + count)
            except BenchmarkError as exc:
                result.problems.append(f"{label}: {exc}")
                continue
            measured[count] = done
            result.runs[count].append(done)
            result.problems += check_run(done, server.hosts)
            log(
                f"run {run + 1}/{args.runs}, {label}: {done.wall_s:.2f}s, "
                f"{done.targets_per_s:.0f} targets/s, CPU {done.cpu_s:.1f}s, machine "
                f"{100 * done.machine_busy:.0f}% busy"
            )
        if len(measured) == len(WORKER_COUNTS):
            one, two = measured[1], measured[2]
            result.ratios.append(two.targets_per_s / one.targets_per_s)
            result.ratio_bounds.append(one.wall_s / two.least_wall_s)
            if one.recorded_s > 0 and two.recorded_s > 0:
                result.recorded_ratios.append(
                    two.recorded_targets_per_s / one.recorded_targets_per_s
                )
    return result


# --- the report ------------------------------------------------------------------------------


def measures(runs: list[WorkersRun]) -> dict[str, Measure]:
    return {
        "wall until every target polled (s)": Measure([r.wall_s for r in runs], 2),
        "targets/s (wall)": Measure([r.targets_per_s for r in runs], 0),
        "start until the first poll was seen (s)": Measure([r.first_poll_s for r in runs], 2),
        "first to last poll recorded (s)": Measure([r.recorded_s for r in runs], 2),
        "targets/s (first to last poll recorded)": Measure(
            [r.recorded_targets_per_s for r in runs], 0
        ),
        "workers' CPU time, summed (s)": Measure([r.cpu_s for r in runs], 1),
        "workers' CPU / wall": Measure([r.cpu_s / r.wall_s for r in runs], 2),
        "machine CPU busy during the wall (% of all cores)": Measure(
            [100 * r.machine_busy for r in runs], 0
        ),
        "machine CPU busy during the wall (core-s, every process)": Measure(
            [r.machine_busy_s for r in runs], 1
        ),
        "least wall that CPU time allows on all cores (s)": Measure(
            [r.least_wall_s for r in runs], 2
        ),
        "peak RSS of a worker (MB, largest)": Measure(
            [max(u.peak_rss_mb for u in r.usage) for r in runs], 1
        ),
        "rounds (claim, poll, release) per worker": Measure(
            [sum(u.rounds for u in r.usage) / r.workers for r in runs], 1
        ),
        "least busy worker's share of the targets (%)": Measure(
            [100 * r.smallest_share for r in runs], 0
        ),
        "TCP connections the servers accepted": Measure([r.served["connections"] for r in runs], 0),
    }


def ratio_measures(result: Result) -> dict[str, Measure]:
    return {
        "2 workers / 1 worker: targets/s (wall)": Measure(result.ratios, 2),
        "2 workers / 1 worker: targets/s (first to last poll recorded)": Measure(
            result.recorded_ratios, 2
        ),
        "2 workers / 1 worker at best: 1 worker's wall / 2 workers' least wall": Measure(
            result.ratio_bounds, 2
        ),
    }


def targets(result: Result) -> list[Target]:
    return [
        Target(
            f"two workers >= {TARGET_RATIO}x the throughput of one (median of the runs' "
            "ratios, wall)",
            ratio_measures(result)["2 workers / 1 worker: targets/s (wall)"].median,
            lambda v: v >= TARGET_RATIO,
        )
    ]


def limits_note(args: argparse.Namespace) -> str:
    changed = ", ".join(f"`CDS_CRAWLER_{k.upper()}={v}`" for k, v in args.settings.items())
    if changed:
        return f"the default limits except {changed}"
    return (
        "the default limits (2 requests in flight and 4 requests/s per host, 64 in flight per "
        "worker)"
    )


def report(result: Result, args: argparse.Namespace, hosts: int) -> str:
    """The workers section of docs/benchmarks.md."""
    problems = [("postgres", problem) for problem in result.problems]
    problems += [("all", problem) for problem in code_changed(args.code_digest)]
    requested = min(args.hosts or args.servers, args.servers)
    where = layout_note(args.servers, hosts, requested, "CDS servers")
    crawler = crawler_name(args)
    kinds = [workers_label(count) for count in WORKER_COUNTS]
    once = ", ".join(f"`CDS_CRAWLER_{k.upper()}={v}`" for k, v in POLLED_ONCE.items())
    return "\n".join(
        [
            *section_header("Workers benchmark", "workers_benchmark.py", args),
            "### Method",
            "",
            f"- Servers: {where}, served by `crawler.testing.LoopbackServer` in a separate "
            "process on uvloop. Each serves a conforming current-draft metadata document "
            "(CDSC-WG1-01 3.2) without a coverage listing, with a strong ETag, and a robots.txt "
            "that allows everything: a poll is 1 request, plus 1 for robots.txt per host "
            f"({hosts:,} in all; a worker reads each origin's file once and keeps it in the "
            "database).",
            f"- Workers: `{crawler} run` subprocesses on one Postgres database with {once}, "
            f"so that each target is polled once, and {limits_note(args)}, "
            "`CDS_CRAWLER_ALLOW_HTTP=true`, `CDS_CRAWLER_ALLOW_PRIVATE_NETWORKS=true`.",
            f"- Each of {args.runs} runs measures one worker and two workers, each time on a "
            "fresh database (created on the Postgres server, dropped afterwards) into which "
            f"`cds-crawler seeds import` put all {args.servers:,} URLs; which of the two comes "
            "first alternates from run to run. The clock starts when the first worker is "
            "started (interpreter start-up, schema check and the seeds' scheduling are in the "
            "time) and stops when a plain connection, counting every "
            f"{WATCH_EVERY_S:g} s the `schedule` rows with `last_polled_at` set, sees them "
            "all. Then the workers get SIGTERM; their CPU time (user + system) and peak RSS "
            "(`ru_maxrss`) come from `os.wait4`. The database server's and the server "
            "process's work is not in them; the machine's busy share over the wall time "
            "(`/proc/stat`, every process) is.",
            "- Throughput is targets / wall. The ratio of two workers' throughput to one's is "
            "taken within each run, then its median over the runs. The same is shown over the "
            "window between the first and the last poll recorded (the database's "
            "`last_polled_at`), which leaves start-up out.",
            "- Correctness is checked after every measurement: every worker exited 0 and "
            "logged how many targets it polled, and these add up to the targets (none polled "
            "twice, by one worker or by both); the servers answered exactly one metadata "
            "request per target, one robots.txt request per host and nothing else (counted "
            "after the workers stopped, so a duplicate in flight would show); every target "
            "has `last_polled_at` and every server is `ok` in the `servers` table.",
            "",
            *outcome(
                [
                    *results_table(
                        kinds, [measures(result.runs[count]) for count in WORKER_COUNTS]
                    ),
                    "",
                    *results_table(["per run"], [ratio_measures(result)]),
                ],
                targets_table(["postgres"], [targets(result)]),
                problems,
            ),
            *reading_notes(result, args, hosts),
        ]
    )


def cpu_notes(result: Result) -> list[str]:
    """How much of the machine one and two workers' runs took, the best ratio that leaves,
    and what start-up weighs."""
    cores = os.cpu_count() or 1
    shared = (
        f"- CPU bound: the machine has {cores} cores, shared by the workers, the Postgres "
        "server, the process serving the federation and anything else it runs."
    )
    one, two = result.runs[1], result.runs[2]
    if not one or not two or not result.ratio_bounds:
        return [shared]
    best = statistics.median(result.ratio_bounds)
    recorded = ""
    if result.recorded_ratios:
        recorded = (
            " Between the first and the last poll recorded, two workers reached "
            f"{statistics.median(result.recorded_ratios):.2f}x one worker's throughput (median "
            "of the runs); the more targets, the less start-up weighs in the wall-time ratio."
        )
    verdict = (
        f"below the {TARGET_RATIO}x target however the work were scheduled."
        if best < TARGET_RATIO
        else f"so the {TARGET_RATIO}x target is within what the cores allow."
    )
    return [
        f"{shared} Polling every target once kept them busy for "
        f"{statistics.median(r.machine_busy_s for r in one):.1f} CPU seconds with one worker "
        f"and {statistics.median(r.machine_busy_s for r in two):.1f} with two (medians); the "
        f"workers' own CPU time went from {statistics.median(r.cpu_s for r in one):.1f} s to "
        f"{statistics.median(r.cpu_s for r in two):.1f} s, a second interpreter's start-up, "
        "schema check and seed scheduling included. Spread perfectly over the cores, two "
        f"workers' runs could at best have reached {best:.2f}x one worker's throughput "
        f"(median of the runs), {verdict}",
        "- One worker polls on one event loop: its CPU time / wall is "
        f"{statistics.median(r.cpu_s / r.wall_s for r in one):.2f} (one core = 1) while the "
        f"machine is {statistics.median(100 * r.machine_busy for r in one):.0f}% busy; a "
        "second worker puts the rest of the cores to work "
        f"({statistics.median(100 * r.machine_busy for r in two):.0f}% busy), which Postgres "
        "and the server process need as well.",
        "- Start-up: a worker's first poll comes after its interpreter's start-up, schema "
        "check and seed scheduling "
        f"({statistics.median(r.first_poll_s for r in one):.2f} s with one worker, "
        f"{statistics.median(r.first_poll_s for r in two):.2f} s with two, medians), which a "
        f"second worker does not shorten.{recorded}",
    ]


def reading_notes(result: Result, args: argparse.Namespace, hosts: int) -> list[str]:
    """What bounds the figures, computed from the settings and the runs."""
    from crawler.settings import Settings

    defaults = Settings.model_construct()
    concurrency = int(args.settings.get("concurrency", defaults.concurrency))
    rate = float(args.settings.get("per_host_rate", defaults.per_host_rate))
    batch = Settings.model_construct(concurrency=concurrency).servers_in_progress
    per_host = -(-args.servers // hosts)
    politeness = (
        f"each host serves {per_host} URL{'s' if per_host > 1 else ''}, so a host sees at "
        f"most {per_host + 1} "
        f"requests (robots.txt included), within the first burst of its rate limit "
        f"({max(1.0, rate):.0f} requests at {rate:g}/s): the per-host limits do not bind here."
        if per_host + 1 <= max(1.0, rate)
        else f"each host serves {per_host} URLs, so its rate limit ({rate:g}/s) paces them."
    )
    return [
        "### Reading the figures",
        "",
        *cpu_notes(result),
        f"- Politeness: {politeness}",
        "- First contact: every poll here is the first of its origin, so before the metadata "
        "request a worker looks for a stored copy of the origin's robots.txt in the database, "
        "asks the server for it, and stores it: a read and a write transaction and a request "
        "more per target than a later poll costs.",
        f"- Rounds: a worker keeps up to {batch} targets in flight (4 x "
        f"`CDS_CRAWLER_CONCURRENCY` = {concurrency}) with up to {concurrency} requests at "
        "once, in overlapping rounds: each leases hosts, polls their due targets, records "
        f"them and gives the hosts back, and a new round claims as soon as three quarters of "
        "the room are free. Two workers share the hosts, each claiming what the other does not "
        "hold.",
        "",
    ]


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_site_arguments(parser, "CDS servers")
    add_setting_arguments(parser, "workers")
    add_common_arguments(parser)
    parser.set_defaults(databases="postgres")
    args = parse_common(parser, argv)
    if args.databases != ["postgres"]:
        parser.error("--databases: the workers share a Postgres database; postgres only")
    if args.servers < 1 or args.runs < 1:
        parser.error("--servers and --runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def work(log: Callable[[str], None]) -> tuple[str, bool]:
        with running_servers(args.servers, args.hosts or args.servers, metadata_routes) as server:
            log(f"serving {args.servers} servers on {server.hosts} loopback addresses")
            result = bench(args, server, log)
        problems = result.problems or code_changed(args.code_digest)
        return report(result, args, server.hosts), bool(problems)

    return run_benchmark(args, args.section, work)


if __name__ == "__main__":
    sys.exit(main())

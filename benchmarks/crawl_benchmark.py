"""Crawl benchmark: many loopback CDS servers, a first crawl and an unchanged re-crawl.

    .venv/bin/python benchmarks/crawl_benchmark.py [--servers 1000] [--runs 5]
        [--databases sqlite,postgres] [--postgres-url postgresql://postgres@127.0.0.1:5432/test]
        [--write docs/benchmarks.md]

Every metadata document is served at `/.well-known/carbon-data-spec.json` of its own loopback
address (127.0.X.Y, all on one port) by a server running in a process of its own, so the
crawler's per-host politeness limits apply as they would on the Internet. The crawler runs as
`cds-crawler` subprocesses with its default limits; their wall time (start-up included) and
peak RSS (from `os.wait4`) are measured. All traffic stays on 127.0.0.0/8.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import multiprocessing
import os
import platform
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from multiprocessing.connection import Connection

WELL_KNOWN = "/.well-known/carbon-data-spec.json"
CRAWL_TIMEOUT_S = 600.0
COMMAND_TIMEOUT_S = 120.0
SERVER_TIMEOUT_S = 60.0
MIB = 1024 * 1024
MAX_HOSTS = 60_000

TARGET_SERVERS_PER_S = 300.0
TARGET_SPEEDUP = 2.0
TARGET_RSS_MB = 200.0
TARGET_READ_S = 0.5


class BenchmarkError(Exception):
    """The benchmark cannot go on; the message says why."""


# --- the served documents --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Site:
    """One metadata document: where it is served."""

    index: int
    host: str
    path: str

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}{self.path}"


def loopback_addresses(count: int) -> list[str]:
    """`count` distinct addresses 127.0.X.Y, skipping 127.0.0.1 and Y = 0 or 255."""
    if not 1 <= count <= MAX_HOSTS:
        raise BenchmarkError(f"between 1 and {MAX_HOSTS} hosts, not {count}")
    addresses: list[str] = []
    number = 2
    while len(addresses) < count:
        high, low = divmod(number, 256)
        if 0 < low < 255:
            addresses.append(f"127.0.{high}.{low}")
        number += 1
    return addresses


def layout(servers: int, hosts: int) -> list[Site]:
    """`servers` sites over `hosts` addresses: one per host at the well-known path when there
    are enough hosts, else several per host under `/sN/.well-known/...`."""
    addresses = loopback_addresses(min(servers, hosts))
    sites = []
    for index in range(servers):
        slot, which = divmod(index, len(addresses))
        path = WELL_KNOWN if slot == 0 else f"/s{slot}{WELL_KNOWN}"
        sites.append(Site(index, addresses[which], path))
    return sites


def metadata_document(site: Site, port: int) -> dict[str, Any]:
    """A valid metadata object of the current draft (CDSC-WG1-01 3.2)."""
    home = f"https://utility-{site.index:04d}.example"
    return {
        "cds_metadata_version": "v1",
        "cds_metadata_url": site.url(port),
        "created": "2024-01-15T08:00:00Z",
        "updated": f"2025-03-{1 + site.index % 28:02d}T12:30:00+01:00",
        "name": f"Benchmark Utility {site.index:04d}",
        "description": f"Fictional utility number {site.index} served for the crawl benchmark.",
        "website": f"{home}/data-access",
        "documentation": f"{home}/data-access/docs",
        "support": f"{home}/developers/contact",
        "capabilities": [],
    }


# --- the server process ----------------------------------------------------------------------


def serve(sites: list[Site], conn: Connection) -> None:
    """Serve `sites` until told to stop; the entry point of the server process."""
    asyncio.run(_serve(sites, conn))


async def _serve(sites: list[Site], conn: Connection) -> None:
    from crawler.testing import NOT_FOUND, LoopbackServer, Request, Response

    server = LoopbackServer(list(dict.fromkeys(s.host for s in sites)))
    try:
        await server.start()
    except OSError as exc:
        conn.send(("error", str(exc)))
        return
    responses = {
        (s.host, s.path): Response.json(metadata_document(s, server.port), etag=True) for s in sites
    }
    counts: Counter[str] = Counter()

    async def by_local_host(request: Request, writer: asyncio.StreamWriter) -> Response:
        counts["requests"] += 1
        counts["conditional"] += "if-none-match" in request.headers
        return responses.get((request.local_host, request.path), NOT_FOUND)

    for path in {s.path for s in sites}:
        server.route(path, by_local_host)
    conn.send(("ready", server.port))
    try:
        await _answer_until_stopped(conn, counts)
    finally:
        await server.close()


async def _answer_until_stopped(conn: Connection, counts: Counter[str]) -> None:
    """Answer "stats" (the counts since the last "stats") until "stop" or the pipe closes."""
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()

    def on_message() -> None:
        try:
            message = conn.recv()
        except EOFError:
            message = "stop"
        if message == "stats":
            conn.send(dict(counts))
            counts.clear()
        else:
            stopped.set()

    loop.add_reader(conn.fileno(), on_message)
    try:
        await stopped.wait()
    finally:
        loop.remove_reader(conn.fileno())


class ServerProcess:
    """The loopback servers, in a process of their own (a core of their own)."""

    def __init__(self, sites: list[Site]) -> None:
        self.sites = sites
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=serve, args=(sites, child), daemon=True)
        self._process.start()
        child.close()
        self.port = self._await_ready()

    def _await_ready(self) -> int:
        try:
            kind, value = self._receive()
        except BaseException:
            self.stop()
            raise
        if kind != "ready":
            self.stop()
            raise OSError(f"cannot bind the loopback addresses: {value}")
        return int(value)

    def _receive(self) -> Any:
        if not self._conn.poll(SERVER_TIMEOUT_S):
            raise BenchmarkError(f"the server process did not answer in {SERVER_TIMEOUT_S}s")
        return self._conn.recv()

    def urls(self) -> list[str]:
        return [s.url(self.port) for s in self.sites]

    def stats(self) -> Counter[str]:
        """Requests served (and how many were conditional) since the last call."""
        self._conn.send("stats")
        return Counter(self._receive())

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self._process.join(5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._conn.close()


@contextlib.contextmanager
def running_servers(servers: int, hosts: int) -> Iterator[ServerProcess]:
    """The server process on `hosts` addresses; fewer (several paths each) if they cannot all
    be bound."""
    while True:
        try:
            process = ServerProcess(layout(servers, hosts))
            break
        except OSError as exc:
            if hosts == 1:
                raise BenchmarkError(str(exc)) from exc
            print(f"note: {exc}; retrying with {max(1, hosts // 10)} hosts", file=sys.stderr)
            hosts = max(1, hosts // 10)
    try:
        yield process
    finally:
        process.stop()


# --- measuring a command ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Measured:
    wall_s: float
    peak_rss_mb: float
    stdout: str


def measure(argv: Sequence[str], env: dict[str, str], cwd: str, timeout: float) -> Measured:
    """Run `argv`; its wall time (start-up included), peak RSS and output. Raises
    BenchmarkError when it fails or outlives `timeout`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=cwd
        )
        try:
            status, usage, ended = _wait4(process, timeout)
        except TimeoutError:
            raise BenchmarkError(f"{shlex.join(argv)} timed out after {timeout}s") from None
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode(errors="replace")
    if status != 0:
        lines = (line.strip().lstrip("| ").strip() for line in stderr.splitlines())
        last = [line for line in lines if line.strip("+-")][-1:]  # not exception-group rules
        command = shlex.join([Path(argv[0]).name, *argv[1:]])
        raise BenchmarkError(f"`{command}` exited {status}: {' '.join(last)}")
    return Measured(ended - started, usage.ru_maxrss / 1024, stdout)


def _wait4(process: subprocess.Popen[bytes], timeout: float) -> tuple[int, Any, float]:
    """Reap `process` with os.wait4 (its own rusage): exit code, rusage, end time. Kills it and
    raises TimeoutError when it outlives `timeout`."""
    reaped: list[tuple[int, Any, float]] = []

    def wait() -> None:
        _, status, usage = os.wait4(process.pid, 0)
        reaped.append((os.waitstatus_to_exitcode(status), usage, time.perf_counter()))

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    waiter.join(timeout)
    if not reaped:
        process.kill()
        waiter.join(10)
        process.returncode = -9
        raise TimeoutError
    process.returncode = reaped[0][0]
    return reaped[0]


def default_crawler() -> list[str]:
    """`cds-crawler` next to this Python, else `python -m crawler`."""
    script = Path(sys.executable).with_name("cds-crawler")
    return [str(script)] if script.exists() else [sys.executable, "-m", "crawler"]


def crawler_env(database_url: str) -> dict[str, str]:
    """The environment without any CDS_CRAWLER_* setting but these: the defaults apply."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_CRAWLER_")}
    env.update(
        CDS_CRAWLER_DATABASE_URL=database_url,
        CDS_CRAWLER_ALLOW_HTTP="true",
        CDS_CRAWLER_ALLOW_PRIVATE_NETWORKS="true",
    )
    return env


# --- databases -------------------------------------------------------------------------------


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise BenchmarkError(f"the benchmark talks to loopback only; {url} is not on 127.0.0.0/8")


@contextlib.contextmanager
def fresh_database(kind: str, postgres_url: str, run: int) -> Iterator[str]:
    """The URL of an empty database, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="cds-bench-") as directory:
            yield f"sqlite+aiosqlite:///{directory}/crawler.sqlite3"
        return
    import psycopg

    name = f"cds_bench_{os.getpid()}_{run}"
    with psycopg.connect(postgres_url, autocommit=True, connect_timeout=10) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit(urlsplit(postgres_url)._replace(path=f"/{name}"))
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_version(postgres_url: str) -> str:
    import psycopg

    with psycopg.connect(postgres_url, connect_timeout=10) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"


# --- one database ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CrawlRun:
    wall_s: float
    peak_rss_mb: float
    summary: dict[str, Any]
    served: Counter[str]

    @property
    def duration_s(self) -> float:
        return float(self.summary["duration_s"])

    @property
    def requests(self) -> float:
        return float(self.summary["requests"])

    @property
    def servers_per_s(self) -> float:
        return float(self.summary["servers_seen"]) / self.wall_s

    @property
    def requests_per_s(self) -> float:
        return float(self.summary["requests"]) / self.wall_s


@dataclass(slots=True)
class DatabaseResult:
    kind: str
    first: list[CrawlRun] = field(default_factory=list)
    recrawl: list[CrawlRun] = field(default_factory=list)
    speedups: list[float] = field(default_factory=list)  # per run: first wall / re-crawl wall
    # per run: the same ratio of the crawls' own duration_s (interpreter start-up excluded)
    crawl_speedups: list[float] = field(default_factory=list)
    reads: dict[str, list[float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Context:
    """What every measurement of one database needs."""

    server: ServerProcess
    urls: list[str]
    env: dict[str, str]
    workdir: str
    crawler: list[str]  # the command that runs the crawler


def timed_crawl(ctx: Context) -> CrawlRun:
    ctx.server.stats()  # reset the server's counts
    measured = measure([*ctx.crawler, "crawl", "--json"], ctx.env, ctx.workdir, CRAWL_TIMEOUT_S)
    return CrawlRun(
        measured.wall_s, measured.peak_rss_mb, json.loads(measured.stdout), ctx.server.stats()
    )


def check_crawl(run: CrawlRun, expected: dict[str, int], label: str) -> list[str]:
    """What is wrong with the summary of a crawl of every site."""
    summary = run.summary
    problems = [
        f"{label}: {key} = {summary.get(key)}, expected {value}"
        for key, value in expected.items()
        if summary.get(key) != value
    ]
    seen = int(summary.get("servers_seen", 0))
    if int(summary.get("requests", 0)) < seen:
        problems.append(f"{label}: requests = {summary.get('requests')}, expected >= {seen}")
    if summary.get("requests") != run.served["requests"]:
        problems.append(
            f"{label}: requests = {summary.get('requests')} but the servers answered "
            f"{run.served['requests']}"
        )
    return problems


def first_crawl_expectations(servers: int) -> dict[str, int]:
    return {"servers_seen": servers, "servers_new": servers, "servers_failed": 0}


def recrawl_expectations(servers: int) -> dict[str, int]:
    return {
        "servers_seen": servers,
        "servers_unchanged": servers,
        "servers_new": 0,
        "servers_changed": 0,
        "servers_failed": 0,
    }


def import_seeds(ctx: Context) -> None:
    seed_file = Path(ctx.workdir, "seeds.txt")
    seed_file.write_text("\n".join(ctx.urls) + "\n", encoding="utf-8")
    measure([*ctx.crawler, "seeds", "import", str(seed_file)], ctx.env, ctx.workdir, 300)


def crawl_once(ctx: Context, result: DatabaseResult) -> list[CrawlRun]:
    """A first crawl on the empty database, then an unchanged re-crawl; the crawls that
    completed. A crawl that fails is recorded as a problem, and the run ends there."""
    servers = len(ctx.urls)
    import_seeds(ctx)
    try:
        first = timed_crawl(ctx)
    except BenchmarkError as exc:
        result.problems.append(f"first crawl failed: {exc}")
        return []
    result.first.append(first)
    result.problems += check_crawl(first, first_crawl_expectations(servers), "first crawl")
    try:
        recrawl = timed_crawl(ctx)
    except BenchmarkError as exc:
        result.problems.append(f"re-crawl failed: {exc}")
        return [first]
    result.recrawl.append(recrawl)
    result.speedups.append(first.wall_s / recrawl.wall_s)
    result.crawl_speedups.append(first.duration_s / recrawl.duration_s)
    result.problems += check_crawl(recrawl, recrawl_expectations(servers), "re-crawl")
    if recrawl.served["conditional"] != servers:
        result.problems.append(
            f"re-crawl: {recrawl.served['conditional']} conditional requests, expected {servers}"
        )
    return [first, recrawl]


READ_COMMANDS = ("servers --json", "show URL --json", "python -c pass")


def time_reads(ctx: Context, repeats: int, result: DatabaseResult) -> None:
    """Wall times of the reading commands on the populated database, and of `python -c pass`."""
    argvs = [
        [*ctx.crawler, "servers", "--json"],
        [*ctx.crawler, "show", ctx.urls[0], "--json"],
        [sys.executable, "-c", "pass"],
    ]
    for name, argv in zip(READ_COMMANDS, argvs, strict=True):
        try:
            runs = [measure(argv, ctx.env, ctx.workdir, COMMAND_TIMEOUT_S) for _ in range(repeats)]
        except BenchmarkError as exc:
            result.problems.append(f"{name} failed: {exc}")
            continue
        result.reads[name] = [r.wall_s for r in runs]
        result.problems += check_read(name, runs[-1].stdout, ctx.urls)


def check_read(name: str, stdout: str, urls: list[str]) -> list[str]:
    if name == "servers --json":
        rows = json.loads(stdout)
        not_ok = [r["url"] for r in rows if r.get("status") != "ok"]
        problems = [f"servers --json: {len(not_ok)} servers not ok, e.g. {not_ok[:3]}"] * bool(
            not_ok
        )
        if len(rows) != len(urls):
            problems.append(f"servers --json: {len(rows)} servers, expected {len(urls)}")
        return problems
    if name == "show URL --json":
        detail = json.loads(stdout)
        errors = [f for f in detail.get("findings", []) if f.get("severity") == "error"]
        return [f"show URL --json: error findings {errors[:3]}"] if errors else []
    return []


def bench_database(
    kind: str, args: argparse.Namespace, server: ServerProcess, log: Callable[[str], None]
) -> DatabaseResult:
    result = DatabaseResult(kind)
    for run in range(args.runs):
        with (
            fresh_database(kind, args.postgres_url, run) as url,
            tempfile.TemporaryDirectory(prefix="cds-bench-work-") as workdir,
        ):
            ctx = Context(server, server.urls(), crawler_env(url), workdir, args.crawler)
            walls = [f"{c.wall_s:.2f}s" for c in crawl_once(ctx, result)]
            log(f"{kind} run {run + 1}/{args.runs}: crawl walls {', '.join(walls) or 'none'}")
            if run == args.runs - 1:
                time_reads(ctx, args.reads, result)
    return result


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Measure:
    """The values of one measure over the runs, and the digits to print them with."""

    values: list[float]
    digits: int

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    def cell(self) -> str:
        if not self.values:
            return "no data"
        low, mid, high = min(self.values), statistics.median(self.values), max(self.values)
        return f"{mid:.{self.digits}f} ({low:.{self.digits}f}-{high:.{self.digits}f})"


def measures(result: DatabaseResult) -> dict[str, Measure]:
    first, again = result.first, result.recrawl
    rows = {
        "first crawl: wall (s)": Measure([r.wall_s for r in first], 2),
        "first crawl: in-process duration_s": Measure([r.duration_s for r in first], 2),
        "first crawl: servers/s (wall)": Measure([r.servers_per_s for r in first], 0),
        "first crawl: requests/s (wall)": Measure([r.requests_per_s for r in first], 0),
        "first crawl: requests": Measure([r.requests for r in first], 0),
        "first crawl: peak RSS (MB)": Measure([r.peak_rss_mb for r in first], 1),
        "re-crawl: wall (s)": Measure([r.wall_s for r in again], 2),
        "re-crawl: in-process duration_s": Measure([r.duration_s for r in again], 2),
        "re-crawl: servers/s (wall)": Measure([r.servers_per_s for r in again], 0),
        "re-crawl: requests/s (wall)": Measure([r.requests_per_s for r in again], 0),
        "re-crawl: peak RSS (MB)": Measure([r.peak_rss_mb for r in again], 1),
        "re-crawl speed-up (first wall / re-crawl wall)": Measure(result.speedups, 2),
        "re-crawl speed-up, crawl only (first / re-crawl duration_s)": Measure(
            result.crawl_speedups, 2
        ),
    }
    for name in READ_COMMANDS:
        rows[f"`{name}`: wall (s)"] = Measure(result.reads.get(name, []), 3)
    return rows


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    value: float | None
    met: Callable[[float], bool]

    def cell(self) -> str:
        if self.value is None:
            return "FAIL (no data)"
        return f"{'PASS' if self.met(self.value) else 'FAIL'} ({self.value:.3g})"


def targets(result: DatabaseResult) -> list[Target]:
    rows = measures(result)
    rss = [r.peak_rss_mb for r in [*result.first, *result.recrawl]]
    return [
        Target(
            f"first crawl >= {TARGET_SERVERS_PER_S:.0f} servers/s (median, wall)",
            rows["first crawl: servers/s (wall)"].median,
            lambda v: v >= TARGET_SERVERS_PER_S,
        ),
        Target(
            f"unchanged re-crawl >= {TARGET_SPEEDUP:.0f}x faster (median of per-run ratios)",
            rows["re-crawl speed-up (first wall / re-crawl wall)"].median,
            lambda v: v >= TARGET_SPEEDUP,
        ),
        Target(
            f"unchanged re-crawl >= {TARGET_SPEEDUP:.0f}x faster, crawl only (median ratio)",
            rows["re-crawl speed-up, crawl only (first / re-crawl duration_s)"].median,
            lambda v: v >= TARGET_SPEEDUP,
        ),
        Target(
            f"peak RSS < {TARGET_RSS_MB:.0f} MB (max over all crawls)",
            max(rss) if rss else None,
            lambda v: v < TARGET_RSS_MB,
        ),
        *(
            Target(
                f"`{name}` < {TARGET_READ_S} s (median wall)",
                rows[f"`{name}`: wall (s)"].median,
                lambda v: v < TARGET_READ_S,
            )
            for name in ("servers --json", "show URL --json")
        ),
    ]


def results_table(results: list[DatabaseResult]) -> list[str]:
    header = "| measure | " + " | ".join(f"{r.kind}: median (min-max)" for r in results) + " |"
    lines = [header, "|---" * (len(results) + 1) + "|"]
    per_db = [measures(r) for r in results]
    for name in per_db[0]:
        lines.append(f"| {name} | " + " | ".join(rows[name].cell() for rows in per_db) + " |")
    return lines


def targets_table(results: list[DatabaseResult]) -> list[str]:
    lines = ["| target | " + " | ".join(r.kind for r in results) + " |"]
    lines.append("|---" * (len(results) + 1) + "|")
    per_db = [targets(r) for r in results]
    for i, target in enumerate(per_db[0]):
        lines.append(f"| {target.name} | " + " | ".join(t[i].cell() for t in per_db) + " |")
    return lines


def machine(databases: Sequence[str], postgres_url: str) -> list[str]:
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    model = next((ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines()
                  if ln.startswith("model name")), platform.processor() or "?")  # fmt: skip
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8").split()
    ram_gib = int(meminfo[meminfo.index("MemTotal:") + 1]) / MIB
    lines = [
        f"- CPU: {model}, {os.cpu_count()} cores",
        f"- RAM: {ram_gib:.1f} GiB",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- OS: {os_name()}, kernel {platform.release()}",
        f"- SQLite {sqlite3.sqlite_version}",
    ]
    if "postgres" in databases:
        lines.append(f"- {postgres_version(postgres_url)} on the same machine")
    return lines


def os_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return platform.system()


def report(results: list[DatabaseResult], args: argparse.Namespace, hosts: int, load: float) -> str:
    command = shlex.join([".venv/bin/python", "benchmarks/crawl_benchmark.py", *sys.argv[1:]])
    problems = [
        f"- {r.kind}: {problem}" + (f" ({count} times)" if count > 1 else "")
        for r in results
        for problem, count in Counter(r.problems).items()
    ]
    requested = min(args.hosts or args.servers, args.servers)
    why = "chosen with `--hosts`" if hosts == requested else f"binding {requested} failed here"
    crawler = "cds-crawler" if args.crawler == default_crawler() else shlex.join(args.crawler)
    layout_note = (
        f"{args.servers} metadata documents, each at `{WELL_KNOWN}` of its own loopback "
        f"address (127.0.X.Y, {hosts} addresses on one port)"
        if hosts >= args.servers
        else f"{args.servers} metadata documents on {hosts} loopback addresses, up to "
        f"{-(-args.servers // hosts)} paths each ({why})"
    )
    return "\n".join(
        [
            "# Crawl benchmark",
            "",
            "Generated by `benchmarks/crawl_benchmark.py`; re-run it to refresh this page.",
            "",
            f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- Command: `{command}`",
            "",
            "## Machine",
            "",
            *machine([r.kind for r in results], args.postgres_url),
            f"- Load average (1 min) when the benchmark started: {load:.2f} (the machine is "
            "shared: other work competes for its cores)",
            "",
            "## Method",
            "",
            f"- Servers: {layout_note}, served with strong ETags by `crawler.testing."
            "LoopbackServer` in a separate process (its own core). Every document is a valid "
            "current-draft metadata object (CDSC-WG1-01 3.2).",
            f"- Crawler: `{crawler} crawl --json` as a subprocess with the default limits "
            "(2 requests in flight and 4 requests/s per host, 64 in flight in all), "
            "`CDS_CRAWLER_ALLOW_HTTP=true`, `CDS_CRAWLER_ALLOW_PRIVATE_NETWORKS=true`.",
            f"- Each of {args.runs} runs per database: a fresh database (SQLite: a new temporary "
            "file; Postgres: a new database, dropped afterwards), `cds-crawler seeds import`, "
            "the first crawl, then the unchanged re-crawl (every request conditional, "
            "answered 304).",
            "- Wall time is the subprocess's, interpreter start-up included; servers/s and "
            "requests/s divide the summary's `servers_seen` and `requests` by it. "
            "`duration_s` is the crawler's own figure (without start-up and schema check). "
            "Peak RSS is the crawler process's `ru_maxrss` from `os.wait4`.",
            f"- Reading commands run {args.reads} times each on the populated database of the "
            "last run; `python -c pass` is the interpreter start-up baseline.",
            "- Correctness is checked on every run: first crawl `servers_new` = all, re-crawl "
            "`servers_unchanged` = all with nothing new or changed, `requests` equal to what "
            "the servers answered, every server `ok`, no error finding in `show`.",
            "",
            "## Results",
            "",
            *results_table(results),
            "",
            "## Targets",
            "",
            *targets_table(results),
            "",
            "## Correctness",
            "",
            *(problems or ["- Every check passed on every run."]),
            "",
            *READING_NOTES,
        ]
    )


READING_NOTES = [
    "## Reading the figures",
    "",
    "- The crawler is CPU-bound on one core (about 100% CPU for the whole pass); the servers",
    "  and, for Postgres, the database server run on the other core.",
    "- Both passes open one new TCP connection per server (1,000 distinct hosts, nothing to",
    "  keep alive across two processes) and send one request; an unchanged poll only skips",
    "  parsing, validating and hashing a small document and inserting a version. The",
    "  re-crawl's speed-up is therefore bounded by the per-request cost of the HTTP stack",
    "  (httpx/httpcore on uvloop, about 0.8-1 ms of CPU per request here) and, in wall time,",
    "  by the interpreter start-up and imports (about 0.7 s) that both passes pay.",
    "- On Postgres the first crawl's inserts run in the database server's process, so the",
    "  crawler process does almost the same work in both passes; on SQLite they run in the",
    "  crawler's process, which is why its first crawl is slower and its speed-up larger.",
    "- Reading commands use the plain DB-API drivers (sqlite3, psycopg) and never import",
    "  SQLAlchemy unless the schema must be created or upgraded; their floor is the import of",
    "  typer and pydantic-settings.",
    "",
]


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--servers", type=int, default=1000, help="metadata documents served")
    parser.add_argument("--hosts", type=int, help="loopback addresses (default: one per server)")
    parser.add_argument("--runs", type=int, default=5, help="fresh-database runs per database")
    parser.add_argument("--reads", type=int, default=7, help="runs of each reading command")
    parser.add_argument("--databases", default="sqlite,postgres", help="sqlite,postgres")
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="a Postgres server on loopback; a database is created on it for each run",
    )
    parser.add_argument(
        "--crawler",
        type=shlex.split,
        default=default_crawler(),
        help="command that runs the crawler, to compare builds (default: the venv's cds-crawler)",
    )
    parser.add_argument("--write", metavar="FILE", help="also write the Markdown report here")
    args = parser.parse_args(argv)
    args.databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = set(args.databases) - {"sqlite", "postgres"}
    if unknown or not args.databases:
        parser.error(f"--databases: sqlite and/or postgres, not {','.join(sorted(unknown))}")
    if args.servers < 1 or args.runs < 1 or args.reads < 1:
        parser.error("--servers, --runs and --reads must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    load = os.getloadavg()[0]
    try:
        if "postgres" in args.databases:
            require_loopback(args.postgres_url)
        with running_servers(args.servers, args.hosts or args.servers) as server:
            hosts = len({s.host for s in server.sites})
            log(f"serving {args.servers} documents on {hosts} loopback addresses")
            results = [bench_database(kind, args, server, log) for kind in args.databases]
        text = report(results, args, hosts, load)
    except BenchmarkError as exc:
        log(f"benchmark failed: {exc}")
        return 1
    print(text)
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

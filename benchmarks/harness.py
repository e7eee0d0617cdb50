"""What the benchmark scripts share: loopback servers in a process of their own, measured
subprocesses, fresh databases, and the Markdown report of docs/benchmarks.md.

Imported by the scripts next to it (`python benchmarks/NAME.py` puts this directory on the
path). All traffic stays on 127.0.0.0/8.
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
import re
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from multiprocessing.connection import Connection

    from crawler.testing import Response

WELL_KNOWN = "/.well-known/carbon-data-spec.json"
SERVER_TIMEOUT_S = 60.0
MIB = 1024 * 1024
MAX_HOSTS = 60_000
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


class BenchmarkError(Exception):
    """The benchmark cannot go on; the message says why."""


# --- where documents are served ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Site:
    """One CDS server: its metadata document and the resources it links, at `prefix` on
    `host` (an empty prefix when the host serves this site alone)."""

    index: int
    host: str
    prefix: str = ""

    @property
    def path(self) -> str:
        """The path of the metadata document."""
        return self.prefix + WELL_KNOWN

    def url(self, port: int) -> str:
        """The metadata URL."""
        return self.resource_url(port, WELL_KNOWN)

    def resource_url(self, port: int, target: str) -> str:
        """The URL of `target` (a path, with any query) of this site."""
        return f"http://{self.host}:{port}{self.prefix}{target}"


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
    """`servers` sites over `hosts` addresses: one per host when there are enough hosts, else
    several per host under `/sN/...`."""
    addresses = loopback_addresses(min(servers, hosts))
    sites = []
    for index in range(servers):
        slot, which = divmod(index, len(addresses))
        sites.append(Site(index, addresses[which], f"/s{slot}" if slot else ""))
    return sites


def metadata_document(site: Site, port: int, benchmark: str, **members: Any) -> dict[str, Any]:
    """A conforming metadata object of the current draft (CDSC-WG1-01 3.2) for `site`, with
    `members` added or replaced."""
    home = f"https://utility-{site.index:04d}.example"
    return {
        "cds_metadata_version": "v1",
        "cds_metadata_url": site.url(port),
        "created": "2024-01-15T08:00:00Z",
        "updated": f"2025-03-{1 + site.index % 28:02d}T12:30:00+01:00",
        "name": f"Benchmark Utility {site.index:04d}",
        "description": f"Fictional utility number {site.index} served for the {benchmark}.",
        "website": f"{home}/data-access",
        "documentation": f"{home}/data-access/docs",
        "support": f"{home}/developers/contact",
        "capabilities": [],
        **members,
    }


# --- the server process ------------------------------------------------------------------------

# What a site serves: by request target (path and query, without the site's prefix), the kind
# of resource counted in the server's statistics and the static response.
Routes = dict[str, tuple[str, "Response"]]


def serve(sites: list[Site], build: Callable[[Site, int], Routes], conn: Connection) -> None:
    """Serve what `build(site, port)` gives for every site until told to stop; the entry point
    of the server process. `build` is pickled: a module-level function, or an instance of a
    module-level class, which may also have `changed(site, port)` for `serve_changed`.

    It runs on uvloop where that is installed (as the crawler does): where the servers share
    the crawler's cores, the less of them the federation takes, the more the crawler is what
    is measured."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(sites, build, conn))
    else:
        uvloop.run(_serve(sites, build, conn))


async def _serve(sites: list[Site], build: Callable[[Site, int], Routes], conn: Connection) -> None:
    from crawler.testing import NOT_FOUND, LoopbackServer, Request, Response

    server = LoopbackServer(list(dict.fromkeys(s.host for s in sites)))
    try:
        await server.start()
    except OSError as exc:
        conn.send(("error", str(exc)))
        return
    responses: dict[tuple[str, str], tuple[str, Response]] = {
        (site.host, site.prefix + target): route
        for site in sites
        for target, route in build(site, server.port).items()
    }
    robots = Response(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})
    for host in {site.host for site in sites}:  # every host allows everything
        responses[(host, "/robots.txt")] = ("robots", robots)
    counts: Counter[str] = Counter()

    async def by_local_host(request: Request, writer: asyncio.StreamWriter) -> Response:
        kind, response = responses.get((request.local_host, request.target), ("other", NOT_FOUND))
        tag = request.headers.get("if-none-match")
        not_modified = tag is not None and tag == response.etag_value
        for key in ("requests", f"{kind}/requests"):
            counts[key] += 1
        if tag is not None or "if-modified-since" in request.headers:
            counts["conditional"] += 1
            counts[f"{kind}/conditional"] += 1
        if not_modified:
            counts["not_modified"] += 1
            counts[f"{kind}/not_modified"] += 1
        return response

    def route_all() -> None:
        for path in {target.partition("?")[0] for _, target in responses}:
            server.route(path, by_local_host)

    original = dict(responses)

    def change(changed: bool) -> None:
        """Serve what `build.changed(site, port)` gives on top of the original, or the
        original again."""
        responses.clear()
        responses.update(original)
        build_changed = getattr(build, "changed", None)
        for site in sites if changed and build_changed else ():
            for target, route in build_changed(site, server.port).items():
                responses[(site.host, site.prefix + target)] = route
        route_all()

    route_all()
    conn.send(("ready", server.port))
    try:
        await _answer_until_stopped(conn, counts, lambda: server.connections, change)
    finally:
        await server.close()


async def _answer_until_stopped(
    conn: Connection,
    counts: Counter[str],
    connections: Callable[[], int],
    change: Callable[[bool], None],
) -> None:
    """Answer "stats" (the counts since the last "stats", with the connections accepted) and
    ("serve", changed) until "stop" or the pipe closes."""
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    accepted = connections()

    def on_message() -> None:
        try:
            message = conn.recv()
        except EOFError:
            message = "stop"
        if message == "stats":
            nonlocal accepted
            counts["connections"] = connections() - accepted
            accepted = connections()
            conn.send(dict(counts))
            counts.clear()
        elif isinstance(message, tuple) and message[0] == "serve":
            change(bool(message[1]))
            conn.send("serving")
        else:
            stopped.set()

    loop.add_reader(conn.fileno(), on_message)
    try:
        await stopped.wait()
    finally:
        loop.remove_reader(conn.fileno())


class ChildProcess:
    """A helper process of the benchmark (a core of its own), spawned to run `target(*args,
    conn)`: it sends ("ready", value) or ("error", message) first, then answers the parent's
    messages on `conn` until "stop" or the pipe closes."""

    def __init__(self, target: Callable[..., None], args: tuple[Any, ...], what: str) -> None:
        self.what = what
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=target, args=(*args, child), daemon=True)
        self._process.start()
        child.close()
        try:
            kind, value = self._receive()
        except BaseException:
            self.stop()
            raise
        if kind != "ready":
            self.stop()
            raise OSError(f"{what} cannot listen on loopback: {value}")
        self.ready = value

    def _receive(self) -> Any:
        if not self._conn.poll(SERVER_TIMEOUT_S):
            raise BenchmarkError(f"{self.what} did not answer in {SERVER_TIMEOUT_S}s")
        return self._conn.recv()

    def ask(self, message: Any) -> Any:
        self._conn.send(message)
        return self._receive()

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


class ServerProcess(ChildProcess):
    """The loopback servers, in a process of their own."""

    def __init__(self, sites: list[Site], build: Callable[[Site, int], Routes]) -> None:
        self.sites = sites
        super().__init__(serve, (sites, build), "the server process")
        self.port = int(self.ready)

    @property
    def hosts(self) -> int:
        return len({s.host for s in self.sites})

    def urls(self) -> list[str]:
        return [s.url(self.port) for s in self.sites]

    def stats(self) -> Counter[str]:
        """Requests served since the last call: `requests`, `conditional` (with a validator)
        and `not_modified` (answered 304), in all and per kind as `KIND/requests`, ...; and
        the `connections` accepted."""
        return Counter(self.ask("stats"))

    def serve_changed(self, changed: bool) -> None:
        """From now on serve what the builder's `changed(site, port)` gives on top of the
        original content, or (`changed=False`) the original again."""
        if self.ask(("serve", changed)) != "serving":
            raise BenchmarkError("the server process did not change what it serves")


@contextlib.contextmanager
def running_servers(
    servers: int, hosts: int, build: Callable[[Site, int], Routes]
) -> Iterator[ServerProcess]:
    """The server process on `hosts` addresses; fewer (several sites each) if they cannot all
    be bound."""
    while True:
        try:
            process = ServerProcess(layout(servers, hosts), build)
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


def layout_note(servers: int, hosts: int, requested: int, what: str) -> str:
    """How the sites were spread over loopback addresses, for the Method section."""
    if hosts >= servers:
        return (
            f"{servers} {what}, each on its own loopback address (127.0.X.Y, {hosts} addresses "
            "on one port)"
        )
    why = "chosen with `--hosts`" if hosts == requested else f"binding {requested} failed here"
    return (
        f"{servers} {what} on {hosts} loopback addresses, up to {-(-servers // hosts)} per "
        f"address under `/sN/` ({why})"
    )


# --- measuring a command -----------------------------------------------------------------------


SPAWN = Path(__file__).with_name("spawn.py")  # what `measure` starts commands from


@dataclass(frozen=True, slots=True)
class Measured:
    wall_s: float
    peak_rss_mb: float
    stdout: str
    cpu_s: float = 0.0  # user + system time of the process


def measure(argv: Sequence[str], env: dict[str, str], cwd: str, timeout: float) -> Measured:
    """Run `argv`; its wall time (start-up included), CPU time, peak RSS and output. Raises
    BenchmarkError when it fails or outlives `timeout`. It is started from a small process of
    its own (benchmarks/spawn.py), so that its peak RSS is its own and not this process's."""
    report_fd, write_fd = os.pipe()
    spawn = [sys.executable, "-I", "-S", str(SPAWN), str(write_fd), *argv]
    with (
        os.fdopen(report_fd, "rb") as report_file,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        try:
            process = subprocess.Popen(
                spawn,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                cwd=cwd,
                pass_fds=(write_fd,),
            )
        finally:
            os.close(write_fd)
        try:
            status, _, _ = _wait4(process, timeout)
        except TimeoutError:
            raise BenchmarkError(f"{shlex.join(argv)} timed out after {timeout}s") from None
        report = report_file.read()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode(errors="replace")
    if status != 0:
        lines = (line.strip().lstrip("| ").strip() for line in stderr.splitlines())
        last = [line for line in lines if line.strip("+-")][-1:]  # not exception-group rules
        command = shlex.join([Path(argv[0]).name, *argv[1:]])
        raise BenchmarkError(f"`{command}` exited {status}: {' '.join(last)}")
    figures = json.loads(report)
    return Measured(figures["wall_s"], figures["peak_rss_kb"] / 1024, stdout, figures["cpu_s"])


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


@dataclass(frozen=True, slots=True)
class Reaped:
    """How a process the benchmark started itself ended, and what it used."""

    exit_code: int
    cpu_s: float  # user + system time
    peak_rss_mb: float


def reap(process: subprocess.Popen[bytes], timeout: float) -> Reaped:
    """Wait for `process` (with os.wait4, so its own rusage). Kills it and raises
    BenchmarkError when it outlives `timeout`."""
    try:
        status, usage, _ = _wait4(process, timeout)
    except TimeoutError:
        raise BenchmarkError(f"process {process.pid} did not exit within {timeout}s") from None
    return Reaped(status, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def default_crawler() -> list[str]:
    """`cds-crawler` next to this Python, else `python -m crawler`."""
    script = Path(sys.executable).with_name("cds-crawler")
    return [str(script)] if script.exists() else [sys.executable, "-m", "crawler"]


def crawler_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment without any CDS_CRAWLER_* setting but these (`settings` by field name,
    e.g. per_host_rate="1000"): the defaults apply to the rest."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_CRAWLER_")}
    env.update(
        CDS_CRAWLER_DATABASE_URL=database_url,
        CDS_CRAWLER_ALLOW_HTTP="true",
        CDS_CRAWLER_ALLOW_PRIVATE_NETWORKS="true",
    )
    env.update({f"CDS_CRAWLER_{name.upper()}": value for name, value in settings.items()})
    return env


# --- crawls of the served sites ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CrawlRun:
    """One measured `crawl --json`: the subprocess's figures, its summary, and what the
    servers counted meanwhile."""

    wall_s: float
    peak_rss_mb: float
    summary: dict[str, Any]
    served: Counter[str]
    cpu_s: float = 0.0

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
        return self.requests / self.wall_s

    @property
    def requests_per_crawl_s(self) -> float:
        return self.requests / self.duration_s


@dataclass(frozen=True, slots=True)
class Context:
    """What every measurement of one database needs."""

    server: ServerProcess
    urls: list[str]
    env: dict[str, str]
    workdir: str
    crawler: list[str]  # the command that runs the crawler
    database_url: str = ""


def import_seeds(ctx: Context) -> None:
    """`seeds import` of every served metadata URL."""
    seed_file = Path(ctx.workdir, "seeds.txt")
    seed_file.write_text("\n".join(ctx.urls) + "\n", encoding="utf-8")
    measure([*ctx.crawler, "seeds", "import", str(seed_file)], ctx.env, ctx.workdir, 300)


def timed_crawl(ctx: Context, timeout: float) -> CrawlRun:
    """`crawl --json`, measured, with the requests the servers answered meanwhile."""
    ctx.server.stats()  # reset the server's counts
    done = measure([*ctx.crawler, "crawl", "--json"], ctx.env, ctx.workdir, timeout)
    summary = json.loads(done.stdout)
    return CrawlRun(done.wall_s, done.peak_rss_mb, summary, ctx.server.stats(), done.cpu_s)


def check_crawl(run: CrawlRun, expected: dict[str, int], label: str) -> list[str]:
    """What is wrong with the summary of a crawl of every site: the `expected` values, at
    least one request per server, `requests` equal to what the servers answered, no request
    for a path they do not serve."""
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
    if run.served["other/requests"]:
        problems.append(f"{label}: {run.served['other/requests']} requests for unknown paths")
    return problems


# --- databases ---------------------------------------------------------------------------------


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


def parse_databases(text: str) -> list[str]:
    """`sqlite,postgres` as a list; raises ValueError naming anything else."""
    databases = [d.strip() for d in text.split(",") if d.strip()]
    unknown = set(databases) - {"sqlite", "postgres"}
    if unknown or not databases:
        raise ValueError(f"sqlite and/or postgres, not {','.join(sorted(unknown))}")
    return databases


# --- the report --------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    value: float | None
    met: Callable[[float], bool]

    def cell(self) -> str:
        if self.value is None:
            return "FAIL (no data)"
        shown = f"{self.value:,.0f}" if abs(self.value) >= 1000 else f"{self.value:.3g}"
        return f"{'PASS' if self.met(self.value) else 'FAIL'} ({shown})"


def results_table(kinds: Sequence[str], per_db: Sequence[dict[str, Measure]]) -> list[str]:
    """One row per measure, one column per database: median (min-max)."""
    header = "| measure | " + " | ".join(f"{kind}: median (min-max)" for kind in kinds) + " |"
    lines = [header, "|---" * (len(kinds) + 1) + "|"]
    for name in per_db[0]:
        lines.append(f"| {name} | " + " | ".join(rows[name].cell() for rows in per_db) + " |")
    return lines


def targets_table(kinds: Sequence[str], per_db: Sequence[list[Target]]) -> list[str]:
    """One row per target, one column per database: PASS or FAIL, and the value judged."""
    lines = ["| target | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
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


def load_note(load: float) -> str:
    return (
        f"- Load average (1 min) when the benchmark started: {load:.2f} (the machine is "
        "shared: other work competes for its cores)"
    )


def os_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return platform.system()


CODE_PARTS = ("crawler", "storage", "migrations")  # the crawler's code, as the digest covers it


def code_root() -> Path:
    """The checkout the `crawler` package is imported from (the crawler subprocesses import
    it from the same place)."""
    import crawler

    return Path(crawler.__file__).resolve().parent.parent


def code_digest() -> str:
    """A digest of the crawler's code (crawler/, storage/, migrations/): compared before and
    after a run, it tells whether the code changed while it was measured."""
    import hashlib

    root = code_root()
    digest = hashlib.sha256()
    for part in CODE_PARTS:
        for file in sorted((root / part).rglob("*.py")):
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def compile_code() -> None:
    """Byte-compile the crawler's code, as installing a package does: where
    PYTHONDONTWRITEBYTECODE is set, every crawler subprocess would otherwise compile its
    modules again at start-up, which no installed crawler does."""
    import compileall

    root = code_root()
    for part in CODE_PARTS:
        compileall.compile_dir(root / part, quiet=1)


def code_note(digest: str) -> str:
    """Which crawler code ran: its commit, its uncommitted changes (read-only git commands)
    and the digest of its files."""
    root = code_root()

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.rstrip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return f"- Code: `{root}` (not a git checkout), digest {digest}"
    changed = [
        line.split(maxsplit=1)[-1]
        for line in git("status", "--porcelain", "--", *CODE_PARTS).strip().splitlines()
    ]
    dirty = f" with uncommitted changes to {', '.join(changed)}" if changed else ""
    return f"- Code: commit {commit}{dirty} (digest of crawler/, storage/, migrations/: {digest})"


def code_changed(started: str) -> list[str]:
    """A problem when the crawler's code is not the code the run started with."""
    now = code_digest()
    if now == started:
        return []
    return [f"the crawler's code changed during the run (digest {started} -> {now})"]


def command_line(script: str) -> str:
    """The command that ran this benchmark, as the report states it."""
    return shlex.join([".venv/bin/python", f"benchmarks/{script}", *sys.argv[1:]])


def outcome(
    results: Sequence[str], targets: Sequence[str], problems: Sequence[tuple[str, str]]
) -> list[str]:
    """The Results, Targets and Correctness parts of a section, from their tables' lines and
    the problems found (database, problem)."""
    return [
        "### Results",
        "",
        *results,
        "",
        "### Targets",
        "",
        *targets,
        "",
        "### Correctness",
        "",
        *problem_lines(problems),
        "",
    ]


def problem_lines(problems: Sequence[tuple[str, str]]) -> list[str]:
    """`- KIND: PROBLEM (N times)` per distinct (kind, problem), or one line saying all passed."""
    counted = Counter(problems)
    return [
        f"- {kind}: {problem}" + (f" ({count} times)" if count > 1 else "")
        for (kind, problem), count in counted.items()
    ] or ["- Every check passed on every run."]


def section_header(
    title: str, script: str, args: argparse.Namespace, *, with_code: bool = True
) -> list[str]:
    """The lines every section starts with: title, date, code, command and machine."""
    return [
        f"## {title}",
        "",
        f"Generated by `benchmarks/{script}`; re-run it to refresh this section.",
        "",
        f"- Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        *([code_note(args.code_digest)] if with_code else []),
        f"- Command: `{command_line(script)}`",
        "",
        "### Machine",
        "",
        *machine(args.databases, args.postgres_url),
        load_note(args.load),
        "- The crawler's modules were byte-compiled before the run, as installing it compiles "
        "them.",
        "",
    ]


def crawler_name(args: argparse.Namespace) -> str:
    """How the report names the crawler command."""
    return "cds-crawler" if args.crawler == default_crawler() else shlex.join(args.crawler)


def add_site_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """--servers, --hosts and --runs."""
    parser.add_argument("--servers", type=int, default=1000, help=f"{what} served")
    parser.add_argument("--hosts", type=int, help="loopback addresses (default: one per server)")
    parser.add_argument("--runs", type=int, default=5, help="fresh-database runs per database")


def parse_setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r}")
    return name.strip().lower().removeprefix("cds_crawler_"), value.strip()


def add_setting_arguments(parser: argparse.ArgumentParser, section: str) -> None:
    """--setting NAME=VALUE (repeatable; `parse_common` gathers them as `args.settings`) and
    --section, for scripts that run the crawler with other settings into other sections."""
    parser.add_argument(
        "--setting",
        type=parse_setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a crawler setting other than its default, e.g. per_host_rate=1000 (repeatable)",
    )
    parser.add_argument(
        "--section", default=section, help="the section of the --write file to refresh"
    )


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """--databases, --postgres-url, --crawler and --write."""
    parser.add_argument("--databases", default="sqlite,postgres", help="sqlite,postgres")
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="a Postgres server on loopback; a database is created on it for each run",
    )
    parser.add_argument(
        "--crawler",
        type=shlex.split,
        default=default_crawler(),
        help="command that runs the crawler, to compare builds (default: the venv's cds-crawler)",
    )
    parser.add_argument(
        "--write", metavar="FILE", help="also write the report into its section of this file"
    )


def parse_common(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the arguments, with `databases` as a list."""
    args = parser.parse_args(argv)
    try:
        args.databases = parse_databases(args.databases)
    except ValueError as exc:
        parser.error(f"--databases: {exc}")
    if hasattr(args, "setting"):
        args.settings = dict(args.setting)
    return args


def run_benchmark(
    args: argparse.Namespace,
    section: str,
    work: Callable[[Callable[[str], None]], tuple[str, bool]],
) -> int:
    """Run a benchmark: `work(log)` gives its report and whether it found problems. Prints
    the report, writes it into its section of `args.write`; the exit code."""

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    args.load = os.getloadavg()[0]
    compile_code()
    args.code_digest = code_digest()
    try:
        if "postgres" in args.databases:
            require_loopback(args.postgres_url)
        text, failed = work(log)
    except BenchmarkError as exc:
        log(f"benchmark failed: {exc}")
        return 1
    print(text)
    if args.write:
        write_section(args.write, section, text)
    return 1 if failed else 0


PAGE_HEADER = """# Benchmarks

Each section below is written by one script under `benchmarks/`, between its
`<!-- BEGIN name -->` and `<!-- END name -->` markers: running a script with
`--write docs/benchmarks.md` refreshes its own section and leaves the others as they are.

```sh
.venv/bin/python benchmarks/crawl_benchmark.py --write docs/benchmarks.md
.venv/bin/python benchmarks/discovery_benchmark.py --write docs/benchmarks.md
.venv/bin/python benchmarks/discovery_benchmark.py --runs 3 --setting per_host_rate=1000 \\
    --section discovery-unthrottled --write docs/benchmarks.md
.venv/bin/python benchmarks/point_query_benchmark.py --write docs/benchmarks.md
.venv/bin/python benchmarks/webhook_benchmark.py --write docs/benchmarks.md
.venv/bin/python benchmarks/workers_benchmark.py --write docs/benchmarks.md
.venv/bin/python benchmarks/workers_benchmark.py --servers 5000 --section workers-5000 \\
    --write docs/benchmarks.md
.venv/bin/python benchmarks/claim_benchmark.py --write docs/benchmarks.md
.venv/bin/python benchmarks/api_benchmark.py --write docs/benchmarks.md
```

Every section but the crawl section states the code it measured (commit, uncommitted
changes, and a digest of `crawler/`, `storage/` and `migrations/` that is compared before
and after the run); the `discovery-unthrottled` section lifts the per-host rate limit to show
what the crawler's CPU alone allows.
"""


def write_section(path: str | Path, name: str, text: str) -> None:
    """Put `text` between the `name` markers of the Markdown file at `path`: in place of what
    they held, else appended (the file is created with PAGE_HEADER when missing)."""
    file = Path(path)
    block = f"<!-- BEGIN {name} -->\n{text.strip()}\n<!-- END {name} -->\n"
    old = file.read_text(encoding="utf-8") if file.exists() else PAGE_HEADER
    pattern = re.compile(
        rf"^<!-- BEGIN {re.escape(name)} -->\n.*?^<!-- END {re.escape(name)} -->\n?",
        re.DOTALL | re.MULTILINE,
    )
    if pattern.search(old):
        new = pattern.sub(lambda _: block, old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + block
    file.write_text(new, encoding="utf-8")

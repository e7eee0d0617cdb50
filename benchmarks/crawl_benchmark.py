"""Crawl benchmark: many loopback CDS servers, a first crawl and an unchanged re-crawl.

    .venv/bin/python benchmarks/crawl_benchmark.py [--servers 1000] [--runs 5] [--section crawl]
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
import json
import sys
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness import (
    WELL_KNOWN,
    BenchmarkError,
    Context,
    CrawlRun,
    Measure,
    Routes,
    ServerProcess,
    Site,
    Target,
    add_common_arguments,
    add_site_arguments,
    check_crawl,
    crawler_env,
    crawler_name,
    fresh_database,
    import_seeds,
    layout_note,
    measure,
    metadata_document,
    outcome,
    parse_common,
    results_table,
    run_benchmark,
    running_servers,
    section_header,
    targets_table,
    timed_crawl,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

IMPORTS = "import crawler.cli, crawler.pipeline.crawl"
# What the console script does around `crawl`'s imports: collect rarely while importing, then
# freeze the start-up heap (which also spares the exit a full collection of it).
IMPORT_CRAWL = (
    "from crawler import heap; heap.defer_collection(); "
    "import crawler.cli, crawler.pipeline.crawl; heap.settle()"
)

CRAWL_TIMEOUT_S = 600.0
COMMAND_TIMEOUT_S = 120.0

TARGET_SERVERS_PER_S = 300.0
TARGET_SPEEDUP = 2.0
TARGET_RSS_MB = 200.0
TARGET_READ_S = 0.5


# --- the served documents --------------------------------------------------------------------


def metadata_routes(site: Site, port: int) -> Routes:
    """What one site serves: its metadata document, with a strong ETag (runs in the server
    process)."""
    from crawler.testing import Response

    document = metadata_document(site, port, "crawl benchmark")
    return {WELL_KNOWN: ("metadata", Response.json(document, etag=True))}


# --- one database ----------------------------------------------------------------------------


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


def crawl_once(ctx: Context, result: DatabaseResult) -> list[CrawlRun]:
    """A first crawl on the empty database, then an unchanged re-crawl; the crawls that
    completed. A crawl that fails is recorded as a problem, and the run ends there."""
    servers = len(ctx.urls)
    import_seeds(ctx)
    try:
        first = timed_crawl(ctx, CRAWL_TIMEOUT_S)
    except BenchmarkError as exc:
        result.problems.append(f"first crawl failed: {exc}")
        return []
    result.first.append(first)
    result.problems += check_crawl(first, first_crawl_expectations(servers), "first crawl")
    try:
        recrawl = timed_crawl(ctx, CRAWL_TIMEOUT_S)
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


READ_COMMANDS = ("servers --json", "show URL --json", "python -c pass", IMPORTS)


def time_reads(ctx: Context, repeats: int, result: DatabaseResult) -> None:
    """Wall times of the reading commands on the populated database, of `python -c pass`, and
    of importing what `crawl` loads."""
    argvs = [
        [*ctx.crawler, "servers", "--json"],
        [*ctx.crawler, "show", ctx.urls[0], "--json"],
        [sys.executable, "-c", "pass"],
        [sys.executable, "-c", IMPORT_CRAWL],
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


def measures(result: DatabaseResult) -> dict[str, Measure]:
    first, again = result.first, result.recrawl
    rows = {
        "first crawl: wall (s)": Measure([r.wall_s for r in first], 2),
        "first crawl: in-process duration_s": Measure([r.duration_s for r in first], 2),
        "first crawl: servers/s (wall)": Measure([r.servers_per_s for r in first], 0),
        "first crawl: requests/s (wall)": Measure([r.requests_per_s for r in first], 0),
        "first crawl: requests": Measure([r.requests for r in first], 0),
        "first crawl: peak RSS (MB)": Measure([r.peak_rss_mb for r in first], 1),
        "first crawl: outside the pass (wall - duration_s) (s)": Measure(
            [r.wall_s - r.duration_s for r in first], 2
        ),
        "re-crawl: wall (s)": Measure([r.wall_s for r in again], 2),
        "re-crawl: in-process duration_s": Measure([r.duration_s for r in again], 2),
        "re-crawl: servers/s (wall)": Measure([r.servers_per_s for r in again], 0),
        "re-crawl: requests/s (wall)": Measure([r.requests_per_s for r in again], 0),
        "re-crawl: peak RSS (MB)": Measure([r.peak_rss_mb for r in again], 1),
        "re-crawl: outside the pass (wall - duration_s) (s)": Measure(
            [r.wall_s - r.duration_s for r in again], 2
        ),
        "re-crawl speed-up (first wall / re-crawl wall)": Measure(result.speedups, 2),
        "re-crawl speed-up, crawl only (first / re-crawl duration_s)": Measure(
            result.crawl_speedups, 2
        ),
    }
    for name in READ_COMMANDS:
        rows[f"`{name}`: wall (s)"] = Measure(result.reads.get(name, []), 3)
    return rows


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


def report(results: list[DatabaseResult], args: argparse.Namespace, hosts: int) -> str:
    """The crawl section of docs/benchmarks.md."""
    problems = [(r.kind, problem) for r in results for problem in r.problems]
    requested = min(args.hosts or args.servers, args.servers)
    crawler = crawler_name(args)
    where = layout_note(args.servers, hosts, requested, f"metadata documents at `{WELL_KNOWN}`")
    kinds = [r.kind for r in results]
    title = "Crawl benchmark"
    if args.servers != 1000:
        title += f": {args.servers:,} servers"
    return "\n".join(
        [
            *section_header(title, "crawl_benchmark.py", args, with_code=False),
            "### Method",
            "",
            f"- Servers: {where}, served with strong ETags by `crawler.testing."
            "LoopbackServer` in a separate process on uvloop (its own core). Every document "
            "is a valid current-draft metadata object (CDSC-WG1-01 3.2).",
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
            "Peak RSS is the crawler process's `ru_maxrss` from `os.wait4`, taken by a small "
            "process of its own that starts it (`benchmarks/spawn.py`), so that the "
            "benchmark's memory does not count in it.",
            f"- Reading commands run {args.reads} times each on the populated database of the "
            "last run; `python -c pass` is the interpreter start-up baseline, and "
            f'`python -c "{IMPORT_CRAWL}"` (the benchmark\'s interpreter) times the imports '
            "that `crawl` needs.",
            "- Correctness is checked on every run: first crawl `servers_new` = all, re-crawl "
            "`servers_unchanged` = all with nothing new or changed, `requests` equal to what "
            "the servers answered, every server `ok`, no error finding in `show`.",
            "",
            *outcome(
                results_table(kinds, [measures(r) for r in results]),
                targets_table(kinds, [targets(r) for r in results]),
                problems,
            ),
            *reading_notes(results, args.servers),
        ]
    )


def reading_notes(results: list[DatabaseResult], servers: int) -> list[str]:
    """How to read the figures, with this run's own numbers."""
    per_db = {r.kind: measures(r) for r in results}

    def per_server_ms(rows: dict[str, Measure], name: str) -> str:
        return f"{1000 * median_of(rows, name) / servers:.2f}"

    some = next(iter(per_db.values()))
    imports = median_of(some, f"`{IMPORTS}`: wall (s)") - median_of(
        some, "`python -c pass`: wall (s)"
    )
    per_pass = [
        f"  - {kind}: {per_server_ms(rows, 'first crawl: in-process duration_s')} ms in the "
        f"first crawl, {per_server_ms(rows, 're-crawl: in-process duration_s')} ms in the "
        "re-crawl."
        for kind, rows in per_db.items()
    ]
    wall = [f"  - {kind}: {wall_note(rows, servers)}" for kind, rows in per_db.items()]
    return [
        "### Reading the figures",
        "",
        "- The crawler is CPU-bound on one core (about 100% CPU for the whole pass); the servers",
        "  and, for Postgres, the database server run on the other core.",
        "- Both passes open one new TCP connection per server (each on a host of its own, and",
        "  nothing kept alive across two processes). On it the first crawl asks for robots.txt and",
        "  the document; the re-crawl sends one conditional request, answered 304, and skips",
        "  parsing, validating and hashing the document and inserting its version. Both pay the",
        "  connection, an HTTP/1.1 exchange through httpcore and h11, the poll's bookkeeping, its",
        "  fetch-log row and server update. The crawl-only speed-up is the ratio of the passes'",
        "  own time per server (duration_s / servers, medians):",
        *per_pass,
        "- On Postgres the first crawl's inserts run in the database server's process, so the",
        "  crawler process does less in its first crawl than on SQLite, and its speed-up is",
        "  smaller.",
        "- In wall time each pass also pays a fixed cost outside the pass (interpreter start-up,",
        "  imports, settings, schema check, exit), the same for one server as for a thousand.",
        "  Importing what `crawl` loads (SQLAlchemy, httpx, pydantic and typer for the most part)",
        f"  takes {imports:.2f} s of it, over the interpreter's own start-up. For the wall-time",
        "  speed-up to reach 2x, the re-crawl's pass would have to take at most half the first",
        "  crawl's wall time less that fixed cost; the larger the federation, the less the fixed",
        "  cost weighs:",
        *wall,
        "- Reading commands use the plain DB-API drivers (sqlite3, psycopg) and never import",
        "  SQLAlchemy unless the schema must be created or upgraded; their floor is the import of",
        "  typer and pydantic-settings.",
        "",
    ]


def wall_note(rows: dict[str, Measure], servers: int) -> str:
    """The fixed cost outside the re-crawl's pass, and the pass a 2x wall-time speed-up would
    need with the first crawl's wall time and that cost as they are."""
    outside = median_of(rows, "re-crawl: outside the pass (wall - duration_s) (s)")
    needed = median_of(rows, "first crawl: wall (s)") / TARGET_SPEEDUP - outside
    measured = median_of(rows, "re-crawl: in-process duration_s")
    return (
        f"{outside:.2f} s outside the re-crawl's pass; a 2x wall-time speed-up needs a "
        f"re-crawl pass of at most {needed:.2f} s ({1000 * needed / servers:.2f} ms per "
        f"server), against {measured:.2f} s measured."
    )


def median_of(rows: dict[str, Measure], name: str) -> float:
    value = rows[name].median
    return float("nan") if value is None else value


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_site_arguments(parser, "metadata documents")
    parser.add_argument("--reads", type=int, default=7, help="runs of each reading command")
    parser.add_argument(
        "--section", default="crawl", help="the section of the --write file to refresh"
    )
    add_common_arguments(parser)
    args = parse_common(parser, argv)
    if args.servers < 1 or args.runs < 1 or args.reads < 1:
        parser.error("--servers, --runs and --reads must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def work(log: Callable[[str], None]) -> tuple[str, bool]:
        with running_servers(args.servers, args.hosts or args.servers, metadata_routes) as server:
            log(f"serving {args.servers} documents on {server.hosts} loopback addresses")
            results = [bench_database(kind, args, server, log) for kind in args.databases]
        return report(results, args, server.hosts), any(r.problems for r in results)

    return run_benchmark(args, args.section, work)


if __name__ == "__main__":
    sys.exit(main())

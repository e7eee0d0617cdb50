"""Discovery benchmark: loopback CDS servers with paginated coverage listings and a GeoJSON
territory per entry; a first crawl, an unchanged re-crawl, and a re-crawl after 10% of the
servers changed, with what its change events cost.

    .venv/bin/python benchmarks/discovery_benchmark.py [--servers 1000] [--runs 5]
        [--databases sqlite,postgres] [--postgres-url postgresql://postgres@127.0.0.1:5432/test]
        [--setting per_host_rate=1000 ...] [--section discovery] [--write docs/benchmarks.md]

Every server has its own loopback address (127.0.X.Y, all on one port) and serves a
conforming metadata document that lists `coverage`, a coverage listing of 3 pages of 10
geographic entries (newest first by `updated`), and one GeoJSON Polygon per entry, all from a
`crawler.testing.LoopbackServer` in a process of its own. The crawler runs as `cds-crawler`
subprocesses with its default limits (unless `--setting` changes one); their wall time, CPU
time and peak RSS (from `os.wait4`) are measured. All traffic stays on 127.0.0.0/8.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from events_cost import EventsCost, ServerChange
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
    add_setting_arguments,
    add_site_arguments,
    check_crawl,
    code_changed,
    crawler_env,
    crawler_name,
    fresh_database,
    import_seeds,
    layout_note,
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

    from crawler.testing import Response

CRAWL_TIMEOUT_S = 1800.0
PAGES = 3
ENTRIES_PER_PAGE = 10
ENTRIES = PAGES * ENTRIES_PER_PAGE
REQUESTS_PER_SERVER = 1 + PAGES + ENTRIES  # document, listing pages, GeoJSON resources
# An unchanged re-crawl stops paging at the watermark: the document, page 1, its GeoJSON.
RECRAWL_REQUESTS_PER_SERVER = 1 + 1 + ENTRIES_PER_PAGE
CHANGED_EVERY = 10  # every 10th server changes before the last crawl
# A changed server: renamed, one entry added, one renamed, one territory shrunk, one removed.
CHANGED_EVENTS = {
    "cds.server.changed": 1,
    "cds.coverage.entry.added": 1,
    "cds.coverage.entry.changed": 2,
    "cds.coverage.entry.removed": 1,
}
COVERAGE = "/coverage"
NEWEST = datetime(2025, 6, 1, tzinfo=UTC)

TARGET_REQUESTS_PER_S = 500.0
TARGET_RSS_MB = 300.0
TARGET_RECRAWL_RATIO = 0.5  # unchanged re-crawl time / first crawl time


# --- the served documents --------------------------------------------------------------------


def metadata_document_of(site: Site, port: int) -> dict[str, Any]:
    """A conforming metadata document that lists `coverage`."""
    coverage = site.resource_url(port, COVERAGE)
    return metadata_document(
        site, port, "discovery benchmark", capabilities=["coverage"], coverage=coverage
    )


def page_target(page: int) -> str:
    """The request target of listing page `page` (1-based)."""
    return COVERAGE if page == 1 else f"{COVERAGE}?page={page}"


def geojson_target(entry_id: str) -> str:
    return f"/territories/{entry_id}.geojson"


def coverage_entry(site: Site, port: int, number: int) -> dict[str, Any]:
    """Entry `number` (0 is the most recently updated) of the site's listing (CDSC-WG1-01
    4.3): geographic, authoritative, with a GeoJSON resource."""
    entry_id = f"territory-{number:02d}"
    updated = NEWEST - timedelta(hours=number, minutes=site.index % 60)
    return {
        "id": entry_id,
        "created": "2024-01-01T00:00:00Z",
        "updated": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "entity_name": f"Benchmark Utility {site.index:04d}",
        "entity_abbreviation": f"BU{site.index:04d}",
        "country": "US",
        "name": f"Service territory {number} of utility {site.index:04d}",
        "description": "A fictional electric service territory.",
        "type": "geographic",
        "role": "authoritative",
        "infrastructure_types": ["distribution_utility"],
        "commodity_types": ["electricity"],
        "capabilities": [],
        "geojson_resource": site.resource_url(port, geojson_target(entry_id)),
    }


def grid(servers: int) -> tuple[int, float]:
    """Columns of the territory grid and its cell size (degrees): every territory has a cell of
    its own over North America, so no two overlap."""
    cells = servers * ENTRIES
    columns = max(1, math.ceil(math.sqrt(cells * 2)))
    rows = math.ceil(cells / columns)
    return columns, min(0.25, 60.0 / columns, 40.0 / rows)


def territory_polygon(site: Site, number: int, servers: int, scale: float = 1.0) -> dict[str, Any]:
    """A small star-shaped Polygon of 8 to 20 vertices, distinct per entry, in a grid cell of
    its own (exterior ring counterclockwise, RFC 7946 3.1.6); `scale` shrinks it."""
    columns, cell = grid(servers)
    index = site.index * ENTRIES + number
    row, column = divmod(index, columns)
    lon0, lat0 = -125.0 + (column + 0.5) * cell, 10.0 + (row + 0.5) * cell
    rng = random.Random(index)
    vertices = 8 + index % 13
    ring = []
    for i in range(vertices):
        angle = 2 * math.pi * (i + rng.uniform(-0.3, 0.3)) / vertices
        radius = cell * 0.4 * rng.uniform(0.55, 1.0) * scale
        ring.append(
            [round(lon0 + radius * math.cos(angle), 6), round(lat0 + radius * math.sin(angle), 6)]
        )
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def site_routes(site: Site, port: int, servers: int) -> Routes:
    """What one site serves, every response with a strong ETag."""
    from crawler.testing import Response

    document = Response.json(metadata_document_of(site, port), etag=True)
    entries = [coverage_entry(site, port, number) for number in range(ENTRIES)]
    routes: Routes = {WELL_KNOWN: ("metadata", document), **listing_routes(site, port, entries)}
    for number, entry in enumerate(entries):
        routes[geojson_target(entry["id"])] = geojson_route(
            territory_polygon(site, number, servers)
        )
    return routes


def listing_routes(site: Site, port: int, entries: list[dict[str, Any]]) -> Routes:
    from crawler.testing import Response

    routes: Routes = {}
    for page in range(1, PAGES + 1):
        listing = {
            "coverage_entries": entries[(page - 1) * ENTRIES_PER_PAGE : page * ENTRIES_PER_PAGE],
            "next": site.resource_url(port, page_target(page + 1)) if page < PAGES else None,
            "previous": site.resource_url(port, page_target(page - 1)) if page > 1 else None,
        }
        routes[page_target(page)] = ("page", Response.json(listing, etag=True))
    return routes


def geojson_route(polygon: dict[str, Any]) -> tuple[str, Response]:
    from crawler.testing import Response

    body = json.dumps(polygon).encode()
    return "geojson", Response(200, body, {"Content-Type": "application/geo+json"}, etag=True)


def is_changed(site: Site) -> bool:
    return site.index % CHANGED_EVERY == 0


def server_change(site: Site, port: int, servers: int) -> ServerChange:
    """How a changed site changes: renamed; a new entry first (in the grid cell of the one
    removed); entry 0 renamed, with a newer `updated`; entry 1's territory shrunk; the last
    entry removed. Still 30 entries on 3 pages, newest first."""
    old_document = metadata_document_of(site, port)
    old_entry = coverage_entry(site, port, 0)
    return ServerChange(
        url=site.url(port),
        old_document=old_document,
        new_document={**old_document, "name": f"{old_document['name']} (renamed)"},
        added={
            **coverage_entry(site, port, ENTRIES),
            "updated": (NEWEST + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        old_entry=old_entry,
        new_entry={
            **old_entry,
            "name": f"{old_entry['name']} (renamed)",
            "updated": (NEWEST + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        territory_entry_id=coverage_entry(site, port, 1)["id"],
        old_territory=territory_polygon(site, 1, servers),
        new_territory=territory_polygon(site, 1, servers, scale=0.5),
        removed_entry_id=coverage_entry(site, port, ENTRIES - 1)["id"],
    )


def changed_routes(site: Site, port: int, servers: int) -> Routes:
    """What a changed site serves instead (see `server_change`)."""
    from crawler.testing import Response

    change = server_change(site, port, servers)
    rest = [coverage_entry(site, port, number) for number in range(1, ENTRIES - 1)]
    entries = [change.added, change.new_entry, *rest]
    return {
        WELL_KNOWN: ("metadata", Response.json(change.new_document, etag=True)),
        **listing_routes(site, port, entries),
        geojson_target(change.added["id"]): geojson_route(
            territory_polygon(site, ENTRIES - 1, servers)
        ),
        geojson_target(change.territory_entry_id): geojson_route(change.new_territory),
    }


class SiteRoutes:
    """What the sites serve, for a number of servers: the picklable builder the server
    process calls, with what changed sites serve after `serve_changed(True)`."""

    def __init__(self, servers: int) -> None:
        self.servers = servers

    def __call__(self, site: Site, port: int) -> Routes:
        return site_routes(site, port, self.servers)

    def changed(self, site: Site, port: int) -> Routes:
        return changed_routes(site, port, self.servers) if is_changed(site) else {}


# --- one database ----------------------------------------------------------------------------


@dataclass(slots=True)
class DatabaseResult:
    kind: str
    first: list[CrawlRun] = field(default_factory=list)
    recrawl: list[CrawlRun] = field(default_factory=list)
    changed: list[CrawlRun] = field(default_factory=list)
    events: list[EventsCost] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Crawl:
    """One of the crawls of a run: what it must find, ask for and store."""

    label: str
    summary: dict[str, int]
    served: dict[str, tuple[int, bool]]  # per kind: requests, and whether all answer 304
    stored: dict[str, int]
    events: dict[str, int]


def crawls(servers: int, hosts: int) -> list[Crawl]:
    """The three crawls over `servers` on `hosts` loopback addresses (the first crawl reads
    each host's robots.txt, which later crawls find in the database)."""
    changed = len(range(0, servers, CHANGED_EVERY))
    same = servers - changed
    entries = servers * ENTRIES
    first_stored = {"entries": entries, "territories": entries, "versions": servers}
    return [
        Crawl(
            "first crawl",
            {"servers_new": servers, "requests": servers * REQUESTS_PER_SERVER + hosts},
            {
                "metadata": (servers, False),
                "page": (servers * PAGES, False),
                "geojson": (servers * ENTRIES, False),
            },
            first_stored,
            {"cds.server.discovered": servers, "cds.coverage.entry.added": entries},
        ),
        Crawl(
            "re-crawl",
            {"servers_unchanged": servers, "requests": servers * RECRAWL_REQUESTS_PER_SERVER},
            {
                "metadata": (servers, True),
                "page": (servers, True),
                "geojson": (servers * ENTRIES_PER_PAGE, True),
            },
            first_stored,
            {},
        ),
        Crawl(
            "10% changed",
            {
                "servers_unchanged": same,
                "servers_changed": changed,
                "requests": same * RECRAWL_REQUESTS_PER_SERVER + changed * REQUESTS_PER_SERVER,
            },
            {
                "metadata": (servers, False),
                "page": (same + changed * PAGES, False),
                "geojson": (same * ENTRIES_PER_PAGE + changed * ENTRIES, False),
            },
            # a new entry, and a new version of another; a new territory, and a shrunk one
            {
                "entries": entries + 2 * changed,
                "territories": entries + 2 * changed,
                "versions": servers + changed,
            },
            {kind: count * changed for kind, count in CHANGED_EVENTS.items()},
        ),
    ]


def check_served(run: CrawlRun, crawl: Crawl) -> list[str]:
    """The requests of each kind the servers answered; where expected, each conditional
    and answered 304."""
    problems = []
    for kind, (wanted, not_modified) in crawl.served.items():
        for what in ("requests", *(("conditional", "not_modified") if not_modified else ())):
            got = run.served[f"{kind}/{what}"]
            if got != wanted:
                problems.append(f"{crawl.label}: {got} {kind} {what}, not {wanted}")
    return problems


def database_counts(database_url: str) -> dict[str, Any]:
    """What the crawls stored, counted with plain SQL."""
    from storage.reader import open_reader

    queries = {
        "servers_ok": "SELECT count(*) AS n FROM servers WHERE status = 'ok'",
        "entries": "SELECT count(*) AS n FROM coverage_entries",
        "entries_current": "SELECT count(*) AS n FROM coverage_entries WHERE valid_to IS NULL",
        "entries_invalid": "SELECT count(*) AS n FROM coverage_entries WHERE NOT valid",
        "territories": "SELECT count(*) AS n FROM territories",
        "territories_current": "SELECT count(*) AS n FROM territories WHERE valid_to IS NULL",
        "versions": "SELECT count(*) AS n FROM versions",
    }
    with open_reader(database_url) as reader:
        counts: dict[str, Any] = {name: reader.rows(sql)[0]["n"] for name, sql in queries.items()}
        rows = reader.rows("SELECT severity, rule, count(*) AS n FROM findings GROUP BY 1, 2")
        latest = "SELECT type, count(*) AS n FROM events WHERE crawl_id = "
        latest += "(SELECT max(id) FROM crawls) GROUP BY 1"
        counts["events"] = {r["type"]: r["n"] for r in reader.rows(latest)}
    counts["findings"] = {f"{r['severity']} {r['rule']}": r["n"] for r in rows}
    return counts


def check_database(database_url: str, servers: int, crawl: Crawl) -> list[str]:
    """After each crawl: every server ok, every entry and territory current once (and the
    versions expected), no finding, the crawl's events exactly those expected."""
    counts = database_counts(database_url)
    entries = servers * ENTRIES
    expected = {
        "servers_ok": servers,
        "entries_current": entries,
        "entries_invalid": 0,
        "territories_current": entries,
        **crawl.stored,
    }
    problems = [
        f"{crawl.label}: {name} = {counts[name]} in the database, expected {value}"
        for name, value in expected.items()
        if counts[name] != value
    ]
    if counts["findings"]:
        problems.append(f"{crawl.label}: findings stored {counts['findings']}")
    if counts["events"] != crawl.events:
        problems.append(f"{crawl.label}: events {counts['events']}, expected {crawl.events}")
    return problems


def crawl_three_times(ctx: Context, result: DatabaseResult) -> list[CrawlRun]:
    """A first crawl on the empty database, an unchanged re-crawl, and a re-crawl after 10%
    of the servers changed, each checked; the crawls that completed. A crawl that fails is
    recorded as a problem, and the run ends."""
    servers = len(ctx.urls)
    ctx.server.serve_changed(False)
    import_seeds(ctx)
    done: list[CrawlRun] = []
    all_runs = (result.first, result.recrawl, result.changed)
    for crawl, runs in zip(crawls(servers, ctx.server.hosts), all_runs, strict=True):
        if crawl.label == "10% changed":
            ctx.server.serve_changed(True)
        try:
            run = timed_crawl(ctx, CRAWL_TIMEOUT_S)
        except BenchmarkError as exc:
            result.problems.append(f"{crawl.label} failed: {exc}")
            return done
        done.append(run)
        runs.append(run)
        expected = {"servers_seen": servers, "servers_failed": 0, **crawl.summary}
        expected["events"] = sum(crawl.events.values())
        result.problems += check_crawl(run, expected, crawl.label)
        result.problems += check_served(run, crawl)
        result.problems += check_database(ctx.database_url, servers, crawl)
    return done


def measure_events(
    kind: str, args: argparse.Namespace, server: ServerProcess, run: int
) -> EventsCost:
    """What the changed crawl's events cost on their own, in a database of their own."""
    import events_cost

    changes = [
        server_change(site, server.port, args.servers) for site in server.sites if is_changed(site)
    ]
    with fresh_database(kind, args.postgres_url, 1000 + run) as url:
        return events_cost.measure(url, changes)


def bench_database(
    kind: str, args: argparse.Namespace, server: ServerProcess, log: Callable[[str], None]
) -> DatabaseResult:
    result = DatabaseResult(kind)
    for run in range(args.runs):
        with (
            fresh_database(kind, args.postgres_url, run) as url,
            tempfile.TemporaryDirectory(prefix="cds-bench-work-") as workdir,
        ):
            env = crawler_env(url, **args.settings)
            ctx = Context(server, server.urls(), env, workdir, args.crawler, url)
            done = crawl_three_times(ctx, result)
            walls = ", ".join(f"{c.wall_s:.1f}s ({c.requests_per_s:.0f} req/s)" for c in done)
            log(f"{kind} run {run + 1}/{args.runs}: crawls {walls or 'none'}")
        result.events.append(measure_events(kind, args, server, run))
    return result


# --- the report ------------------------------------------------------------------------------


def measures(result: DatabaseResult) -> dict[str, Measure]:
    rows: dict[str, Measure] = {}
    for label, runs in labelled_runs(result):
        rows |= {
            f"{label}: wall (s)": Measure([r.wall_s for r in runs], 1),
            f"{label}: in-process duration_s": Measure([r.duration_s for r in runs], 1),
            f"{label}: requests": Measure([r.requests for r in runs], 0),
            f"{label}: requests/s (wall)": Measure([r.requests_per_s for r in runs], 0),
            f"{label}: requests/s (duration_s)": Measure([r.requests_per_crawl_s for r in runs], 0),
            f"{label}: crawler CPU time (s)": Measure([r.cpu_s for r in runs], 1),
            f"{label}: crawler CPU / wall": Measure([r.cpu_s / r.wall_s for r in runs], 2),
            f"{label}: peak RSS (MB)": Measure([r.peak_rss_mb for r in runs], 1),
            f"{label}: TCP connections the servers accepted": Measure(
                [r.served["connections"] for r in runs], 0
            ),
        }
    for kind, name in (("metadata", "documents"), ("page", "pages"), ("geojson", "GeoJSON")):
        rows[f"re-crawl: {name} answered 304"] = Measure(
            [r.served[f"{kind}/not_modified"] for r in result.recrawl], 0
        )
    pairs = list(zip(result.first, result.recrawl, strict=False))
    rows["re-crawl wall / first crawl wall"] = Measure([b.wall_s / a.wall_s for a, b in pairs], 2)
    rows["10% changed: events"] = Measure([float(r.summary["events"]) for r in result.changed], 0)
    cost = list(zip(result.changed, result.events, strict=False))
    rows |= {
        "events on their own: building (ms)": Measure([e.build_s * 1000 for e in result.events], 1),
        "events on their own: writing (ms)": Measure([e.write_s * 1000 for e in result.events], 1),
        "events on their own / 10% changed wall (%)": Measure(
            [100 * (e.build_s + e.write_s) / r.wall_s for r, e in cost], 2
        ),
    }
    return rows


def labelled_runs(result: DatabaseResult) -> list[tuple[str, list[CrawlRun]]]:
    return [
        ("first crawl", result.first),
        ("re-crawl", result.recrawl),
        ("10% changed", result.changed),
    ]


def targets(result: DatabaseResult) -> list[Target]:
    rows = measures(result)
    found = []
    for label, runs in (("first crawl", result.first), ("re-crawl", result.recrawl)):
        rss = [r.peak_rss_mb for r in runs]
        found += [
            Target(
                f"{label} >= {TARGET_REQUESTS_PER_S:.0f} requests/s (median, wall)",
                rows[f"{label}: requests/s (wall)"].median,
                lambda v: v >= TARGET_REQUESTS_PER_S,
            ),
            Target(
                f"{label}: peak RSS < {TARGET_RSS_MB:.0f} MB (max over the runs)",
                max(rss) if rss else None,
                lambda v: v < TARGET_RSS_MB,
            ),
        ]
    found.append(
        Target(
            f"re-crawl time <= {TARGET_RECRAWL_RATIO}x the first crawl's (median of the runs' "
            "ratios, wall)",
            rows["re-crawl wall / first crawl wall"].median,
            lambda v: v <= TARGET_RECRAWL_RATIO,
        )
    )
    return found


def report(results: list[DatabaseResult], args: argparse.Namespace, hosts: int) -> str:
    """The discovery section of docs/benchmarks.md."""
    problems = [(r.kind, problem) for r in results for problem in r.problems]
    problems += [("all", problem) for problem in code_changed(args.code_digest)]
    requested = min(args.hosts or args.servers, args.servers)
    crawler = crawler_name(args)
    where = layout_note(args.servers, hosts, requested, "CDS servers")
    kinds = [r.kind for r in results]
    changed = ", ".join(f"`CDS_CRAWLER_{k.upper()}={v}`" for k, v in args.settings.items())
    limits = (
        f"the default limits except {changed}"
        if changed
        else "the default limits (2 requests in flight and 4 requests/s per host, 64 in "
        "flight in all)"
    )
    entries = args.servers * ENTRIES
    changed_count = len(range(0, args.servers, CHANGED_EVERY))
    title = "Discovery benchmark" + (f" ({changed})" if changed else "")
    return "\n".join(
        [
            *section_header(title, "discovery_benchmark.py", args),
            "### Method",
            "",
            f"- Servers: {where}, served by `crawler.testing.LoopbackServer` in a separate "
            "process on uvloop. Each serves a conforming current-draft metadata document "
            f"(CDSC-WG1-01 3.2) listing `coverage`; a coverage listing of {PAGES} pages of "
            f"{ENTRIES_PER_PAGE} conforming `geographic`, `authoritative` entries, newest "
            "first by `updated`, linked by `next`/`previous` (4.1, 4.3); and for each entry "
            "a GeoJSON Polygon of 8 to 20 vertices, distinct per entry and overlapping no "
            "other, as `application/geo+json`. Every response has a strong ETag.",
            f"- First crawl, per server: 1 document + {PAGES} pages + {ENTRIES} GeoJSON = "
            f"{REQUESTS_PER_SERVER} requests, {args.servers * REQUESTS_PER_SERVER:,} in all, "
            f"plus each host's robots.txt ({hosts:,}; it allows everything, and later crawls "
            f"find it in the database); {entries:,} entries and territories.",
            "- Unchanged re-crawl: every request conditional. The listing is read up to "
            "its watermark (page 1, whose entries the first crawl saw), so per server: the "
            f"document, page 1 and its {ENTRIES_PER_PAGE} GeoJSON = "
            f"{RECRAWL_REQUESTS_PER_SERVER} requests, each answered 304.",
            f"- 10% changed: then every {CHANGED_EVERY}th server ({changed_count:,}) changes: "
            "its document is renamed, a new entry comes first, entry 0 is renamed with a "
            "newer `updated`, entry 1's territory shrinks to half its size, the last entry is "
            "removed. A new document has its listing read whole, so each changed server "
            f"costs {REQUESTS_PER_SERVER} requests, and must cause exactly "
            f"{sum(CHANGED_EVENTS.values())} events (`cds.server.changed`, "
            "`cds.coverage.entry.added`, two `cds.coverage.entry.changed`, one of them a "
            "territory change, `cds.coverage.entry.removed`).",
            "- Events on their own: after each run, the changed servers' events are built "
            "again in the benchmark's process with the crawler's event builders, from the same "
            "documents, entries and territories (JSON Patches, the territory's symmetric "
            "difference, the stored territory read back from WKB), then appended to the "
            "outbox of a fresh database of the same kind, one transaction per server (the "
            "crawler writes up to 64 servers' polls per transaction, so this overstates the "
            "writing). Their sum, relative to the 10% changed crawl's wall time, is the cost "
            "events add to that crawl.",
            f"- Crawler: `{crawler} crawl --json` as a subprocess with {limits}, "
            "`CDS_CRAWLER_ALLOW_HTTP=true`, `CDS_CRAWLER_ALLOW_PRIVATE_NETWORKS=true`.",
            f"- Each of {args.runs} runs per database: a fresh database (SQLite: a new temporary "
            "file; Postgres: a new database, dropped afterwards), `cds-crawler seeds import`, "
            "the first crawl, the unchanged re-crawl, the 10% changed crawl. The re-crawl's "
            "time is compared with the first crawl's of the same run.",
            "- Wall time is the subprocess's, interpreter start-up included; requests/s "
            "(wall) divides the summary's `requests` by it, requests/s (duration_s) by the "
            "crawler's own `duration_s` (without start-up and schema check). CPU time "
            "(user + system) and peak RSS (`ru_maxrss`) are the crawler process's, from "
            "`os.wait4`; the database server's work is not in them.",
            "- Correctness is checked after every crawl: every server counted in the "
            "summary (new, unchanged or changed as expected) and `ok` in the database, no "
            "failure; the summary's `requests` equal to what the servers answered and to the "
            "counts above, per kind (documents, pages, GeoJSON); where expected every request "
            f"conditional and answered 304; {entries:,} current coverage entries and "
            f"{entries:,} current territories, and exactly the versions the changes make; no "
            "finding stored; the crawl's events exactly those expected, by type (none for the "
            "unchanged re-crawl). The servers count the requests of each kind, the "
            "conditional ones, the 304 answers and the TCP connections they accept.",
            "",
            *outcome(
                results_table(kinds, [measures(r) for r in results]),
                targets_table(kinds, [targets(r) for r in results]),
                problems,
            ),
            *reading_notes(results, args),
        ]
    )


def reading_notes(results: list[DatabaseResult], args: argparse.Namespace) -> list[str]:
    """What bounds the figures, computed from the settings and the runs."""
    from crawler.settings import Settings

    defaults = Settings.model_construct()
    concurrency = int(args.settings.get("concurrency", defaults.concurrency))
    rate = float(args.settings.get("per_host_rate", defaults.per_host_rate))
    # Servers a pass works on at once: one per fetch worker (`servers_in_progress` where the
    # crawler has it, else one per request slot).
    workers = int(
        getattr(Settings.model_construct(concurrency=concurrency), "servers_in_progress", 0)
        or concurrency
    )
    # A worker crawls one server at a time; after the host's first burst (a full bucket of
    # `rate` requests) its requests are spaced 1/rate s apart.
    bounds = []
    for label, per_server in (
        ("first crawl", REQUESTS_PER_SERVER),
        ("unchanged re-crawl", RECRAWL_REQUESTS_PER_SERVER),
    ):
        per_server_s = max(0.0, per_server - max(1.0, rate)) / rate
        if per_server_s:
            bounds.append(
                f"In the {label} a server's {per_server} requests take at least "
                f"{per_server_s:.2f} s, so it cannot exceed about "
                f"{workers * per_server / per_server_s:,.0f} requests/s, whatever the CPU."
            )
        else:
            bounds.append(f"That never delays the {label}'s {per_server} requests per server.")
    lines = [
        "### Reading the figures",
        "",
        f"- Politeness bound: the crawler works on {workers} servers at a time (with "
        f"`CDS_CRAWLER_CONCURRENCY` = {concurrency}), and every request to a server's host "
        f"waits for its rate limit ({rate:g} requests/s per host after a first burst of "
        f"{max(1.0, rate):.0f}). {' '.join(bounds)} Crawler CPU / wall well below 1 means "
        "the crawler waits for that limit; the changed servers of the last crawl are read "
        "whole, so that crawl waits for them.",
    ]
    for r in results:
        first = [c.served["connections"] for c in r.first]
        again = [c.served["connections"] for c in r.recrawl]
        if first and again:
            lines.append(
                f"- {r.kind}: the servers accepted {statistics.median(first):,.0f} TCP "
                f"connections (median) in the first crawl and {statistics.median(again):,.0f} "
                f"in the re-crawl, from {args.servers:,} hosts; every server's requests come "
                "one after another from one fetch worker, so one or two kept-alive "
                "connections per host would do."
            )
    return [*lines, ""]


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_site_arguments(parser, "CDS servers")
    add_setting_arguments(parser, "discovery")
    add_common_arguments(parser)
    args = parse_common(parser, argv)
    if args.servers < 1 or args.runs < 1:
        parser.error("--servers and --runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def work(log: Callable[[str], None]) -> tuple[str, bool]:
        build = SiteRoutes(args.servers)
        with running_servers(args.servers, args.hosts or args.servers, build) as server:
            log(f"serving {args.servers} servers on {server.hosts} loopback addresses")
            results = [bench_database(kind, args, server, log) for kind in args.databases]
        problems = any(r.problems for r in results) or code_changed(args.code_digest)
        return report(results, args, server.hosts), bool(problems)

    return run_benchmark(args, args.section, work)


if __name__ == "__main__":
    sys.exit(main())

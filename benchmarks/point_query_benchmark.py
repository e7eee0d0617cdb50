"""Point-query benchmark: `coverage --at LAT,LON` over 10,000 current territories.

    .venv/bin/python benchmarks/point_query_benchmark.py [--territories 10000] [--points 2000]
        [--databases sqlite,postgres] [--postgres-url postgresql://postgres@127.0.0.1:5432/test]
        [--write docs/benchmarks.md]

A fresh database per kind is filled directly through the storage schema (servers, their
metadata documents and versions, coverage entries and territories, as a crawl writes them),
from generated GeoJSON blobs of 20 to 200 vertices over North America read by the crawler's
own `read_territory`. Then, in process: the `TerritoryIndex` cold build, and warm `entries_at`
latency over random points; end to end: `cds-crawler coverage --at LAT,LON --json` as a
subprocess. Results are checked against a brute-force shapely `covers` over every territory.
Nothing goes over the network but to the Postgres server on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from harness import (
    WELL_KNOWN,
    BenchmarkError,
    Measure,
    Target,
    add_common_arguments,
    code_changed,
    crawler_env,
    crawler_name,
    fresh_database,
    measure,
    outcome,
    parse_common,
    results_table,
    run_benchmark,
    section_header,
    targets_table,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from shapely.geometry.base import BaseGeometry

    from crawler.domain.territory import Territory
    from storage.reader import Reader

# North America, where the territories lie and the points fall (lon, lat degrees).
WEST, SOUTH, EAST, NORTH = -125.0, 25.0, -67.0, 50.0
ENTRIES_PER_SERVER = 20
MULTIPOLYGON_SHARE = 0.1  # territories of two blobs
ROLES = ("official", "official", "authoritative", "aggregator")
COMMAND_TIMEOUT_S = 120.0
SEED = 20261129

TARGET_P99_MS = 5.0
TARGET_CLI_S = 1.0


# --- the territories -------------------------------------------------------------------------


def blob(rng: random.Random, lon: float, lat: float, radius: float) -> list[list[float]]:
    """A closed, counterclockwise, star-shaped ring of 20 to 200 vertices around (lon, lat):
    a circle of `radius` degrees whose radius wobbles with a few harmonics."""
    vertices = rng.randint(20, 200)
    harmonics = [(k, rng.uniform(0, 0.25 / k), rng.uniform(0, 2 * math.pi)) for k in range(2, 6)]
    stretch = 1 / math.cos(math.radians(lat))  # about as wide as high on the ground
    ring = []
    for i in range(vertices):
        angle = 2 * math.pi * i / vertices
        r = radius * (1 + sum(a * math.cos(k * angle + phase) for k, a, phase in harmonics))
        ring.append(
            [
                round(lon + r * stretch * math.cos(angle), 6),
                round(lat + r * math.sin(angle), 6),
            ]
        )
    return [*ring, ring[0]]


def territory_geojson(rng: random.Random) -> dict[str, Any]:
    """A Polygon, or now and then a MultiPolygon of two blobs, within the continent."""

    def one() -> list[list[list[float]]]:
        radius = rng.uniform(0.15, 0.6)
        lon = rng.uniform(WEST + 1.5, EAST - 1.5)
        lat = rng.uniform(SOUTH + 1, NORTH - 1)
        return [blob(rng, lon, lat, radius)]

    if rng.random() < MULTIPOLYGON_SHARE:
        return {"type": "MultiPolygon", "coordinates": [one(), one()]}
    return {"type": "Polygon", "coordinates": one()}


def server_url(index: int) -> str:
    # Never fetched: the rows are written directly, so no request leaves the process.
    return f"https://utility-{index:04d}.example{WELL_KNOWN}"


def metadata_document(index: int) -> dict[str, Any]:
    home = f"https://utility-{index:04d}.example"
    return {
        "cds_metadata_version": "v1",
        "cds_metadata_url": server_url(index),
        "created": "2024-01-15T08:00:00Z",
        "updated": "2025-03-01T12:30:00Z",
        "name": f"Benchmark Utility {index:04d}",
        "description": f"Fictional utility number {index} for the point-query benchmark.",
        "website": f"{home}/data-access",
        "documentation": f"{home}/data-access/docs",
        "support": f"{home}/developers/contact",
        "capabilities": ["coverage"],
        "coverage": f"{home}/coverage",
    }


def coverage_entry(server: int, number: int, rng: random.Random) -> dict[str, Any]:
    home = f"https://utility-{server:04d}.example"
    updated = datetime(2025, 6, 1, tzinfo=UTC) - timedelta(hours=number)
    return {
        "id": f"territory-{number:03d}",
        "created": "2024-01-01T00:00:00Z",
        "updated": updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "entity_name": f"Benchmark Utility {server:04d}",
        "entity_abbreviation": None,
        "country": "US",
        "name": f"Territory {number} of utility {server:04d}",
        "type": "geographic",
        "role": rng.choice(ROLES),
        "infrastructure_types": ["distribution_utility"],
        "commodity_types": [rng.choice(["electricity", "natural_gas"])],
        "capabilities": [],
        "geojson_resource": f"{home}/territories/territory-{number:03d}.geojson",
    }


@dataclass(frozen=True, slots=True)
class Generated:
    """The rows to insert, and the geometries the brute force checks against."""

    rows: dict[str, list[dict[str, Any]]]  # by table
    geometries: list[tuple[str, str, BaseGeometry]]  # (server URL, entry id, territory)
    vertices: int
    wkb_bytes: int


def generate(territories: int, servers: int) -> Generated:
    """Rows for `territories` entries over `servers` servers, as a crawl would write them."""
    from crawler.domain.canonical import canonical_form
    from crawler.domain.coverage import parse_coverage_page
    from crawler.domain.metadata import validate_metadata
    from crawler.domain.territory import read_territory

    rng = random.Random(SEED)
    now = datetime.now(UTC)
    rows: dict[str, list[dict[str, Any]]] = {
        "servers": [],
        "documents": [],
        "versions": [],
        "coverage_entries": [],
        "territories": [],
    }
    geometries: list[tuple[str, str, BaseGeometry]] = []
    vertices = wkb_bytes = 0
    per_server = math.ceil(territories / servers)
    for server in range(servers):
        url = server_url(server)
        document = metadata_document(server)
        checked = validate_metadata(document, url)
        canonical, sha256 = canonical_form(document)
        rows["servers"].append(server_row(url, checked.name, checked.canonical_url, now))
        rows["documents"].append(
            {"sha256": sha256, "content": document, "size_bytes": len(canonical)}
            | {"first_seen_at": now}
        )
        rows["versions"].append(
            {
                "server": server,
                "version": 1,
                "document_sha256": sha256,
                "fetched_at": now,
                "last_confirmed_at": now,
                "draft": checked.draft.value,
                "valid": checked.usable,
                "content_type": "application/json",
                "etag": f'"{sha256[:32]}"',
                "last_modified": None,
            }
        )
        count = min(per_server, territories - server * per_server)
        listing = {
            "coverage_entries": [coverage_entry(server, n, rng) for n in range(count)],
            "next": None,
            "previous": None,
        }
        page = parse_coverage_page(listing, document["coverage"])
        for entry in page.entries:
            _, entry_sha256 = canonical_form(entry.content)
            rows["coverage_entries"].append(entry_row(server, entry, entry_sha256, now))
            assert entry.geojson_resource is not None
            read = read_territory(territory_geojson(rng), entry.geojson_resource)
            if read.territory is None:
                raise BenchmarkError(f"a generated territory was not read: {read.findings}")
            territory = read.territory
            rows["territories"].append(
                territory_row(server, entry.entry_id, entry.geojson_resource, read, now)
            )
            geometries.append((url, entry.entry_id, territory.geometry))
            vertices += territory.vertices
            wkb_bytes += len(territory.wkb)
    return Generated(rows, geometries, vertices, wkb_bytes)


def server_row(url: str, name: str | None, canonical: str | None, now: datetime) -> dict[str, Any]:
    return {
        "url": url,
        "canonical_url": canonical,
        "name": name,
        "status": "ok",
        "status_since": now,
        "first_seen": now,
        "last_fetched": now,
        "last_changed": now,
        "etag": None,
        "last_modified": None,
        "consecutive_failures": 0,
        "discovered_via": url,
        "moved_to": None,
        "seed_id": None,
    }


def entry_row(server: int, entry: Any, sha256: str, now: datetime) -> dict[str, Any]:
    """As `crawler.pipeline.snapshot._entry_row` writes it."""
    return {
        "server": server,
        "entry_id": entry.entry_id,
        "version": 1,
        "sha256": sha256,
        "content": entry.content,
        "model": entry.model(),
        "type": entry.type,
        "role": entry.role,
        "country": entry.country,
        "entity_name": entry.entity_name,
        "name": entry.name,
        "valid": entry.valid,
        "valid_from": now,
        "valid_to": None,
        "last_confirmed_at": now,
    }


def territory_row(server: int, entry_id: str, url: str, read: Any, now: datetime) -> dict[str, Any]:
    """As `crawler.pipeline.linked._territory_row` writes it."""
    territory: Territory = read.territory
    return {
        "server": server,
        "entry_id": entry_id,
        "version": 1,
        "url": url,
        "sha256": territory.sha256,
        "geometry": territory.wkb,
        "min_lon": territory.min_lon,
        "min_lat": territory.min_lat,
        "max_lon": territory.max_lon,
        "max_lat": territory.max_lat,
        "area_km2": territory.area_km2,
        "vertices": territory.vertices,
        "findings": [f.to_json() for f in read.findings],
        "etag": f'"{territory.sha256[:32]}"',
        "last_modified": None,
        "valid_from": now,
        "valid_to": None,
        "last_confirmed_at": now,
    }


async def _fill(database_url: str, generated: Generated) -> None:
    from sqlalchemy import insert

    from storage.engine import create_engine
    from storage.migrate import ensure_schema
    from storage.repositories import crawls, servers, snapshots
    from storage.schema import coverage_entries, territories

    engine = create_engine(database_url)
    try:
        await ensure_schema(engine)
        rows = generated.rows
        async with engine.begin() as conn:
            crawl_id = await crawls.start(conn, datetime.now(UTC))
            server_ids = await servers.insert_servers(conn, rows["servers"])
            await snapshots.store_documents(conn, rows["documents"])

            def placed(row: dict[str, Any]) -> dict[str, Any]:
                values = {k: v for k, v in row.items() if k != "server"}
                return values | {"server_id": server_ids[row["server"]], "crawl_id": crawl_id}

            await snapshots.add_versions(conn, [placed(r) for r in rows["versions"]])
            for table in (coverage_entries, territories):
                batch = [placed(r) for r in rows[table.name]]
                for start in range(0, len(batch), 1000):
                    await conn.execute(insert(table), batch[start : start + 1000])
    finally:
        await engine.dispose()


def fill(database_url: str, generated: Generated) -> None:
    asyncio.run(_fill(database_url, generated))


# --- measuring -------------------------------------------------------------------------------


def random_points(count: int, seed: int) -> list[tuple[float, float]]:
    """(lat, lon) points spread uniformly over the continent's box."""
    rng = random.Random(seed)
    return [(rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST)) for _ in range(count)]


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share 0.99 for p99)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass(slots=True)
class DatabaseResult:
    kind: str
    fill_s: float = 0.0
    builds_s: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)  # entries_at, warm
    tree_ms: list[float] = field(default_factory=list)  # index.containing alone
    hits: list[int] = field(default_factory=list)  # entries per point
    cli: list[float] = field(default_factory=list)
    cli_rss_mb: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def in_process(reader: Reader, args: argparse.Namespace, result: DatabaseResult) -> None:
    """Cold builds of the index, then warm `entries_at` over random points."""
    from storage.territory_index import TerritoryIndex, entries_at

    index = TerritoryIndex()
    for _ in range(args.builds):
        index = TerritoryIndex()
        started = time.perf_counter()
        index.refresh(reader)
        result.builds_s.append(time.perf_counter() - started)
    for lat, lon in random_points(args.points, SEED + 1):
        started = time.perf_counter()
        found = entries_at(reader, index, lat, lon)
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        index.containing(lon, lat)
        result.tree_ms.append((time.perf_counter() - started) * 1000)
        result.hits.append(len(found))


def check_points(
    reader: Reader, generated: Generated, count: int
) -> tuple[list[str], list[tuple[float, float]]]:
    """Compare `entries_at` with a brute-force shapely `covers` over every territory, at
    `count` points: half uniform, half inside territories. The problems, and the points that
    fall in at least one territory."""
    import numpy as np
    import shapely

    from storage.territory_index import TerritoryIndex, entries_at

    rng = random.Random(SEED + 2)
    points = random_points(count - count // 2, SEED + 3)
    for _, _, geometry in rng.sample(generated.geometries, count // 2):
        inner = shapely.point_on_surface(geometry)
        points.append((inner.y, inner.x))
    names = [(url, entry_id) for url, entry_id, _ in generated.geometries]
    everything = np.array([geometry for _, _, geometry in generated.geometries], dtype=object)
    index = TerritoryIndex()
    problems: list[str] = []
    covered = []
    for lat, lon in points:
        truth = {
            names[i] for i in np.flatnonzero(shapely.covers(everything, shapely.Point(lon, lat)))
        }
        got = {(e["server_url"], e["entry_id"]) for e in entries_at(reader, index, lat, lon)}
        if got != truth:
            problems.append(
                f"at {lat:.6f},{lon:.6f}: entries_at gave {len(got)} entries, covers "
                f"{len(truth)} (missing {sorted(truth - got)[:2]}, extra {sorted(got - truth)[:2]})"
            )
        if truth:
            covered.append((lat, lon))
    return problems, covered


def check_database(reader: Reader, territories: int) -> list[str]:
    counts = reader.rows(
        """
        SELECT count(*) AS n FROM territories t
        JOIN coverage_entries c ON c.server_id = t.server_id AND c.entry_id = t.entry_id
             AND c.valid_to IS NULL
        WHERE t.valid_to IS NULL
        """
    )
    found = counts[0]["n"]
    return [] if found == territories else [f"{found} current territories, not {territories}"]


def end_to_end(
    database_url: str, args: argparse.Namespace, point: tuple[float, float], reader: Reader
) -> tuple[list[float], list[float], list[float], list[str]]:
    """`coverage --at` as a subprocess and `python -c pass`: walls, the CLI's peak RSS, and
    problems (the CLI's answer differs from the in-process one)."""
    from storage.territory_index import TerritoryIndex, entries_at

    env = crawler_env(database_url)
    at = f"{point[0]!r},{point[1]!r}"
    with tempfile.TemporaryDirectory(prefix="cds-bench-work-") as workdir:
        runs = [
            measure([*args.crawler, "coverage", "--at", at, "--json"], env, workdir, 120)
            for _ in range(args.cli_runs)
        ]
        baseline = [
            measure([sys.executable, "-c", "pass"], env, workdir, COMMAND_TIMEOUT_S).wall_s
            for _ in range(args.cli_runs)
        ]
    printed = json.loads(runs[-1].stdout)
    expected = json.loads(json.dumps(entries_at(reader, TerritoryIndex(), *point), default=str))
    problems = []
    if [(e["server_url"], e["entry_id"]) for e in printed] != [
        (e["server_url"], e["entry_id"]) for e in expected
    ]:
        problems.append(f"coverage --at {at} printed other entries than entries_at gives")
    if not printed:
        problems.append(f"coverage --at {at} found nothing; the point should be covered")
    return [r.wall_s for r in runs], [r.peak_rss_mb for r in runs], baseline, problems


def bench_database(
    kind: str, args: argparse.Namespace, generated: Generated, log: Callable[[str], None]
) -> DatabaseResult:
    from storage.reader import open_reader

    result = DatabaseResult(kind)
    with fresh_database(kind, args.postgres_url, 0) as url:
        started = time.perf_counter()
        fill(url, generated)
        result.fill_s = time.perf_counter() - started
        log(f"{kind}: filled in {result.fill_s:.1f}s")
        with open_reader(url) as reader:
            result.problems += check_database(reader, args.territories)
            in_process(reader, args, result)
            log(
                f"{kind}: build {statistics.median(result.builds_s):.3f}s, entries_at p99 "
                f"{percentile(result.latencies_ms, 0.99):.2f} ms"
            )
            problems, covered = check_points(reader, generated, args.check_points)
            result.problems += problems
            if not covered:
                result.problems.append("no checked point fell in a territory")
                return result
            walls, rss, baseline, problems = end_to_end(url, args, covered[0], reader)
        result.cli, result.cli_rss_mb, result.baseline = walls, rss, baseline
        result.problems += problems
        log(f"{kind}: coverage --at median {statistics.median(walls):.3f}s")
    return result


# --- the report ------------------------------------------------------------------------------


def measures(result: DatabaseResult) -> dict[str, Measure]:
    return {
        "filling the database (s, not a target)": Measure([result.fill_s], 1),
        "`TerritoryIndex` cold build (s)": Measure(result.builds_s, 3),
        "`coverage --at LAT,LON --json`: wall (s)": Measure(result.cli, 3),
        "`coverage --at LAT,LON --json`: peak RSS (MB)": Measure(result.cli_rss_mb, 1),
        "`python -c pass`: wall (s)": Measure(result.baseline, 3),
    }


def latency_rows(results: list[DatabaseResult], points: int) -> list[str]:
    kinds = [r.kind for r in results]
    lines = ["| measure | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]

    def row(name: str, cell: Callable[[DatabaseResult], str]) -> None:
        lines.append(f"| {name} | " + " | ".join(cell(r) for r in results) + " |")

    for label, share in (("p50", 0.5), ("p99", 0.99), ("max", 1.0)):
        row(
            f"warm `entries_at` over {points} points: {label} (ms)",
            lambda r, s=share: f"{percentile(r.latencies_ms, s):.3f}" if r.latencies_ms else "-",
        )
    for label, share in (("p50", 0.5), ("p99", 0.99)):
        row(
            f"STRtree query alone (`index.containing`): {label} (ms)",
            lambda r, s=share: f"{percentile(r.tree_ms, s):.3f}" if r.tree_ms else "-",
        )
    row(
        "entries per point: mean (max); points in no territory",
        lambda r: (
            f"{statistics.fmean(r.hits):.2f} ({max(r.hits)}); {r.hits.count(0)}" if r.hits else "-"
        ),
    )
    return lines


def targets(result: DatabaseResult) -> list[Target]:
    p99 = percentile(result.latencies_ms, 0.99) if result.latencies_ms else None
    return [
        Target(f"warm `entries_at` p99 < {TARGET_P99_MS:g} ms", p99, lambda v: v < TARGET_P99_MS),
        Target(
            f"`coverage --at` < {TARGET_CLI_S:g} s (median wall)",
            statistics.median(result.cli) if result.cli else None,
            lambda v: v < TARGET_CLI_S,
        ),
    ]


def report(results: list[DatabaseResult], args: argparse.Namespace, generated: Generated) -> str:
    """The point-query section of docs/benchmarks.md."""
    problems = [(r.kind, problem) for r in results for problem in r.problems]
    problems += [("all", problem) for problem in code_changed(args.code_digest)]
    crawler = crawler_name(args)
    kinds = [r.kind for r in results]
    multi = sum(g.geom_type == "MultiPolygon" for _, _, g in generated.geometries)
    return "\n".join(
        [
            *section_header("Point-query benchmark", "point_query_benchmark.py", args),
            "### Method",
            "",
            f"- Data: {args.territories:,} current territories of {args.servers} servers "
            f"({ENTRIES_PER_SERVER} coverage entries each), written directly through the "
            "storage schema as a crawl writes them: `servers`, `documents` and `versions`, "
            "`coverage_entries` (mapped by `parse_coverage_page`) and `territories` (WKB, "
            "bounding box, area and vertices from `read_territory` on the generated GeoJSON). "
            "Each territory is a star-shaped blob of 20 to 200 vertices and 0.15 to 0.6 "
            f"degrees of radius somewhere over North America ({WEST:g}..{EAST:g} E, "
            f"{SOUTH:g}..{NORTH:g} N); {multi:,} are MultiPolygons of two blobs. "
            f"{generated.vertices:,} vertices, {generated.wkb_bytes / 1e6:.1f} MB of WKB in all; "
            "territories overlap (several entries cover most points).",
            f"- In process, on a `storage.reader.open_reader` connection: {args.builds} cold "
            "builds of a new `TerritoryIndex` (`refresh`: the generation query, reading every "
            "current WKB, `shapely.from_wkb`, the STRtree), then the warm "
            f"`entries_at(reader, index, lat, lon)` at {args.points:,} uniformly random points "
            "of the continent's box, each timed alone (its generation query, the STRtree "
            "query and the entries' SQL); the STRtree query alone is timed as well.",
            f"- End to end: `{crawler} coverage --at LAT,LON --json` as a subprocess "
            f"{args.cli_runs} times at a covered point (every run builds its index cold), and "
            "`python -c pass` as the interpreter start-up baseline; wall time and `ru_maxrss` "
            "from `os.wait4`, taken by a small process of its own that starts it "
            "(`benchmarks/spawn.py`), so that the benchmark's memory does not count in it.",
            f"- Correctness: at {args.check_points} points (half uniform, half inside "
            "territories) the entries `entries_at` returns are compared with a brute-force "
            f"shapely `covers` over all {args.territories:,} geometries; the CLI's answer is "
            "compared with `entries_at`'s; every territory joins its current entry.",
            "",
            *outcome(
                [
                    *results_table(kinds, [measures(r) for r in results]),
                    "",
                    *latency_rows(results, args.points),
                ],
                targets_table(kinds, [targets(r) for r in results]),
                problems,
            ),
        ]
    )


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--territories", type=int, default=10_000, help="current territories")
    parser.add_argument("--points", type=int, default=2000, help="points timed in process")
    parser.add_argument("--builds", type=int, default=5, help="cold index builds timed")
    parser.add_argument("--check-points", type=int, default=200, help="points brute-forced")
    parser.add_argument("--cli-runs", type=int, default=7, help="runs of `coverage --at`")
    add_common_arguments(parser)
    args = parse_common(parser, argv)
    if min(args.territories, args.points, args.builds, args.check_points, args.cli_runs) < 1:
        parser.error("every count must be at least 1")
    args.servers = math.ceil(args.territories / ENTRIES_PER_SERVER)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def work(log: Callable[[str], None]) -> tuple[str, bool]:
        started = time.perf_counter()
        generated = generate(args.territories, args.servers)
        log(f"generated {args.territories} territories in {time.perf_counter() - started:.1f}s")
        results = [bench_database(kind, args, generated, log) for kind in args.databases]
        problems = any(r.problems for r in results) or code_changed(args.code_digest)
        return report(results, args, generated), bool(problems)

    return run_benchmark(args, "point-query", work)


if __name__ == "__main__":
    sys.exit(main())

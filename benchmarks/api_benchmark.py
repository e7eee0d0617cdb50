"""API benchmark: `cds-crawler serve` over 10,000 current territories.

    .venv/bin/python benchmarks/api_benchmark.py [--territories 10000] [--points 2000]
        [--runs 5] [--export-runs 5] [--list-seconds 3] [--clients 4]
        [--databases sqlite,postgres] [--postgres-url postgresql://postgres@127.0.0.1:5432/test]
        [--write docs/benchmarks.md]

A fresh database per kind is filled as the point-query benchmark fills it (servers, their
metadata documents and versions, coverage entries and territories, written through the
storage schema as a crawl writes them). Then `cds-crawler serve` runs as a subprocess on a
free loopback port, and a keep-alive httpx client measures, each over several runs: point
queries (`GET /v1/coverage?lat=&lon=`, sequential, after a warm-up), the streamed GeoJSON
export (`GET /v1/exports/territories.geojson`, and `cds-crawler export geojson --out FILE` as a
subprocess), and the servers list (`GET /v1/servers?limit=100`, one client, then several
threads). Answers are checked against a brute-force shapely `covers` and the generated rows.
Nothing goes over the network but to the API on 127.0.0.1 and the Postgres server on loopback.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import random
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import (
    BenchmarkError,
    Measure,
    Target,
    add_common_arguments,
    code_changed,
    crawler_env,
    crawler_name,
    fresh_database,
    outcome,
    parse_common,
    reap,
    results_table,
    run_benchmark,
    section_header,
    targets_table,
)
from point_query_benchmark import (
    ENTRIES_PER_SERVER,
    SEED,
    Generated,
    fill,
    generate,
    percentile,
    random_points,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    import httpx

HOST = "127.0.0.1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 120.0
POLL_S = 0.01  # between reads of a child's peak RSS
EXPORT_PATH = "/v1/exports/territories.geojson"
SERVERS_PATH = "/v1/servers?limit=100"
PAGE = 100  # the servers list's page size
GEOMETRY_CHECKS = 200  # exported geometries compared with the generated ones

TARGET_P99_MS = 20.0


# --- processes --------------------------------------------------------------------------------


def vm_hwm_mb(pid: int) -> float | None:
    """The peak RSS of a running process (MB): the `VmHWM` of its /proc status. Not
    `ru_maxrss`: a child forked from this process starts with a copy of its memory map, which
    counts in its `ru_maxrss` until the exec, so the figure would be at least the benchmark's
    own RSS (hundreds of MB with the generated territories)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


class HighWater:
    """The peak RSS of a child process while it runs, from `vm_hwm_mb` every `POLL_S`."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self.peak_mb = 0.0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stopped.wait(POLL_S):
            self.peak_mb = max(self.peak_mb, vm_hwm_mb(self._pid) or 0.0)

    def stop(self) -> float:
        """Stops polling; the peak (MB)."""
        self._stopped.set()
        self._thread.join()
        return self.peak_mb


def run_command(argv: Sequence[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """Run `argv` to its end: its wall time (start-up included) and peak RSS (MB, `VmHWM`).
    Raises BenchmarkError when it fails or outlives REQUEST_TIMEOUT_S."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=cwd
        )
        high_water = HighWater(process.pid)
        try:
            reaped = reap(process, REQUEST_TIMEOUT_S)
        finally:
            peak_mb = high_water.stop()
        wall = time.perf_counter() - started
        if reaped.exit_code != 0:
            err.seek(0)
            last = err.read().decode(errors="replace").strip().splitlines()[-1:]
            raise BenchmarkError(f"`{shlex.join(argv[-4:])}` exited {reaped.exit_code}: {last}")
    return wall, peak_mb


# --- the API process -------------------------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on at the moment (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def new_client(base_url: str) -> httpx.Client:
    """A keep-alive client that ignores proxy settings: every request goes to loopback."""
    import httpx

    return httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S, trust_env=False)


@dataclass(slots=True)
class Api:
    """`cds-crawler serve` running as a subprocess; its output goes to `log`."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path
    cpu_s: float | None = None  # user + system, once stopped
    peak_rss_mb: float | None = None

    def tail(self) -> str:
        lines = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return " | ".join(lines[-3:])

    def wait_ready(self) -> None:
        """Until /healthz answers 200; raises BenchmarkError when the process ends first or
        does not answer in time."""
        import httpx

        deadline = time.monotonic() + START_TIMEOUT_S
        with new_client(self.base_url) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise BenchmarkError(
                        f"`serve` exited {self.process.returncode} before answering: {self.tail()}"
                    )
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/healthz").status_code == 200:
                        return
                time.sleep(0.1)
        raise BenchmarkError(f"`serve` did not answer /healthz in {START_TIMEOUT_S:g}s")

    def stop(self) -> None:
        """Its peak RSS, SIGINT (uvicorn's graceful shutdown), then its CPU time."""
        self.peak_rss_mb = vm_hwm_mb(self.process.pid)
        if self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGINT)
        self.cpu_s = reap(self.process, STOP_TIMEOUT_S).cpu_s


@contextlib.contextmanager
def running_api(crawler: Sequence[str], env: dict[str, str], workdir: str) -> Iterator[Api]:
    """`serve --host 127.0.0.1 --port P` on a free port, answering, until the block ends."""
    port = free_port()
    log = Path(workdir, "serve.log")
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*crawler, "serve", "--host", HOST, "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
    api = Api(process, f"http://{HOST}:{port}", log)
    try:
        api.wait_ready()
        yield api
    finally:
        api.stop()


# --- the expected answers --------------------------------------------------------------------


class Expected:
    """What the generated rows say the API should answer: the territories covering a point
    (a brute-force shapely `covers` over all of them), and every entry's geometry."""

    def __init__(self, generated: Generated) -> None:
        import numpy as np

        self.generated = generated
        self.names = [(url, entry_id) for url, entry_id, _ in generated.geometries]
        self.geometries = np.array([g for _, _, g in generated.geometries], dtype=object)
        self.by_name = {(url, entry_id): g for url, entry_id, g in generated.geometries}

    def covering(self, lat: float, lon: float) -> set[tuple[str, str]]:
        import numpy as np
        import shapely

        hits = np.flatnonzero(shapely.covers(self.geometries, shapely.Point(lon, lat)))
        return {self.names[i] for i in hits}

    def inner_points(self, count: int) -> list[tuple[float, float]]:
        """(lat, lon) of `count` points inside randomly chosen territories."""
        import shapely

        rng = random.Random(SEED + 2)
        chosen = rng.sample(self.generated.geometries, min(count, len(self.names)))
        points = [shapely.point_on_surface(geometry) for _, _, geometry in chosen]
        return [(point.y, point.x) for point in points]

    def check_collection(self, body: bytes, what: str) -> tuple[int, list[str]]:
        """The features of a GeoJSON FeatureCollection, and what is wrong with it: not one
        feature per generated territory, or a sample of geometries unlike the generated."""
        import orjson
        from shapely.geometry import shape

        try:
            features = orjson.loads(body)["features"]
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            return 0, [f"{what}: not a FeatureCollection ({exc})"]
        keys = [(f["properties"]["server_url"], f["properties"]["entry_id"]) for f in features]
        problems = []
        if len(features) != len(self.names) or set(keys) != set(self.names):
            problems.append(
                f"{what}: {len(features)} features ({len(set(keys))} distinct entries), "
                f"expected one for each of the {len(self.names)} territories"
            )
        rng = random.Random(SEED + 6)
        pairs = list(zip(keys, features, strict=True))
        for key, feature in rng.sample(pairs, min(GEOMETRY_CHECKS, len(pairs))):
            generated = self.by_name.get(key)
            if generated is None or not shape(feature["geometry"]).equals(generated):
                problems.append(f"{what}: the geometry of {key} is not the generated one")
        return len(features), problems


# --- measuring -------------------------------------------------------------------------------


@dataclass(slots=True)
class DatabaseResult:
    kind: str
    fill_s: float = 0.0
    first_ms: list[float] = field(default_factory=list)  # the first point query: index built
    p50_ms: list[float] = field(default_factory=list)  # one value per run
    p99_ms: list[float] = field(default_factory=list)
    max_ms: list[float] = field(default_factory=list)
    hits: list[int] = field(default_factory=list)  # entries per timed point, every run
    export_s: list[float] = field(default_factory=list)
    export_first_byte_s: list[float] = field(default_factory=list)
    export_bytes: list[float] = field(default_factory=list)
    features: int = 0
    cli_export_s: list[float] = field(default_factory=list)
    cli_rss_mb: list[float] = field(default_factory=list)
    cli_bytes: int = 0
    list_rps: list[float] = field(default_factory=list)
    list_p50_ms: list[float] = field(default_factory=list)
    list_concurrent_rps: list[float] = field(default_factory=list)
    list_bytes: int = 0
    serve_cpu_s: float | None = None
    serve_rss_mb: float | None = None
    problems: list[str] = field(default_factory=list)


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def coverage_path(lat: float, lon: float) -> str:
    return f"/v1/coverage?lat={lat!r}&lon={lon!r}"


def answered(response: httpx.Response, what: str) -> Any:
    """The JSON body of a 200 answer; raises BenchmarkError on any other status."""
    if response.status_code != 200:
        raise BenchmarkError(f"{what} answered {response.status_code}: {response.text[:200]}")
    return response.json()


def check_answer(lat: float, lon: float, body: dict[str, Any], expected: Expected) -> list[str]:
    got = {(item["server_url"], item["entry_id"]) for item in body["items"]}
    truth = expected.covering(lat, lon)
    problems = []
    if body.get("next") is not None:
        problems.append(f"at {lat:.6f},{lon:.6f}: the answer has a next page")
    if got != truth:
        problems.append(
            f"at {lat:.6f},{lon:.6f}: the API gave {len(got)} entries, covers {len(truth)} "
            f"(missing {sorted(truth - got)[:2]}, extra {sorted(got - truth)[:2]})"
        )
    return problems


def point_queries(
    client: httpx.Client, args: argparse.Namespace, expected: Expected, result: DatabaseResult
) -> None:
    """The first query (it builds the API's territory index), a warm-up, then `--runs` runs of
    `--points` sequential queries, each timed alone. A sample of the timed answers and as
    many points inside territories are checked against the brute force."""
    started = time.perf_counter()
    answered(client.get(coverage_path(*random_points(1, SEED)[0])), "the first point query")
    result.first_ms.append(elapsed_ms(started))
    for lat, lon in random_points(args.warmup, SEED + 4):
        answered(client.get(coverage_path(lat, lon)), "a warm-up point query")
    inner = args.check_points // 2
    timed = args.runs * args.points
    kept = set(random.Random(SEED + 5).sample(range(timed), min(timed, args.check_points - inner)))
    checked: list[tuple[float, float, dict[str, Any]]] = []  # the answers kept for the check
    for run in range(args.runs):
        latencies = []
        for number, (lat, lon) in enumerate(random_points(args.points, SEED + 10 + run)):
            path = coverage_path(lat, lon)
            started = time.perf_counter()
            response = client.get(path)
            latencies.append(elapsed_ms(started))
            body = answered(response, "a point query")
            result.hits.append(len(body["items"]))
            if run * args.points + number in kept:
                checked.append((lat, lon, body))
        result.p50_ms.append(percentile(latencies, 0.5))
        result.p99_ms.append(percentile(latencies, 0.99))
        result.max_ms.append(max(latencies))
    for lat, lon in expected.inner_points(inner):
        checked.append((lat, lon, answered(client.get(coverage_path(lat, lon)), "a point query")))
    for lat, lon, body in checked:
        result.problems += check_answer(lat, lon, body, expected)
    if not any(body["items"] for _, _, body in checked):
        result.problems.append("no checked point fell in a territory")


def api_export(
    client: httpx.Client, args: argparse.Namespace, expected: Expected, result: DatabaseResult
) -> None:
    """`--export-runs` full downloads of the streamed GeoJSON export, timed to the first and
    the last byte; the first one's body checked, the others' sizes compared with it."""
    first_body = b""
    for run in range(args.export_runs):
        chunks: list[bytes] = []
        first_byte = None
        started = time.perf_counter()
        with client.stream("GET", EXPORT_PATH) as response:
            if response.status_code != 200:
                raise BenchmarkError(f"{EXPORT_PATH} answered {response.status_code}")
            for chunk in response.iter_raw():
                if first_byte is None:
                    first_byte = time.perf_counter()
                chunks.append(chunk)
        ended = time.perf_counter()
        result.export_s.append(ended - started)
        result.export_first_byte_s.append((first_byte or ended) - started)
        body = b"".join(chunks)
        result.export_bytes.append(len(body))
        if run == 0:
            first_body = body
        elif body != first_body:
            result.problems.append(f"export run {run + 1} gave other bytes than the first")
    result.features, problems = expected.check_collection(first_body, EXPORT_PATH)
    result.problems += problems


def cli_export(
    crawler: Sequence[str],
    env: dict[str, str],
    args: argparse.Namespace,
    expected: Expected,
    result: DatabaseResult,
) -> None:
    """`export geojson --out FILE` as a subprocess, `--cli-runs` times; the file checked."""
    with tempfile.TemporaryDirectory(prefix="cds-bench-export-") as workdir:
        out = Path(workdir, "territories.geojson")
        for _ in range(args.cli_runs):
            out.unlink(missing_ok=True)
            wall, peak_mb = run_command(
                [*crawler, "export", "geojson", "--out", str(out)], env, workdir
            )
            result.cli_export_s.append(wall)
            result.cli_rss_mb.append(peak_mb)
        body = out.read_bytes()
    result.cli_bytes = len(body)
    features, problems = expected.check_collection(body, "export geojson --out")
    result.problems += problems
    if features != result.features:
        result.problems.append(
            f"export geojson wrote {features} features, the API {result.features}"
        )


def check_servers(client: httpx.Client, servers: int) -> list[str]:
    """Every page of the servers list, by its cursors: each server once."""
    urls: list[str] = []
    params: dict[str, str] = {}
    while True:
        body = answered(client.get(SERVERS_PATH, params=params), "the servers list")
        urls += [item["url"] for item in body["items"]]
        if body["next"] is None:
            break
        params = {"cursor": body["next"]}
    if len(urls) != servers or len(set(urls)) != servers:
        return [
            f"the servers list gave {len(urls)} URLs ({len(set(urls))} distinct), not {servers}"
        ]
    return []


def list_for(
    client: httpx.Client, seconds: float, first_page: bytes
) -> tuple[int, list[float], int]:
    """Sequential GETs of the first page for `seconds`: how many, their latencies (ms), and
    how many answers differed from `first_page`."""
    latencies: list[float] = []
    differing = 0
    deadline = time.perf_counter() + seconds
    while True:
        started = time.perf_counter()
        if started >= deadline:
            return len(latencies), latencies, differing
        response = client.get(SERVERS_PATH)
        latencies.append(elapsed_ms(started))
        differing += response.status_code != 200 or response.content != first_page


def list_concurrently(
    base_url: str, clients: int, seconds: float, first_page: bytes
) -> tuple[float, int]:
    """`clients` threads, each with a keep-alive client of its own, GET the first page for
    `seconds`: requests per second in all, and how many answers differed."""
    counts: list[tuple[int, int]] = []
    ready = threading.Barrier(clients + 1)

    def client_thread() -> None:
        with new_client(base_url) as client:
            client.get(SERVERS_PATH)  # its connection opened
            ready.wait()
            count, _, differing = list_for(client, seconds, first_page)
        counts.append((count, differing))

    threads = [threading.Thread(target=client_thread) for _ in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if len(counts) != clients:
        raise BenchmarkError("a client thread of the servers list failed")
    return sum(c for c, _ in counts) / wall, sum(d for _, d in counts)


def servers_list(
    client: httpx.Client, base_url: str, args: argparse.Namespace, result: DatabaseResult
) -> None:
    """Every page checked once; then `--list-runs` runs, each one client for
    `--list-seconds`, then `--clients` threads as long."""
    result.problems += check_servers(client, args.servers)
    first = client.get(SERVERS_PATH)
    answered(first, "the servers list")
    result.list_bytes = len(first.content)
    list_for(client, 0.5, first.content)  # warm-up
    differing = 0
    for _ in range(args.list_runs):
        count, latencies, wrong = list_for(client, args.list_seconds, first.content)
        result.list_rps.append(count / args.list_seconds)
        result.list_p50_ms.append(percentile(latencies, 0.5))
        differing += wrong
        if args.clients > 1:
            rate, wrong = list_concurrently(
                base_url, args.clients, args.list_seconds, first.content
            )
            result.list_concurrent_rps.append(rate)
            differing += wrong
    if differing:
        result.problems.append(f"{differing} servers-list answers differed from the first")


def bench_database(
    kind: str,
    args: argparse.Namespace,
    expected: Expected,
    log: Callable[[str], None],
) -> DatabaseResult:
    result = DatabaseResult(kind)
    with fresh_database(kind, args.postgres_url, 0) as url:
        started = time.perf_counter()
        fill(url, expected.generated)
        result.fill_s = time.perf_counter() - started
        log(f"{kind}: filled in {result.fill_s:.1f}s")
        env = crawler_env(url)
        with tempfile.TemporaryDirectory(prefix="cds-bench-serve-") as workdir:
            with running_api(args.crawler, env, workdir) as api, new_client(api.base_url) as client:
                point_queries(client, args, expected, result)
                log(
                    f"{kind}: point queries p50 {statistics.median(result.p50_ms):.2f} ms, "
                    f"p99 {statistics.median(result.p99_ms):.2f} ms"
                )
                api_export(client, args, expected, result)
                log(f"{kind}: export {statistics.median(result.export_s):.2f}s")
                cli_export(args.crawler, env, args, expected, result)
                log(f"{kind}: export geojson --out {statistics.median(result.cli_export_s):.2f}s")
                servers_list(client, api.base_url, args, result)
                log(f"{kind}: servers list {statistics.median(result.list_rps):.0f} requests/s")
            result.serve_cpu_s, result.serve_rss_mb = api.cpu_s, api.peak_rss_mb
    return result


# --- the report ------------------------------------------------------------------------------


def measures(result: DatabaseResult, args: argparse.Namespace) -> dict[str, Measure]:
    rows = {
        "filling the database (s, not a target)": Measure([result.fill_s], 1),
        "first point query, territory index built (ms)": Measure(result.first_ms, 1),
        f"point query: p50 of {args.points:,} (ms)": Measure(result.p50_ms, 2),
        f"point query: p99 of {args.points:,} (ms)": Measure(result.p99_ms, 2),
        f"point query: max of {args.points:,} (ms)": Measure(result.max_ms, 2),
        "GeoJSON export over the API: first byte (s)": Measure(result.export_first_byte_s, 3),
        "GeoJSON export over the API: last byte (s)": Measure(result.export_s, 2),
        "GeoJSON export over the API: size (MB)": Measure(
            [b / 1e6 for b in result.export_bytes], 1
        ),
        "`export geojson --out FILE`: wall (s)": Measure(result.cli_export_s, 2),
        "`export geojson --out FILE`: peak RSS (MB)": Measure(result.cli_rss_mb, 1),
        "servers list, 1 client (requests/s)": Measure(result.list_rps, 0),
        "servers list, 1 client: p50 (ms)": Measure(result.list_p50_ms, 2),
    }
    if args.clients > 1:
        rows[f"servers list, {args.clients} client threads (requests/s)"] = Measure(
            result.list_concurrent_rps, 0
        )
    for name, value in (
        ("`serve`: CPU time over the whole run (s)", result.serve_cpu_s),
        ("`serve`: peak RSS (MB)", result.serve_rss_mb),
    ):
        rows[name] = Measure([value] if value is not None else [], 1)
    return rows


def facts(results: list[DatabaseResult], args: argparse.Namespace) -> list[str]:
    kinds = [r.kind for r in results]
    lines = ["| fact | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]

    def row(name: str, cell: Callable[[DatabaseResult], str]) -> None:
        lines.append(f"| {name} | " + " | ".join(cell(r) for r in results) + " |")

    row(
        "entries per timed point: mean (max); points in no territory",
        lambda r: (
            f"{statistics.fmean(r.hits):.2f} ({max(r.hits)}); {r.hits.count(0):,} of "
            f"{len(r.hits):,}"
            if r.hits
            else "-"
        ),
    )
    row("features in the GeoJSON export (API)", lambda r: f"{r.features:,}")
    row(
        "GeoJSON export size: API; `export geojson` file (bytes)",
        lambda r: f"{int(r.export_bytes[0]) if r.export_bytes else 0:,}; {r.cli_bytes:,}",
    )
    row("servers list: first page (bytes)", lambda r: f"{r.list_bytes:,}")
    return lines


def targets(result: DatabaseResult) -> list[Target]:
    return [
        Target(
            f"point query over the API: p99 < {TARGET_P99_MS:g} ms (median of the runs' p99)",
            statistics.median(result.p99_ms) if result.p99_ms else None,
            lambda v: v < TARGET_P99_MS,
        )
    ]


def report(results: list[DatabaseResult], args: argparse.Namespace, generated: Generated) -> str:
    """The API section of docs/benchmarks.md."""
    problems = [(r.kind, problem) for r in results for problem in r.problems]
    problems += [("all", problem) for problem in code_changed(args.code_digest)]
    crawler = crawler_name(args)
    kinds = [r.kind for r in results]
    return "\n".join(
        [
            *section_header("API (`serve`)", "api_benchmark.py", args),
            "### Method",
            "",
            f"- Data: a fresh database per kind (SQLite: a new temporary file; Postgres: a new "
            f"database, dropped afterwards) filled as the point-query benchmark fills it: "
            f"{args.territories:,} current territories ({generated.vertices:,} vertices, "
            f"{generated.wkb_bytes / 1e6:.1f} MB of WKB) of {args.servers:,} servers with "
            f"{ENTRIES_PER_SERVER} coverage entries each, every server with one metadata "
            "version, written through the storage schema as a crawl writes them.",
            f"- `{crawler} serve --host 127.0.0.1 --port P` as a subprocess on a free loopback "
            "port (`CDS_CRAWLER_DATABASE_URL` set, no API token, uvicorn's access log on as "
            "`serve` runs it, written to a file), measured once it answers `/healthz`; the "
            "clients run in the benchmark's process, on the same 2-core machine as the API and "
            "the database server. Each request is timed from before `httpx.Client.get` until it "
            "returns with the whole body read, before the JSON is parsed (keep-alive "
            "connection, proxy settings ignored). The benchmark's generated rows and "
            "geometries are moved out of Python's garbage collector (`gc.freeze`) before "
            "anything is timed: full collections over them paused the client for 300 to 450 ms, "
            "which showed as the API's maximum latency.",
            f"- Point queries: `GET /v1/coverage?lat=LAT&lon=LON` at uniformly random points of "
            f"the territories' box; the first request (which builds the API's territory index) "
            f"is timed alone, then {args.warmup} warm-up requests, then {args.runs} runs of "
            f"{args.points:,} sequential requests, each at other points; p50, p99 and max per "
            "run, shown as median (min-max) over the runs.",
            f"- GeoJSON export: {args.export_runs} full streamed downloads of "
            f"`GET {EXPORT_PATH}`, timed to the first and the last byte; then "
            f"`{crawler} export geojson --out FILE` as a subprocess {args.cli_runs} times "
            "(interpreter start-up included).",
            f"- Servers list: `GET {SERVERS_PATH}` (the first of {-(-args.servers // PAGE)} "
            f"pages of {args.servers:,} servers) in {args.list_runs} runs, each sequential "
            f"requests from one client for {args.list_seconds:g} s"
            + (
                f", then {args.clients} threads with a keep-alive client each for as long; "
                "requests/s is the sum over the threads (the threads share the benchmark "
                "process's interpreter lock)."
                if args.clients > 1
                else "."
            ),
            "- Peak RSS: the `VmHWM` of the process's /proc status, read before `serve` is "
            f"stopped, and every {POLL_S * 1000:g} ms while `export geojson` runs (their "
            "`ru_maxrss` would count the benchmark's own memory, which a child starts as a copy "
            "of until its exec); `serve`'s CPU time "
            "(user + system, over everything above) from `os.wait4` after SIGINT.",
            f"- Correctness: {args.check_points - args.check_points // 2} timed answers picked "
            f"at random and {args.check_points // 2} points inside territories are compared "
            "with a brute-force shapely `covers` over every generated geometry (and must fit "
            "one page); the API's and the CLI's GeoJSON hold one feature per territory, with "
            f"{GEOMETRY_CHECKS} geometries picked at random equal to the generated ones; every "
            "export download gives the same bytes; paging the servers list by its cursors "
            "gives each server once; every timed servers-list answer equals the first.",
            "",
            *outcome(
                [
                    *results_table(kinds, [measures(r, args) for r in results]),
                    "",
                    *facts(results, args),
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
    parser.add_argument("--points", type=int, default=2000, help="point queries per run")
    parser.add_argument("--runs", type=int, default=5, help="runs of the point queries")
    parser.add_argument("--warmup", type=int, default=200, help="untimed point queries first")
    parser.add_argument("--check-points", type=int, default=200, help="answers brute-forced")
    parser.add_argument("--export-runs", type=int, default=5, help="downloads of the export")
    parser.add_argument("--cli-runs", type=int, default=3, help="runs of `export geojson`")
    parser.add_argument("--list-runs", type=int, default=5, help="runs of the servers list")
    parser.add_argument("--list-seconds", type=float, default=3.0, help="seconds per list run")
    parser.add_argument("--clients", type=int, default=4, help="threads listing servers at once")
    add_common_arguments(parser)
    args = parse_common(parser, argv)
    counts = (args.territories, args.points, args.runs, args.check_points, args.export_runs)
    if min(*counts, args.cli_runs, args.list_runs, args.clients) < 1 or args.warmup < 0:
        parser.error("every count must be at least 1")
    if args.list_seconds <= 0:
        parser.error("--list-seconds must be positive")
    args.servers = -(-args.territories // ENTRIES_PER_SERVER)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def work(log: Callable[[str], None]) -> tuple[str, bool]:
        started = time.perf_counter()
        generated = generate(args.territories, args.servers)
        log(f"generated {args.territories} territories in {time.perf_counter() - started:.1f}s")
        expected = Expected(generated)
        # The generated rows and geometries stay to the end: kept out of the collector's
        # full collections, which would otherwise pause the client for hundreds of ms.
        gc.collect()
        gc.freeze()
        results = [bench_database(kind, args, expected, log) for kind in args.databases]
        problems = any(r.problems for r in results) or code_changed(args.code_digest)
        return report(results, args, generated), bool(problems)

    return run_benchmark(args, "api", work)


if __name__ == "__main__":
    sys.exit(main())

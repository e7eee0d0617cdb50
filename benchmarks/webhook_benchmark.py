"""Webhook benchmark: `events deliver` of 20,000 stored events to a webhook receiver on
loopback, batched and one event per request.

    .venv/bin/python benchmarks/webhook_benchmark.py [--events 20000] [--runs 5]
        [--batch-size 100] [--databases sqlite,postgres]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test] [--write docs/benchmarks.md]

A fresh database per run and mode is filled with the events two crawl passes over a
thousand servers would write (built by `crawler.domain.events`, stored by the crawler's
outbox). `cds-crawler events deliver --json` then delivers them, as a subprocess, to one
webhook sink: a receiver on 127.0.0.1 in a process of its own that verifies every Standard
Webhooks signature and counts what it gets. Its wall time, CPU time and peak RSS come from
`os.wait4`. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import (
    WELL_KNOWN,
    BenchmarkError,
    ChildProcess,
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
    from collections.abc import Callable, Iterator, Sequence
    from multiprocessing.connection import Connection

    from crawler.domain.events import Event
    from crawler.testing import Request, Response

RECEIVER_HOST = "127.0.0.1"
HOOK_PATH = "/hooks/cds"
SECRET = "whsec_" + base64.b64encode(b"the webhook benchmark's shared secret").decode()
SINGLE_TYPE = "application/cloudevents+json"
BATCH_TYPE = "application/cloudevents-batch+json"

ENTRIES = 12  # coverage entries each server lists in the first pass
CHANGED_ENTRIES = 5  # of which the second pass changes these, and removes the last
EVENTS_PER_SERVER = 1 + ENTRIES + 1 + CHANGED_ENTRIES + 1
APPEND_CHUNK = 500  # events written per transaction, as a crawl batch writes them
FIRST_PASS = datetime(2025, 6, 1, 8, tzinfo=UTC)
SECOND_PASS = FIRST_PASS + timedelta(days=1)
DELIVER_TIMEOUT_S = 1800.0

TARGET_BATCHED_PER_S = 1000.0


# --- the events ------------------------------------------------------------------------------


def server_url(server: int) -> str:
    # Only a subject: the events are written directly, nothing is fetched from it.
    return f"https://utility-{server:04d}.example{WELL_KNOWN}"


def metadata_document(server: int, *, revised: bool) -> dict[str, Any]:
    """The server's document; the revised one is updated later, describes itself anew and
    lists one capability more."""
    home = f"https://utility-{server:04d}.example"
    return {
        "cds_metadata_version": "v1",
        "cds_metadata_url": server_url(server),
        "created": "2024-01-15T08:00:00Z",
        "updated": "2025-05-20T09:00:00Z" if revised else "2025-03-01T12:30:00Z",
        "name": f"Benchmark Utility {server:04d}",
        "description": f"Fictional utility number {server} for the webhook benchmark."
        + (" Coverage revised." if revised else ""),
        "website": f"{home}/data-access",
        "documentation": f"{home}/data-access/docs",
        "support": f"{home}/developers/contact",
        "capabilities": ["coverage", "oauth"] if revised else ["coverage"],
        "coverage": f"{home}/coverage",
    }


def coverage_entry(server: int, number: int, *, revised: bool) -> dict[str, Any]:
    """Entry `number` of the server's listing; the revised one is renamed and gains a
    commodity."""
    home = f"https://utility-{server:04d}.example"
    return {
        "id": f"territory-{number:02d}",
        "created": "2024-01-01T00:00:00Z",
        "updated": "2025-05-20T09:00:00Z" if revised else "2025-03-01T12:30:00Z",
        "entity_name": f"Benchmark Utility {server:04d}",
        "entity_abbreviation": f"BU{server:04d}",
        "country": "US",
        "name": f"Service territory {number} of utility {server:04d}"
        + (" (extended)" if revised else ""),
        "type": "geographic",
        "role": "authoritative",
        "infrastructure_types": ["distribution_utility"],
        "commodity_types": ["electricity", "natural_gas"] if revised else ["electricity"],
        "capabilities": [],
        "geojson_resource": f"{home}/territories/territory-{number:02d}.geojson",
    }


def first_pass_events(server: int) -> list[Event]:
    """The server discovered, and each entry of its listing added (as `parse_coverage_page`
    maps it)."""
    from crawler.domain import events
    from crawler.domain.coverage import parse_coverage_page

    url, at = server_url(server), FIRST_PASS + timedelta(seconds=server)
    document = metadata_document(server, revised=False)
    listing = {
        "coverage_entries": [coverage_entry(server, n, revised=False) for n in range(ENTRIES)],
        "next": None,
        "previous": None,
    }
    page = parse_coverage_page(listing, document["coverage"])
    added = [events.entry_added(url, e.entry_id, 1, e.model(), at) for e in page.entries]
    return [events.server_discovered(url, 1, document, at), *added]


def second_pass_events(server: int) -> list[Event]:
    """The document changed, some entries changed, the last entry removed."""
    from crawler.domain import events

    url, at = server_url(server), SECOND_PASS + timedelta(seconds=server)
    old, new = metadata_document(server, revised=False), metadata_document(server, revised=True)
    changed = [
        events.entry_changed(
            url,
            f"territory-{n:02d}",
            2,
            coverage_entry(server, n, revised=False),
            coverage_entry(server, n, revised=True),
            at,
        )
        for n in range(CHANGED_ENTRIES)
    ]
    removed = events.entry_removed(url, f"territory-{ENTRIES - 1:02d}", 1, at)
    return [events.server_changed(url, 2, old, new, at), *changed, removed]


def generate(count: int) -> list[list[Event]]:
    """`count` events as two crawl passes write them, in order: every server's first-pass
    events, then every server's second-pass events (cut short to make `count`)."""
    servers = math.ceil(count / EVENTS_PER_SERVER)
    first = [event for server in range(servers) for event in first_pass_events(server)]
    second = [event for server in range(servers) for event in second_pass_events(server)]
    return [first[:count], second[: max(0, count - len(first))]]


def mean_event_bytes(passes: list[list[Event]]) -> float:
    """The mean size of the events as CloudEvents JSON."""
    import orjson

    from crawler.domain.events import cloudevent

    sizes = [
        len(orjson.dumps(cloudevent(1, e.event_id, e.type, e.subject, e.time, e.data)))
        for events in passes
        for e in events
    ]
    return statistics.fmean(sizes)


async def _fill(database_url: str, passes: list[list[Event]]) -> None:
    from crawler.pipeline.outbox import Outbox
    from storage.engine import create_engine
    from storage.migrate import ensure_schema
    from storage.repositories import crawls

    engine = create_engine(database_url)
    try:
        await ensure_schema(engine)
        for events, started in zip(passes, (FIRST_PASS, SECOND_PASS), strict=True):
            async with engine.begin() as conn:
                crawl_id = await crawls.start(conn, started)
            for start in range(0, len(events), APPEND_CHUNK):
                outbox = Outbox()
                for event in events[start : start + APPEND_CHUNK]:
                    outbox.add(event, None, crawl_id)
                async with engine.begin() as conn:
                    await outbox.flush(conn)
    finally:
        await engine.dispose()


def fill(database_url: str, passes: list[list[Event]]) -> None:
    asyncio.run(_fill(database_url, passes))


# --- the receiver process --------------------------------------------------------------------


class Tally:
    """What the receiver got since its last report. The server thread counts, the main thread
    reports, hence the lock."""

    def __init__(self, expected_ids: Sequence[str]) -> None:
        self._expected = frozenset(expected_ids)
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.counts: Counter[str] = Counter()
        self._seen: set[str] = set()
        self._last_sequence: dict[str, int] = {}
        self._first_at: float | None = None
        self._last_at: float | None = None
        self._cpu_at_reset = time.process_time()

    def bad_signature(self) -> None:
        with self._lock:
            self.counts["requests"] += 1
            self.counts["bad_signatures"] += 1

    def accepted(self, request: Request, payload: Any, arrived_at: float) -> None:
        """Count a request whose signature verified, and the events of its body."""
        batch = isinstance(payload, list)
        with self._lock:
            counts = self.counts
            counts["requests"] += 1
            counts["batch_requests" if batch else "single_requests"] += 1
            if request.headers.get("content-type") != (BATCH_TYPE if batch else SINGLE_TYPE):
                counts["wrong_content_type"] += 1
            if not batch and request.headers.get("webhook-id") != _event_id(payload):
                counts["webhook_id_not_event_id"] += 1
            for event in payload if batch else [payload]:
                self._event(event)
            self._first_at = arrived_at if self._first_at is None else self._first_at
            self._last_at = time.perf_counter()

    def _event(self, event: Any) -> None:
        self.counts["events"] += 1
        if not _is_cloudevent(event):
            self.counts["malformed"] += 1
            return
        event_id, subject, sequence = event["id"], event["subject"], event["sequence"]
        if event_id not in self._expected:
            self.counts["unexpected"] += 1
        if event_id in self._seen:
            self.counts["duplicates"] += 1
        elif sequence <= self._last_sequence.get(subject, 0):
            self.counts["out_of_order"] += 1
        self._seen.add(event_id)
        self._last_sequence[subject] = max(sequence, self._last_sequence.get(subject, 0))

    def report(self, connections: int) -> dict[str, Any]:
        """The counts since the last report, as plain values (the parent cannot unpickle
        this module's classes from a spawned child); then start counting anew."""
        with self._lock:
            first, last = self._first_at, self._last_at
            span = last - first if first is not None and last is not None else 0.0
            found = {
                "counts": dict(self.counts),
                "distinct": len(self._seen),
                "subjects": len(self._last_sequence),
                "span_s": span,
                "cpu_s": time.process_time() - self._cpu_at_reset,
                "connections": connections,
            }
            self._reset()
        return found


def _event_id(payload: Any) -> Any:
    return payload.get("id") if isinstance(payload, dict) else None


def _is_cloudevent(event: Any) -> bool:
    return (
        isinstance(event, dict)
        and event.get("specversion") == "1.0"
        and isinstance(event.get("id"), str)
        and isinstance(event.get("subject"), str)
        and isinstance(event.get("sequence"), int)
        and isinstance(event.get("data"), dict)
    )


def receive(secret: str, expected_ids: list[str], conn: Connection) -> None:
    """The receiver process: verify and count every delivery until told to stop, reporting
    the counts on each "stats"."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    from crawler.testing import LoopbackServer, Response

    webhook = Webhook(secret)
    tally = Tally(expected_ids)
    delivered, refused = Response(204), Response(400, b"bad signature\n")

    async def handle(request: Request, writer: asyncio.StreamWriter) -> Response:
        arrived_at = time.perf_counter()
        try:
            payload = webhook.verify(request.body, dict(request.headers))
        except WebhookVerificationError:
            tally.bad_signature()
            return refused
        tally.accepted(request, payload, arrived_at)
        return delivered

    server = LoopbackServer([RECEIVER_HOST])
    server.route(HOOK_PATH, handle)
    try:
        stop_serving = server.start_in_thread()
    except OSError as exc:
        conn.send(("error", str(exc)))
        return
    conn.send(("ready", server.port))
    accepted = 0
    try:
        while _asked_for_stats(conn):
            conn.send(tally.report(server.connections - accepted))
            accepted = server.connections
    finally:
        stop_serving()


def _asked_for_stats(conn: Connection) -> bool:
    """Wait for the parent's next message: True for "stats", False for "stop" or a closed
    pipe."""
    try:
        return bool(conn.recv() == "stats")
    except EOFError:
        return False


@dataclass(frozen=True, slots=True)
class Received:
    """What the receiver counted over one delivery."""

    counts: dict[str, int]
    distinct: int  # event ids
    subjects: int
    span_s: float  # from the first request's arrival to the last one's answer
    cpu_s: float  # the receiver process's CPU time
    connections: int  # TCP connections accepted

    def __getitem__(self, name: str) -> int:
        return self.counts.get(name, 0)


class ReceiverProcess(ChildProcess):
    """The receiver, in a process of its own, as the site servers of the other benchmarks
    run."""

    def __init__(self, expected_ids: list[str]) -> None:
        super().__init__(receive, (SECRET, expected_ids), "the receiver")
        self.url = f"http://{RECEIVER_HOST}:{self.ready}{HOOK_PATH}"

    def received(self) -> Received:
        """What it got since the last call."""
        return Received(**self.ask("stats"))


@contextlib.contextmanager
def running_receiver(expected_ids: list[str]) -> Iterator[ReceiverProcess]:
    receiver = ReceiverProcess(expected_ids)
    try:
        yield receiver
    finally:
        receiver.stop()


# --- one delivery ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mode:
    """How the sink sends: `batch_size` events per request, or one (`batch_size` None)."""

    batch_size: int | None

    @property
    def label(self) -> str:
        if self.batch_size is None:
            return "one event per request"
        return f"batched ({self.batch_size} per request)"

    def sink_table(self, url: str) -> str:
        lines = ["[[sinks]]", 'type = "webhook"', f'url = "{url}"', f'secret = "{SECRET}"']
        if self.batch_size is not None:
            lines += ["batch = true", f"batch_size = {self.batch_size}"]
        return "\n".join(lines) + "\n"

    def requests_for(self, events: int) -> int:
        return events if self.batch_size is None else math.ceil(events / self.batch_size)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One measured `events deliver --json` of every stored event, then one with nothing
    pending."""

    events: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    received: Received
    idle_wall_s: float

    @property
    def per_s(self) -> float:
        return self.events / self.wall_s

    @property
    def per_span_s(self) -> float:
        return self.events / self.received.span_s if self.received.span_s else 0.0


def deliver_command(args: argparse.Namespace, config: Path) -> list[str]:
    return [*args.crawler, "events", "deliver", "--json", "--config", str(config)]


def deliver_all(
    database_url: str, mode: Mode, receiver: ReceiverProcess, args: argparse.Namespace
) -> tuple[Delivery, list[str]]:
    """Deliver every event, then run again with nothing pending; the figures and what is
    wrong with either run."""
    with tempfile.TemporaryDirectory(prefix="cds-bench-work-") as workdir:
        config = Path(workdir, "cds.toml")
        config.write_text(mode.sink_table(receiver.url), encoding="utf-8")
        command, env = deliver_command(args, config), crawler_env(database_url)
        receiver.received()  # start counting afresh
        done = measure(command, env, workdir, DELIVER_TIMEOUT_S)
        received = receiver.received()
        idle = measure(command, env, workdir, DELIVER_TIMEOUT_S)
        idle_received = receiver.received()
    sink = f"webhook:{receiver.url}"
    problems = [
        *check_report(json.loads(done.stdout).get(sink), args.events, "delivery"),
        *check_report(json.loads(idle.stdout).get(sink), 0, "nothing pending"),
        *check_received(received, mode, args.events),
        *check_progress(database_url, sink, args.events),
    ]
    if idle_received["requests"]:
        problems.append(f"nothing pending, yet {idle_received['requests']} requests were sent")
    delivery = Delivery(
        args.events, done.wall_s, done.cpu_s, done.peak_rss_mb, received, idle.wall_s
    )
    return delivery, problems


def check_report(report: Any, delivered: int, label: str) -> list[str]:
    """`events deliver --json`'s report of the sink: `delivered` events, none dead-lettered,
    idle."""
    if not isinstance(report, dict):
        return [f"{label}: the report names no webhook sink"]
    expected = {"delivered": delivered, "dead_lettered": 0, "state": "idle", "error": None}
    return [
        f"{label}: the report says {key} = {report.get(key)!r}, expected {value!r}"
        for key, value in expected.items()
        if report.get(key) != value
    ]


def check_received(received: Received, mode: Mode, events: int) -> list[str]:
    """Every event once, verified and in order per subject, in as many requests as the mode
    makes."""
    problems = [
        f"the receiver counted {received[name]} {what}"
        for name, what in (
            ("bad_signatures", "requests whose signature did not verify"),
            ("duplicates", "events it already had (a retry)"),
            ("unexpected", "event ids that are not in the database"),
            ("out_of_order", "events not after their subject's previous event"),
            ("malformed", "bodies that are not CloudEvents with id, subject and sequence"),
            ("wrong_content_type", "requests with the wrong Content-Type"),
            ("webhook_id_not_event_id", "single-event requests whose webhook-id is not the id"),
        )
        if received[name]
    ]
    if (received["events"], received.distinct) != (events, events):
        problems.append(
            f"the receiver got {received['events']} events, {received.distinct} distinct, "
            f"not {events}"
        )
    wanted = mode.requests_for(events)
    kind = "single_requests" if mode.batch_size is None else "batch_requests"
    if (received["requests"], received[kind]) != (wanted, wanted):
        problems.append(
            f"{received['requests']} requests ({received[kind]} of the mode's kind), not {wanted}"
        )
    return problems


def check_progress(database_url: str, sink: str, events: int) -> list[str]:
    """The database holds `events` events, the sink's progress is at the last one, with no
    failed attempt pending, and no dead letter."""
    from storage.reader import open_reader

    with open_reader(database_url) as reader:
        stored = reader.rows("SELECT count(*) AS n, max(id) AS last FROM events")[0]
        progress = reader.rows(
            "SELECT last_event_id, attempts, disabled FROM sink_progress WHERE name = :sink",
            {"sink": sink},
        )
        dead = reader.rows("SELECT count(*) AS n FROM dead_letters")[0]["n"]
    problems = [] if stored["n"] == events else [f"{stored['n']} events stored, not {events}"]
    if not progress:
        return [*problems, "no progress recorded for the sink"]
    row = progress[0]
    if (row["last_event_id"], row["attempts"], bool(row["disabled"])) != (stored["last"], 0, False):
        problems.append(
            f"the sink's progress is {row}, expected the last event {stored['last']}, "
            "no attempts, enabled"
        )
    if dead:
        problems.append(f"{dead} dead letters")
    return problems


# --- one database ----------------------------------------------------------------------------


@dataclass(slots=True)
class DatabaseResult:
    kind: str
    fill_s: list[float] = field(default_factory=list)
    deliveries: dict[Mode, list[Delivery]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def bench_database(
    kind: str,
    args: argparse.Namespace,
    passes: list[list[Event]],
    receiver: ReceiverProcess,
    log: Callable[[str], None],
) -> DatabaseResult:
    result = DatabaseResult(kind, deliveries={mode: [] for mode in args.modes})
    for run in range(args.runs):
        # The modes take turns, so that a change in the machine's load falls on both.
        modes = args.modes if run % 2 == 0 else args.modes[::-1]
        for mode in modes:
            with fresh_database(kind, args.postgres_url, run) as url:
                started = time.perf_counter()
                fill(url, passes)
                result.fill_s.append(time.perf_counter() - started)
                try:
                    delivery, problems = deliver_all(url, mode, receiver, args)
                except BenchmarkError as exc:
                    result.problems.append(f"{mode.label}: {exc}")
                    continue
            result.deliveries[mode].append(delivery)
            result.problems += [f"{mode.label}: {problem}" for problem in problems]
            log(
                f"{kind} run {run + 1}/{args.runs}, {mode.label}: {delivery.wall_s:.2f}s, "
                f"{delivery.per_s:,.0f} events/s (wall), {delivery.per_span_s:,.0f} events/s "
                "(receiver's span)"
            )
    return result


# --- the report ------------------------------------------------------------------------------


def measures(result: DatabaseResult) -> dict[str, Measure]:
    rows: dict[str, Measure] = {}
    for mode, runs in result.deliveries.items():
        label = mode.label

        def values(figure: Callable[[Delivery], float], runs: list[Delivery] = runs) -> list[float]:
            return [figure(run) for run in runs]

        rows |= {
            f"{label}: wall (s)": Measure(values(lambda d: d.wall_s), 2),
            f"{label}: events/s (wall)": Measure(values(lambda d: d.per_s), 0),
            f"{label}: events/s (receiver's span)": Measure(values(lambda d: d.per_span_s), 0),
            f"{label}: requests": Measure(values(lambda d: d.received["requests"]), 0),
            f"{label}: TCP connections accepted": Measure(
                values(lambda d: d.received.connections), 0
            ),
            f"{label}: crawler CPU time (s)": Measure(values(lambda d: d.cpu_s), 2),
            f"{label}: crawler CPU / wall": Measure(values(lambda d: d.cpu_s / d.wall_s), 2),
            f"{label}: crawler peak RSS (MB)": Measure(values(lambda d: d.peak_rss_mb), 1),
            f"{label}: receiver CPU time (s)": Measure(values(lambda d: d.received.cpu_s), 2),
        }
    idle = [d.idle_wall_s for runs in result.deliveries.values() for d in runs]
    rows["`events deliver` with nothing pending: wall (s)"] = Measure(idle, 2)
    rows["filling the database (s, not timed)"] = Measure(result.fill_s, 1)
    return rows


def batched(result: DatabaseResult) -> list[Delivery]:
    return next((runs for mode, runs in result.deliveries.items() if mode.batch_size), [])


def targets(result: DatabaseResult) -> list[Target]:
    rates = [d.per_s for d in batched(result)]
    return [
        Target(
            f"batched delivery >= {TARGET_BATCHED_PER_S:,.0f} events/s (median, wall)",
            statistics.median(rates) if rates else None,
            lambda v: v >= TARGET_BATCHED_PER_S,
        )
    ]


def reading_notes(results: list[DatabaseResult]) -> list[str]:
    """Where the time goes, from the medians: start-up, and the time per request."""
    lines = ["### Reading the figures", ""]
    for result in results:
        for mode, runs in result.deliveries.items():
            if not runs:
                continue
            wall = statistics.median(d.wall_s for d in runs)
            span = statistics.median(d.received.span_s for d in runs)
            requests = statistics.median(d.received["requests"] for d in runs)
            idle = statistics.median(d.idle_wall_s for d in runs)
            lines.append(
                f"- {result.kind}, {mode.label}: of {wall:.2f} s of wall time, {span:.2f} s "
                f"pass between the first request and the last answer, "
                f"{span / requests * 1000:.2f} ms per request; the rest is start-up, the "
                f"schema check and the exit (`events deliver` with nothing pending takes "
                f"{idle:.2f} s)."
            )
    return [*lines, ""]


def report(
    results: list[DatabaseResult], args: argparse.Namespace, passes: list[list[Event]]
) -> str:
    """The webhook section of docs/benchmarks.md."""
    problems = [(r.kind, problem) for r in results for problem in r.problems]
    problems += [("all", problem) for problem in code_changed(args.code_digest)]
    kinds = [r.kind for r in results]
    types = Counter(event.type for events in passes for event in events)
    mix = ", ".join(f"{count:,} `{name}`" for name, count in sorted(types.items()))
    servers = math.ceil(args.events / EVENTS_PER_SERVER)
    crawler = crawler_name(args)
    return "\n".join(
        [
            *section_header("Webhook delivery benchmark", "webhook_benchmark.py", args),
            "### Method",
            "",
            f"- Events: {args.events:,}, as two crawl passes over {servers:,} servers write "
            f"them: the first discovers each server and adds its {ENTRIES} coverage entries "
            "(the entry as `parse_coverage_page` maps it); the second changes its document "
            "(`changes` and an RFC 6902 `patch`), changes "
            f"{CHANGED_ENTRIES} entries and removes one. {mix}; "
            f"{mean_event_bytes(passes):,.0f} bytes per CloudEvent on average. Built by the "
            "`crawler.domain.events` builders and written by the crawler's `Outbox` "
            f"(`storage.repositories.events.append`), {APPEND_CHUNK} per transaction, on a "
            "schema made by `storage.migrate.ensure_schema`. Filling is not timed.",
            f"- Receiver: `crawler.testing.LoopbackServer` on {RECEIVER_HOST} in a process of "
            "its own. It verifies every request with `standardwebhooks.Webhook(secret).verify` "
            "(the HMAC-SHA256 signature and the timestamp's tolerance, then parses the "
            "body), counts the events of each single CloudEvent or batch array, and answers "
            "204 (400 to a signature that does not verify).",
            f"- Crawler: `{crawler} events deliver --json --config FILE` as a subprocess, "
            "with one `[[sinks]]` table of type `webhook`, the receiver's `url` and a "
            "`whsec_` `secret`: once with `batch = true` and "
            f"`batch_size = {args.batch_size}` (a JSON array per request), once without "
            "(a POST per event).",
            f"- Each of {args.runs} runs per database and mode, the modes taking turns: a "
            "fresh database (SQLite: a new temporary file; Postgres: a new database, "
            "dropped afterwards), filled; the delivery of every event; then `events deliver` "
            "again with nothing pending.",
            "- Wall time, CPU time (user + system) and peak RSS (`ru_maxrss`) are the "
            "crawler process's, from `os.wait4`, interpreter start-up and schema check "
            "included; events/s (wall) divides the events by that wall time. `events "
            "deliver --json` reports no duration of its own, so events/s (receiver's span) "
            "divides them by the time from the first request's arrival to the last one's "
            "answer at the receiver.",
            "- Correctness, every run: the report names the sink with every event "
            "delivered, none dead-lettered, state `idle`; the receiver got each event id of "
            "the database exactly once, every signature verified, every event after its "
            "subject's previous one (by `sequence`), CloudEvents of the right Content-Type, "
            "`webhook-id` equal to the event's id for single events, and as many requests as "
            "the mode makes; the sink's progress in the database is at the last event, with "
            "no failed attempt and no dead letter; the run with nothing pending reports 0 "
            "delivered and sends no request.",
            "",
            *outcome(
                results_table(kinds, [measures(r) for r in results]),
                targets_table(kinds, [targets(r) for r in results]),
                problems,
            ),
            *reading_notes(results),
        ]
    )


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=20_000, help="events delivered per run")
    parser.add_argument("--runs", type=int, default=5, help="fresh-database runs per mode")
    parser.add_argument(
        "--batch-size", type=int, default=100, help="events per request when batched"
    )
    add_common_arguments(parser)
    args = parse_common(parser, argv)
    if min(args.events, args.runs, args.batch_size) < 1:
        parser.error("--events, --runs and --batch-size must be at least 1")
    args.modes = [Mode(args.batch_size), Mode(None)]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)

    def work(log: Callable[[str], None]) -> tuple[str, bool]:
        passes = generate(args.events)
        expected_ids = [event.event_id for events in passes for event in events]
        if len(set(expected_ids)) != args.events:
            raise BenchmarkError("the generated events do not have distinct ids")
        with running_receiver(expected_ids) as receiver:
            log(f"receiving at {receiver.url}")
            results = [bench_database(kind, args, passes, receiver, log) for kind in args.databases]
        problems = any(r.problems for r in results) or code_changed(args.code_digest)
        return report(results, args, passes), bool(problems)

    return run_benchmark(args, "webhook", work)


if __name__ == "__main__":
    sys.exit(main())

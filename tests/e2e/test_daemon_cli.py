"""`cds-crawler run`: the daemon polls on its schedule, picks up changes and new publishers,
delivers their events, honours Retry-After, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.request
from pathlib import Path
from typing import Any

from crawler.testing import LoopbackServer, Request, Response
from storage.reader import open_reader
from tests.cli import run_cli
from tests.daemon import delivered, free_port, jsonl_sink, running_daemon, wait_for
from tests.federation import LOOPBACK, WELL_KNOWN, metadata_document


def publish(server: LoopbackServer, **members: Any) -> None:
    document = metadata_document(server.url(WELL_KNOWN), **members)
    server.route(WELL_KNOWN, Response.json(document, etag=True))


def add_seed(database_url: str, server: LoopbackServer) -> None:
    added = run_cli(database_url, "seeds", "add", server.url(WELL_KNOWN), env=LOOPBACK)
    assert added.code == 0, added.stderr


def event_types(events: Path) -> list[str]:
    return [event["type"] for event in delivered(events)]


def stored_event_ids(database_url: str) -> list[str]:
    with open_reader(database_url) as reader:
        return [row["event_id"] for row in reader.rows("SELECT event_id FROM events ORDER BY id")]


def test_the_daemon_re_polls_picks_up_changes_delivers_their_events_and_stops_on_sigterm(
    database_url: str, server: LoopbackServer, tmp_path: Path
) -> None:
    publish(server)
    add_seed(database_url, server)
    config, events = jsonl_sink(tmp_path)

    with running_daemon(database_url, tmp_path / "daemon.log", "--config", str(config)) as daemon:
        wait_for("the discovery event", lambda: "cds.server.discovered" in event_types(events))
        wait_for("three polls", lambda: server.requests[WELL_KNOWN] >= 3)
        publish(server, name="Renamed Utility")
        wait_for("the change event", lambda: "cds.server.changed" in event_types(events))
        code = daemon.stop(signal.SIGTERM)

    assert code == 0
    assert server.conditional[WELL_KNOWN] >= 2  # re-polls send the stored ETag back
    assert [e["id"] for e in delivered(events)] == stored_event_ids(database_url)
    logged = daemon.log_lines()
    assert any(line["event"] == "started" for line in logged)
    assert logged[-1]["event"] == "stopped"
    assert {line["level"] for line in logged} <= {"info", "warning"}


def test_a_seed_that_starts_publishing_is_discovered_within_its_probe_interval(
    database_url: str, server: LoopbackServer, tmp_path: Path
) -> None:
    add_seed(database_url, server)  # nothing published there yet: 404
    config, events = jsonl_sink(tmp_path)

    with running_daemon(database_url, tmp_path / "daemon.log", "--config", str(config)) as daemon:
        wait_for("two probes", lambda: server.requests[WELL_KNOWN] >= 2)
        assert event_types(events) == []
        publish(server)
        started = time.monotonic()
        wait_for("the discovery", lambda: "cds.server.discovered" in event_types(events))
        found_after = time.monotonic() - started
        assert daemon.stop() == 0

    # The longest probe interval (2 s), then at most the worker's idle wait between claims
    # (1 s), the poll, and the next delivery (0.3 s).
    assert found_after < 2 + 1 + 1


def test_a_seed_added_while_the_daemon_runs_is_polled(
    database_url: str, server: LoopbackServer, tmp_path: Path
) -> None:
    with running_daemon(database_url, tmp_path / "daemon.log") as daemon:
        wait_for("the daemon to start", lambda: daemon.log_lines())
        publish(server)
        add_seed(database_url, server)
        wait_for("the new seed's first poll", lambda: server.requests[WELL_KNOWN] >= 1)
        assert daemon.stop() == 0


def test_retry_after_keeps_the_daemon_away_for_as_long_as_asked(
    database_url: str, server: LoopbackServer, tmp_path: Path
) -> None:
    arrivals: list[float] = []
    busy = Response(503, b"maintenance\n", {"Retry-After": "3"})

    async def maintenance(_request: Request, _writer: asyncio.StreamWriter) -> Response:
        arrivals.append(time.monotonic())
        return busy

    server.route(WELL_KNOWN, maintenance)
    add_seed(database_url, server)

    with running_daemon(database_url, tmp_path / "daemon.log") as daemon:
        wait_for("a second request", lambda: len(arrivals) >= 2, timeout=20)
        assert daemon.stop() == 0

    assert arrivals[1] - arrivals[0] >= 3  # never sooner, though the schedule says 1-2 s


def test_healthz_and_metrics(database_url: str, server: LoopbackServer, tmp_path: Path) -> None:
    publish(server)
    add_seed(database_url, server)
    port = free_port()

    def get(path: str) -> tuple[int, bytes]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, answer.read()

    with running_daemon(
        database_url, tmp_path / "daemon.log", CDS_CRAWLER_HTTP_PORT=str(port)
    ) as daemon:
        wait_for("a poll", lambda: server.requests[WELL_KNOWN] >= 2)
        status, health = wait_for("/healthz", lambda: _quietly(get, "/healthz"))
        wait_for(
            "the frontier gauges", lambda: b"cds_crawler_frontier_targets 1.0" in get("/metrics")[1]
        )
        _, metrics = get("/metrics")
        assert daemon.stop() == 0

    assert status == 200
    assert json.loads(health)["healthy"] is True
    text = metrics.decode()
    assert 'cds_crawler_polls_total{change="new"} 1.0' in text
    assert 'cds_crawler_fetches_total{outcome="ok"}' in text
    assert "cds_crawler_fetch_seconds_bucket" in text


def _quietly(get: Any, path: str) -> Any:
    try:
        return get(path)
    except OSError:
        return None


def test_a_second_daemon_on_one_sqlite_file_exits_with_a_clear_message(
    tmp_path: Path, sqlite_template: Path
) -> None:
    database = tmp_path / "crawler.sqlite3"
    database.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite+aiosqlite:///{database}"
    with running_daemon(url, tmp_path / "first.log") as first:
        wait_for("the first daemon to start", lambda: first.log_lines())
        second = run_cli(url, "run", env=LOOPBACK | {"CDS_CRAWLER_HTTP_PORT": "0"})
        assert first.stop() == 0

    assert second.code == 1
    assert "another `cds-crawler run` is using" in second.stderr

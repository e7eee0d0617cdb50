"""Run `cds-crawler run` as a real subprocess, with a fast schedule, and watch what it does."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.federation import LOOPBACK

# Intervals of a second or two, so that a test sees several polls of each target.
FAST = {
    "CDS_CRAWLER_POLL_MIN_INTERVAL": "1",
    "CDS_CRAWLER_POLL_MAX_INTERVAL": "2",
    "CDS_CRAWLER_PROBE_MIN_INTERVAL": "1",
    "CDS_CRAWLER_PROBE_MAX_INTERVAL": "2",
    "CDS_CRAWLER_DELIVERY_INTERVAL": "0.3",
    "CDS_CRAWLER_RETRY_BACKOFF": "0.05",
    "CDS_CRAWLER_HTTP_PORT": "0",
}


class Daemon:
    """A `cds-crawler run` subprocess; its stderr (the log) goes to a file."""

    def __init__(self, database_url: str, log: Path, *args: str, **env: str) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CDS_CRAWLER_")}
        environment |= {"CDS_CRAWLER_DATABASE_URL": database_url, **LOOPBACK, **FAST, **env}
        self.log = log
        self._stderr = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crawler", *args, "run"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            env=environment,
        )

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send `signum`; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout)
        finally:
            self._stderr.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)
        self._stderr.close()

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (stderr is not a terminal)."""
        lines = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                lines.append(json.loads(line))
        return lines


@contextmanager
def running_daemon(database_url: str, log: Path, *args: str, **env: str) -> Iterator[Daemon]:
    daemon = Daemon(database_url, log, *args, **env)
    try:
        yield daemon
    finally:
        if daemon.process.poll() is None:
            daemon.kill()


def wait_for(what: str, condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll `condition` until it is truthy (its value is returned); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def jsonl_sink(tmp_path: Path) -> tuple[Path, Path]:
    """A config file with one JSON-lines sink, and the file it writes."""
    events = tmp_path / "events.jsonl"
    config = tmp_path / "crawler.toml"
    config.write_text(f'[[sinks]]\ntype = "jsonl"\npath = "{events}"\n')
    return config, events


def delivered(events: Path) -> list[dict[str, Any]]:
    if not events.exists():
        return []
    return [json.loads(line) for line in events.read_text().splitlines() if line.strip()]

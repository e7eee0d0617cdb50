"""`cds-crawler serve` as a subprocess on a free loopback port, for the browser and packaging
tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

SERVE_STARTUP_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVE_STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`serve` exited with {process.returncode}:\n{log.read_text()}")
        try:
            httpx.get(url, timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
        else:
            return
    pytest.fail(f"`serve` did not answer within {SERVE_STARTUP_SECONDS} s:\n{log.read_text()}")


@contextmanager
def serving(
    database_url: str,
    log: Path,
    env: dict[str, str] | None = None,
    python: Sequence[str] = (sys.executable,),
    cwd: Path | None = None,
) -> Iterator[str]:
    """`cds-crawler serve` on a free loopback port, as a subprocess of `python` (the command
    that starts the interpreter); yields its base URL."""
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CDS_CRAWLER_")} | {
        "CDS_CRAWLER_DATABASE_URL": database_url,
        **(env or {}),
    }
    command = [*python, "-m", "crawler", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=output, cwd=cwd)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

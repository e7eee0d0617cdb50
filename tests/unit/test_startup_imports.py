"""`crawl` and `run` start without the geometry stack: shapely (and numpy under it) load only
when a territory is read, compared or changed, which a crawl without coverage never does.

rich is not checked: httpx (its command-line client) and structlog (its console renderer)
import it whenever it is installed."""

from __future__ import annotations

import subprocess
import sys

START_UP = "crawler.cli, crawler.pipeline.crawl, crawler.daemon.service"
NOT_AT_START_UP = ("shapely", "numpy", "crawler.domain.territory", "crawler.domain.overlaps")


def test_crawl_and_run_start_without_geometry() -> None:
    code = f"import sys, {START_UP}\nprint(*(m for m in {NOT_AT_START_UP!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == [], f"importing {START_UP} imports {result.stdout.strip()}"

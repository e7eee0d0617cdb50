"""Run the real command line in a subprocess, as operators and scripts do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(database_url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CDS_CRAWLER_")} | {
        "CDS_CRAWLER_DATABASE_URL": database_url,
        **(env or {}),
    }
    done = subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)

"""The package as `pip install .` installs it, which is what the Docker image runs: built into
a wheel and run from outside the source tree, it finds its migrations and the map page's
assets, and its commands work. Nothing here leaves loopback: the wheel is built and installed
offline, and the seeds are only parsed."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from storage.schema import SCHEMA_REVISION
from tests.serving import serving

ROOT = Path(__file__).resolve().parents[2]
PIP_TIMEOUT_S = 180


@dataclass(frozen=True)
class Installed:
    python: list[str]  # starts the interpreter on the installed package, not the checkout
    env: dict[str, str]
    cwd: Path

    def run(self, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = self.env | {"CDS_CRAWLER_DATABASE_URL": database_url}
        return subprocess.run(
            [*self.python, "-m", "crawler", *args],
            env=env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args, "--no-deps", "--no-index", "--quiet"],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    if not (ROOT / "crawler/api/static/vendor/leaflet.js").exists():
        pytest.fail("the map page's assets are missing: run `make static`")
    work = tmp_path_factory.mktemp("installed")
    pip("wheel", "--no-build-isolation", "--wheel-dir", str(work / "dist"), str(ROOT))
    (wheel,) = (work / "dist").glob("cds_crawler-*.whl")
    pip("install", "--target", str(work / "site"), str(wheel))
    # -S: no site processing, so the checkout's editable install is not on the path; the
    # dependencies come from this environment's site-packages.
    dependencies = sysconfig.get_paths()["purelib"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_CRAWLER_")}
    env["PYTHONPATH"] = os.pathsep.join([str(work / "site"), dependencies])
    return Installed([sys.executable, "-S"], env, work)


def test_the_installed_package_is_the_one_that_runs(installed: Installed) -> None:
    done = subprocess.run(
        [
            *installed.python,
            "-c",
            "import crawler, storage; print(crawler.__file__, storage.__file__)",
        ],
        env=installed.env,
        cwd=installed.cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    for module_file in done.stdout.split():
        assert Path(module_file).is_relative_to(installed.cwd / "site")


def test_it_creates_a_schema_with_the_migrations_it_ships(
    installed: Installed, tmp_path: Path
) -> None:
    # A new file: the test databases come migrated already, which would need no migration.
    path = tmp_path / "new.sqlite3"
    upgraded = installed.run(f"sqlite+aiosqlite:///{path}", "db", "upgrade")

    assert upgraded.returncode == 0, upgraded.stderr
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (SCHEMA_REVISION,)
        ]


def test_it_imports_seeds_and_serves_the_map(
    installed: Installed, database_url: str, tmp_path: Path
) -> None:
    imported = installed.run(database_url, "seeds", "import", str(ROOT / "seeds/example.txt"))
    assert imported.returncode == 0, imported.stderr
    listed = installed.run(database_url, "seeds", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)

    log = tmp_path / "serve.log"
    with serving(database_url, log, installed.env, installed.python, installed.cwd) as base:
        page = httpx.get(base, timeout=10)
        leaflet = httpx.get(f"{base}static/vendor/leaflet.js", timeout=10)
        servers = httpx.get(f"{base}v1/servers", timeout=10)

    assert page.status_code == 200
    assert "leaflet" in page.text.lower()
    assert leaflet.status_code == 200
    assert servers.status_code == 200
    assert servers.json()["items"] == []  # seeds only: nothing crawled

"""docker-compose.yml and the Dockerfile against the code, without Docker: every command is a
real subcommand, every variable a real setting, every port and grace period the code's own."""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import yaml
from typer.testing import CliRunner

from crawler.cli import app
from crawler.domain.seedlist import detect_format, parse_seed_list
from crawler.settings import ENV_PREFIX, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6}


@cache
def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _service(name: str) -> dict[str, Any]:
    service: dict[str, Any] = _compose()["services"][name]
    return service


def _built_services() -> list[str]:
    return [name for name, s in _compose()["services"].items() if "build" in s]


def _instructions(keyword: str) -> list[str]:
    """The arguments of every `keyword` instruction of the Dockerfile, in order."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    return re.findall(rf"^{keyword}\s+(.+)$", text, flags=re.MULTILINE)


def _command(name: str) -> list[str]:
    """The service's arguments to the image's ENTRYPOINT (the Dockerfile's CMD when unset)."""
    command = _service(name).get("command") or json.loads(_instructions("CMD")[-1])
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def _environment(name: str) -> dict[str, str]:
    env = _service(name).get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _parse(args: list[str]) -> dict[str, Any]:
    """The parameters the CLI parses from `args`; nothing runs, a usage error raises."""
    command = typer.main.get_command(app)
    rest = list(args)
    while isinstance(command, typer.core.TyperGroup):
        found = command.get_command(typer.Context(command), rest.pop(0))
        assert found is not None, f"{args}: no such subcommand"
        command = found
    return command.make_context(command.name, rest).params


def _settings(name: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings the service's process would run with: its flags, its environment, then
    the defaults (none of this machine's CDS_CRAWLER_* variables)."""
    for key in list(os.environ):
        if key.startswith(ENV_PREFIX):
            monkeypatch.delenv(key)
    for key, value in _environment(name).items():
        monkeypatch.setenv(key, value)
    params = _parse(_command(name))
    return load_settings({k: v for k, v in params.items() if k in Settings.model_fields})


def _healthcheck_url(name: str) -> str:
    test = " ".join(_service(name)["healthcheck"]["test"])
    [url] = re.findall(r"https?://[^'\"\s]+", test)
    return url


def _seconds(duration: str) -> float:
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|us|m|s)", duration)
    assert "".join(n + u for n, u in parts) == duration, f"not a duration: {duration!r}"
    return sum(float(n) * UNITS[u] for n, u in parts)


def test_compose_runs_postgres_with_a_named_volume_seeds_two_crawlers_and_the_api() -> None:
    compose = _compose()
    assert {"postgres", "seeds", "crawler", "api"} <= set(compose["services"])
    postgres = _service("postgres")
    assert postgres["image"] == "postgres:16"
    mounts = {v.split(":")[1]: v.split(":")[0] for v in postgres["volumes"]}
    assert mounts.get("/var/lib/postgresql/data") in (compose.get("volumes") or {})
    assert _service("crawler")["deploy"]["replicas"] == 2
    assert {"seeds", "crawler", "api"} <= set(_built_services())


def test_the_image_entrypoint_is_the_cds_crawler_console_script() -> None:
    assert json.loads(_instructions("ENTRYPOINT")[-1]) == ["cds-crawler"]
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"]["cds-crawler"] == "crawler.cli:main"


def test_every_file_the_dockerfile_copies_from_the_context_exists() -> None:
    for arguments in _instructions("COPY"):
        if arguments.startswith("--from"):
            continue
        *sources, _ = arguments.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {arguments}: no {source} in the repository"


def test_every_command_of_a_built_service_is_a_real_cli_invocation() -> None:
    for name in _built_services():
        args = _command(name)
        result = CliRunner().invoke(app, [*args, "--help"])
        assert result.exit_code == 0, f"{name}: cds-crawler {shlex.join(args)}\n{result.output}"
        _parse(args)  # and every value converts (a port in range, ...)


def test_every_compose_variable_is_a_setting_and_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _built_services():
        env = _environment(name)
        assert f"{ENV_PREFIX}DATABASE_URL" in env, f"{name} would use SQLite in the container"
        for key in env:
            if key.startswith(ENV_PREFIX):
                field = key.removeprefix(ENV_PREFIX).lower()
                assert field in Settings.model_fields, f"{name}: {key} is not a setting"
        _settings(name, monkeypatch)  # and every value validates


def test_the_database_url_is_the_postgres_services_own() -> None:
    postgres = _environment("postgres")
    for name in _built_services():
        url = urlsplit(_environment(name)[f"{ENV_PREFIX}DATABASE_URL"])
        assert url.hostname == "postgres"
        assert url.port in (None, 5432)
        assert url.username == postgres["POSTGRES_USER"]
        assert url.password == postgres["POSTGRES_PASSWORD"]
        assert url.path == "/" + postgres["POSTGRES_DB"]


def test_the_crawler_healthcheck_asks_the_daemons_ops_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = urlsplit(_healthcheck_url("crawler"))
    assert (url.port, url.path) == (_settings("crawler", monkeypatch).http_port, "/healthz")


def test_the_api_healthcheck_and_published_port_are_the_serve_port() -> None:
    serve = _parse(_command("api"))
    assert _command("api")[0] == "serve"
    assert serve["host"] == "0.0.0.0", "a published port needs serve to listen beyond loopback"
    url = urlsplit(_healthcheck_url("api"))
    assert (url.port, url.path) == (serve["port"], "/healthz")
    published = [str(p).split(":")[-1].split("/")[0] for p in _service("api")["ports"]]
    assert published == [str(serve["port"])]


def test_the_crawler_stop_grace_period_outlasts_the_daemons_stop_grace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    period = _seconds(_service("crawler")["stop_grace_period"])
    assert period > _settings("crawler", monkeypatch).stop_grace


def test_the_seed_file_the_seeds_service_imports_parses_without_errors() -> None:
    args = _command("seeds")
    assert args[:2] == ["seeds", "import"]
    file = PurePosixPath(_parse(args)["file"])
    host = None
    for volume in _service("seeds")["volumes"]:
        source, target = volume.split(":")[:2]
        if file.is_relative_to(target):
            host = ROOT / source / file.relative_to(target)
    assert host is not None, f"{file} is not on a volume of the seeds service"
    text = host.read_text(encoding="utf-8")
    parsed = parse_seed_list(text, detect_format(host.name, text))
    assert parsed.errors == ()
    assert parsed.entries

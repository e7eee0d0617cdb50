from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from crawler.settings import flag_fields
from tests.cli import Result, run_cli

WELL_KNOWN = "/.well-known/carbon-data-spec.json"
WIDE_HELP = {"COLUMNS": "250", "TERMINAL_WIDTH": "250"}

VALID_VALUES = {
    "user_agent": "config-test/1.0",
    "per_host_concurrency": "3",
    "per_host_rate": "2.5",
    "concurrency": "7",
    "poll_min_interval": "60",
    "poll_max_interval": "120",
    "http_port": "0",
    "probe_min_interval": "600",
    "probe_max_interval": "1200",
    "max_retry_after": "300",
    "lease_seconds": "30",
    "stop_grace": "2.5",
    "seed_refresh_interval": "900",
    "delivery_interval": "1.5",
    "connect_timeout": "1.5",
    "read_timeout": "2.5",
    "request_deadline": "9",
    "max_document_bytes": "4096",
    "max_geojson_bytes": "8192",
    "moved_recheck_interval": "3600",
    "retry_attempts": "2",
    "retry_backoff": "0.1",
    "flap_window": "60",
    "max_redirects": "2",
    "max_link_depth": "3",
    "max_links_per_document": "20",
    "max_coverage_pages": "7",
    "max_coverage_entries": "70",
    "coverage_sweep_interval": "600",
    "coverage_spot_checks": "4",
    "coverage_spot_check_interval": "60",
    "fetch_log_retention_days": "0",
    "api_token": "config-test-token",
    "api_cors_origins": "https://maps.example.org",
    "api_max_bbox_area": "100",
    "api_cache_max_age": "30",
}
NUMERIC_FIELDS = [name for name, field in flag_fields().items() if field.annotation in (int, float)]


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def every_setting_flag(database_url: str, config: Path) -> list[str]:
    args = ["--config", str(config), "--database-url", database_url]
    for name, field in flag_fields().items():
        if field.annotation is bool:
            args.append(flag(name))
        elif name != "database_url":
            args += [flag(name), VALID_VALUES[name]]
    return args


def invalid_numeric_flags() -> list[str]:
    return [f"{flag(name)}=-5" for name in NUMERIC_FIELDS]


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def seed_targets(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT target FROM seeds ORDER BY id")]


def assert_configuration_error(result: Result, *mentions: str) -> None:
    assert result.code == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("cds-crawler: ")
    for mention in mentions:
        assert mention in result.stderr


@pytest.fixture
def databases(sqlite_template: Path, tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name in ("flag", "env", "file", "before", "after"):
        paths[name] = tmp_path / f"{name}.sqlite3"
        shutil.copy(sqlite_template, paths[name])
    return paths


@pytest.fixture
def harmless_config(tmp_path: Path) -> Path:
    path = tmp_path / "harmless.toml"
    path.write_text("max_redirects = 4\n")
    return path


def test_valid_values_cover_every_non_boolean_setting() -> None:
    expected = {n for n, f in flag_fields().items() if f.annotation is not bool}
    assert set(VALID_VALUES) | {"database_url"} == expected


def test_python_m_crawler_help_lists_every_settings_flag() -> None:
    result = run_cli(sqlite_url(Path("unused.sqlite3")), "--help", env=WIDE_HELP)

    assert result.code == 0
    for name in flag_fields():
        assert flag(name) in result.stdout
    assert "--config" in result.stdout
    assert "--no-allow-http" in result.stdout


def test_subcommand_help_lists_every_settings_flag() -> None:
    result = run_cli(sqlite_url(Path("unused.sqlite3")), "seeds", "add", "--help", env=WIDE_HELP)

    assert result.code == 0
    for name in flag_fields():
        assert flag(name) in result.stdout
    assert "--config" in result.stdout


def test_every_setting_is_accepted_before_the_subcommand_and_beats_the_environment(
    databases: dict[str, Path], harmless_config: Path
) -> None:
    added = run_cli(
        sqlite_url(databases["env"]),
        *every_setting_flag(sqlite_url(databases["flag"]), harmless_config),
        "seeds",
        "add",
        "before.example.com",
        env={"CDS_CRAWLER_CONCURRENCY": "not-a-number"},
    )

    assert added.code == 0, added.stderr
    assert seed_targets(databases["flag"]) == ["before.example.com"]
    assert seed_targets(databases["env"]) == []
    listed = run_cli(
        sqlite_url(databases["env"]),
        "seeds",
        "list",
        "--json",
        "--database-url",
        sqlite_url(databases["flag"]),
    )
    assert listed.code == 0, listed.stderr
    assert [s["url"] for s in listed.json()] == [f"https://before.example.com{WELL_KNOWN}"]


def test_every_setting_is_accepted_after_the_subcommand_and_beats_the_environment(
    databases: dict[str, Path], harmless_config: Path
) -> None:
    added = run_cli(
        sqlite_url(databases["env"]),
        "seeds",
        "add",
        "after.example.com",
        *every_setting_flag(sqlite_url(databases["flag"]), harmless_config),
        env={"CDS_CRAWLER_HTTP_PORT": "-1"},
    )

    assert added.code == 0, added.stderr
    assert seed_targets(databases["flag"]) == ["after.example.com"]
    assert seed_targets(databases["env"]) == []
    listed = run_cli(
        sqlite_url(databases["env"]),
        "--database-url",
        sqlite_url(databases["flag"]),
        "seeds",
        "list",
        "--json",
    )
    assert listed.code == 0, listed.stderr
    assert [s["url"] for s in listed.json()] == [f"https://after.example.com{WELL_KNOWN}"]


@pytest.mark.parametrize("position", ["before", "after"])
def test_every_invalid_numeric_flag_is_reported(tmp_path: Path, position: str) -> None:
    database = tmp_path / "never-created.sqlite3"
    command = ["seeds", "list", "--json"]
    args = (
        [*invalid_numeric_flags(), *command]
        if position == "before"
        else [*command, *invalid_numeric_flags()]
    )

    result = run_cli(sqlite_url(database), *args)

    assert_configuration_error(
        result,
        "invalid configuration",
        *(f"{name} (CDS_CRAWLER_{name.upper()})" for name in NUMERIC_FIELDS),
    )
    assert not database.exists()


def test_flag_after_the_subcommand_beats_the_same_flag_before_it(
    databases: dict[str, Path],
) -> None:
    result = run_cli(
        sqlite_url(databases["env"]),
        "--database-url",
        sqlite_url(databases["before"]),
        "--concurrency=-5",
        "seeds",
        "add",
        "example.com",
        "--database-url",
        sqlite_url(databases["after"]),
        "--concurrency",
        "5",
    )

    assert result.code == 0, result.stderr
    assert seed_targets(databases["after"]) == ["example.com"]
    assert seed_targets(databases["before"]) == []
    assert seed_targets(databases["env"]) == []


def test_environment_beats_the_config_file(databases: dict[str, Path], tmp_path: Path) -> None:
    config = tmp_path / "crawler.toml"
    config.write_text(f'database_url = "{sqlite_url(databases["file"])}"\nconcurrency = 0\n')

    result = run_cli(
        sqlite_url(databases["env"]),
        "seeds",
        "add",
        "env.example.com",
        "--config",
        str(config),
        env={"CDS_CRAWLER_CONCURRENCY": "5"},
    )

    assert result.code == 0, result.stderr
    assert seed_targets(databases["env"]) == ["env.example.com"]
    assert seed_targets(databases["file"]) == []


def test_config_file_named_by_the_environment_is_read(tmp_path: Path) -> None:
    database = tmp_path / "never-created.sqlite3"
    config = tmp_path / "crawler.toml"
    config.write_text("concurrency = 0\n")

    result = run_cli(
        sqlite_url(database),
        "seeds",
        "add",
        "example.com",
        env={"CDS_CRAWLER_CONFIG": str(config)},
    )

    assert_configuration_error(
        result, "concurrency (CDS_CRAWLER_CONCURRENCY)", "greater than or equal to 1"
    )
    assert not database.exists()


def test_unknown_key_in_the_config_file_exits_2(tmp_path: Path) -> None:
    database = tmp_path / "never-created.sqlite3"
    config = tmp_path / "crawler.toml"
    config.write_text("concurency = 8\n")

    result = run_cli(sqlite_url(database), "--config", str(config), "seeds", "list", "--json")

    assert_configuration_error(result, str(config), "unknown keys concurency")
    assert not database.exists()


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"

    database = tmp_path / "never-created.sqlite3"

    result = run_cli(sqlite_url(database), "seeds", "list", "--json", "--config", str(missing))

    assert_configuration_error(result, f"configuration file {missing} does not exist")
    assert not database.exists()


@pytest.mark.parametrize(
    ("value", "problem"),
    [("abc", "valid integer"), ("0", "greater than or equal to 1")],
)
def test_invalid_environment_value_exits_2_and_stores_nothing(
    tmp_path: Path, value: str, problem: str
) -> None:
    database = tmp_path / "never-created.sqlite3"

    result = run_cli(
        sqlite_url(database),
        "seeds",
        "add",
        "example.com",
        env={"CDS_CRAWLER_CONCURRENCY": value},
    )

    assert_configuration_error(result, "concurrency (CDS_CRAWLER_CONCURRENCY)", problem)
    assert not database.exists()


def test_non_numeric_flag_value_is_a_usage_error(tmp_path: Path) -> None:
    database = tmp_path / "never-created.sqlite3"

    result = run_cli(sqlite_url(database), "seeds", "list", "--json", "--concurrency", "abc")

    assert result.code == 2
    assert result.stdout == ""
    assert "--concurrency" in result.stderr
    assert not database.exists()


@pytest.mark.parametrize("command", [["crawl", "--json"], ["servers", "--json"], ["seeds", "list"]])
@pytest.mark.parametrize("url", ["mysql://u@127.0.0.1/d", "not a url"])
def test_an_unusable_database_url_is_a_configuration_error(command: list[str], url: str) -> None:
    result = run_cli(url, *command)

    assert_configuration_error(result, "database_url (CDS_CRAWLER_DATABASE_URL)", "database URL")


def test_a_sqlite_url_with_options_names_the_same_file_for_every_command(tmp_path: Path) -> None:
    database = tmp_path / "crawler.sqlite3"
    url = f"sqlite+aiosqlite:///{database}?timeout=5"

    added = run_cli(url, "seeds", "add", "example.com")
    listed = run_cli(url, "seeds", "list", "--json")
    servers = run_cli(url, "servers", "--json")

    assert added.code == 0, added.stderr
    assert listed.code == 0, listed.stderr
    assert [s["target"] for s in listed.json()] == ["example.com"]
    assert servers.code == 0, servers.stderr
    assert servers.json() == []
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
        "crawler.sqlite3"
    ]


@pytest.mark.parametrize("command", [["seeds", "add", "example.com"], ["crawl", "--json"]])
def test_a_sqlite_file_that_cannot_be_opened_is_one_line_of_message(
    tmp_path: Path, command: list[str]
) -> None:
    url = sqlite_url(tmp_path / "no-such-directory" / "crawler.sqlite3")

    # aiosqlite's worker thread used to print a traceback after the loop closed, in about
    # half of the runs: several runs make that visible.
    results = [run_cli(url, *command) for _ in range(4)]

    for result in results:
        assert result.code == 1
        assert result.stdout == ""
        assert result.stderr == "cds-crawler: database unreachable: unable to open database file\n"

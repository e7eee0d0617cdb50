from __future__ import annotations

import os
from pathlib import Path

import pytest

from crawler import __version__
from crawler.settings import ConfigurationError, Settings, flag_fields, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CDS_CRAWLER_"):
            monkeypatch.delenv(name)


def write_config(tmp_path: Path, text: str, name: str = "crawler.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def configuration_error(flags: dict[str, object] | None = None) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(flags)
    return str(caught.value)


def test_defaults_are_those_the_interface_documents() -> None:
    settings = load_settings()

    assert settings.database_url == "sqlite+aiosqlite:///cds-crawler.sqlite3"
    assert settings.allow_http is False
    assert settings.allow_private_networks is False
    assert settings.user_agent.startswith(f"cds-crawler/{__version__} (+")
    assert settings.per_host_concurrency == 2
    assert settings.per_host_rate == 4
    assert settings.concurrency == 64
    assert settings.poll_min_interval == 3600
    assert settings.poll_max_interval == 604800
    assert settings.http_port == 9464
    assert settings.is_sqlite is True


def test_no_flags_and_empty_flags_and_none_flags_all_give_the_defaults() -> None:
    defaults = load_settings()

    assert load_settings({}) == defaults
    assert load_settings({name: None for name in Settings.model_fields}) == defaults
    assert load_settings({"config": None, "concurrency": None}) == defaults


FIELD_VALUES = [
    ("database_url", "sqlite+aiosqlite:///file.db", "sqlite+aiosqlite:///env.db", "sqlite:///f.db"),
    ("concurrency", 11, 22, 33),
    ("per_host_rate", 1.5, 2.5, 3.5),
    ("http_port", 1001, 1002, 1003),
    ("user_agent", "file-agent", "env-agent", "flag-agent"),
    ("poll_min_interval", 60, 120, 180),
]


def toml_value(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def config_with(tmp_path: Path, values: dict[str, object]) -> str:
    return write_config(tmp_path, "".join(f"{k} = {toml_value(v)}\n" for k, v in values.items()))


@pytest.mark.parametrize(("name", "in_file", "in_env", "as_flag"), FIELD_VALUES)
def test_file_beats_default(
    tmp_path: Path, name: str, in_file: object, in_env: object, as_flag: object
) -> None:
    config = config_with(tmp_path, {name: in_file})

    assert getattr(load_settings({"config": config}), name) == in_file


@pytest.mark.parametrize(("name", "in_file", "in_env", "as_flag"), FIELD_VALUES)
def test_env_beats_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    in_file: object,
    in_env: object,
    as_flag: object,
) -> None:
    config = config_with(tmp_path, {name: in_file})
    monkeypatch.setenv(f"CDS_CRAWLER_{name.upper()}", str(in_env))

    assert getattr(load_settings({"config": config}), name) == in_env


@pytest.mark.parametrize(("name", "in_file", "in_env", "as_flag"), FIELD_VALUES)
def test_flag_beats_env_and_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    in_file: object,
    in_env: object,
    as_flag: object,
) -> None:
    config = config_with(tmp_path, {name: in_file})
    monkeypatch.setenv(f"CDS_CRAWLER_{name.upper()}", str(in_env))

    assert getattr(load_settings({"config": config, name: as_flag}), name) == as_flag


def test_each_layer_fills_only_the_fields_it_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_with(tmp_path, {"concurrency": 5, "per_host_rate": 9.0, "http_port": 7000})
    monkeypatch.setenv("CDS_CRAWLER_PER_HOST_RATE", "8")
    monkeypatch.setenv("CDS_CRAWLER_HTTP_PORT", "7001")

    settings = load_settings({"config": config, "http_port": 7002})

    assert (settings.concurrency, settings.per_host_rate, settings.http_port) == (5, 8.0, 7002)
    assert settings.per_host_concurrency == 2


def test_config_file_can_be_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDS_CRAWLER_CONFIG", config_with(tmp_path, {"concurrency": 7}))

    assert load_settings().concurrency == 7


def test_config_flag_beats_config_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "env").mkdir()
    (tmp_path / "flag").mkdir()
    monkeypatch.setenv("CDS_CRAWLER_CONFIG", config_with(tmp_path / "env", {"concurrency": 7}))
    flag_config = config_with(tmp_path / "flag", {"concurrency": 8})

    assert load_settings({"config": flag_config}).concurrency == 8


@pytest.mark.parametrize(
    ("env_value", "expected"),
    [("true", True), ("1", True), ("yes", True), ("false", False), ("0", False)],
)
def test_booleans_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, env_value: str, expected: bool
) -> None:
    monkeypatch.setenv("CDS_CRAWLER_ALLOW_HTTP", env_value)
    monkeypatch.setenv("CDS_CRAWLER_ALLOW_PRIVATE_NETWORKS", env_value)

    settings = load_settings()

    assert (settings.allow_http, settings.allow_private_networks) == (expected, expected)


def test_boolean_flag_false_beats_true_in_env_and_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, "allow_http = true\nallow_private_networks = true\n")
    monkeypatch.setenv("CDS_CRAWLER_ALLOW_HTTP", "true")

    settings = load_settings({"config": config, "allow_http": False})

    assert settings.allow_http is False
    assert settings.allow_private_networks is True


def test_unrelated_prefixed_environment_variables_are_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CDS_CRAWLER_TEST_POSTGRES_URL", "postgresql://nobody@nowhere/db")

    assert load_settings() == Settings()


def test_missing_config_file_is_a_configuration_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"

    message = configuration_error({"config": str(missing)})

    assert message == f"configuration file {missing} does not exist"


def test_missing_config_file_named_by_environment_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "absent.toml"
    monkeypatch.setenv("CDS_CRAWLER_CONFIG", str(missing))

    assert configuration_error() == f"configuration file {missing} does not exist"


@pytest.mark.parametrize(
    "text", ["concurrency = \n", "concurrency = 3\nconcurrency = 4\n", "[unterminated\n"]
)
def test_invalid_toml_is_a_configuration_error(tmp_path: Path, text: str) -> None:
    config = write_config(tmp_path, text)

    message = configuration_error({"config": config})

    assert message.startswith(f"configuration file {config} cannot be read: ")


def test_config_file_that_is_not_utf8_is_a_configuration_error(tmp_path: Path) -> None:
    config = tmp_path / "latin1.toml"
    config.write_bytes(b'user_agent = "caf\xe9"\n')

    assert configuration_error({"config": str(config)}).startswith(
        f"configuration file {config} cannot be read: "
    )


def test_unknown_keys_in_the_file_are_named(tmp_path: Path) -> None:
    config = write_config(tmp_path, "concurency = 3\nconcurrency = 4\ndatabase = 'x'\n")

    message = configuration_error({"config": config})

    assert message == f"configuration file {config}: unknown keys concurency, database"


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("CDS_CRAWLER_CONCURRENCY", "abc", "valid integer"),
        ("CDS_CRAWLER_CONCURRENCY", "0", "greater than or equal to 1"),
        ("CDS_CRAWLER_CONCURRENCY", "", "valid integer"),
        ("CDS_CRAWLER_PER_HOST_CONCURRENCY", "-1", "greater than or equal to 1"),
        ("CDS_CRAWLER_PER_HOST_RATE", "0", "greater than or equal to 0.01"),
        ("CDS_CRAWLER_HTTP_PORT", "65536", "less than or equal to 65535"),
        ("CDS_CRAWLER_ALLOW_HTTP", "maybe", "valid boolean"),
    ],
)
def test_invalid_environment_value_names_the_variable_and_the_problem(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(variable, value)

    message = configuration_error()

    field = variable.removeprefix("CDS_CRAWLER_").lower()
    assert message.startswith(f"invalid configuration: {field} ({variable}): ")
    assert problem in message


def test_invalid_value_in_the_file_is_a_configuration_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, 'concurrency = "lots"\n')

    message = configuration_error({"config": config})

    assert message.startswith("invalid configuration: concurrency (CDS_CRAWLER_CONCURRENCY): ")


def test_invalid_flag_value_is_a_configuration_error() -> None:
    assert "http_port" in configuration_error({"http_port": -1})


def test_every_invalid_value_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDS_CRAWLER_CONCURRENCY", "0")
    monkeypatch.setenv("CDS_CRAWLER_HTTP_PORT", "abc")

    message = configuration_error()

    assert "concurrency (CDS_CRAWLER_CONCURRENCY)" in message
    assert "http_port (CDS_CRAWLER_HTTP_PORT)" in message


def test_a_valid_environment_value_does_not_hide_an_invalid_file_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, "no_such_option = 1\n")
    monkeypatch.setenv("CDS_CRAWLER_CONCURRENCY", "3")

    assert "unknown keys no_such_option" in configuration_error({"config": config})


def test_settings_are_frozen() -> None:
    settings = load_settings()

    with pytest.raises(ValueError, match="frozen"):
        settings.concurrency = 3  # type: ignore[misc]


def test_sinks_are_read_from_the_config_file_and_are_not_flags(tmp_path: Path) -> None:
    config = tmp_path / "sinks.toml"
    config.write_text(
        '[[sinks]]\ntype = "jsonl"\npath = "events.jsonl"\n\n'
        '[[sinks]]\ntype = "pg_notify"\nchannel = "cds_events"\n'
    )

    settings = load_settings({"config": str(config)})

    assert [sink["type"] for sink in settings.sinks] == ["jsonl", "pg_notify"]
    assert "sinks" not in flag_fields()


def test_poll_interval_bounds_must_be_in_order() -> None:
    message = configuration_error({"poll_min_interval": 7200, "poll_max_interval": 3600})

    assert message == (
        "invalid configuration: poll_min_interval (7200) is greater than poll_max_interval (3600)"
    )


NUMERIC_SETTINGS = sorted(
    name for name, field in Settings.model_fields.items() if field.annotation in (int, float)
)


@pytest.mark.parametrize("name", NUMERIC_SETTINGS)
def test_every_numeric_setting_has_a_floor_and_a_ceiling(name: str) -> None:
    bounds = {type(rule).__name__ for rule in Settings.model_fields[name].metadata}

    assert bounds & {"Ge", "Gt"}, f"{name} has no lower bound"
    assert bounds & {"Le", "Lt"}, f"{name} has no upper bound"


@pytest.mark.parametrize("name", NUMERIC_SETTINGS)
@pytest.mark.parametrize("value", ["inf", "nan", "1e309", "99999999999999999999999"])
def test_no_numeric_setting_takes_an_endless_or_absurd_value(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"CDS_CRAWLER_{name.upper()}", value)

    assert f"{name} (CDS_CRAWLER_{name.upper()})" in configuration_error()


def test_a_rate_that_would_wait_for_days_is_refused() -> None:
    assert "per_host_rate" in configuration_error({"per_host_rate": 0.0000001})
    assert load_settings({"per_host_rate": 0.01}).per_host_rate == 0.01


@pytest.mark.parametrize(
    "agent", ["", " padded", "x\r\nX-Injected: 1", "tab\there", "caf\u00e9", "rtl\u202e", "\x00"]
)
def test_a_user_agent_that_cannot_be_sent_as_a_header_is_refused(agent: str) -> None:
    message = configuration_error({"user_agent": agent})

    assert "user_agent (CDS_CRAWLER_USER_AGENT)" in message
    assert "printable ASCII" in message


@pytest.mark.parametrize(
    ("table", "complaint"),
    [
        ('Authorization = "Bearer s3cret\\nX-Injected: 1"', "Authorization: a header value"),
        ('Authorization = "Bearer s3cret\\u00e9"', "Authorization: a header value"),
        ('"Bad Name" = "s3cret"', "'Bad Name' is not a header name"),
        ('"X-Key:" = "s3cret"', "'X-Key:' is not a header name"),
    ],
)
def test_host_headers_that_cannot_be_sent_are_refused_without_showing_the_value(
    tmp_path: Path, table: str, complaint: str
) -> None:
    config = write_config(tmp_path, f'[host_headers."data.example.com"]\n{table}\n')

    message = configuration_error({"config": config})

    assert complaint in message
    assert "s3cret" not in message


@pytest.mark.parametrize("name", ["host_headers", "sinks"])
def test_a_json_variable_that_is_not_json_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(f"CDS_CRAWLER_{name.upper()}", "{bad")

    assert f'"{name}"' in configuration_error()


def test_host_headers_come_from_the_config_file_only_and_stay_secret(tmp_path: Path) -> None:
    config = tmp_path / "credentials.toml"
    config.write_text('[host_headers."Data.Utility.example.com"]\nAuthorization = "Bearer t0ken"\n')

    settings = load_settings({"config": str(config)})

    assert settings.headers_for("data.utility.example.com") == {"Authorization": "Bearer t0ken"}
    assert settings.headers_for("utility.example.com") == {}
    assert "t0ken" not in repr(settings)
    assert "host_headers" not in flag_fields()

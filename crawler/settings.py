"""Configuration: the only module that reads the environment.

Every option is a command-line flag, a `CDS_CRAWLER_*` environment variable and a key of the
optional TOML file, with the precedence flag > environment > file > default.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from crawler import PROJECT_URL, __version__
from crawler.domain.database_url import url_problem

ENV_PREFIX = "CDS_CRAWLER_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"
MIB = 1024 * 1024
GIB = 1024 * MIB
DAY_S = 86400
YEAR_S = 365 * DAY_S  # the longest interval any setting takes: longer is a typo, not a plan
TOML_ONLY = "toml_only"  # a setting too structured for a flag or a variable


# RFC 9110 5.1 and 5.5: a field name is a token; values are kept to visible ASCII with inner
# spaces, which every server and HTTP library accepts (no line breaks, so no header injection).
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")
HEADER_VALUE_RULE = "a header value is printable ASCII, without line breaks or outer spaces"


class ConfigurationError(Exception):
    """The configuration cannot be used; the message says what to fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", frozen=True, allow_inf_nan=False
    )

    database_url: str = Field(
        "sqlite+aiosqlite:///cds-crawler.sqlite3",
        description="SQLAlchemy URL; postgresql://USER@HOST:PORT/DB for Postgres.",
    )
    allow_http: bool = Field(False, description="Allow plain http:// targets.")
    allow_private_networks: bool = Field(
        False, description="Allow targets on loopback, private and other non-public addresses."
    )
    user_agent: str = Field(
        f"cds-crawler/{__version__} (+{PROJECT_URL})", description="User-Agent of every request."
    )
    per_host_concurrency: int = Field(2, ge=1, le=1000, description="Requests in flight per host.")
    per_host_rate: float = Field(
        4.0, ge=0.01, le=10000, description="Requests per second per host."
    )
    concurrency: int = Field(64, ge=1, le=10000, description="Requests in flight per process.")
    poll_min_interval: int = Field(
        3600, ge=1, le=YEAR_S, description="Shortest re-poll interval (s)."
    )
    poll_max_interval: int = Field(
        604800, ge=1, le=YEAR_S, description="Longest re-poll interval (s)."
    )
    http_port: int = Field(9464, ge=0, le=65535, description="Daemon /healthz and /metrics port.")
    api_token: SecretStr | None = Field(
        None,
        description="Bearer token that `serve` requires on /v1 (none: the API is open).",
    )
    api_cors_origins: str = Field(
        "",
        description="Comma-separated origins that `serve` allows cross-origin reads from "
        "(`*` for any; empty: CORS off).",
    )
    api_max_bbox_area: float = Field(
        3600.0,
        gt=0,
        le=64800,
        description="Largest bounding box `serve` answers, in square degrees.",
    )
    api_cache_max_age: int = Field(
        60,
        ge=0,
        le=YEAR_S,
        description="Seconds clients may cache `serve`'s answers (Cache-Control).",
    )
    respect_robots_txt: bool = Field(
        True,
        description="Honour each origin's robots.txt for the crawler's user agent (turn off only "
        "with the publisher's consent).",
    )
    probe_min_interval: int = Field(
        86400,
        ge=1,
        le=YEAR_S,
        description="Shortest interval (s) between the daemon's probes of a URL where nothing "
        "is published (404/410), so that a new publisher is found within it.",
    )
    probe_max_interval: int = Field(
        604800, ge=1, le=YEAR_S, description="Longest interval (s) between probes of such a URL."
    )
    max_retry_after: int = Field(
        86400,
        ge=0,
        le=YEAR_S,
        description="Longest pause (s) a 429/503 Retry-After imposes on a host.",
    )
    lease_seconds: int = Field(
        120,
        ge=5,
        le=DAY_S,
        description="Lease on a host's due work, renewed while it is worked on; a worker that "
        "dies loses its leases after this long.",
    )
    stop_grace: float = Field(
        30.0,
        ge=0,
        le=DAY_S,
        description="Seconds the daemon finishes in-flight work for after SIGTERM.",
    )
    seed_refresh_interval: int = Field(
        3600,
        ge=1,
        le=YEAR_S,
        description="Seconds between the daemon's reads of remote seed lists.",
    )
    delivery_interval: float = Field(
        5.0, gt=0, le=DAY_S, description="Seconds between the daemon's event deliveries."
    )
    connect_timeout: float = Field(10.0, gt=0, le=3600, description="Seconds to open a connection.")
    read_timeout: float = Field(30.0, gt=0, le=3600, description="Seconds to wait for each read.")
    request_deadline: float = Field(
        60.0, gt=0, le=3600, description="Seconds one request may take in all, body included."
    )
    max_document_bytes: int = Field(
        10 * MIB, ge=1024, le=GIB, description="Cap on a metadata document's (decompressed) size."
    )
    retry_attempts: int = Field(
        3,
        ge=1,
        le=10,
        description="Attempts at a server that fails transiently (timeouts, network, 5xx) "
        "before it is unreachable.",
    )
    retry_backoff: float = Field(
        0.5, ge=0, le=60, description="Seconds before the first retry; doubled for each next."
    )
    flap_window: int = Field(
        86400,
        ge=0,
        le=YEAR_S,
        description="Seconds within which a flapping server yields at most one "
        "unreachable/recovered pair of events.",
    )
    moved_recheck_interval: int = Field(
        86400,
        ge=0,
        le=YEAR_S,
        description="Seconds between checks of a metadata URL that moved (its target is "
        "crawled every pass).",
    )
    max_geojson_bytes: int = Field(
        50 * MIB, ge=1024, le=GIB, description="Cap on a GeoJSON territory's (decompressed) size."
    )
    max_redirects: int = Field(5, ge=0, le=20, description="Redirect hops followed per fetch.")
    max_link_depth: int = Field(
        10, ge=0, le=100, description="related_metadata hops followed from a seed."
    )
    max_links_per_document: int = Field(
        100, ge=0, le=10000, description="related_metadata links followed from one document."
    )
    max_coverage_pages: int = Field(
        1000, ge=1, le=100000, description="Pages of one coverage listing read per pass."
    )
    max_coverage_entries: int = Field(
        100000, ge=1, le=100_000_000, description="Entries of one coverage listing read per pass."
    )
    coverage_sweep_interval: int = Field(
        86400,
        ge=0,
        le=YEAR_S,
        description="Seconds between full reads of a coverage listing; in between, a re-poll "
        "stops paging at entries no newer than the last read (0: always read whole).",
    )
    coverage_spot_checks: int = Field(
        10,
        ge=0,
        le=100,
        description="Entries a re-poll that stopped at the watermark asks for through the "
        "`ids` filter, to find deletions between full reads (0: none).",
    )
    coverage_spot_check_interval: int = Field(
        3600,
        ge=0,
        le=YEAR_S,
        description="Seconds between spot checks of one listing by `ids`.",
    )
    fetch_log_retention_days: int = Field(
        90, ge=0, le=36500, description="Days of fetch log kept (0 keeps everything)."
    )
    host_headers: dict[str, dict[str, SecretStr]] = Field(
        default_factory=dict,
        description="Headers (credentials) sent only to the named host ([host_headers.HOST]).",
        json_schema_extra={TOML_ONLY: True},
    )
    sinks: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Event sinks ([[sinks]] tables of the TOML file).",
        json_schema_extra={TOML_ONLY: True},
    )

    @property
    def servers_in_progress(self) -> int:
        """Servers a pass works on at once: four per request slot (`concurrency`). A server
        with a listing and territories spends most of its time waiting for its own host's
        rate limit, so more servers than slots keep the slots busy."""
        return 4 * self.concurrency

    def headers_for(self, host: str) -> dict[str, str]:
        """The configured headers for exactly this host (never for another)."""
        if not self.host_headers:
            return {}
        configured = self._host_headers_by_name().get(host.lower().rstrip("."), {})
        return {name: value.get_secret_value() for name, value in configured.items()}

    def _host_headers_by_name(self) -> dict[str, dict[str, SecretStr]]:
        return {host.lower().rstrip("."): headers for host, headers in self.host_headers.items()}

    @field_validator("user_agent")
    @classmethod
    def _sendable_user_agent(cls, value: str) -> str:
        if not _HEADER_VALUE.fullmatch(value):
            raise ValueError(f"{value[:80]!r} cannot be sent as a header: {HEADER_VALUE_RULE}")
        return value

    @field_validator("host_headers")
    @classmethod
    def _sendable_host_headers(
        cls, hosts: dict[str, dict[str, SecretStr]]
    ) -> dict[str, dict[str, SecretStr]]:
        for host, headers in hosts.items():
            if not host.strip():
                raise ValueError("a [host_headers] table needs a host name")
            for name, value in headers.items():
                if not _HEADER_NAME.fullmatch(name):
                    raise ValueError(f"[host_headers.{host!r}]: {name!r} is not a header name")
                if not _HEADER_VALUE.fullmatch(value.get_secret_value()):
                    # The value is a credential: the message never shows it.
                    raise ValueError(f"[host_headers.{host!r}] {name}: {HEADER_VALUE_RULE}")
        return hosts

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, url: str) -> str:
        problem = url_problem(url)
        if problem is not None:
            raise ValueError(problem)
        return url

    @model_validator(mode="after")
    def _poll_bounds_in_order(self) -> Settings:
        if self.probe_min_interval > self.probe_max_interval:
            raise ValueError(
                f"probe_min_interval ({self.probe_min_interval}) is greater than "
                f"probe_max_interval ({self.probe_max_interval})"
            )
        if self.poll_min_interval > self.poll_max_interval:
            raise ValueError(
                f"poll_min_interval ({self.poll_min_interval}) is greater than "
                f"poll_max_interval ({self.poll_max_interval})"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def flag_fields() -> dict[str, FieldInfo]:
    """The settings that are also flags and environment variables (all but TOML-only ones)."""
    return {
        name: field
        for name, field in Settings.model_fields.items()
        if not (
            isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get(TOML_ONLY)
        )
    }


def _read_config_file(path: str) -> dict[str, Any]:
    file = Path(path)
    try:
        values = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigurationError(f"configuration file {path} does not exist") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"configuration file {path} cannot be read: {exc}") from exc
    unknown = sorted(set(values) - set(Settings.model_fields))
    if unknown:
        raise ConfigurationError(f"configuration file {path}: unknown keys {', '.join(unknown)}")
    return values


def load_settings(flags: Mapping[str, Any] | None = None) -> Settings:
    """Settings from flags (only those given), the environment, the TOML file and defaults."""
    given = {k: v for k, v in (flags or {}).items() if v is not None and k != "config"}
    config_path = (flags or {}).get("config") or os.environ.get(CONFIG_ENV)
    file_values = _read_config_file(str(config_path)) if config_path else {}

    class _Layered(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, InitSettingsSource(settings_cls, file_values))

    try:
        return Settings.model_validate(_Layered(**given).model_dump())
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc)) from exc
    except SettingsError as exc:  # a variable that must hold JSON does not
        raise ConfigurationError(f"invalid configuration: {exc}") from exc


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        location = error["loc"]
        if not location:  # a rule between settings, which its message names
            lines.append(message)
            continue
        name = ".".join(str(part) for part in location)
        lines.append(f"{name} ({ENV_PREFIX}{str(location[0]).upper()}): {message}")
    return "invalid configuration: " + "; ".join(lines)

"""The sinks events are delivered to, as configured in the TOML file's [[sinks]] tables."""

from __future__ import annotations

import asyncio
import binascii
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import orjson

from crawler.delivery.schedule import DEFAULT_RETRY_SCHEDULE
from crawler.settings import ConfigurationError, Settings

KINDS = ("jsonl", "webhook", "pg_notify", "nats")
_CHANNEL = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class Sink(Protocol):
    name: str  # its progress is kept under this name
    batch_size: int  # events handed to one `deliver` call at most
    retry_schedule: tuple[float, ...]  # waits after each failure; then the batch is set aside

    async def deliver(self, batch: Sequence[dict[str, Any]]) -> None:
        """Deliver every event of the batch, in order, or raise DeliveryFailed."""

    async def close(self) -> None: ...


STDOUT_SINK = "jsonl:-"  # the name of a jsonl sink that writes to stdout


class JsonLinesSink:
    """One CloudEvents JSON object per line, appended to a file (or written to stdout)."""

    batch_size = 500
    retry_schedule = DEFAULT_RETRY_SCHEDULE

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = f"jsonl:{path}"

    async def deliver(self, batch: Sequence[dict[str, Any]]) -> None:
        await asyncio.to_thread(self._write, b"".join(orjson.dumps(e) + b"\n" for e in batch))

    def _write(self, lines: bytes) -> None:
        if self.path == "-":
            sys.stdout.buffer.write(lines)
            sys.stdout.flush()
            return
        with Path(self.path).open("ab") as file:
            file.write(lines)

    async def close(self) -> None:
        return None


def configured_sinks(settings: Settings) -> list[Sink]:
    """The sinks of `settings`; ConfigurationError names the table that cannot be used."""
    sinks = [
        _sink(table, f"[[sinks]] number {n}", settings) for n, table in enumerate(settings.sinks, 1)
    ]
    names = [sink.name for sink in sinks]
    if len(set(names)) != len(names):
        raise ConfigurationError("two [[sinks]] tables name the same destination")
    return sinks


def _sink(table: dict[str, Any], where: str, settings: Settings) -> Sink:
    kind = table.get("type")
    if kind == "jsonl":
        return JsonLinesSink(_text(table, "path", where))
    if kind == "webhook":
        return _webhook(table, where, settings.user_agent)
    if kind == "pg_notify":
        return _pg_notify(table, where, settings.database_url)
    if kind == "nats":
        return _nats(table, where)
    raise ConfigurationError(f"{where}: unknown sink type {kind!r} (known: {', '.join(KINDS)})")


def _pg_notify(table: dict[str, Any], where: str, database_url: str) -> Sink:
    from crawler.delivery.pg_notify import PgNotifySink

    if not database_url.startswith("postgresql"):
        raise ConfigurationError(f"{where}: pg_notify needs a Postgres database_url")
    channel = _text(table, "channel", where)
    if _CHANNEL.fullmatch(channel) is None:
        raise ConfigurationError(
            f"{where}: `channel` must be a lower-case identifier of at most 63 characters"
        )
    return PgNotifySink(database_url, channel)


def _nats(table: dict[str, Any], where: str) -> Sink:
    from crawler.delivery.nats_sink import NatsSink

    servers = [s.strip() for s in _text(table, "servers", where).split(",") if s.strip()]
    if not all(s.startswith(("nats://", "tls://")) for s in servers):
        raise ConfigurationError(f"{where}: `servers` must be nats:// URLs, comma-separated")
    stream = table.get("stream", "CDS_EVENTS")
    if not isinstance(stream, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", stream):
        raise ConfigurationError(f"{where}: `stream` must be a stream name (letters, digits, _-)")
    return NatsSink(servers, _text(table, "subject", where), stream)


def _webhook(table: dict[str, Any], where: str, user_agent: str) -> Sink:
    from standardwebhooks.webhooks import EmptyWebhookSecretError

    from crawler.http.webhook import WebhookSink

    url = _text(table, "url", where)
    if not url.startswith(("https://", "http://")):
        raise ConfigurationError(f"{where}: `url` must be an http(s) URL")
    schedule = table.get("retry_schedule", DEFAULT_RETRY_SCHEDULE)
    if not isinstance(schedule, list | tuple) or not all(
        isinstance(s, int | float) and s >= 0 for s in schedule
    ):
        raise ConfigurationError(f"{where}: `retry_schedule` must be a list of seconds")
    batch, batch_size = table.get("batch", False), table.get("batch_size", 100)
    if not isinstance(batch, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigurationError(f"{where}: `batch` must be true or false, `batch_size` >= 1")
    try:
        return WebhookSink(
            url,
            _text(table, "secret", where),
            batch=batch,
            batch_size=batch_size,
            retry_schedule=[float(s) for s in schedule],
            user_agent=user_agent,
        )
    except (binascii.Error, ValueError, RuntimeError, EmptyWebhookSecretError) as exc:
        raise ConfigurationError(f"{where}: `secret` is not a base64 secret ({exc})") from exc


def _text(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{where}: `{key}` must be a non-empty string")
    return value

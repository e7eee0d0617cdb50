"""The sinks events are delivered to, as configured in the TOML file's [[sinks]] tables."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import orjson

from crawler.settings import ConfigurationError, Settings

AVAILABLE = ("jsonl",)
PLANNED = ("webhook", "pg_notify", "nats")


class Sink(Protocol):
    name: str  # progress is kept under this name

    def deliver(self, batch: Sequence[dict[str, Any]]) -> None:
        """Deliver every event of the batch, in order, or raise."""


class JsonLinesSink:
    """One CloudEvents JSON object per line, appended to a file (or written to stdout)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.name = f"jsonl:{path}"

    def deliver(self, batch: Sequence[dict[str, Any]]) -> None:
        lines = b"".join(orjson.dumps(event) + b"\n" for event in batch)
        if self.path == "-":
            sys.stdout.buffer.write(lines)
            sys.stdout.flush()
            return
        with Path(self.path).open("ab") as file:
            file.write(lines)


def configured_sinks(settings: Settings) -> list[Sink]:
    """The sinks of `settings`; ConfigurationError names the table that cannot be used."""
    sinks: list[Sink] = []
    for index, table in enumerate(settings.sinks):
        where = f"[[sinks]] number {index + 1}"
        kind = table.get("type")
        if kind == "jsonl":
            sinks.append(JsonLinesSink(_text(table, "path", where)))
        elif kind in PLANNED:
            raise ConfigurationError(
                f"{where}: sink type {kind!r} is not available in this release "
                f"(available: {', '.join(AVAILABLE)})"
            )
        else:
            known = ", ".join((*AVAILABLE, *PLANNED))
            raise ConfigurationError(f"{where}: unknown sink type {kind!r} (known: {known})")
    names = [sink.name for sink in sinks]
    if len(set(names)) != len(names):
        raise ConfigurationError("two [[sinks]] tables name the same destination")
    return sinks


def _text(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{where}: `{key}` must be a non-empty string")
    return value

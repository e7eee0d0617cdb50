"""Seed files and seed lists: one TARGET per line (`#` comments), CSV, or a JSON array."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

import orjson

from crawler.domain.targets import InvalidTarget, Target, normalise_target


@dataclass(frozen=True, slots=True)
class SeedEntry:
    target: Target
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SeedListParse:
    entries: tuple[SeedEntry, ...]
    errors: tuple[str, ...] = field(default=())  # "line 3: unsupported scheme 'ftp'" ...


def detect_format(name: str, text: str) -> str:
    """`json`, `csv` or `text`, from the file name and failing that the content."""
    lowered = name.lower()
    if lowered.endswith(".json"):
        return "json"
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith(".txt"):
        return "text"
    return "json" if text.lstrip().startswith("[") else "text"


def parse_seed_list(text: str, fmt: str) -> SeedListParse:
    """Every entry of a seed file, and one error per unusable entry (none dropped silently)."""
    text = text.removeprefix("\ufeff")
    if fmt == "json":
        return _parse_json(text)
    if fmt == "csv":
        return _parse_csv(text)
    return _parse_text(text)


def _collect(items: list[tuple[str, Any, tuple[str, ...]]]) -> SeedListParse:
    entries: list[SeedEntry] = []
    errors: list[str] = []
    for where, raw, tags in items:
        if isinstance(raw, InvalidTarget):
            errors.append(f"{where}: {raw}")
            continue
        if not isinstance(raw, str):
            errors.append(f"{where}: expected a string target, found {type(raw).__name__}")
            continue
        try:
            entries.append(SeedEntry(normalise_target(raw), tags))
        except InvalidTarget as exc:
            errors.append(f"{where}: {exc}")
    return SeedListParse(tuple(entries), tuple(errors))


def _parse_text(text: str) -> SeedListParse:
    items: list[tuple[str, Any, tuple[str, ...]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if content:
            items.append((f"line {number}", content, ()))
    return _collect(items)


def _split_tags(value: str | None) -> tuple[str, ...]:
    return tuple(t.strip() for t in (value or "").replace("|", ";").split(";") if t.strip())


def _is_blank(row: dict[str, Any]) -> bool:
    return not any(isinstance(v, str) and v.strip() for v in row.values())


def _parse_csv(text: str) -> SeedListParse:
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    column = next((c for c in ("target", "url", "domain") if c in fields), None)
    if column is None:
        return SeedListParse((), ("CSV needs a header with a 'target', 'url' or 'domain' column",))
    reader.fieldnames = fields
    items = [
        (f"line {reader.line_num}", (row.get(column) or "").strip(), _split_tags(row.get("tags")))
        for row in reader
        if not _is_blank(row) and not (row.get(column) or "").lstrip().startswith("#")
    ]
    return _collect(items)


def _parse_json(text: str) -> SeedListParse:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return SeedListParse((), (f"not valid JSON: {exc}",))
    if not isinstance(value, list):
        return SeedListParse((), ("expected a JSON array of targets",))
    items: list[tuple[str, Any, tuple[str, ...]]] = []
    for index, item in enumerate(value):
        if isinstance(item, dict):
            tags = item.get("tags", [])
            target = item.get("target", item.get("url"))
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                target = InvalidTarget("'tags' must be an array of strings")
            elif target is None:
                target = InvalidTarget("object has no 'target' or 'url'")
            items.append((f"item {index}", target, tuple(tags) if isinstance(tags, list) else ()))
        else:
            items.append((f"item {index}", item, ()))
    return _collect(items)

"""Seed files and seed lists: one TARGET per line (`#` comments), CSV, or a JSON array."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from crawler.domain.tags import InvalidTag, normalise_tags
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


_TARGET_COLUMNS = ("target", "url", "domain")
_JSON_KEYS = {"target", "url", "tags"}


def _entry(raw: Any, tags: Iterable[str]) -> SeedEntry | str:
    """The entry for a raw target and its tags, or why it is refused."""
    if not isinstance(raw, str):
        return f"expected a string target, found {type(raw).__name__}"
    try:
        return SeedEntry(normalise_target(raw), normalise_tags(tags))
    except (InvalidTarget, InvalidTag) as exc:
        return str(exc)


def _collect(items: Iterable[tuple[str, SeedEntry | str]]) -> SeedListParse:
    """`items` are (where, entry or why it is refused)."""
    entries: list[SeedEntry] = []
    errors: list[str] = []
    for where, entry in items:
        if isinstance(entry, str):
            errors.append(f"{where}: {entry}")
        else:
            entries.append(entry)
    return SeedListParse(tuple(entries), tuple(errors))


def _parse_text(text: str) -> SeedListParse:
    items: list[tuple[str, SeedEntry | str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if content:
            items.append((f"line {number}", _entry(content, ())))
    return _collect(items)


def _split_tags(value: str | None) -> list[str]:
    return [t for t in (value or "").replace("|", ";").split(";") if t.strip()]


def _extra_fields(row: dict[str | None, Any]) -> list[str]:
    """The non-blank fields past the header's last column (DictReader keys them None)."""
    return [v for v in row.get(None) or [] if v.strip()]


def _is_blank(row: dict[str | None, Any]) -> bool:
    named = (v for k, v in row.items() if k is not None)
    return not any(isinstance(v, str) and v.strip() for v in named) and not _extra_fields(row)


def _csv_row(row: dict[str | None, Any], column: str) -> SeedEntry | str:
    extra = _extra_fields(row)
    if extra:
        return "more fields than the header has columns: " + ", ".join(map(repr, extra))
    return _entry((row.get(column) or "").strip(), _split_tags(row.get("tags")))


def _parse_csv(text: str) -> SeedListParse:
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    columns = [c for c in fields if c in _TARGET_COLUMNS]
    if not columns:
        return SeedListParse((), ("CSV needs a header with a 'target', 'url' or 'domain' column",))
    if len(columns) > 1:
        named = ", ".join(map(repr, columns))
        return SeedListParse((), (f"CSV header has more than one target column: {named}",))
    if fields.count("tags") > 1:
        return SeedListParse((), ("CSV header has more than one 'tags' column",))
    column = columns[0]
    reader.fieldnames = fields
    items = [
        (f"line {reader.line_num}", _csv_row(row, column))
        for row in reader
        if not _is_blank(row) and not (row.get(column) or "").lstrip().startswith("#")
    ]
    return _collect(items)


def _json_item(item: Any) -> SeedEntry | str:
    if not isinstance(item, dict):
        return _entry(item, ())
    unknown = [key for key in item if key not in _JSON_KEYS]
    if unknown:
        named = ", ".join(map(repr, unknown))
        return f"unknown key {named} (expected 'target' or 'url', and 'tags')"
    tags = item.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return "'tags' must be an array of strings"
    if "target" in item and "url" in item:
        return "give 'target' or 'url', not both"
    if "target" not in item and "url" not in item:
        return "object has no 'target' or 'url'"
    return _entry(item.get("target", item.get("url")), tags)


def _parse_json(text: str) -> SeedListParse:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return SeedListParse((), (f"not valid JSON: {exc}",))
    if not isinstance(value, list):
        return SeedListParse((), ("expected a JSON array of targets",))
    return _collect((f"item {index}", _json_item(item)) for index, item in enumerate(value))

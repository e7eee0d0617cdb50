"""What changed between two versions of a document: as an RFC 6902 patch and in words."""

from __future__ import annotations

from typing import Any

import jsonpatch

from crawler.domain.canonical import canonical_json

_MAX_SHOWN = 60


def json_patch(old: Any, new: Any) -> list[dict[str, Any]]:
    """The RFC 6902 operations that turn `old` into `new`."""
    patch: list[dict[str, Any]] = jsonpatch.make_patch(old, new).patch
    return patch


def describe_changes(old: Any, new: Any) -> list[str]:
    """One human sentence per changed top-level member ("name changed from 'A' to 'B'")."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return ["the whole document changed"]
    sentences = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            sentences.append(f"{key} added: {_show(new[key])}")
        elif key not in new:
            sentences.append(f"{key} removed (was {_show(old[key])})")
        elif canonical_json(old[key]) != canonical_json(new[key]):
            sentences.append(_describe_member(key, old[key], new[key]))
    return sentences


def _describe_member(key: str, old: Any, new: Any) -> str:
    if isinstance(old, list) and isinstance(new, list):
        before = {canonical_json(v): v for v in old}
        after = {canonical_json(v): v for v in new}
        added = [_show(after[k]) for k in after if k not in before]
        removed = [_show(before[k]) for k in before if k not in after]
        parts = [f"added {', '.join(added)}"] if added else []
        parts += [f"removed {', '.join(removed)}"] if removed else []
        return f"{key}: {'; '.join(parts) or 'reordered'}"
    return f"{key} changed from {_show(old)} to {_show(new)}"


def _show(value: Any) -> str:
    text = canonical_json(value).decode("utf-8", "replace")
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"

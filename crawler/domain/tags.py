"""Seed tags: short labels that are safe to print in a terminal table."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

MAX_TAG_LENGTH = 64
# Unicode categories a tag may not contain: C (control, format, surrogate, private use,
# unassigned) and Z (separators; a single inner U+0020 space is the one exception).
_REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible format character",
    "Cs": "a surrogate (not valid text)",
    "Co": "a private-use character",
    "Cn": "an unassigned character",
    "Zs": "white space other than a single space",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


class InvalidTag(ValueError):
    """The tag is refused; the message names it and says why."""


def normalise_tag(raw: str) -> str:
    """`raw` without surrounding white space; raises InvalidTag when the rest is empty,
    longer than MAX_TAG_LENGTH, or holds anything but visible characters and single spaces.
    """
    tag = raw.strip()
    problem = _problem(tag)
    if problem:
        shown = repr(raw[:80]) + ("…" if len(raw) > 80 else "")
        raise InvalidTag(f"tag {shown} {problem}")
    return tag


def normalise_tags(raw: Iterable[str]) -> tuple[str, ...]:
    """Every tag normalised, duplicates dropped, in order; InvalidTag for the first bad one."""
    return tuple(dict.fromkeys(normalise_tag(tag) for tag in raw))


def _problem(tag: str) -> str | None:
    if not tag:
        return "is empty"
    if len(tag) > MAX_TAG_LENGTH:
        return f"is {len(tag)} characters long (at most {MAX_TAG_LENGTH})"
    if "  " in tag:
        return "has two spaces in a row"
    for char in tag:
        kind = _REFUSED_CATEGORIES.get(unicodedata.category(char))
        if kind and char != " ":
            return f"contains U+{ord(char):04X}, {kind}"
    return None

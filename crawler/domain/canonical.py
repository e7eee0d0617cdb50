"""Canonical JSON bytes and content hashes: equal content, equal hash, whatever the layout."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

_INT64_MIN = -(2**63)
_UINT64_MAX = 2**64 - 1


def canonical_json(value: Any) -> bytes:
    """The one byte serialisation of a JSON value used for hashing and storage.

    Object keys sorted by code point, no insignificant whitespace, UTF-8 with non-ASCII
    characters kept as they are; the same value always gives the same bytes. Integers beyond
    64 bits are written out in full, exactly as smaller ones are.

    `value` must be what `parse_json_object` produces (dict with str keys, list, str, int,
    finite float, bool, None) nested at most 254 levels deep (orjson's limit); tuples
    serialise as arrays. Raises TypeError for anything else (orjson.JSONEncodeError is a
    TypeError), ValueError for an integer too long to print. Non-finite floats, which parsed
    JSON never holds, would come out as null.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as error:
        if "64-bit" not in str(error):
            raise
    # orjson refuses integers beyond 64 bits; splicing their decimal text in as fragments keeps
    # orjson's formatting for everything else, so the output is what it would have written.
    return orjson.dumps(_wide_ints_as_fragments(value), option=orjson.OPT_SORT_KEYS)


def content_sha256(value: Any) -> str:
    """Lowercase hex SHA-256 of `canonical_json(value)`; raises as canonical_json does."""
    return canonical_form(value)[1]


def canonical_form(value: Any) -> tuple[bytes, str]:
    """`canonical_json(value)` and its lowercase hex SHA-256, serialising only once."""
    canonical = canonical_json(value)
    return canonical, hashlib.sha256(canonical).hexdigest()


def _wide_ints_as_fragments(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and not _INT64_MIN <= value <= _UINT64_MAX:
        return orjson.Fragment(str(value))
    if isinstance(value, dict):
        return {key: _wide_ints_as_fragments(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_wide_ints_as_fragments(item) for item in value]
    return value

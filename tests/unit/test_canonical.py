"""Canonical JSON and content hashes: layout never matters, content always does."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.domain.canonical import canonical_json, content_sha256
from crawler.domain.jsondoc import parse_json_object

if TYPE_CHECKING:
    import random

URL = "https://example.com/.well-known/carbon-data-spec.json"


def test_keys_are_sorted_and_whitespace_removed() -> None:
    value = {"b": [1, {"z": None, "a": True}], "a": "x"}
    assert canonical_json(value) == b'{"a":"x","b":[1,{"a":true,"z":null}]}'


def test_non_ascii_is_kept_as_utf8() -> None:
    assert (
        canonical_json({"n": "Énergie ⚡ \U0001f600"}) == '{"n":"Énergie ⚡ \U0001f600"}'.encode()
    )


def test_control_characters_are_escaped() -> None:
    assert canonical_json(['\n\x1f"\\']) == b'["\\n\\u001f\\"\\\\"]'


def test_keys_sort_by_code_point() -> None:
    assert canonical_json({"é": 1, "z": 2, "Z": 3, "\U0001f600": 4, "\uffff": 5}) == (
        '{"Z":3,"z":2,"é":1,"\uffff":5,"\U0001f600":4}'.encode()
    )


@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**30, -(2**200)])
def test_integers_beyond_64_bits_are_written_in_full(number: int) -> None:
    value = {"b": number, "a": [1.5, 1e-7, {"y": 2, "x": "é"}]}
    assert canonical_json(value) == b'{"a":[1.5,1e-7,{"x":"\xc3\xa9","y":2}],"b":%d}' % number


def test_the_wide_integer_fallback_formats_everything_else_as_orjson_does() -> None:
    small = {"k": [0.1, 1e300, -0.0, 5e-324, "é\u2028", None, True], "n": 2**64 - 1}
    wide = {**small, "n": 2**64}
    expected = orjson.dumps(small, option=orjson.OPT_SORT_KEYS).replace(
        b"18446744073709551615", b"18446744073709551616"
    )
    assert canonical_json(wide) == expected


def test_tuples_are_arrays() -> None:
    assert canonical_json({"a": (1, 2**70)}) == b'{"a":[1,1180591620717411303424]}'


@pytest.mark.parametrize("value", [{1: "x"}, {"a": {1, 2}}, {"a": object()}])
def test_values_json_cannot_hold_are_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        canonical_json(value)


def test_content_sha256_is_lowercase_hex_sha256_of_the_canonical_bytes() -> None:
    value = {"b": 1, "a": 2}
    digest = content_sha256(value)
    assert digest == hashlib.sha256(b'{"a":2,"b":1}').hexdigest()
    assert len(digest) == 64
    assert digest == digest.lower()


def test_the_hash_is_a_known_constant() -> None:
    # Pins the serialisation: a change here changes every stored hash.
    assert content_sha256({"name": "Demo", "n": [1, 2.5, None]}) == (
        hashlib.sha256(b'{"n":[1,2.5,null],"name":"Demo"}').hexdigest()
    )


# --- properties --------------------------------------------------------------------------------

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=24,
)
json_objects = st.dictionaries(st.text(max_size=6), json_values, max_size=6)


def shuffled(value: Any, rng: random.Random) -> Any:
    """The same JSON value with every object's members in a random order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [shuffled(item, rng) for item in value]
    return value


def reserialised(value: Any, rng: random.Random) -> bytes:
    """`value` as JSON text with a random layout and escaping."""
    indent = rng.choice([None, 0, 1, 4, "\t"])
    separators = rng.choice([(",", ":"), (", ", ": "), (" ,\n", " :  ")])
    text = json.dumps(
        shuffled(value, rng), indent=indent, separators=separators, ensure_ascii=rng.random() < 0.5
    )
    before, after = rng.choice(["", " ", "\n"]), rng.choice(["", "\r\n"])
    return (before + text + after).encode()


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict) and value:
        return [p for key, item in value.items() for p in leaf_paths(item, (*path, key))]
    if isinstance(value, list) and value:
        return [p for index, item in enumerate(value) for p in leaf_paths(item, (*path, index))]
    return [path]


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = replaced(value[head], rest, new)
    return copy


@given(json_objects, st.randoms(use_true_random=False))
def test_layout_and_member_order_never_change_the_hash(
    document: dict[str, Any], rng: random.Random
) -> None:
    parsed, findings = parse_json_object(reserialised(document, rng), URL, max_depth=1000)
    assert findings == ()
    assert parsed is not None
    assert content_sha256(parsed) == content_sha256(document)
    assert canonical_json(parsed) == canonical_json(document)


@given(json_objects.filter(bool), st.data())
def test_any_changed_leaf_changes_the_hash(document: dict[str, Any], data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(leaf_paths(document)))
    old = _get(document, path)
    new = data.draw(leaves.filter(lambda leaf: canonical_json(leaf) != canonical_json(old)))
    assert content_sha256(replaced(document, path, new)) != content_sha256(document)


@given(json_objects, st.text(max_size=6), json_values)
def test_an_added_member_changes_the_hash(document: dict[str, Any], key: str, value: Any) -> None:
    if key in document:
        return
    assert content_sha256({**document, key: value}) != content_sha256(document)


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value

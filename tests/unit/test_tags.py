from __future__ import annotations

import pytest

from crawler.domain.tags import MAX_TAG_LENGTH, InvalidTag, normalise_tag, normalise_tags


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("us", "us"),
        ("  electricity \n", "electricity"),
        ("data hub", "data hub"),
        ("Île-de-France", "Île-de-France"),
        ("東京", "東京"),
        ("a;b:c/d", "a;b:c/d"),
        ("x" * MAX_TAG_LENGTH, "x" * MAX_TAG_LENGTH),
    ],
)
def test_a_visible_tag_is_kept_trimmed(raw: str, expected: str) -> None:
    assert normalise_tag(raw) == expected


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("x" * 5000, "is 5000 characters long (at most 64)"),
        ("\x1b[31mred", "contains U+001B, a control character"),
        ("x\ny", "contains U+000A, a control character"),
        ("x\ty", "contains U+0009, a control character"),
        ("x\x7fy", "contains U+007F, a control character"),
        ("x\x00y", "contains U+0000, a control character"),
        ("\u202eevil", "contains U+202E, an invisible format character"),
        ("x\u200by", "contains U+200B, an invisible format character"),
        ("x\u00a0y", "contains U+00A0, white space other than a single space"),
        ("x\u2028y", "contains U+2028, a line separator"),
        ("x\udcffy", "contains U+DCFF, a surrogate (not valid text)"),
        ("x\ue000y", "contains U+E000, a private-use character"),
        ("data  hub", "has two spaces in a row"),
    ],
)
def test_a_bad_tag_is_refused_by_name(raw: str, problem: str) -> None:
    with pytest.raises(InvalidTag) as refused:
        normalise_tag(raw)

    assert str(refused.value) == f"tag {raw[:80]!r}{'…' if len(raw) > 80 else ''} {problem}"


def test_the_message_shows_the_tag_escaped() -> None:
    with pytest.raises(InvalidTag) as refused:
        normalise_tag("\x1b[31mred")

    assert "\x1b" not in str(refused.value)
    assert "'\\x1b[31mred'" in str(refused.value)


def test_normalise_tags_trims_and_drops_duplicates_in_order() -> None:
    assert normalise_tags(["b", " a", "b ", "a"]) == ("b", "a")

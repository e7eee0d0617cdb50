"""Reading bodies as JSON objects: one precise finding for each way a body is unusable."""

from __future__ import annotations

import json

import pytest

from crawler.domain.findings import Finding, Severity
from crawler.domain.jsondoc import parse_json_object
from tests.examples import CURRENT_DRAFT_EXAMPLE

URL = "https://example.com/.well-known/carbon-data-spec.json"


def only_error(findings: tuple[Finding, ...]) -> Finding:
    errors = [f for f in findings if f.severity is Severity.ERROR]
    assert len(errors) == 1, findings
    return errors[0]


def rejected(body: bytes, **kwargs: int) -> Finding:
    document, findings = parse_json_object(body, URL, **kwargs)
    assert document is None
    finding = only_error(findings)
    assert finding.url == URL
    assert finding.pointer == ""
    return finding


# --- usable bodies -----------------------------------------------------------------------------


def test_an_object_parses_without_findings() -> None:
    assert parse_json_object(b'{"a": [1, 2.5, "x", null, true]}', URL) == (
        {"a": [1, 2.5, "x", None, True]},
        (),
    )


def test_surrounding_whitespace_is_allowed() -> None:
    assert parse_json_object(b' \r\n\t{"a": 1}\n ', URL) == ({"a": 1}, ())


def test_non_ascii_text_is_kept() -> None:
    assert parse_json_object('{"name": "Énergie ⚡ 電力"}'.encode(), URL) == (
        {"name": "Énergie ⚡ 電力"},
        (),
    )


def test_a_surrogate_pair_escape_is_one_character() -> None:
    assert parse_json_object(b'{"e": "\\ud83d\\ude00", "b": "\\\\ud800"}', URL) == (
        {"e": "\U0001f600", "b": "\\ud800"},
        (),
    )


@pytest.mark.parametrize(
    "number",
    [2**64, 2**64 - 1, -(2**63) - 1, -(2**63), 10**30, -(10**40), 2**200],
)
def test_integers_keep_every_digit(number: int) -> None:
    document, findings = parse_json_object(b'{"n": %d, "f": 1.5}' % number, URL)
    assert findings == ()
    assert document == {"n": number, "f": 1.5}
    assert document is not None
    assert type(document["n"]) is int


def test_a_long_digit_run_inside_a_string_stays_a_string() -> None:
    body = b'{"id": "12345678901234567890123", "n": 7}'
    assert parse_json_object(body, URL) == ({"id": "12345678901234567890123", "n": 7}, ())


def test_a_byte_order_mark_is_skipped_with_a_warning() -> None:
    document, findings = parse_json_object(b'\xef\xbb\xbf{"a": 1}', URL)
    assert document == {"a": 1}
    assert [(f.rule, f.severity, f.section, f.pointer) for f in findings] == [
        ("json.bom", Severity.WARNING, "RFC 8259 8.1", "")
    ]


def test_nesting_up_to_the_limit_is_fine() -> None:
    body = b'{"a":' + b"[" * 63 + b"]" * 63 + b"}"
    document, findings = parse_json_object(body, URL)
    assert findings == ()
    assert document is not None


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    body = b'{"a": "[[[[{{{{", "b": "\\"[[[[", "c": ["]]]]"]}'
    document, findings = parse_json_object(body, URL, max_depth=2)
    assert findings == ()
    assert document == {"a": "[[[[{{{{", "b": '"[[[[', "c": ["]]]]"]}


def test_duplicate_names_keep_the_last_value() -> None:
    assert parse_json_object(b'{"a": 1, "a": 2}', URL) == ({"a": 2}, ())


# --- unusable bodies ---------------------------------------------------------------------------


def test_the_spec_example_is_rejected_for_its_trailing_comma() -> None:
    finding = rejected(CURRENT_DRAFT_EXAMPLE)
    assert finding.rule == "json.trailing-comma"
    assert finding.section == "RFC 8259 2"
    assert finding.message == "trailing comma before ']' at line 14, column 19"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"a": [1, 2,]}', "trailing comma before ']' at line 1, column 12"),
        (b'{"a": 1,}', "trailing comma before '}' at line 1, column 8"),
        (b'{"a": 1 ,\n\n   }', "trailing comma before '}' at line 1, column 9"),
        (b'{"a": [[1],\r\n]}', "trailing comma before ']' at line 1, column 11"),
    ],
)
def test_trailing_commas_are_named_with_their_position(body: bytes, message: str) -> None:
    finding = rejected(body)
    assert (finding.rule, finding.message) == ("json.trailing-comma", message)


@pytest.mark.parametrize("body", [b"[,]", b"{,}", b"[1,,2]", b'{"a":1,,}', b'{"a",}'])
def test_other_stray_commas_are_syntax_errors(body: bytes) -> None:
    assert rejected(body).rule == "json.syntax"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"a": 1', "line 1, column 8"),
        (b"{'a': 1}", "line 1, column 2"),
        (b'{"a" 1}', "line 1, column 6"),
        (b'{"a": 1}\n{"b": 2}', "line 2, column 1"),
        (b'{\n  "a": tru\n}', "line 2, column 8"),
        (b'{"a": "line\nbreak"}', "line 1, column 12"),
        (b'{"a": 01}', "line 1, column 8"),
        (b'{"a": 1} // comment', "line 1, column 10"),
    ],
)
def test_syntax_errors_give_line_and_column(body: bytes, where: str) -> None:
    finding = rejected(body)
    assert finding.rule == "json.syntax"
    assert finding.section == "RFC 8259 2"
    assert f"at {where}:" in finding.message


def test_a_syntax_error_shows_what_was_found() -> None:
    finding = rejected(b'{"a" 1}')
    assert (
        finding.message
        == "not valid JSON at line 1, column 6: Expecting ':' delimiter; found \"1}\""
    )


def test_a_body_cut_short_says_so() -> None:
    assert rejected(b'{"a": ').message.endswith("the body ends there")


def test_the_2023_example_with_its_missing_quote_is_a_syntax_error() -> None:
    body = (
        b'{\n    "infrastructure_types": [\n'
        b'        "metering_provider,\n'
        b'        "supplier"\n    ]\n}'
    )
    finding = rejected(body)
    assert finding.rule == "json.syntax"
    assert "at line 3, column 28: Invalid control character" in finding.message


@pytest.mark.parametrize(
    ("body", "offset", "byte"),
    [
        (b'{"name": "caf\xe9"}', 13, "0xe9"),
        (b"\xff\xfe{\x00}\x00", 0, "0xff"),
        (b'{"a": "\xed\xa0\x80"}', 7, "0xed"),  # an encoded surrogate
        (b'{"a": "\xc0\xaf"}', 7, "0xc0"),  # an overlong encoding
        (b'\xef\xbb\xbf{"a": "\x80"}', 10, "0x80"),  # offsets count the byte order mark
    ],
)
def test_bytes_that_are_not_utf8_are_located(body: bytes, offset: int, byte: str) -> None:
    finding = rejected(body)
    assert finding.rule == "json.not-utf8"
    assert finding.section == "RFC 8259 8.1"
    assert f"byte {byte} at byte offset {offset} " in finding.message


def test_a_utf16_body_is_recognised_in_the_message() -> None:
    finding = rejected('{"a": 1}'.encode("utf-16"))
    assert finding.rule == "json.not-utf8"
    assert "UTF-16 byte order mark" in finding.message


@pytest.mark.parametrize("body", [b"", b"   ", b"\r\n\t ", b"\xef\xbb\xbf"])
def test_empty_bodies(body: bytes) -> None:
    finding = rejected(body)
    assert (finding.rule, finding.section) == ("json.empty", "CDSC-WG1-01 3")


@pytest.mark.parametrize(
    ("body", "token", "where"),
    [
        (b'{"a": NaN}', "NaN", "line 1, column 7"),
        (b'{"a": [1, Infinity]}', "Infinity", "line 1, column 11"),
        (b'{"s": "NaN", "a":\n -Infinity}', "-Infinity", "line 2, column 2"),
    ],
)
def test_nan_and_infinity_are_not_json(body: bytes, token: str, where: str) -> None:
    finding = rejected(body)
    assert finding.rule == "json.non-standard-number"
    assert finding.section == "RFC 8259 6"
    assert finding.message == f"{token} is not a JSON number (RFC 8259 6) at {where}"


def test_nan_is_refused_on_the_exact_integer_path_too() -> None:
    assert rejected(b'{"big": 123456789012345678901, "x": NaN}').rule == (
        "json.non-standard-number"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"a": 1e400}', "the number 1e400 is too large for a double at line 1, column 7"),
        (b'{"a": -2.5E+999}', "the number -2.5E+999 is too large for a double at line 1, column 7"),
        (
            b'{"a": ' + b"9" * 5000 + b"}",
            "an integer of 5000 digits is more than the crawler reads at line 1, column 7",
        ),
    ],
)
def test_numbers_out_of_range(body: bytes, message: str) -> None:
    finding = rejected(body)
    assert (finding.rule, finding.message) == ("json.number-out-of-range", message)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": "\\ud800"}',
        b'{"a": "\\udc00\\ud800"}',
        b'{"a": "x\\uDBFFy"}',
        b'{"big": 123456789012345678901, "a": "\\ud800"}',  # the exact integer path
    ],
)
def test_lone_surrogate_escapes(body: bytes) -> None:
    finding = rejected(body)
    assert (finding.rule, finding.section) == ("json.lone-surrogate", "RFC 8259 8.2")


def test_nesting_past_the_limit_is_refused_before_parsing() -> None:
    body = b'{"a":' + b"[" * 64 + b"]" * 64 + b"}"
    finding = rejected(body)
    assert finding.rule == "json.too-deep"
    assert finding.section == "RFC 8259 9"
    assert finding.message == (
        "arrays and objects are nested more than 64 levels deep: level 65 opens at line 1, "
        "column 69"
    )


@pytest.mark.parametrize("opener", [b"[", b"{", b'{"a":['])
def test_a_hundred_thousand_open_brackets_do_not_crash(opener: bytes) -> None:
    assert rejected(opener * 100_000).rule == "json.too-deep"


def test_deep_nesting_with_a_huge_limit_is_still_refused_cleanly() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    assert rejected(body, max_depth=1_000_000).rule == "json.too-deep"


def test_the_limit_is_configurable() -> None:
    assert rejected(b'{"a": {"b": {}}}', max_depth=2).rule == "json.too-deep"
    assert parse_json_object(b'{"a": {"b": {}}}', URL, max_depth=3) == ({"a": {"b": {}}}, ())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'[{"a": 1}]', "the body is a JSON array, expected an object"),
        (b'"{}"', "the body is a JSON string, expected an object"),
        (b"42", "the body is a JSON number, expected an object"),
        (b"-1.5e3", "the body is a JSON number, expected an object"),
        (b"true", "the body is the JSON boolean true, expected an object"),
        (b"null", "the body is JSON null, expected an object"),
        (b"123456789012345678901234", "the body is a JSON number, expected an object"),
    ],
)
def test_json_that_is_not_an_object(body: bytes, message: str) -> None:
    finding = rejected(body)
    assert (finding.rule, finding.section, finding.message) == (
        "json.not-object",
        "CDSC-WG1-01 3.2",
        message,
    )


def test_a_byte_order_mark_is_reported_alongside_the_error() -> None:
    document, findings = parse_json_object(b"\xef\xbb\xbf[1]", URL)
    assert document is None
    assert [f.rule for f in findings] == ["json.bom", "json.not-object"]


def test_both_parsers_agree_on_floats_and_strings() -> None:
    fields = b'"f": [0.1, 1e-7, 1.7976931348623157e308, 5e-324, -0.0], "s": "\\u00e9\\n\\/"'
    fast, _ = parse_json_object(b"{" + fields + b"}", URL)
    exact, _ = parse_json_object(b'{"big": 12345678901234567890123, ' + fields + b"}", URL)
    assert exact is not None
    assert fast is not None
    assert json.dumps(fast["f"]) == json.dumps(exact["f"])
    assert fast["s"] == exact["s"] == "é\n/"

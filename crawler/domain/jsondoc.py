"""Reading a response body as one JSON object, with one precise finding for each way it fails."""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import TYPE_CHECKING, Any

import orjson

from crawler.domain import rules

if TYPE_CHECKING:
    from crawler.domain.findings import Finding, Rule

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_JSON_WHITESPACE = " \t\n\r"
# A JSON string, or the rest of the text after an unterminated one; the unrolled loop is linear.
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"?'
_STRING_RE = re.compile(_STRING, re.DOTALL)
_STRING_OR_BRACKET = re.compile(_STRING + r"|[\[\]{}]", re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# orjson reads an integer beyond 64 bits as a float without a word, so a body with a run of 19
# digits anywhere goes to the exact stdlib parser instead.
_LONG_DIGIT_RUN = re.compile(r"[0-9]{19}")
_SURROGATE_HINT = re.compile(r"\\u[dD][89a-fA-F]")
_ESCAPES = re.compile(
    r"\\\\"  # an escaped backslash, consumed so the next backslash starts an escape
    r"|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"  # a surrogate pair
    r"|(\\u[dD][89a-fA-F][0-9a-fA-F]{2})"  # half of one, alone
)
_SNIPPET_CHARS = 24


class _Unusable(Exception):
    """The body cannot be read as a JSON object, for the reason the rule names."""

    def __init__(self, rule: Rule, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


class _BadNumber(Exception):
    """Raised from the stdlib parser's hooks: a number token JSON or the crawler cannot hold."""

    def __init__(self, rule: Rule, token: str, problem: str) -> None:
        super().__init__(problem)
        self.rule = rule
        self.token = token
        self.problem = problem


def parse_json_object(
    body: bytes, url: str, *, max_depth: int = 64
) -> tuple[dict[str, Any] | None, tuple[Finding, ...]]:
    """The JSON object in `body`, and findings about how it was written.

    Returns (object, findings) when the body is one JSON object (findings are then warnings at
    most: a UTF-8 byte order mark), or (None, findings) with exactly one error-level finding
    saying why it is not usable: not UTF-8, empty, invalid JSON (a trailing comma has its own
    rule), NaN/Infinity, a number out of range, a lone surrogate escape, nesting deeper than
    `max_depth` (checked before parsing, without recursion), or valid JSON that is not an
    object. Every finding has `url` and the pointer "" (the whole body). Integers keep every
    digit. Never raises; pure.
    """
    findings: list[Finding] = []
    try:
        text = _decode_utf8(body)
        raw = body
        if text.startswith("\ufeff"):
            findings.append(rules.JSON_BOM.finding(url, "", _BOM_MESSAGE))
            text, raw = text[1:], body[len(_UTF8_BOM) :]
        document = _parse_object(text, raw, max_depth)
    except _Unusable as unusable:
        findings.append(unusable.rule.finding(url, "", unusable.message))
        return None, tuple(findings)
    return document, tuple(findings)


_BOM_MESSAGE = (
    "the body starts with a UTF-8 byte order mark (EF BB BF), which JSON text must not add; "
    "it was skipped"
)


def _decode_utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        offset = error.start
        hint = " (it starts with a UTF-16 byte order mark)" if body[:2] in _UTF16_BOMS else ""
        raise _Unusable(
            rules.JSON_NOT_UTF8,
            f"the body is not valid UTF-8: byte 0x{body[offset]:02x} at byte offset {offset} "
            f"({error.reason}){hint}",
        ) from None


def _parse_object(text: str, raw: bytes, max_depth: int) -> dict[str, Any]:
    if not text.strip(_JSON_WHITESPACE):
        raise _Unusable(rules.JSON_EMPTY, _empty_message(text))
    deep_at = _too_deep_at(text, max_depth)
    if deep_at is not None:
        raise _Unusable(rules.JSON_TOO_DEEP, _too_deep_message(text, deep_at, max_depth))
    value = _parse_value(text, raw)
    if not isinstance(value, dict):
        raise _Unusable(
            rules.JSON_NOT_OBJECT, f"the body is {_json_kind(value)}, expected an object"
        )
    return value


def _empty_message(text: str) -> str:
    if not text:
        return "the body is empty, expected a JSON object"
    return f"the body holds only whitespace ({len(text)} characters), expected a JSON object"


def _too_deep_at(text: str, max_depth: int) -> int | None:
    """Index of the first '[' or '{' that opens level max_depth + 1, if one does."""
    if text.count("[") + text.count("{") <= max_depth:
        return None
    brackets = _NOT_BRACKET.sub("", _STRING_RE.sub("", text))
    if max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) <= max_depth:
        return None
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        depth += _DEPTH_STEP.get(match.group(), 0)
        if depth > max_depth:
            return match.start()
    return None


def _too_deep_message(text: str, index: int, max_depth: int) -> str:
    return (
        f"arrays and objects are nested more than {max_depth} levels deep: "
        f"level {max_depth + 1} opens at {_where(text, index)}"
    )


def _parse_value(text: str, raw: bytes) -> Any:
    if _LONG_DIGIT_RUN.search(text) is None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # diagnosed by the stdlib parser below, whose error positions index characters
    value = _stdlib_loads(text)
    _reject_lone_surrogates(text)  # orjson refuses them; the stdlib parser lets them through
    return value


def _stdlib_loads(text: str) -> Any:
    try:
        return json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            parse_int=_readable_int,
        )
    except _BadNumber as bad:
        position = _where(text, _token_index(text, bad.token))
        raise _Unusable(bad.rule, f"{bad.problem} at {position}") from None
    except json.JSONDecodeError as error:
        raise _Unusable(*_syntax_problem(text, error)) from None
    except RecursionError:
        raise _Unusable(
            rules.JSON_TOO_DEEP, "arrays and objects are nested deeper than the parser can follow"
        ) from None


def _reject_constant(token: str) -> Any:
    raise _BadNumber(
        rules.JSON_NON_STANDARD_NUMBER, token, f"{token} is not a JSON number (RFC 8259 6)"
    )


def _finite_float(token: str) -> float:
    value = float(token)
    if math.isinf(value):
        raise _BadNumber(
            rules.JSON_NUMBER_OUT_OF_RANGE,
            token,
            f"the number {_clip(token, 40)} is too large for a double",
        )
    return value


def _readable_int(token: str) -> int:
    try:
        return int(token)
    except ValueError:
        digits = len(token.lstrip("-"))
        raise _BadNumber(
            rules.JSON_NUMBER_OUT_OF_RANGE,
            token,
            f"an integer of {digits} digits is more than the crawler reads",
        ) from None


def _token_index(text: str, token: str) -> int:
    """Where `token` first stands alone outside strings (0 if nowhere)."""
    bounded = r"(?<![\w.+-])(" + re.escape(token) + r")(?![\w.+-])"
    for match in re.finditer(_STRING + "|" + bounded, text, re.DOTALL):
        if match.group(1) is not None:
            return match.start(1)
    return 0


def _syntax_problem(text: str, error: json.JSONDecodeError) -> tuple[Rule, str]:
    trailing = _trailing_comma(text, error.pos)
    if trailing is not None:
        comma_at, closer = trailing
        return (
            rules.JSON_TRAILING_COMMA,
            f"trailing comma before '{closer}' at {_where(text, comma_at)}",
        )
    return rules.JSON_SYNTAX, (
        f"not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}; "
        f"{_found_at(text, error.pos)}"
    )


def _trailing_comma(text: str, pos: int) -> tuple[int, str] | None:
    """(index of the comma, closing bracket) when the error at `pos` is a trailing comma."""
    closer_at = len(text) - len(text[pos:].lstrip(_JSON_WHITESPACE))
    if closer_at >= len(text) or text[closer_at] not in "]}":
        return None
    comma_at = len(text[:pos].rstrip(_JSON_WHITESPACE)) - 1
    if comma_at < 0 or text[comma_at] != ",":
        return None
    return comma_at, text[closer_at]


def _found_at(text: str, pos: int) -> str:
    if pos >= len(text):
        return "the body ends there"
    return f"found {json.dumps(_clip(text[pos:], _SNIPPET_CHARS), ensure_ascii=False)}"


def _reject_lone_surrogates(text: str) -> None:
    if _SURROGATE_HINT.search(text) is None:
        return
    for match in _ESCAPES.finditer(text):
        if match.group(1) is not None:
            raise _Unusable(
                rules.JSON_LONE_SURROGATE,
                f"the escape {match.group(1)} at {_where(text, match.start(1))} is half of a "
                "surrogate pair without its other half, so it is no Unicode character",
            )


def _where(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_kind(value: Any) -> str:
    if value is None:
        return "JSON null"
    if isinstance(value, bool):
        return f"the JSON boolean {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return "a JSON number"
    if isinstance(value, str):
        return "a JSON string"
    return "a JSON array"

from __future__ import annotations

import pytest

from crawler.domain.seedlist import SeedListParse, detect_format, parse_seed_list
from crawler.domain.targets import WELL_KNOWN_PATH


def well_known(host: str) -> str:
    return f"https://{host}{WELL_KNOWN_PATH}"


def urls(parsed: SeedListParse) -> list[str]:
    return [entry.target.url for entry in parsed.entries]


def urls_and_tags(parsed: SeedListParse) -> list[tuple[str, tuple[str, ...]]]:
    return [(entry.target.url, entry.tags) for entry in parsed.entries]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("seeds.json", "example.com\n", "json"),
        ("SEEDS.JSON", "", "json"),
        ("seeds.csv", "target\nexample.com\n", "csv"),
        ("Seeds.CSV", "target\nexample.com\n", "csv"),
        ("seeds.txt", "example.com\n", "text"),
        ("seeds", "example.com\n", "text"),
        ("seeds", '  \n ["example.com"]', "json"),
        ("https://example.org/list", '["example.com"]', "json"),
        ("seeds.txt", "[2001:db8::1]\nexample.com\n", "text"),
    ],
)
def test_detect_format_prefers_the_extension_then_sniffs_a_json_array(
    name: str, text: str, expected: str
) -> None:
    assert detect_format(name, text) == expected


def test_text_ignores_comments_inline_comments_and_blank_lines() -> None:
    text = (
        "# utilities in the east\n"
        "\n"
        "example.com\n"
        "   \n"
        "https://b.example.org/custom.json  # the hub\n"
        "  c.example.net  \n"
        "#d.example.com\n"
    )

    parsed = parse_seed_list(text, "text")

    assert urls(parsed) == [
        well_known("example.com"),
        "https://b.example.org/custom.json",
        well_known("c.example.net"),
    ]
    assert parsed.errors == ()
    assert [entry.tags for entry in parsed.entries] == [(), (), ()]


def test_text_with_crlf_line_endings_parses_like_lf() -> None:
    parsed = parse_seed_list("a.example.com\r\n# c\r\n\r\nb.example.com\r\n", "text")

    assert urls(parsed) == [well_known("a.example.com"), well_known("b.example.com")]
    assert parsed.errors == ()


def test_text_keeps_the_given_target_trimmed() -> None:
    parsed = parse_seed_list("  Example.COM  # x\n", "text")

    assert [entry.target.given for entry in parsed.entries] == ["Example.COM"]


def test_text_reports_every_bad_line_by_number_and_keeps_the_good_ones() -> None:
    text = "good.example.com\nftp://bad.example.com\n# comment\n\nintranet\nalso.example.com\n"

    parsed = parse_seed_list(text, "text")

    assert urls(parsed) == [well_known("good.example.com"), well_known("also.example.com")]
    assert parsed.errors == (
        "line 2: unsupported scheme 'ftp': use https:// (or http://)",
        "line 5: 'intranet' is not a domain (expected a name like example.com)",
    )


def test_text_line_numbers_count_crlf_lines_once() -> None:
    parsed = parse_seed_list("a.example.com\r\n\r\nnot a url\r\n", "text")

    assert parsed.errors == ("line 3: target contains white space: 'not a url'",)


def test_leading_byte_order_mark_is_ignored_in_every_format() -> None:
    bom = "\ufeff"

    assert urls(parse_seed_list(bom + "a.example.com\n", "text")) == [well_known("a.example.com")]
    assert urls(parse_seed_list(bom + "target\na.example.com\n", "csv")) == [
        well_known("a.example.com")
    ]
    assert urls(parse_seed_list(bom + '["a.example.com"]', "json")) == [well_known("a.example.com")]


@pytest.mark.parametrize("column", ["target", "url", "domain", "URL", " Target "])
def test_csv_accepts_a_target_url_or_domain_column(column: str) -> None:
    parsed = parse_seed_list(f"name,{column}\nAcme,a.example.com\n", "csv")

    assert urls_and_tags(parsed) == [(well_known("a.example.com"), ())]
    assert parsed.errors == ()


def test_csv_splits_tags_on_semicolon_and_pipe() -> None:
    text = (
        "target,tags\n"
        "a.example.com,us;east\n"
        "b.example.com, x | y ;z \n"
        "c.example.com,\n"
        "d.example.com,;;|\n"
    )

    parsed = parse_seed_list(text, "csv")

    assert urls_and_tags(parsed) == [
        (well_known("a.example.com"), ("us", "east")),
        (well_known("b.example.com"), ("x", "y", "z")),
        (well_known("c.example.com"), ()),
        (well_known("d.example.com"), ()),
    ]
    assert parsed.errors == ()


def test_csv_skips_blank_and_commented_rows_and_handles_crlf() -> None:
    text = "target,tags\r\na.example.com,x\r\n\r\n,\r\n# b.example.com,y\r\nc.example.com,z\r\n"

    parsed = parse_seed_list(text, "csv")

    assert urls_and_tags(parsed) == [
        (well_known("a.example.com"), ("x",)),
        (well_known("c.example.com"), ("z",)),
    ]
    assert parsed.errors == ()


def test_csv_reports_every_bad_row_by_line_number() -> None:
    text = "target,tags\nftp://a.example.com,x\ngood.example.com,y\n,orphan-tag\na_b.com,\n"

    parsed = parse_seed_list(text, "csv")

    assert urls_and_tags(parsed) == [(well_known("good.example.com"), ("y",))]
    assert len(parsed.errors) == 3
    assert parsed.errors[0] == "line 2: unsupported scheme 'ftp': use https:// (or http://)"
    assert parsed.errors[1] == "line 4: empty target"
    assert parsed.errors[2].startswith("line 5: 'a_b.com' is not a valid host name")


@pytest.mark.parametrize(
    "text",
    ["name,tags\nAcme,x\n", "example.com\nb.example.com\n", ""],
    ids=["other-columns", "no-header", "empty"],
)
def test_csv_without_a_target_column_is_one_error_and_no_entries(text: str) -> None:
    assert parse_seed_list(text, "csv") == SeedListParse(
        (), ("CSV needs a header with a 'target', 'url' or 'domain' column",)
    )


def test_json_array_of_strings_and_objects() -> None:
    text = """[
        "a.example.com",
        {"target": "b.example.com", "tags": ["us", "east"]},
        {"url": "https://c.example.com/m.json"},
        {"target": "d.example.com", "tags": []}
    ]"""

    parsed = parse_seed_list(text, "json")

    assert urls_and_tags(parsed) == [
        (well_known("a.example.com"), ()),
        (well_known("b.example.com"), ("us", "east")),
        ("https://c.example.com/m.json", ()),
        (well_known("d.example.com"), ()),
    ]
    assert parsed.errors == ()


def test_json_empty_array_is_no_entries_and_no_errors() -> None:
    assert parse_seed_list("[]", "json") == SeedListParse((), ())


@pytest.mark.parametrize(
    "text", ['{"targets": ["a.example.com"]}', '"a.example.com"', "42", "null"]
)
def test_json_that_is_not_an_array_is_an_error(text: str) -> None:
    assert parse_seed_list(text, "json") == SeedListParse((), ("expected a JSON array of targets",))


@pytest.mark.parametrize("text", ["[", '["a.example.com",]', "", "a.example.com"])
def test_invalid_json_is_an_error(text: str) -> None:
    parsed = parse_seed_list(text, "json")

    assert parsed.entries == ()
    assert len(parsed.errors) == 1
    assert parsed.errors[0].startswith("not valid JSON: ")


def test_json_reports_every_bad_item_by_index_and_keeps_the_good_ones() -> None:
    text = """[
        "good.example.com",
        42,
        null,
        ["nested.example.com"],
        "ftp://bad.example.com",
        {"tags": ["x"]},
        {"target": "t.example.com", "tags": ["ok", 3]},
        {"target": "u.example.com", "tags": "not-a-list"},
        {"target": 7},
        {"url": "fine.example.com", "tags": ["y"]}
    ]"""

    parsed = parse_seed_list(text, "json")

    assert urls_and_tags(parsed) == [
        (well_known("good.example.com"), ()),
        (well_known("fine.example.com"), ("y",)),
    ]
    assert parsed.errors == (
        "item 1: expected a string target, found int",
        "item 2: expected a string target, found NoneType",
        "item 3: expected a string target, found list",
        "item 4: unsupported scheme 'ftp': use https:// (or http://)",
        "item 5: object has no 'target' or 'url'",
        "item 6: 'tags' must be an array of strings",
        "item 7: 'tags' must be an array of strings",
        "item 8: expected a string target, found int",
    )


@pytest.mark.parametrize(
    ("fmt", "text"),
    [
        ("text", "a.example.com\nbad target\nb.example.com\nftp://x\n"),
        ("csv", "url\na.example.com\nbad target\nb.example.com\nftp://x\n"),
        ("json", '["a.example.com", "bad target", "b.example.com", "ftp://x"]'),
    ],
)
def test_every_entry_is_either_kept_or_reported(fmt: str, text: str) -> None:
    parsed = parse_seed_list(text, fmt)

    assert len(parsed.entries) + len(parsed.errors) == 4
    assert urls(parsed) == [well_known("a.example.com"), well_known("b.example.com")]


def test_json_refuses_unknown_keys_instead_of_dropping_them() -> None:
    text = """[
        {"target": "a.example.com", "tag": ["x"]},
        {"target": "b.example.com", "url": "c.example.com"},
        {"url": "d.example.com", "tags": ["y"], "name": "D", "\\u001b": 1},
        {"target": "e.example.com", "tags": ["z"]}
    ]"""

    parsed = parse_seed_list(text, "json")

    assert urls_and_tags(parsed) == [(well_known("e.example.com"), ("z",))]
    assert parsed.errors == (
        "item 0: unknown key 'tag' (expected 'target' or 'url', and 'tags')",
        "item 1: give 'target' or 'url', not both",
        "item 2: unknown key 'name', '\\x1b' (expected 'target' or 'url', and 'tags')",
    )


def test_json_refuses_a_bad_tag_and_trims_good_ones() -> None:
    text = """[
        {"target": "a.example.com", "tags": ["x\\u0000y"]},
        {"target": "b.example.com", "tags": [""]},
        {"target": "c.example.com", "tags": [" us ", "us", "east"]}
    ]"""

    parsed = parse_seed_list(text, "json")

    assert urls_and_tags(parsed) == [(well_known("c.example.com"), ("us", "east"))]
    assert parsed.errors == (
        "item 0: tag 'x\\x00y' contains U+0000, a control character",
        "item 1: tag '' is empty",
    )


@pytest.mark.parametrize(
    ("header", "columns"),
    [("url,domain", "'url', 'domain'"), ("target,target", "'target', 'target'")],
)
def test_csv_with_more_than_one_target_column_is_refused(header: str, columns: str) -> None:
    parsed = parse_seed_list(f"{header}\na.example.com,b.example.com\n", "csv")

    assert parsed == SeedListParse((), (f"CSV header has more than one target column: {columns}",))


def test_csv_with_two_tags_columns_is_refused() -> None:
    parsed = parse_seed_list("target,tags,tags\na.example.com,x,y\n", "csv")

    assert parsed == SeedListParse((), ("CSV header has more than one 'tags' column",))


def test_csv_refuses_a_row_with_more_fields_than_the_header() -> None:
    text = "target,tags\na.example.com,x,lost\nb.example.com,y,\n,,orphan\n"

    parsed = parse_seed_list(text, "csv")

    assert urls_and_tags(parsed) == [(well_known("b.example.com"), ("y",))]
    assert parsed.errors == (
        "line 2: more fields than the header has columns: 'lost'",
        "line 4: more fields than the header has columns: 'orphan'",
    )


def test_csv_refuses_a_bad_tag_by_line() -> None:
    text = "target,tags\na.example.com,ok;\x1b[31mred\nb.example.com,fine\n"

    parsed = parse_seed_list(text, "csv")

    assert urls_and_tags(parsed) == [(well_known("b.example.com"), ("fine",))]
    assert parsed.errors == ("line 2: tag '\\x1b[31mred' contains U+001B, a control character",)

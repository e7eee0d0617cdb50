from __future__ import annotations

from pathlib import Path

import pytest

from crawler.testing import LoopbackServer, Response
from tests.cli import run_cli
from tests.federation import LOOPBACK, crawl

WELL_KNOWN = "/.well-known/carbon-data-spec.json"


def test_add_domain_then_list_shows_well_known_url(database_url: str) -> None:
    added = run_cli(database_url, "seeds", "add", "example.com", "--tag", "us")
    assert added.code == 0, added.stderr

    listed = run_cli(database_url, "seeds", "list", "--json")

    assert listed.code == 0
    assert [(s["url"], s["tags"]) for s in listed.json()] == [
        (f"https://example.com{WELL_KNOWN}", ["us"])
    ]


def test_adding_an_existing_seed_merges_tags_and_is_not_an_error(database_url: str) -> None:
    run_cli(database_url, "seeds", "add", "example.com", "--tag", "a")
    again = run_cli(database_url, "seeds", "add", "https://EXAMPLE.com/", "--tag", "b")

    assert again.code == 0
    assert "already a seed" in again.stderr
    seeds = run_cli(database_url, "seeds", "list", "--json").json()
    assert [(s["url"], s["tags"]) for s in seeds] == [
        (f"https://example.com{WELL_KNOWN}", ["a", "b"])
    ]


@pytest.mark.parametrize(
    "bad",
    ["not a url", "ftp://x", "", "x" * 5000, "exa\x01mple.com", "https://exa\x7fmple.com"],
    ids=["words", "ftp", "empty", "5000-chars", "control-char", "del-char"],
)
def test_bad_target_exits_2_and_stores_nothing(database_url: str, bad: str) -> None:
    result = run_cli(database_url, "seeds", "add", "good.example.org", bad)

    assert result.code == 2
    assert "nothing was stored" in result.stderr
    assert run_cli(database_url, "seeds", "list", "--json").json() == []


def test_import_text_csv_and_json(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("# utilities\nexample.com\n\nhttps://b.example.org # hub\n")
    (tmp_path / "b.csv").write_text("target,tags\nc.example.net,us;east\n")
    (tmp_path / "c.json").write_text(
        '["d.example.com", {"target": "e.example.com", "tags": ["x"]}]'
    )

    for name in ("a.txt", "b.csv", "c.json"):
        result = run_cli(database_url, "seeds", "import", str(tmp_path / name), "--tag", "bulk")
        assert result.code == 0, result.stderr

    seeds = {s["url"]: s for s in run_cli(database_url, "seeds", "list", "--json").json()}
    hosts = sorted(url.split("/")[2] for url in seeds)
    assert hosts == [
        "b.example.org",
        "c.example.net",
        "d.example.com",
        "e.example.com",
        "example.com",
    ]
    assert seeds[f"https://c.example.net{WELL_KNOWN}"]["tags"] == ["bulk", "east", "us"]
    assert seeds[f"https://e.example.com{WELL_KNOWN}"]["source"] == "file:c.json"


def test_import_with_one_bad_line_stores_nothing(database_url: str, tmp_path: Path) -> None:
    seed_file = tmp_path / "seeds.txt"
    seed_file.write_text("example.com\nftp://nope.example.com\n")

    result = run_cli(database_url, "seeds", "import", str(seed_file))

    assert result.code == 2
    assert "line 2" in result.stderr
    assert run_cli(database_url, "seeds", "list", "--json").json() == []


def test_remove(database_url: str) -> None:
    run_cli(database_url, "seeds", "add", "example.com", "example.org")

    removed = run_cli(database_url, "seeds", "remove", "example.com")
    missing = run_cli(database_url, "seeds", "remove", "never.example.com")
    invalid = run_cli(database_url, "seeds", "remove", "example.org", "ftp://x")

    assert removed.code == 0
    assert missing.code == 2
    assert invalid.code == 2
    assert "invalid target(s), nothing was removed" in invalid.stderr
    urls = [s["url"] for s in run_cli(database_url, "seeds", "list", "--json").json()]
    assert urls == [f"https://example.org{WELL_KNOWN}"]


def test_shipped_example_seed_files_import_cleanly(database_url: str) -> None:
    examples = sorted(Path("seeds").glob("*.*"))
    assert examples, "seeds/ holds example seed files"
    for path in examples:
        result = run_cli(database_url, "seeds", "import", str(path))
        assert result.code == 0, f"{path}: {result.stderr}"


@pytest.mark.parametrize(
    "bad",
    ["\x1b[31mred", "", " ", "x\ny", "x\x7fy", "\u202eevil", "x" * 5000],
    ids=["escape", "empty", "blank", "newline", "del-char", "rtl-override", "5000-chars"],
)
def test_bad_tag_exits_2_names_it_and_stores_nothing(database_url: str, bad: str) -> None:
    result = run_cli(database_url, "seeds", "add", "example.com", "--tag", "ok", "--tag", bad)

    assert result.code == 2
    assert "nothing was stored" in result.stderr
    assert repr(bad[:80]) in result.stderr
    assert "\x1b" not in result.stderr
    assert run_cli(database_url, "seeds", "list", "--json").json() == []


def test_bad_tag_on_a_list_or_an_import_stores_nothing(database_url: str, tmp_path: Path) -> None:
    seed_file = tmp_path / "seeds.txt"
    seed_file.write_text("example.com\n")

    on_list = run_cli(
        database_url, "seeds", "add", "--list", "https://lists.example.org/s.txt", "--tag", "a\tb"
    )
    on_import = run_cli(database_url, "seeds", "import", str(seed_file), "--tag", "\u200b")

    assert (on_list.code, on_import.code) == (2, 2)
    assert "'a\\tb'" in on_list.stderr
    assert "'\\u200b'" in on_import.stderr
    assert run_cli(database_url, "seeds", "list", "--json").json() == []


def test_a_remote_list_skips_and_reports_entries_with_bad_tags_or_unknown_keys(
    database_url: str, server: LoopbackServer
) -> None:
    good, tagged, keyed = (server.url(f"/{name}{WELL_KNOWN}") for name in ("a", "b", "c"))
    server.route(
        "/seeds.json",
        Response.json(
            [good, {"target": tagged, "tags": ["\x1b[31mred"]}, {"target": keyed, "tag": ["x"]}]
        ),
    )
    list_url = server.url("/seeds.json")
    run_cli(database_url, "seeds", "add", "--list", list_url, env=LOOPBACK)

    crawl(database_url)

    listed = run_cli(database_url, "seeds", "list", "--json")
    seeds = {s["url"]: s for s in listed.json()}
    assert sorted(seeds) == sorted([list_url, good])
    assert seeds[list_url]["message"] == (
        "1 entries; 2 skipped, first: item 1: tag '\\x1b[31mred' contains U+001B, "
        "a control character"
    )


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        (
            "nul.json",
            '["a.example.com", {"target": "b.example.com", "tags": ["x\\u0000y"]}]',
            "item 1: tag 'x\\x00y'",
        ),
        ("tag.json", '[{"target": "a.example.com", "tag": ["x"]}]', "item 0: unknown key 'tag'"),
        (
            "both.json",
            '[{"target": "b.example.com", "url": "c.example.com"}]',
            "item 0: give 'target' or 'url', not both",
        ),
        (
            "columns.csv",
            "url,domain\na.example.com,b.example.com\n",
            "more than one target column: 'url', 'domain'",
        ),
        (
            "twice.csv",
            "target,target\na.example.com,b.example.com\n",
            "more than one target column: 'target', 'target'",
        ),
        (
            "extra.csv",
            "target,tags\na.example.com,x\nb.example.com,y,lost\n",
            "line 3: more fields than the header has columns: 'lost'",
        ),
        ("tags.csv", "target,tags\na.example.com,us;\x1b[31mred\n", "line 2: tag '\\x1b[31mred'"),
    ],
    ids=[
        "json-nul-tag",
        "json-unknown-key",
        "json-target-and-url",
        "csv-url-and-domain",
        "csv-target-twice",
        "csv-extra-field",
        "csv-escape-tag",
    ],
)
def test_an_import_that_would_lose_data_or_store_a_bad_tag_stores_nothing(
    database_url: str, tmp_path: Path, name: str, content: str, where: str
) -> None:
    seed_file = tmp_path / name
    seed_file.write_text(content)

    result = run_cli(database_url, "seeds", "import", str(seed_file))

    assert result.code == 2
    assert f"{seed_file}: nothing was stored" in result.stderr
    assert where in result.stderr
    assert run_cli(database_url, "seeds", "list", "--json").json() == []


def test_remove_is_all_or_nothing(database_url: str) -> None:
    run_cli(database_url, "seeds", "add", "base.example", "kept.example")

    result = run_cli(
        database_url, "seeds", "remove", "base.example", "unknown.example", "other.example"
    )

    assert result.code == 2
    assert (
        f"https://unknown.example{WELL_KNOWN}, https://other.example{WELL_KNOWN}" in result.stderr
    )
    assert "nothing was removed" in result.stderr
    urls = [s["url"] for s in run_cli(database_url, "seeds", "list", "--json").json()]
    assert urls == [f"https://base.example{WELL_KNOWN}", f"https://kept.example{WELL_KNOWN}"]


def test_remove_accepts_the_same_seed_twice(database_url: str) -> None:
    run_cli(database_url, "seeds", "add", "base.example", "kept.example")

    result = run_cli(database_url, "seeds", "remove", "base.example", "https://BASE.example/")

    assert result.code == 0, result.stderr
    urls = [s["url"] for s in run_cli(database_url, "seeds", "list", "--json").json()]
    assert urls == [f"https://kept.example{WELL_KNOWN}"]

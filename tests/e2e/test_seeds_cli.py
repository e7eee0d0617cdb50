from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import run_cli

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

    assert removed.code == 0
    assert missing.code == 1
    urls = [s["url"] for s in run_cli(database_url, "seeds", "list", "--json").json()]
    assert urls == [f"https://example.org{WELL_KNOWN}"]


def test_shipped_example_seed_files_import_cleanly(database_url: str) -> None:
    examples = sorted(Path("seeds").glob("*.*"))
    assert examples, "seeds/ holds example seed files"
    for path in examples:
        result = run_cli(database_url, "seeds", "import", str(path))
        assert result.code == 0, f"{path}: {result.stderr}"

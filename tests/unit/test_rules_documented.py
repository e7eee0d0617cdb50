"""docs/conformance.md lists every rule in crawler.domain.rules, with its severity and section."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.domain import rules
from crawler.domain.findings import Rule

CONFORMANCE = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"

ALL_RULES = [value for value in vars(rules).values() if isinstance(value, Rule)]


def documented_rows() -> dict[str, tuple[str, str]]:
    """Rule id -> (severity, section), from every table row whose first cell is `an.id`."""
    rows: dict[str, tuple[str, str]] = {}
    for line in CONFORMANCE.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0].startswith("`") and cells[0].endswith("`"):
            rule_id = cells[0].strip("`")
            assert rule_id not in rows, f"{rule_id} is documented twice"
            rows[rule_id] = (cells[1], cells[2])
    return rows


def test_the_catalogue_is_not_empty() -> None:
    assert len(ALL_RULES) >= 30


def test_rule_ids_are_unique() -> None:
    ids = [rule.id for rule in ALL_RULES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.id)
def test_rule_is_documented_with_its_severity_and_section(rule: Rule) -> None:
    rows = documented_rows()
    assert rule.id in rows, f"{rule.id} is missing from docs/conformance.md"
    assert rows[rule.id] == (rule.severity.value, rule.section)


def test_every_documented_rule_exists() -> None:
    assert set(documented_rows()) == {rule.id for rule in ALL_RULES}

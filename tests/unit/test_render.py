"""What the tables for people print of text that publishers control."""

from __future__ import annotations

import pytest
from rich.console import Console

from crawler.render import shown


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("Utility North", "Utility North"),
        ("\x1b[2J\x1b]0;title\x07", "\\x1b[2J\\x1b]0;title\\x07"),
        ("[bold]loud[/bold] [link=https://evil.example]here[/link]", None),
        ("right\u202eto left\u200b", "right\\u202eto left\\u200b"),
        ("two\nlines\ttab", "two\\nlines\\ttab"),
        (42, "42"),
    ],
)
def test_shown_text_prints_as_written_and_writes_nothing_else(
    value: object, printed: str | None
) -> None:
    console = Console(record=True, width=500, color_system=None)

    console.print(shown(value), end="")

    assert console.export_text() == (printed if printed is not None else str(value))

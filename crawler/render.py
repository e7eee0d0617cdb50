"""Output for people: rich tables and a progress bar (never used with --json)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

console = Console()
errors = Console(stderr=True)

_STATUS_STYLE = {
    "ok": "green",
    "invalid": "red",
    "unreachable": "yellow",
    "not_found": "dim",
    "moved": "cyan",
    "blocked": "magenta",
}


def shown(value: object) -> str:
    """`value` as text that is safe to print. Most of what these tables show comes from
    publishers' documents, which may hold rich markup or terminal escape sequences: markup is
    escaped, and every character that is not printable is shown as its Python escape."""
    text = str(value)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    return escape(text)


def _json_shown(data: Any) -> str:
    """`data` as indented JSON in which every character that is not printable is written as
    a JSON escape (json.dumps escapes control characters, but not U+202E and the like)."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return "".join(c if c.isprintable() or c == "\n" else json.dumps(c)[1:-1] for c in text)


def _when(value: str | None) -> str:
    return value[:19].replace("T", " ") if value else "-"


def _status(value: str) -> str:
    style = _STATUS_STYLE.get(value, "white")
    return f"[{style}]{value}[/{style}]"


def seeds_table(rows: list[dict[str, Any]]) -> None:
    table = Table(title=f"{len(rows)} seeds")
    for column in ("url", "kind", "tags", "source", "added"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            shown(row["url"]),
            row["kind"],
            ", ".join(shown(tag) for tag in row["tags"]),
            shown(row["source"]),
            _when(row["added_at"]),
        )
    console.print(table)


def servers_table(rows: list[dict[str, Any]]) -> None:
    table = Table(title=f"{len(rows)} servers")
    for column in ("url", "name", "status", "versions", "last fetched", "last changed"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            shown(row["url"]),
            shown(row["name"] or "-"),
            _status(row["status"]),
            str(row["versions"]),
            _when(row["last_fetched"]),
            _when(row["last_changed"]),
        )
    console.print(table)


def server_detail(detail: dict[str, Any]) -> None:
    title = shown(detail["name"] or detail["url"])
    console.print(f"[bold]{title}[/bold]  {_status(detail['status'])}")
    for key in ("url", "canonical_url", "discovered_via", "first_seen", "last_fetched"):
        console.print(f"  {key}: {shown(detail[key] or '-')}")
    version = detail["current_version"]
    if version:
        console.print(
            f"  version {version['version']} ({version['draft']} draft), "
            f"sha256 {version['content_sha256'][:16]}…"
        )
        console.print(_json_shown(detail["document"]), markup=False, soft_wrap=True)
    coverage_table(detail["coverage_entries"])
    oauth_summary(detail["oauth_metadata"])
    relations_table(detail["related"], detail["linked_from"])
    findings_table(detail["findings"])


def coverage_table(entries: list[dict[str, Any]], title: str = "coverage entries") -> None:
    """Entries of one server (`show`), or of every server covering a point (`coverage --at`)."""
    if not entries:
        return
    table = Table(title=title)
    by_server = "server_url" in entries[0]
    columns = ("server", "id") if by_server else ("id",)
    for column in (*columns, "name", "role", "country", "commodities", "territory", "valid"):
        table.add_column(column, overflow="fold")
    for e in entries:
        server = (shown(e["server_url"]),) if by_server else ()
        table.add_row(
            *server,
            shown(e["entry_id"]),
            shown(e.get("name") or "-"),
            shown(e.get("role") or "-"),
            shown(e.get("country") or "-"),
            shown(", ".join(e.get("commodity_types") or [])),
            _territory(e.get("territory")),
            "yes" if e["valid"] else "[red]no[/red]",
        )
    console.print(table)


def _territory(summary: dict[str, Any] | None) -> str:
    if summary is None:
        return "-"
    west, south, east, north = summary["bbox"]
    return (
        f"{summary['area_km2']:,.1f} km², lon {west:.3f}..{east:.3f}, lat {south:.3f}..{north:.3f}"
    )


def oauth_summary(oauth: dict[str, Any] | None) -> None:
    if oauth is None:
        return
    where = " (RFC 8414 well-known location)" if oauth["well_known"] else ""
    valid = "" if oauth["valid"] else " [red](has errors)[/red]"
    console.print(f"  oauth metadata: {shown(oauth['url'])}{where}{valid}")
    for key in ("issuer", "registration_endpoint", "cds_human_registration"):
        if oauth.get(key):
            console.print(f"    {key}: {shown(oauth[key])}")
    if oauth.get("scopes_supported"):
        console.print(f"    scopes: {shown(', '.join(oauth['scopes_supported']))}")


def relations_table(related: list[dict[str, Any]], linked_from: list[dict[str, Any]]) -> None:
    if not related and not linked_from:
        return
    table = Table(title="related metadata")
    for column in ("direction", "url", "relationship"):
        table.add_column(column, overflow="fold")
    for direction, rows in (("links to", related), ("linked from", linked_from)):
        for row in rows:
            verdict = f"confirmed ({row['basis']})" if row["confirmed"] else "claimed only"
            table.add_row(direction, shown(row["url"]), verdict)
    console.print(table)


def findings_table(findings: list[dict[str, Any]]) -> None:
    if not findings:
        console.print("  no findings")
        return
    table = Table(title="findings")
    for column in ("severity", "rule", "pointer", "section", "message"):
        table.add_column(column, overflow="fold")
    for f in findings:
        table.add_row(
            f["severity"],
            f["rule"],
            shown(f["pointer"] or "/"),
            f["section"],
            shown(f["message"]),
        )
    console.print(table)


def validation_report(report: dict[str, Any]) -> None:
    console.print(f"[bold]{shown(report['url'])}[/bold]  {_status(report['status'])}")
    findings_table(report["findings"])


def history_table(url: str, versions: list[dict[str, Any]]) -> None:
    table = Table(title=f"history of {shown(url)}")
    for column in ("version", "fetched", "last confirmed", "sha256", "changes"):
        table.add_column(column, overflow="fold")
    for v in versions:
        table.add_row(
            str(v["version"]),
            _when(v["fetched_at"]),
            _when(v["last_confirmed_at"]),
            v["content_sha256"][:12],
            "\n".join(shown(change) for change in v["changes"]),
        )
    console.print(table)


def crawl_summary(summary: dict[str, Any]) -> None:
    console.print(
        f"crawled {summary['servers_seen']} servers in {summary['duration_s']:.2f}s: "
        f"{summary['servers_new']} new, {summary['servers_changed']} changed, "
        f"{summary['servers_unchanged']} unchanged, {summary['servers_failed']} failed "
        f"({summary['requests']} requests)"
    )


@contextmanager
def crawl_progress() -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr while the crawl runs."""
    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=errors, transient=True) as bar:
        task = bar.add_task("crawling", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def events_table(events: list[dict[str, Any]]) -> None:
    if not events:
        console.print("no events")
        return
    table = Table(title=f"{len(events)} events")
    for column in ("sequence", "time", "type", "subject"):
        table.add_column(column, overflow="fold")
    for event in events:
        table.add_row(
            str(event["sequence"]), _when(event["time"]), event["type"], shown(event["subject"])
        )
    console.print(table)

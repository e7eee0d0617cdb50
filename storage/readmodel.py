"""The analysts' queries (the read side), in plain SQL on a `Reader`.

Every function returns plain JSON-ready dicts, the shapes that `--json` prints. They import
nothing heavy, so that reading commands start fast (see storage.reader).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from crawler.domain.diff import describe_changes, json_patch
from crawler.domain.events import cloudevent
from crawler.domain.relations import confirmation
from storage.reader import Reader

SERVER_COLUMNS = """
    s.url, s.canonical_url, s.name, s.status, s.status_since, s.first_seen, s.last_fetched,
    s.last_changed, s.consecutive_failures, s.discovered_via, s.moved_to
"""


def iso(value: datetime | None) -> str | None:
    """An aware timestamp as RFC 3339 text, or None."""
    return value.isoformat() if value is not None else None


def server_json(reader: Reader, row: dict[str, Any], version_count: int) -> dict[str, Any]:
    def when(column: str) -> str | None:
        return iso(reader.timestamp(row[column]))

    return {
        "url": row["url"],
        "canonical_url": row["canonical_url"],
        "name": row["name"],
        "status": row["status"],
        "status_since": when("status_since"),
        "first_seen": when("first_seen"),
        "last_fetched": when("last_fetched"),
        "last_changed": when("last_changed"),
        "versions": version_count,
        "consecutive_failures": row["consecutive_failures"],
        "discovered_via": row["discovered_via"],
        "moved_to": row["moved_to"],
    }


def list_seeds(reader: Reader) -> list[dict[str, Any]]:
    """Every seed, ordered by kind and URL."""
    rows = reader.rows(
        """
        SELECT s.url, s.kind, s.target, s.tags, s.source, s.added_at, s.last_fetched, s.status,
               s.message, l.url AS list_url
        FROM seeds s LEFT JOIN seeds l ON l.id = s.list_seed_id
        ORDER BY s.kind, s.url
        """
    )
    return [
        {
            "url": row["url"],
            "kind": row["kind"],
            "target": row["target"],
            "tags": reader.json(row["tags"]),
            "source": row["source"],
            "added_at": iso(reader.timestamp(row["added_at"])),
            "list": row["list_url"],
            "last_fetched": iso(reader.timestamp(row["last_fetched"])),
            "status": row["status"],
            "message": row["message"],
        }
        for row in rows
    ]


def list_servers(reader: Reader) -> list[dict[str, Any]]:
    """Every known metadata URL with its status and version count, ordered by URL."""
    rows = reader.rows(
        f"""
        SELECT {SERVER_COLUMNS}, COALESCE(v.n, 0) AS version_count
        FROM servers s
        LEFT JOIN (SELECT server_id, count(*) AS n FROM versions GROUP BY server_id) v
            ON v.server_id = s.id
        ORDER BY s.url
        """
    )
    return [server_json(reader, row, row["version_count"]) for row in rows]


def find_server(reader: Reader, urls: list[str]) -> dict[str, Any] | None:
    candidates, params = reader.in_list("u", urls)
    rows = reader.rows(
        f"""
        SELECT s.id, {SERVER_COLUMNS} FROM servers s
        WHERE s.url IN {candidates} OR s.canonical_url IN {candidates}
        ORDER BY CASE WHEN s.url IN {candidates} THEN 0 ELSE 1 END, s.url
        LIMIT 1
        """,
        params,
    )
    return rows[0] if rows else None


def versions_of(
    reader: Reader,
    server_id: int,
    limit: int | None = None,
    where: str = "",
    **params: Any,
) -> list[dict[str, Any]]:
    """The server's versions with their documents, newest first (`where` narrows them with
    `params`; a datetime parameter is compared as a timestamp)."""
    bound = {
        name: reader.at(value) if isinstance(value, datetime) else value
        for name, value in params.items()
    }
    rows = reader.rows(
        f"""
        SELECT v.id, v.version, v.fetched_at, v.last_confirmed_at, v.document_sha256, v.draft,
               v.valid, d.content
        FROM versions v JOIN documents d ON d.sha256 = v.document_sha256
        WHERE v.server_id = :server_id {where}
        ORDER BY v.version DESC
        {"LIMIT " + str(int(limit)) if limit else ""}
        """,
        {**bound, "server_id": server_id},
    )
    for row in rows:
        row["content"] = reader.json(row["content"])
    return rows


def version_json(reader: Reader, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": row["version"],
        "fetched_at": iso(reader.timestamp(row["fetched_at"])),
        "last_confirmed_at": iso(reader.timestamp(row["last_confirmed_at"])),
        "content_sha256": row["document_sha256"],
        "draft": row["draft"],
        "valid": bool(row["valid"]),
    }


def show_server(reader: Reader, urls: list[str]) -> dict[str, Any] | None:
    """The server known by any of `urls` with its current version, document and findings."""
    server = find_server(reader, urls)
    return server_detail(reader, server) if server is not None else None


def server_by_id(reader: Reader, server_id: int) -> dict[str, Any] | None:
    rows = reader.rows(
        f"SELECT s.id, {SERVER_COLUMNS} FROM servers s WHERE s.id = :id", {"id": server_id}
    )
    return rows[0] if rows else None


def server_detail(
    reader: Reader, server: dict[str, Any], as_of: datetime | None = None
) -> dict[str, Any]:
    """`server` with its version, document, entries and findings now, or as they stood at
    `as_of` (the version fetched last by then; null fields when it had none yet)."""
    fetched_by = "AND v.fetched_at <= :at" if as_of is not None else ""
    found = versions_of(reader, server["id"], limit=1, where=fetched_by, at=as_of)
    current = found[0] if found else None
    [count] = reader.rows(
        "SELECT count(*) AS n FROM versions WHERE server_id = :server_id",
        {"server_id": server["id"]},
    )
    version_id = current["id"] if current else None
    findings = reader.rows(
        f"""
        SELECT rule, severity, url, pointer, section, message, version_id FROM findings
        WHERE server_id = :server_id AND (version_id = :version_id
              {"" if as_of is not None else "OR version_id IS NULL"})
        ORDER BY CASE WHEN version_id IS NULL THEN 0 ELSE 1 END, id
        """,
        {"server_id": server["id"], "version_id": version_id},
    )
    return {
        **server_json(reader, server, count["n"]),
        **_relations(reader, server["url"], version_id),
        "current_version": version_json(reader, current) if current else None,
        "document": current["content"] if current else None,
        "coverage_entries": entries_of(reader, server["id"], as_of),
        "oauth_metadata": _oauth_of(reader, server["id"], as_of),
        "findings": [_finding_json(f) for f in findings],
    }


def in_effect(reader: Reader, alias: str, as_of: datetime | None) -> tuple[str, dict[str, Any]]:
    """SQL true for the rows of a versioned table (`valid_from`, `valid_to`) current now, or
    current at `as_of`, and its parameters."""
    if as_of is None:
        return f"{alias}.valid_to IS NULL", {}
    return (
        f"({alias}.valid_from <= :at AND ({alias}.valid_to IS NULL OR {alias}.valid_to > :at))",
        {"at": reader.at(as_of)},
    )


def entries_of(
    reader: Reader, server_id: int, as_of: datetime | None = None
) -> list[dict[str, Any]]:
    """The server's coverage entries now (or at `as_of`), mapped onto the current draft, each
    with a summary of its territory (null when it has none)."""
    entry_current, params = in_effect(reader, "c", as_of)
    territory_current, _ = in_effect(reader, "t", as_of)
    rows = reader.rows(
        f"""
        SELECT c.entry_id, c.version, c.model, c.valid, c.valid_from, c.last_confirmed_at,
               t.url AS territory_url, t.version AS territory_version, t.area_km2, t.vertices,
               t.min_lon, t.min_lat, t.max_lon, t.max_lat
        FROM coverage_entries c
        LEFT JOIN territories t ON t.server_id = c.server_id AND t.entry_id = c.entry_id
             AND {territory_current}
        WHERE c.server_id = :server_id AND {entry_current}
        ORDER BY c.entry_id
        """,
        {**params, "server_id": server_id},
    )
    return [
        {
            **reader.json(row["model"]),
            "entry_id": row["entry_id"],
            "version": row["version"],
            "valid": bool(row["valid"]),
            "first_seen": iso(reader.timestamp(row["valid_from"])),
            "last_confirmed_at": iso(reader.timestamp(row["last_confirmed_at"])),
            "territory": territory_summary(row),
        }
        for row in rows
    ]


def territory_summary(row: dict[str, Any]) -> dict[str, Any] | None:
    if row["territory_url"] is None:
        return None
    return {
        "url": row["territory_url"],
        "version": row["territory_version"],
        "area_km2": round(row["area_km2"], 3),
        "bbox": [row["min_lon"], row["min_lat"], row["max_lon"], row["max_lat"]],
        "vertices": row["vertices"],
    }


def _oauth_of(reader: Reader, server_id: int, as_of: datetime | None) -> dict[str, Any] | None:
    """The server's OAuth metadata now (or at `as_of`): where it was read, what it offers."""
    current, params = in_effect(reader, "o", as_of)
    rows = reader.rows(
        f"""
        SELECT url, well_known, version, valid, summary, valid_from, last_confirmed_at
        FROM oauth_metadata o WHERE server_id = :server_id AND {current}
        """,
        {**params, "server_id": server_id},
    )
    if not rows:
        return None
    row = rows[0]
    return {
        **reader.json(row["summary"]),
        "url": row["url"],
        "well_known": bool(row["well_known"]),
        "version": row["version"],
        "valid": bool(row["valid"]),
        "first_seen": iso(reader.timestamp(row["valid_from"])),
        "last_confirmed_at": iso(reader.timestamp(row["last_confirmed_at"])),
    }


_CURRENT_VERSION_IDS = "SELECT max(id) FROM versions GROUP BY server_id"


def _relations(reader: Reader, url: str, version_id: int | None) -> dict[str, Any]:
    """The related_metadata links of the current version (`related`) and the servers whose
    current version links here (`linked_from`), each confirmed or only claimed."""
    outgoing = reader.rows(
        """
        SELECT l.url, t.status FROM links l LEFT JOIN servers t ON t.url = l.url
        WHERE l.version_id = :version_id AND l.kind = 'related_metadata' ORDER BY l.position
        """,
        {"version_id": version_id},
    )
    incoming = reader.rows(
        f"""
        SELECT DISTINCT s.url FROM links l JOIN servers s ON s.id = l.server_id
        WHERE l.url = :url AND l.kind = 'related_metadata'
          AND l.version_id IN ({_CURRENT_VERSION_IDS})
        ORDER BY s.url
        """,
        {"url": url},
    )
    linking = {row["url"] for row in incoming}
    linked = {row["url"] for row in outgoing}

    def relation(other: str, back: bool, **extra: Any) -> dict[str, Any]:
        basis = confirmation(url, other, links_back=back)
        return {"url": other, "confirmed": basis is not None, "basis": basis, **extra}

    return {
        "related": [
            relation(row["url"], row["url"] in linking, status=row["status"]) for row in outgoing
        ],
        "linked_from": [relation(other, other in linked) for other in sorted(linking)],
    }


def _finding_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "rule": row["rule"],
        "severity": row["severity"],
        "url": row["url"],
        "pointer": row["pointer"],
        "section": row["section"],
        "message": row["message"],
        "scope": "version" if row["version_id"] is not None else "latest_fetch",
    }


def server_history(reader: Reader, urls: list[str]) -> list[dict[str, Any]] | None:
    """Every version of the server, newest first, each with what changed from the one before."""
    server = find_server(reader, urls)
    return history_of(reader, server["id"]) if server is not None else None


def history_of(reader: Reader, server_id: int) -> list[dict[str, Any]]:
    rows = versions_of(reader, server_id)
    return [
        {**version_json(reader, row), **changes(previous, row)}
        # each version with the one before it; none for the first (nor for no version at all)
        for row, previous in zip(rows, [*rows[1:], None], strict=False)
    ]


def changes(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, Any]:
    """What changed from version `before` (None: there was none) to version `after`."""
    if before is None:
        return {"changes": ["first version"], "patch": []}
    return {
        "changes": describe_changes(before["content"], after["content"])
        or ["no change in content"],
        "patch": json_patch(before["content"], after["content"]),
    }


def version_of(reader: Reader, server_id: int, version: int) -> dict[str, Any] | None:
    """One version with its document as published."""
    rows = versions_of(reader, server_id, where="AND v.version = :version", version=version)
    return {**version_json(reader, rows[0]), "document": rows[0]["content"]} if rows else None


def difference(reader: Reader, server_id: int, since: int, until: int) -> dict[str, Any] | None:
    """What changed between two versions of a server (None when either does not exist)."""
    rows = versions_of(
        reader, server_id, where="AND v.version IN (:since, :until)", since=since, until=until
    )
    by_number = {row["version"]: row for row in rows}
    if since not in by_number or until not in by_number:
        return None
    before, after = by_number[since], by_number[until]
    return {
        "from": version_json(reader, before),
        "to": version_json(reader, after),
        **changes(before, after),
    }


def entries_with_territories(reader: Reader, territory_ids: list[int]) -> list[dict[str, Any]]:
    """The current coverage entries whose current territories are these, as `coverage --at`
    prints them: ordered by server URL and entry id."""
    if not territory_ids:
        return []
    ids, params = reader.in_list("t", territory_ids)
    return [
        entry_json(reader, row)
        for row in entry_rows(reader, f"t.id IN {ids} AND c.valid_to IS NULL", params)
    ]


def entry_rows(
    reader: Reader,
    where: str,
    params: dict[str, Any],
    geometry: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Coverage entries joined with their territories (`t`) and servers (`s`) where `where`
    holds, ordered by server URL and entry id; with the territory's WKB when `geometry`."""
    return reader.rows(
        f"""
        SELECT s.id AS server_id, s.url AS server_url, c.entry_id, c.model, c.valid,
               t.url AS territory_url, t.version AS territory_version, t.area_km2, t.vertices,
               t.min_lon, t.min_lat, t.max_lon, t.max_lat
               {", t.geometry" if geometry else ""}
        FROM territories t
        JOIN coverage_entries c ON c.server_id = t.server_id AND c.entry_id = t.entry_id
        JOIN servers s ON s.id = t.server_id
        WHERE {where}
        ORDER BY s.url, c.entry_id
        {"LIMIT " + str(int(limit)) if limit else ""}
        """,
        params,
    )


def entry_json(reader: Reader, row: dict[str, Any]) -> dict[str, Any]:
    """An `entry_rows` row as `coverage --json` prints it."""
    model = reader.json(row["model"])
    return {
        "server_id": row["server_id"],
        "server_url": row["server_url"],
        "entry_id": row["entry_id"],
        **{key: model.get(key) for key in ENTRY_FIELDS},
        "valid": bool(row["valid"]),
        "territory": territory_summary(row),
    }


ENTRY_FIELDS = (
    "entity_name",
    "name",
    "type",
    "role",
    "country",
    "commodity_types",
    "infrastructure_types",
    "capabilities",
    "updated",
    "draft",
)


def events_after(reader: Reader, after: int, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` events with a sequence above `after`, in order, as CloudEvents."""
    rows = reader.rows(
        "SELECT id, event_id, type, subject, time, data FROM events WHERE id > :after "
        "ORDER BY id LIMIT :limit",
        {"after": after, "limit": limit},
    )
    return [
        cloudevent(
            row["id"],
            row["event_id"],
            row["type"],
            row["subject"],
            _required(reader.timestamp(row["time"])),
            reader.json(row["data"]),
        )
        for row in rows
    ]


EVENT_PAGE = 1000


def event_pages(
    reader: Reader, after: int, limit: int | None, page_size: int = EVENT_PAGE
) -> Iterator[list[dict[str, Any]]]:
    """The events with a sequence above `after` (at most `limit`; None: all), in order, a page
    at a time, so that a consumer of every event never holds them all."""
    remaining = limit
    while remaining is None or remaining > 0:
        size = page_size if remaining is None else min(page_size, remaining)
        page = events_after(reader, after, size)
        if page:
            yield page
        if len(page) < size:
            return
        after = page[-1]["sequence"]
        if remaining is not None:
            remaining -= len(page)


def event_sequence(reader: Reader, event_id: str) -> int | None:
    """The sequence of the event whose CloudEvents `id` is `event_id`, if it is stored."""
    rows = reader.rows("SELECT id FROM events WHERE event_id = :event_id", {"event_id": event_id})
    return int(rows[0]["id"]) if rows else None


def _required(value: datetime | None) -> datetime:
    assert value is not None, "a NOT NULL timestamp column was null"
    return value

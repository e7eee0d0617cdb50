"""The analysts' queries (the read side), in plain SQL on a `Reader`.

Every function returns plain JSON-ready dicts, the shapes that `--json` prints. They import
nothing heavy, so that reading commands start fast (see storage.reader).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crawler.domain.diff import describe_changes, json_patch
from crawler.domain.events import cloudevent
from crawler.domain.relations import confirmation
from storage.reader import Reader

_SERVER_COLUMNS = """
    s.url, s.canonical_url, s.name, s.status, s.status_since, s.first_seen, s.last_fetched,
    s.last_changed, s.consecutive_failures, s.discovered_via, s.moved_to
"""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _server_json(reader: Reader, row: dict[str, Any], version_count: int) -> dict[str, Any]:
    def when(column: str) -> str | None:
        return _iso(reader.timestamp(row[column]))

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
            "added_at": _iso(reader.timestamp(row["added_at"])),
            "list": row["list_url"],
            "last_fetched": _iso(reader.timestamp(row["last_fetched"])),
            "status": row["status"],
            "message": row["message"],
        }
        for row in rows
    ]


def list_servers(reader: Reader) -> list[dict[str, Any]]:
    """Every known metadata URL with its status and version count, ordered by URL."""
    rows = reader.rows(
        f"""
        SELECT {_SERVER_COLUMNS}, COALESCE(v.n, 0) AS version_count
        FROM servers s
        LEFT JOIN (SELECT server_id, count(*) AS n FROM versions GROUP BY server_id) v
            ON v.server_id = s.id
        ORDER BY s.url
        """
    )
    return [_server_json(reader, row, row["version_count"]) for row in rows]


def _find_server(reader: Reader, urls: list[str]) -> dict[str, Any] | None:
    candidates, params = reader.in_list("u", urls)
    rows = reader.rows(
        f"""
        SELECT s.id, {_SERVER_COLUMNS} FROM servers s
        WHERE s.url IN {candidates} OR s.canonical_url IN {candidates}
        ORDER BY CASE WHEN s.url IN {candidates} THEN 0 ELSE 1 END, s.url
        LIMIT 1
        """,
        params,
    )
    return rows[0] if rows else None


def _versions(reader: Reader, server_id: int, limit: int | None = None) -> list[dict[str, Any]]:
    rows = reader.rows(
        f"""
        SELECT v.id, v.version, v.fetched_at, v.last_confirmed_at, v.document_sha256, v.draft,
               v.valid, d.content
        FROM versions v JOIN documents d ON d.sha256 = v.document_sha256
        WHERE v.server_id = :server_id
        ORDER BY v.version DESC
        {"LIMIT " + str(int(limit)) if limit else ""}
        """,
        {"server_id": server_id},
    )
    for row in rows:
        row["content"] = reader.json(row["content"])
    return rows


def _version_json(reader: Reader, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": row["version"],
        "fetched_at": _iso(reader.timestamp(row["fetched_at"])),
        "last_confirmed_at": _iso(reader.timestamp(row["last_confirmed_at"])),
        "content_sha256": row["document_sha256"],
        "draft": row["draft"],
        "valid": bool(row["valid"]),
    }


def show_server(reader: Reader, urls: list[str]) -> dict[str, Any] | None:
    """The server known by any of `urls` with its current version, document and findings."""
    server = _find_server(reader, urls)
    if server is None:
        return None
    current = next(iter(_versions(reader, server["id"], limit=1)), None)
    [count] = reader.rows(
        "SELECT count(*) AS n FROM versions WHERE server_id = :server_id",
        {"server_id": server["id"]},
    )
    findings = reader.rows(
        """
        SELECT rule, severity, url, pointer, section, message, version_id FROM findings
        WHERE server_id = :server_id AND (version_id IS NULL OR version_id = :version_id)
        ORDER BY CASE WHEN version_id IS NULL THEN 0 ELSE 1 END, id
        """,
        {"server_id": server["id"], "version_id": current["id"] if current else None},
    )
    return {
        **_server_json(reader, server, count["n"]),
        **_relations(reader, server["url"], current["id"] if current else None),
        "current_version": _version_json(reader, current) if current else None,
        "document": current["content"] if current else None,
        "coverage_entries": _current_entries(reader, server["id"]),
        "oauth_metadata": _current_oauth(reader, server["id"]),
        "findings": [_finding_json(f) for f in findings],
    }


def _current_entries(reader: Reader, server_id: int) -> list[dict[str, Any]]:
    """The server's coverage entries as they stand now, mapped onto the current draft, each
    with a summary of its current territory (null when it has none)."""
    rows = reader.rows(
        """
        SELECT c.entry_id, c.version, c.model, c.valid, c.valid_from, c.last_confirmed_at,
               t.url AS territory_url, t.version AS territory_version, t.area_km2, t.vertices,
               t.min_lon, t.min_lat, t.max_lon, t.max_lat
        FROM coverage_entries c
        LEFT JOIN territories t ON t.server_id = c.server_id AND t.entry_id = c.entry_id
             AND t.valid_to IS NULL
        WHERE c.server_id = :server_id AND c.valid_to IS NULL
        ORDER BY c.entry_id
        """,
        {"server_id": server_id},
    )
    return [
        {
            **reader.json(row["model"]),
            "entry_id": row["entry_id"],
            "version": row["version"],
            "valid": bool(row["valid"]),
            "first_seen": _iso(reader.timestamp(row["valid_from"])),
            "last_confirmed_at": _iso(reader.timestamp(row["last_confirmed_at"])),
            "territory": _territory_summary(row),
        }
        for row in rows
    ]


def _territory_summary(row: dict[str, Any]) -> dict[str, Any] | None:
    if row["territory_url"] is None:
        return None
    return {
        "url": row["territory_url"],
        "version": row["territory_version"],
        "area_km2": round(row["area_km2"], 3),
        "bbox": [row["min_lon"], row["min_lat"], row["max_lon"], row["max_lat"]],
        "vertices": row["vertices"],
    }


def _current_oauth(reader: Reader, server_id: int) -> dict[str, Any] | None:
    """The server's OAuth metadata as it stands now: where it was read and what it offers."""
    rows = reader.rows(
        """
        SELECT url, well_known, version, valid, summary, valid_from, last_confirmed_at
        FROM oauth_metadata WHERE server_id = :server_id AND valid_to IS NULL
        """,
        {"server_id": server_id},
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
        "first_seen": _iso(reader.timestamp(row["valid_from"])),
        "last_confirmed_at": _iso(reader.timestamp(row["last_confirmed_at"])),
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
    server = _find_server(reader, urls)
    if server is None:
        return None
    rows = _versions(reader, server["id"])
    history = []
    for row, previous in zip(rows, [*rows[1:], None], strict=True):
        entry = _version_json(reader, row)
        if previous is None:
            entry["changes"] = ["first version"]
            entry["patch"] = []
        else:
            entry["changes"] = describe_changes(previous["content"], row["content"]) or [
                "no change in content (served again after another version)"
            ]
            entry["patch"] = json_patch(previous["content"], row["content"])
        history.append(entry)
    return history


def entries_with_territories(reader: Reader, territory_ids: list[int]) -> list[dict[str, Any]]:
    """The current coverage entries whose current territories are these, as `coverage --at`
    prints them: ordered by server URL and entry id."""
    if not territory_ids:
        return []
    ids, params = reader.in_list("t", territory_ids)
    rows = reader.rows(
        f"""
        SELECT s.url AS server_url, c.entry_id, c.model, c.valid,
               t.url AS territory_url, t.version AS territory_version, t.area_km2, t.vertices,
               t.min_lon, t.min_lat, t.max_lon, t.max_lat
        FROM territories t
        JOIN coverage_entries c ON c.server_id = t.server_id AND c.entry_id = t.entry_id
             AND c.valid_to IS NULL
        JOIN servers s ON s.id = t.server_id
        WHERE t.id IN {ids}
        ORDER BY s.url, c.entry_id
        """,
        params,
    )
    found = []
    for row in rows:
        model = reader.json(row["model"])
        found.append(
            {
                "server_url": row["server_url"],
                "entry_id": row["entry_id"],
                **{key: model.get(key) for key in _ENTRY_FIELDS},
                "valid": bool(row["valid"]),
                "territory": _territory_summary(row),
            }
        )
    return found


_ENTRY_FIELDS = (
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


def _required(value: datetime | None) -> datetime:
    assert value is not None, "a NOT NULL timestamp column was null"
    return value

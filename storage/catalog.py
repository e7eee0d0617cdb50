"""The servers list of the API: filters on what servers publish, pages in a stable order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.reader import Reader
from storage.readmodel import SERVER_COLUMNS, server_json

_CURRENT_ENTRY = "FROM coverage_entries c WHERE c.server_id = s.id AND c.valid_to IS NULL"
_CURRENT_DOCUMENT = """
    SELECT d.content FROM versions v JOIN documents d ON d.sha256 = v.document_sha256
    WHERE v.id = (SELECT max(id) FROM versions WHERE server_id = s.id)
"""


@dataclass(frozen=True, slots=True)
class ServerFilters:
    """Each given filter narrows the list; list-valued ones match any of their values."""

    statuses: tuple[str, ...] = ()
    country: str | None = None
    commodity: str | None = None
    infrastructure: str | None = None
    role: str | None = None
    capability: str | None = None
    tag: str | None = None
    text: str | None = None  # a case-insensitive substring of a server's or entry's name
    url: str | None = None  # the metadata URL or the canonical URL


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(reader: Reader, filters: ServerFilters) -> tuple[list[str], dict[str, Any]]:
    where: list[str] = []
    params: dict[str, Any] = {}
    if filters.statuses:
        statuses, values = reader.in_list("status", filters.statuses)
        where.append(f"s.status IN {statuses}")
        params.update(values)
    if filters.url is not None:
        where.append("(s.url = :url OR s.canonical_url = :url)")
        params["url"] = filters.url
    if filters.country is not None:
        where.append(f"EXISTS (SELECT 1 {_CURRENT_ENTRY} AND c.country = :country)")
        params["country"] = filters.country
    if filters.role is not None:
        where.append(f"EXISTS (SELECT 1 {_CURRENT_ENTRY} AND c.role = :role)")
        params["role"] = filters.role
    for key, value in (
        ("commodity_types", filters.commodity),
        ("infrastructure_types", filters.infrastructure),
    ):
        if value is not None:
            has = reader.json_array_has("c.model", key, key)
            where.append(f"EXISTS (SELECT 1 {_CURRENT_ENTRY} AND {has})")
            params[key] = value
    if filters.capability is not None:
        in_document = reader.json_array_has("d.content", "capabilities", "capability")
        in_entry = reader.json_array_has("c.model", "capabilities", "capability")
        where.append(
            f"(EXISTS ({_CURRENT_DOCUMENT} AND {in_document})"
            f" OR EXISTS (SELECT 1 {_CURRENT_ENTRY} AND {in_entry}))"
        )
        params["capability"] = filters.capability
    if filters.tag is not None:
        has = reader.json_array_has("t.tags", None, "tag")
        where.append(f"EXISTS (SELECT 1 FROM seeds t WHERE t.id = s.seed_id AND {has})")
        params["tag"] = filters.tag
    if filters.text:
        named = "lower(COALESCE({0}, '')) LIKE :text ESCAPE '\\'"
        where.append(
            f"({named.format('s.name')} OR EXISTS (SELECT 1 {_CURRENT_ENTRY} AND "
            f"({named.format('c.entity_name')} OR {named.format('c.name')})))"
        )
        params["text"] = _like(filters.text)
    return where, params


def servers_page(
    reader: Reader, filters: ServerFilters, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `limit` servers with a URL after `after`, ordered by URL, and the URL to page on
    from (None on the last page)."""
    where, params = _conditions(reader, filters)
    if after is not None:
        where.append("s.url > :after")
        params["after"] = after
    rows = reader.rows(
        f"""
        SELECT s.id, {SERVER_COLUMNS},
               (SELECT count(*) FROM versions v WHERE v.server_id = s.id) AS version_count
        FROM servers s
        {"WHERE " + " AND ".join(where) if where else ""}
        ORDER BY s.url
        LIMIT :limit
        """,
        {**params, "limit": limit + 1},
    )
    page = rows[:limit]
    facets = _facets(reader, [row["id"] for row in page])
    items = [
        {"id": row["id"], **server_json(reader, row, row["version_count"]), **facets[row["id"]]}
        for row in page
    ]
    return items, (page[-1]["url"] if len(rows) > limit else None)


def _facets(reader: Reader, server_ids: list[int]) -> dict[int, dict[str, list[str]]]:
    """What each server's current coverage entries name: countries, roles, commodities,
    infrastructure types and capabilities (with the document's own capabilities)."""
    facets: dict[int, dict[str, set[str]]] = {
        server_id: {
            "countries": set(),
            "roles": set(),
            "commodity_types": set(),
            "infrastructure_types": set(),
            "capabilities": set(),
        }
        for server_id in server_ids
    }
    if server_ids:
        ids, params = reader.in_list("s", server_ids)
        entries = reader.rows(
            f"SELECT server_id, model FROM coverage_entries "
            f"WHERE valid_to IS NULL AND server_id IN {ids}",
            params,
        )
        for row in entries:
            model, found = reader.json(row["model"]), facets[row["server_id"]]
            _add(found["countries"], [model.get("country")])
            _add(found["roles"], [model.get("role")])
            for key in ("commodity_types", "infrastructure_types", "capabilities"):
                _add(found[key], model.get(key))
        documents = reader.rows(
            f"""
            SELECT v.server_id, d.content FROM versions v
            JOIN documents d ON d.sha256 = v.document_sha256
            WHERE v.id IN (SELECT max(id) FROM versions WHERE server_id IN {ids}
                           GROUP BY server_id)
            """,
            params,
        )
        for row in documents:
            content = reader.json(row["content"])
            if isinstance(content, dict):
                _add(facets[row["server_id"]]["capabilities"], content.get("capabilities"))
    return {
        server_id: {key: sorted(values) for key, values in found.items()}
        for server_id, found in facets.items()
    }


def _add(into: set[str], values: Any) -> None:
    if isinstance(values, list):
        into.update(value for value in values if isinstance(value, str))

"""Views for analysts: the state of things now, and what changed, in plain SQL on both databases.

- current_servers: one row per metadata URL, with its current version, the document's name,
  description, website and capabilities, its current OAuth metadata and coverage entry count.
- current_server_capabilities: one row per server and capability of its current document.
- current_coverage_entries: the coverage entries as they stand (valid_to NULL), with the
  server's URL, the arrays of the entry as JSON text, and the current territory's summary.
- current_entry_facets: one row per current entry and each of its commodity_types,
  infrastructure_types and capabilities, so that "who offers X in Y" is a WHERE clause.
- current_findings: the findings about each server's current version and its latest attempt.
- server_versions: every version of every server, with when the next one replaced it.
- change_log: the change events in order, with the server's URL and a one-line summary.

The views read only tables, never each other, and are the same on SQLite and Postgres: JSON
columns come out as JSON text (NULL when the member is missing or not an array), timestamps
as the tables store them. A later revision that alters a table these views read must drop
them first and create them again: Postgres refuses to alter a column a view uses, and
SQLite's batch mode (which copies a table to change it) refuses to rename the copy while a
view names the table.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class _Json:
    """JSON extraction in one dialect's SQL. `doc` is a column holding a JSON object (json or
    jsonb on Postgres, JSON text on SQLite); `key` a top-level member, `path` a member path."""

    def __init__(self, dialect: str) -> None:
        self.postgres = dialect == "postgresql"

    def _pg(self, doc: str) -> str:
        return f"({doc})::jsonb"

    def text(self, doc: str, *path: str) -> str:
        """The member's value as text (a string unquoted; an object or array as JSON text)."""
        if self.postgres:
            return f"({self._pg(doc)} #>> '{{{','.join(path)}}}')"
        return f"json_extract({doc}, '$.{'.'.join(path)}')"

    def array(self, doc: str, key: str) -> str:
        """The member as JSON text when it is an array, else NULL."""
        if self.postgres:
            member = f"{self._pg(doc)} -> '{key}'"
            return f"(CASE WHEN jsonb_typeof({member}) = 'array' THEN ({member})::text END)"
        return (
            f"(CASE WHEN json_type({doc}, '$.{key}') = 'array' "
            f"THEN json_extract({doc}, '$.{key}') END)"
        )

    def strings(self, doc: str, key: str, alias: str) -> tuple[str, str, str]:
        """The string elements of the array member `key`, as a FROM item named `alias`: the
        item, the expression of one element's text, and the condition that keeps strings."""
        if self.postgres:
            member = f"{self._pg(doc)} -> '{key}'"
            item = (
                f"jsonb_array_elements(CASE WHEN jsonb_typeof({member}) = 'array' "
                f"THEN {member} ELSE '[]'::jsonb END) AS {alias}(value)"
            )
            return item, f"({alias}.value #>> '{{}}')", f"jsonb_typeof({alias}.value) = 'string'"
        item = f"json_each({doc}, '$.{key}') AS {alias}"
        keep = f"json_type({doc}, '$.{key}') = 'array' AND {alias}.type = 'text'"
        return item, f"{alias}.value", keep

    def joined(self, doc: str, key: str, separator: str) -> str:
        """The string elements of the array member `key`, in order, joined by `separator`
        (NULL when there are none)."""
        if self.postgres:
            member = f"{self._pg(doc)} -> '{key}'"
            return (
                f"(SELECT string_agg(j.value #>> '{{}}', '{separator}' ORDER BY j.n) "
                f"FROM jsonb_array_elements(CASE WHEN jsonb_typeof({member}) = 'array' "
                f"THEN {member} ELSE '[]'::jsonb END) WITH ORDINALITY AS j(value, n) "
                f"WHERE jsonb_typeof(j.value) = 'string')"
            )
        return (
            f"(SELECT group_concat(j.value, '{separator}') FROM "
            f"(SELECT value FROM json_each({doc}, '$.{key}') "
            f"WHERE json_type({doc}, '$.{key}') = 'array' AND type = 'text' ORDER BY key) AS j)"
        )


# The version of a server that is current: its highest.
_CURRENT = "(SELECT max(m.version) FROM versions m WHERE m.server_id = {server_id})"


def _current_servers(j: _Json) -> str:
    return f"""
SELECT
    s.id AS server_id,
    s.url,
    s.canonical_url,
    s.status,
    s.status_since,
    s.moved_to,
    s.first_seen,
    s.last_fetched,
    s.last_changed,
    s.last_outcome,
    s.consecutive_failures,
    s.discovered_via,
    v.version AS current_version,
    COALESCE(n.versions, 0) AS version_count,
    v.fetched_at AS version_fetched_at,
    v.last_confirmed_at AS version_confirmed_at,
    v.draft,
    v.valid,
    {j.text("d.content", "name")} AS name,
    {j.text("d.content", "description")} AS description,
    {j.text("d.content", "website")} AS website,
    {j.array("d.content", "capabilities")} AS capabilities,
    {j.text("d.content", "coverage")} AS coverage_url,
    (SELECT count(*) FROM coverage_entries c
     WHERE c.server_id = s.id AND c.valid_to IS NULL) AS entry_count,
    o.url AS oauth_url,
    o.valid AS oauth_valid,
    {j.text("o.summary", "issuer")} AS oauth_issuer,
    {j.text("o.summary", "registration_endpoint")} AS oauth_registration_endpoint,
    {j.text("o.summary", "cds_human_registration")} AS oauth_human_registration,
    {j.array("o.summary", "scopes_supported")} AS oauth_scopes
FROM servers s
LEFT JOIN (SELECT server_id, max(version) AS version, count(*) AS versions
           FROM versions GROUP BY server_id) n ON n.server_id = s.id
LEFT JOIN versions v ON v.server_id = n.server_id AND v.version = n.version
LEFT JOIN documents d ON d.sha256 = v.document_sha256
LEFT JOIN oauth_metadata o ON o.server_id = s.id AND o.valid_to IS NULL
"""


def _current_server_capabilities(j: _Json) -> str:
    item, value, keep = j.strings("d.content", "capabilities", "cap")
    return f"""
SELECT
    s.id AS server_id,
    s.url AS server_url,
    s.status,
    {j.text("d.content", "name")} AS name,
    {value} AS capability
FROM servers s
JOIN versions v ON v.server_id = s.id AND v.version = {_CURRENT.format(server_id="s.id")}
JOIN documents d ON d.sha256 = v.document_sha256
CROSS JOIN {item}
WHERE {keep}
"""


def _current_coverage_entries(j: _Json) -> str:
    return f"""
SELECT
    c.id AS coverage_entry_id,
    c.server_id,
    s.url AS server_url,
    c.entry_id,
    c.version,
    c.entity_name,
    c.name,
    c.type,
    c.role,
    c.country,
    {j.array("c.model", "commodity_types")} AS commodity_types,
    {j.array("c.model", "infrastructure_types")} AS infrastructure_types,
    {j.array("c.model", "capabilities")} AS capabilities,
    {j.text("c.model", "updated")} AS updated,
    {j.text("c.model", "draft")} AS draft,
    {j.text("c.model", "geojson_resource")} AS geojson_resource,
    {j.text("c.model", "map_resource")} AS map_resource,
    c.valid,
    (SELECT min(p.valid_from) FROM coverage_entries p
     WHERE p.server_id = c.server_id AND p.entry_id = c.entry_id) AS first_seen,
    c.valid_from,
    c.last_confirmed_at,
    t.id AS territory_id,
    t.url AS territory_url,
    t.version AS territory_version,
    t.area_km2,
    t.vertices,
    t.min_lon,
    t.min_lat,
    t.max_lon,
    t.max_lat
FROM coverage_entries c
JOIN servers s ON s.id = c.server_id
LEFT JOIN territories t
    ON t.server_id = c.server_id AND t.entry_id = c.entry_id AND t.valid_to IS NULL
WHERE c.valid_to IS NULL
"""


def _current_entry_facets(j: _Json) -> str:
    parts = []
    for facet in ("commodity_types", "infrastructure_types", "capabilities"):
        item, value, keep = j.strings("c.model", facet, "f")
        parts.append(
            f"""
SELECT
    c.server_id,
    s.url AS server_url,
    c.entry_id,
    c.entity_name,
    c.name,
    c.type,
    c.role,
    c.country,
    CAST('{facet}' AS TEXT) AS facet,
    {value} AS value
FROM coverage_entries c
JOIN servers s ON s.id = c.server_id
CROSS JOIN {item}
WHERE c.valid_to IS NULL AND {keep}
"""
        )
    return "UNION ALL".join(parts)


def _current_findings(_: _Json) -> str:
    return f"""
SELECT
    f.id AS finding_id,
    f.server_id,
    s.url AS server_url,
    s.status AS server_status,
    CASE WHEN f.version_id IS NULL THEN 'latest_fetch' ELSE 'version' END AS scope,
    v.version,
    f.rule,
    f.severity,
    f.section,
    f.url,
    f.pointer,
    f.message
FROM findings f
JOIN servers s ON s.id = f.server_id
LEFT JOIN versions v ON v.id = f.version_id
WHERE f.version_id IS NULL OR v.version = {_CURRENT.format(server_id="f.server_id")}
"""


def _server_versions(j: _Json) -> str:
    return f"""
SELECT
    v.id AS version_id,
    v.server_id,
    s.url AS server_url,
    v.version,
    v.fetched_at,
    v.last_confirmed_at,
    (SELECT n.fetched_at FROM versions n
     WHERE n.server_id = v.server_id AND n.version = v.version + 1) AS superseded_at,
    v.draft,
    v.valid,
    {j.text("d.content", "name")} AS name,
    v.document_sha256,
    d.size_bytes,
    (SELECT count(*) FROM findings f WHERE f.version_id = v.id) AS finding_count,
    v.crawl_id
FROM versions v
JOIN servers s ON s.id = v.server_id
JOIN documents d ON d.sha256 = v.document_sha256
"""


def _change_log(j: _Json) -> str:
    def t(*path: str) -> str:
        return j.text("e.data", *path)

    entry = f"'entry ' || COALESCE({t('entry_id')}, '?')"
    changes = j.joined("e.data", "changes", "; ")
    summary = f"""CASE e.type
        WHEN 'cds.server.discovered'
            THEN 'discovered' || COALESCE(': ' || {t("name")}, '')
        WHEN 'cds.server.changed'
            THEN 'version ' || COALESCE({t("version")}, '?') || ': '
                 || COALESCE({changes}, 'changed')
        WHEN 'cds.server.moved' THEN 'moved to ' || COALESCE({t("to")}, '?')
        WHEN 'cds.server.unreachable' THEN 'unreachable' || COALESCE(': ' || {t("reason")}, '')
        WHEN 'cds.server.recovered' THEN 'recovered' || COALESCE(': ' || {t("reason")}, '')
        WHEN 'cds.server.removed' THEN 'removed' || COALESCE(': ' || {t("reason")}, '')
        WHEN 'cds.coverage.entry.added'
            THEN {entry} || ' added' || COALESCE(': ' || {t("entry", "name")}, '')
        WHEN 'cds.coverage.entry.changed' THEN
            CASE WHEN {t("territory", "version")} IS NOT NULL
                THEN {entry} || ' territory version ' || {t("territory", "version")}
                     || ': ' || COALESCE({t("territory", "area_km2")}, '?') || ' km2 (was '
                     || COALESCE({t("territory", "previous_area_km2")}, '?') || ' km2)'
                ELSE {entry} || ' version ' || COALESCE({t("version")}, '?') || ': '
                     || COALESCE({changes}, 'changed')
            END
        WHEN 'cds.coverage.entry.removed' THEN {entry} || ' removed'
        ELSE e.type
    END"""
    return f"""
SELECT
    e.id AS sequence,
    e.event_id,
    e.time,
    e.type,
    e.server_id,
    COALESCE(s.url, {t("url")}) AS server_url,
    e.subject,
    {t("entry_id")} AS entry_id,
    {summary} AS summary,
    e.crawl_id
FROM events e
LEFT JOIN servers s ON s.id = e.server_id
ORDER BY e.id
"""


VIEWS = {
    "current_servers": (
        _current_servers,
        "One row per metadata URL: status, current version and document, OAuth metadata",
    ),
    "current_server_capabilities": (
        _current_server_capabilities,
        "One row per server and capability of its current document",
    ),
    "current_coverage_entries": (
        _current_coverage_entries,
        "The current coverage entries with their server and current territory",
    ),
    "current_entry_facets": (
        _current_entry_facets,
        "One row per current coverage entry and commodity type, infrastructure type or "
        "capability (facet names the member)",
    ),
    "current_findings": (
        _current_findings,
        "Findings about each server's current version and its latest fetch attempt",
    ),
    "server_versions": (
        _server_versions,
        "Every version of every server, with when the next version superseded it",
    ),
    "change_log": (
        _change_log,
        "The change events in order, with the server URL and a one-line summary",
    ),
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    json = _Json(dialect)
    for name, (select, comment) in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {select(json)}")
        if dialect == "postgresql":
            quoted = comment.replace("'", "''")
            op.execute(f"COMMENT ON VIEW {name} IS '{quoted}'")


def downgrade() -> None:
    for name in reversed(list(VIEWS)):
        op.execute(f"DROP VIEW IF EXISTS {name}")

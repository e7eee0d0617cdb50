"""The tables: the single source that migrations are checked against.

Designed to be queried directly by analysts (see docs/schema.md): one row per metadata URL in
`servers`, each distinct published content once in `documents`, an append-only `versions`
history per server, `findings` per version, and a `fetch_log` of every attempt.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from storage.schema_revision import SCHEMA_REVISION
from storage.types import JsonDocument, UtcDateTime

__all__ = ["SCHEMA_REVISION", "metadata"]

# SCHEMA_REVISION is the Alembic revision that creates exactly these tables. Commands compare it
# with the database's alembic_version so that an up-to-date database costs one query.

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# BIGINT on Postgres, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
BigId = BigInteger().with_variant(Integer(), "sqlite")

seeds = Table(
    "seeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "kind", String(16), nullable=False, comment="metadata: a metadata URL; list: a seed list"
    ),
    Column("url", Text, nullable=False, comment="normalised URL that is fetched"),
    Column("target", Text, nullable=False, comment="what the operator gave"),
    Column("tags", JSON, nullable=False, comment="array of operator tags"),
    Column("source", Text, nullable=False, comment="cli, file:PATH, or list:URL"),
    Column(
        "list_seed_id",
        Integer,
        ForeignKey("seeds.id", ondelete="CASCADE"),
        nullable=True,
        comment="the remote seed list this seed was read from, if any",
    ),
    Column("added_at", UtcDateTime, nullable=False),
    Column("last_fetched", UtcDateTime, nullable=True, comment="seed lists: last read"),
    Column("status", String(16), nullable=True, comment="seed lists: ok, invalid, unreachable..."),
    Column("message", Text, nullable=True, comment="seed lists: what the last read found"),
    UniqueConstraint("kind", "url"),
)

crawls = Table(
    "crawls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("summary", JSON, nullable=True, comment="the crawl --json summary"),
)

servers = Table(
    "servers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True, comment="the metadata URL fetched"),
    Column("canonical_url", Text, nullable=True, comment="cds_metadata_url of the document"),
    Column("name", Text, nullable=True, comment="name of the current document"),
    Column("status", String(16), nullable=False, index=True),
    Column("status_since", UtcDateTime, nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_fetched", UtcDateTime, nullable=False),
    Column("last_changed", UtcDateTime, nullable=True, comment="when a new version was stored"),
    Column("etag", Text, nullable=True, comment="validator sent back as If-None-Match"),
    Column("last_modified", Text, nullable=True, comment="sent back as If-Modified-Since"),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("last_outcome", String(24), nullable=True, comment="of the latest fetch"),
    Column("discovered_via", Text, nullable=False, comment="seed target or linking URL"),
    Column("moved_to", Text, nullable=True, comment="migration target while status is moved"),
    Column("seed_id", Integer, ForeignKey("seeds.id", ondelete="SET NULL"), nullable=True),
)

documents = Table(
    "documents",
    metadata,
    Column("sha256", String(64), primary_key=True, comment="SHA-256 of the canonical JSON"),
    Column("content", JsonDocument, nullable=False, comment="the document as published"),
    Column("size_bytes", Integer, nullable=False, comment="size of the canonical JSON"),
    Column("first_seen_at", UtcDateTime, nullable=False),
)

versions = Table(
    "versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False, comment="1, 2, ... per server"),
    Column("document_sha256", String(64), ForeignKey("documents.sha256"), nullable=False),
    Column("fetched_at", UtcDateTime, nullable=False, comment="first fetched with this content"),
    Column("last_confirmed_at", UtcDateTime, nullable=False, comment="last seen unchanged"),
    Column("draft", String(16), nullable=False, comment="spec draft the document follows"),
    Column("valid", Boolean, nullable=False, comment="false when it has error findings"),
    Column("content_type", Text, nullable=True),
    Column("etag", Text, nullable=True),
    Column("last_modified", Text, nullable=True),
    Column("crawl_id", Integer, ForeignKey("crawls.id", ondelete="SET NULL"), nullable=True),
    UniqueConstraint("server_id", "version"),
    Index("ix_versions_document_sha256", "document_sha256"),
)

findings = Table(
    "findings",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="CASCADE"), nullable=False),
    Column(
        "version_id",
        Integer,
        ForeignKey("versions.id", ondelete="CASCADE"),
        nullable=True,
        comment="null: about the latest fetch attempt, not a stored version",
    ),
    Column("rule", String(64), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("url", Text, nullable=False),
    Column("pointer", Text, nullable=False),
    Column("section", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_findings_server_id_version_id", "server_id", "version_id"),
    Index("ix_findings_version_id", "version_id"),
    Index("ix_findings_rule", "rule"),
)

fetch_log = Table(
    "fetch_log",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("crawl_id", Integer, ForeignKey("crawls.id", ondelete="SET NULL"), nullable=True),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="CASCADE"), nullable=True),
    Column("url", Text, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("bytes", Integer, nullable=False),
    Column("requests", Integer, nullable=False),
    Column("outcome", String(24), nullable=False),
    Column("error_class", Text, nullable=True),
    Column("redirects", JSON, nullable=True, comment="[{url, status_code, location}, ...]"),
    Index("ix_fetch_log_started_at", "started_at"),
    Index("ix_fetch_log_server_id_started_at", "server_id", "started_at"),
)

links = Table(
    "links",
    metadata,
    Column("id", BigId, primary_key=True),
    Column(
        "version_id",
        Integer,
        ForeignKey("versions.id", ondelete="CASCADE"),
        nullable=False,
        comment="the version of the document that makes the link",
    ),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False, comment="related_metadata, ..."),
    Column("url", Text, nullable=False, comment="the normalised URL linked to"),
    Column("position", Integer, nullable=False, comment="order within the document"),
    Index("ix_links_version_id", "version_id"),
    Index("ix_links_url", "url"),
)

coverage_entries = Table(
    "coverage_entries",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="CASCADE"), nullable=False),
    Column("entry_id", Text, nullable=False, comment="the entry's id in the listing"),
    Column("version", Integer, nullable=False, comment="1, 2, ... per (server, entry id)"),
    Column("sha256", String(64), nullable=False, comment="SHA-256 of the entry's canonical JSON"),
    Column("content", JsonDocument, nullable=False, comment="the entry as published"),
    Column("model", JSON, nullable=False, comment="the entry mapped onto the current draft"),
    Column("type", String(32), nullable=True),
    Column("role", String(32), nullable=True),
    Column("country", String(8), nullable=True),
    Column("entity_name", Text, nullable=True),
    Column("name", Text, nullable=True),
    Column("valid", Boolean, nullable=False, comment="false when it has error findings"),
    Column("valid_from", UtcDateTime, nullable=False, comment="first read with this content"),
    Column("valid_to", UtcDateTime, nullable=True, comment="null while current"),
    Column("last_confirmed_at", UtcDateTime, nullable=False),
    Column("crawl_id", Integer, ForeignKey("crawls.id", ondelete="SET NULL"), nullable=True),
    UniqueConstraint("server_id", "entry_id", "version"),
    Index("ix_coverage_entries_server_id_valid_to", "server_id", "valid_to"),
    Index("ix_coverage_entries_country", "country"),
)


def _linked_resource_history() -> list[Column[object]]:
    """The columns of a versioned resource that a document links: the validators sent back in
    conditional requests, and when each version was valid and last confirmed."""
    return [
        Column("etag", Text, nullable=True),
        Column("last_modified", Text, nullable=True),
        Column("valid_from", UtcDateTime, nullable=False),
        Column("valid_to", UtcDateTime, nullable=True, comment="null while current"),
        Column("last_confirmed_at", UtcDateTime, nullable=False),
        Column("crawl_id", Integer, ForeignKey("crawls.id", ondelete="SET NULL"), nullable=True),
    ]


territories = Table(
    "territories",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="CASCADE"), nullable=False),
    Column("entry_id", Text, nullable=False, comment="the coverage entry it maps"),
    Column("version", Integer, nullable=False, comment="1, 2, ... per (server, entry id)"),
    Column("url", Text, nullable=False, comment="the entry's geojson_resource"),
    Column("sha256", String(64), nullable=False, comment="SHA-256 of the normalised WKB"),
    Column("geometry", LargeBinary, nullable=False, comment="WKB, WGS 84 lon/lat"),
    Column("min_lon", Float, nullable=False),
    Column("min_lat", Float, nullable=False),
    Column("max_lon", Float, nullable=False),
    Column("max_lat", Float, nullable=False),
    Column("area_km2", Float, nullable=False),
    Column("vertices", Integer, nullable=False),
    Column("findings", JSON, nullable=False, comment="findings about the GeoJSON resource"),
    *_linked_resource_history(),
    UniqueConstraint("server_id", "entry_id", "version"),
    Index("ix_territories_server_id_valid_to", "server_id", "valid_to"),
    Index("ix_territories_valid_to", "valid_to"),
)

oauth_metadata = Table(
    "oauth_metadata",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False, comment="1, 2, ... per server"),
    Column("url", Text, nullable=False, comment="where it was read"),
    Column("well_known", Boolean, nullable=False, comment="read at the RFC 8414 location"),
    Column("document_sha256", String(64), ForeignKey("documents.sha256"), nullable=False),
    Column("valid", Boolean, nullable=False, comment="false when it has error findings"),
    Column("summary", JSON, nullable=False, comment="issuer, registration, scopes ..."),
    Column("findings", JSON, nullable=False, comment="findings about the document"),
    *_linked_resource_history(),
    UniqueConstraint("server_id", "version"),
    Index("ix_oauth_metadata_server_id_valid_to", "server_id", "valid_to"),
)

events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, comment="the sequence: events --after ID pages by it"),
    Column("event_id", String(36), nullable=False, unique=True, comment="CloudEvents id"),
    Column("type", String(48), nullable=False, comment="cds.server.changed, ..."),
    Column("subject", Text, nullable=False, comment="the metadata URL (#ENTRY_ID for entries)"),
    Column("server_id", Integer, ForeignKey("servers.id", ondelete="SET NULL"), nullable=True),
    Column("time", UtcDateTime, nullable=False, comment="when the change was observed"),
    Column("data", JSON, nullable=False),
    Column("crawl_id", Integer, ForeignKey("crawls.id", ondelete="SET NULL"), nullable=True),
    Index("ix_events_subject", "subject"),
)

sink_progress = Table(
    "sink_progress",
    metadata,
    Column("name", String(200), primary_key=True, comment="the sink, as configured"),
    Column("last_event_id", BigInteger, nullable=False, comment="delivered up to this id"),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, comment="failed attempts at the next batch"),
    Column("next_attempt_at", UtcDateTime, nullable=True, comment="no delivery before then"),
    Column("disabled", Boolean, nullable=False, comment="the endpoint answered 410 Gone"),
    Column("last_error", Text, nullable=True),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("sink", String(200), nullable=False),
    Column("event_id", BigInteger, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("reason", Text, nullable=False, comment="the last failure"),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("sink", "event_id"),
)

coverage_pages = Table(
    "coverage_pages",
    metadata,
    Column("listing_url", Text, primary_key=True, comment="the listing's first page"),
    Column("url", Text, primary_key=True, comment="this page"),
    Column("etag", Text, nullable=True),
    Column("last_modified", Text, nullable=True),
    Column("document_sha256", String(64), ForeignKey("documents.sha256"), nullable=False),
    Column("fetched_at", UtcDateTime, nullable=False),
)

coverage_listings = Table(
    "coverage_listings",
    metadata,
    Column("url", Text, primary_key=True, comment="the listing's first page"),
    Column(
        "watermark",
        UtcDateTime,
        nullable=True,
        comment="the newest `updated` of its entries: a re-poll stops paging there",
    ),
    Column("swept_at", UtcDateTime, nullable=True, comment="when it was last read whole"),
    Column(
        "checked_at",
        UtcDateTime,
        nullable=True,
        comment="when it was last read whole or spot-checked by id",
    ),
    Column("ordered", Boolean, nullable=False, comment="newest first, as section 4.1 requires"),
)

schedule = Table(
    "schedule",
    metadata,
    Column("url", Text, primary_key=True, comment="a metadata URL the daemon polls"),
    Column("host", Text, nullable=False, comment="host:port, the unit of leases and limits"),
    Column(
        "seed_id",
        Integer,
        ForeignKey("seeds.id", ondelete="CASCADE"),
        nullable=True,
        comment="the seed it is, if any (removing the seed stops its polls)",
    ),
    Column("via", Text, nullable=True, comment="the URL whose document linked it"),
    Column("depth", Integer, nullable=False, comment="related_metadata hops from a seed"),
    Column("next_poll_at", UtcDateTime, nullable=False),
    Column("interval_s", Float, nullable=False, comment="the interval next_poll_at came from"),
    Column("failures", Integer, nullable=False, comment="consecutive failed polls"),
    Column("last_polled_at", UtcDateTime, nullable=True),
    Index("ix_schedule_host_next_poll_at", "host", "next_poll_at"),
)

hosts = Table(
    "hosts",
    metadata,
    Column("host", Text, primary_key=True, comment="host:port"),
    Column("next_due", UtcDateTime, nullable=False, comment="its earliest next_poll_at"),
    Column("lease_owner", Text, nullable=True, comment="the worker polling it now"),
    Column("lease_expires_at", UtcDateTime, nullable=True),
    Column("paused_until", UtcDateTime, nullable=True, comment="Retry-After, or failing"),
    Column("failures", Integer, nullable=False, comment="consecutive batches that all failed"),
    Index("ix_hosts_next_due", "next_due"),
)

robots_txt = Table(
    "robots_txt",
    metadata,
    Column("origin", Text, primary_key=True, comment="scheme://host[:port]"),
    Column("text", Text, nullable=True, comment="null: it had none (a 4xx), so no rules"),
    Column("etag", Text, nullable=True),
    Column("last_modified", Text, nullable=True),
    Column("read_at", UtcDateTime, nullable=False, comment="kept for a day from then"),
)

"""A federation crawled for the analysts' views and docs/analysts.md, on loopback.

Two crawls through the real command line, the first of them moved 400 days into the past (as
if it had run then), so that questions about last week and a year ago have answers:

- north: a US electricity and gas utility with OAuth metadata; an authoritative electric
  territory, an official gas territory around it, and a territory that cannot be fetched.
  The second crawl finds a new version of its document (without the unknown member of the
  first), the electric entry renamed, the gas entry gone and a solar entry added.
- berlin: a German electricity distributor with OAuth metadata and one territory, which
  grows to the east before the second crawl.
- south: a utility still on the 2023 draft.
- copied: the specification's example with its trailing comma (invalid).
- quiet: publishes nothing (404).
- old: moves to another origin (a 301) before the second crawl; `new` is crawled from there.
- flaky: answers 503 to the second crawl (unreachable); gone: answers 410 (removed).
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from sqlalchemy import create_engine

from crawler.testing import LoopbackServer, Response
from storage import schema
from storage.types import UtcDateTime
from tests.cli import run_cli
from tests.examples import CURRENT_DRAFT_EXAMPLE, oauth_metadata_example
from tests.federation import (
    LOOPBACK,
    WELL_KNOWN,
    coverage_entry,
    crawl,
    metadata_document,
    running_server,
)
from tests.geometry import box, polygon

SHIFT = timedelta(days=400)
# Publishers' example origins, as docs/analysts.md writes them; each is a path on loopback.
EXAMPLE_ORIGIN = re.compile(r"https://([a-z]+)\.example\.(?:com|net)/")
NEW_HOME = "new"  # the origin `old` moves to: another LoopbackServer


@dataclass(frozen=True)
class Federation:
    database_url: str
    dialect: str  # sqlite or postgresql
    main: LoopbackServer
    home: LoopbackServer

    def url(self, name: str) -> str:
        """The metadata URL of the publisher `name`."""
        if name == NEW_HOME:
            return self.home.url(WELL_KNOWN)
        return self.main.url(f"/{name}{WELL_KNOWN}")

    def publisher(self, url: str) -> str:
        """The name of the publisher whose metadata URL `url` is."""
        names = {self.url(name): name for name in (*SEEDS, NEW_HOME)}
        return names[url]

    def origin(self, name: str) -> str:
        """What `https://NAME.example.com/` stands for here."""
        return self.home.url("/") if name == NEW_HOME else self.main.url(f"/{name}/")

    def localise(self, sql: str) -> str:
        """`sql` with the example origins replaced by the federation's."""
        return EXAMPLE_ORIGIN.sub(lambda m: self.origin(m.group(1)), sql)

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """`sql` run as an analyst runs it, on sqlite3 or psycopg (`:name` parameters)."""
        with connect(self.database_url) as conn:
            cursor = conn.cursor()
            if self.dialect == "postgresql" and params is not None:
                sql = re.sub(r"(?<!:):([a-z_][a-z0-9_]*)", r"%(\1)s", sql)
            if params is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, params)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@contextmanager
def connect(database_url: str) -> Iterator[Any]:
    """A plain DB-API connection: what psql and sqlite3 users have."""
    if database_url.startswith("sqlite"):
        conn: Any = sqlite3.connect(database_url.split(":///", 1)[1])
    else:
        conn = psycopg.connect("postgresql://" + database_url.split("://", 1)[1], autocommit=True)
    try:
        yield conn
    finally:
        conn.close()


def _entry(server: LoopbackServer, entry_id: str, **members: Any) -> dict[str, Any]:
    return coverage_entry(
        entry_id, geojson_resource=server.url(f"/geo/{entry_id}.geojson"), **members
    )


NORTH_ELECTRIC = box(-100, 30, -98, 32)
NORTH_GAS = box(-101, 29, -97, 33)
NORTH_SOLAR = box(-99.5, 30.5, -99, 31)
BERLIN = box(13, 52, 14, 53)
BERLIN_GROWN = box(13, 52, 14.5, 53)
SOUTH = box(-90, 25, -88, 27)


def _north(server: LoopbackServer, second: bool) -> None:
    url = server.url(f"/north{WELL_KNOWN}")
    electric = _entry(
        server,
        "north-electric",
        entity_name="Northern Electric",
        name="Northern service territory (electric)" if second else "Northern territory",
        infrastructure_types=["distribution_utility", "metering_provider"],
        capabilities=["oauth"],
        updated="2025-06-01T00:00:00Z" if second else "2025-01-01T00:00:00Z",
    )
    gas = _entry(
        server,
        "north-gas",
        entity_name="Northern Gas",
        name="Northern gas territory",
        role="official",
        commodity_types=["natural_gas"],
    )
    rural = _entry(server, "north-rural", entity_name="Northern Electric", name="Rural lines")
    solar = _entry(
        server,
        "north-solar",
        entity_name="Northern Electric",
        name="Community solar",
        role="aggregator",
        infrastructure_types=["supplier"],
        updated="2025-06-01T00:00:00Z",
    )
    entries = [solar, electric, rural] if second else [electric, gas, rural]
    document = metadata_document(
        url,
        name="Northern Electric & Gas",
        description="Electricity and gas in the north." + (" Now with solar." if second else ""),
        website="https://north.example.com",
        capabilities=["coverage", "oauth"],
        coverage=server.url("/north/coverage.json"),
        oauth_metadata=server.url("/north/oauth.json"),
        updated="2025-06-01T00:00:00Z" if second else "2025-01-01T00:00:00Z",
    )
    if not second:
        document["x_region"] = "N1"  # a member no draft defines: an info finding on version 1
    server.route(f"/north{WELL_KNOWN}", Response.json(document, etag=True))
    server.route(
        "/north/coverage.json",
        Response.json({"coverage_entries": entries, "next": None, "previous": None}),
    )


def _publish(main: LoopbackServer, home: LoopbackServer) -> None:
    for name, ring in [
        ("north-electric", NORTH_ELECTRIC),
        ("north-gas", NORTH_GAS),
        ("north-solar", NORTH_SOLAR),
        ("berlin-grid", BERLIN),
        ("south-elec", SOUTH),
    ]:
        main.route(f"/geo/{name}.geojson", Response.json(polygon(ring), etag=True))
    main.route("/north/oauth.json", Response.json(oauth_metadata_example(), etag=True))
    _north(main, second=False)

    berlin = main.url(f"/berlin{WELL_KNOWN}")
    main.route(
        f"/berlin{WELL_KNOWN}",
        Response.json(
            metadata_document(
                berlin,
                name="Berlin Grid",
                description="Electricity distribution in Berlin.",
                website="https://berlin.example.com",
                capabilities=["coverage", "oauth"],
                coverage=main.url("/berlin/coverage.json"),
                oauth_metadata=main.url("/berlin/oauth.json"),
            ),
            etag=True,
        ),
    )
    berlin_oauth = oauth_metadata_example()
    berlin_oauth["registration_endpoint"] = "https://auth.berlin.example.com/register"
    main.route("/berlin/oauth.json", Response.json(berlin_oauth, etag=True))
    main.route(
        "/berlin/coverage.json",
        Response.json(
            {
                "coverage_entries": [
                    _entry(
                        main,
                        "berlin-grid",
                        entity_name="Berlin Grid",
                        name="Berlin distribution area",
                        country="DE",
                        capabilities=["oauth"],
                    )
                ],
                "next": None,
                "previous": None,
            }
        ),
    )

    south = main.url(f"/south{WELL_KNOWN}")
    main.route(
        f"/south{WELL_KNOWN}",
        Response.json(
            {
                "cds_metadata_version": "v1",
                "cds_metadata_url": south,
                "created": "2023-03-01T00:00:00.000000Z",
                "updated": "2023-09-01T00:00:00.000000Z",
                "name": "Southern Power",
                "description": "A utility serving the south.",
                "website": "https://south.example.com",
                "documentation": "https://south.example.com/developers",
                "support": "https://south.example.com/developers/contact",
                "infrastructure_types": ["distribution_utility"],
                "commodity_types": ["electricity"],
                "capabilities": ["coverage"],
                "coverage": main.url("/south/coverage.json"),
            },
            etag=True,
        ),
    )
    main.route(
        "/south/coverage.json",
        Response.json(
            {
                "coverage_entries": [
                    {
                        "id": "south-elec",
                        "type": "electric_service_territory",
                        "updated": "2023-09-01T00:00:00.000000Z",
                        "name": "Southern electric service territory",
                        "geojson_resource": main.url("/geo/south-elec.geojson"),
                    }
                ],
                "next": None,
                "previous": None,
            }
        ),
    )
    main.route(
        f"/copied{WELL_KNOWN}",
        Response(200, CURRENT_DRAFT_EXAMPLE, {"Content-Type": "application/json"}),
    )
    old = main.url(f"/old{WELL_KNOWN}")
    main.route(
        f"/old{WELL_KNOWN}",
        Response.json(metadata_document(old, name="Old Town Utility"), etag=True),
    )
    new = home.url(WELL_KNOWN)
    home.route(WELL_KNOWN, Response.json(metadata_document(new, name="Old Town Utility")))
    for name, title in [("flaky", "Flaky Utility"), ("gone", "Gone Utility")]:
        url = main.url(f"/{name}{WELL_KNOWN}")
        main.route(f"/{name}{WELL_KNOWN}", Response.json(metadata_document(url, name=title)))


SEEDS = ("north", "berlin", "south", "copied", "quiet", "old", "flaky", "gone")
CRAWL_ENV = {
    "CDS_CRAWLER_PER_HOST_RATE": "1000",
    "CDS_CRAWLER_COVERAGE_SWEEP_INTERVAL": "0",
    "CDS_CRAWLER_RETRY_ATTEMPTS": "1",
}


def build(database_url: str, main: LoopbackServer, home: LoopbackServer) -> Federation:
    """Publish, crawl, move the crawl 400 days back, change things, crawl again."""
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    federation = Federation(database_url, dialect, main, home)
    _publish(main, home)
    added = run_cli(database_url, "seeds", "add", *(federation.url(n) for n in SEEDS), env=LOOPBACK)
    assert added.code == 0, added.stderr
    crawl(database_url, **CRAWL_ENV)
    shift_into_the_past(database_url, SHIFT)
    _north(main, second=True)
    main.route(f"/old{WELL_KNOWN}", Response(301, headers={"Location": federation.url(NEW_HOME)}))
    main.route("/geo/berlin-grid.geojson", Response.json(polygon(BERLIN_GROWN), etag=True))
    main.route(f"/flaky{WELL_KNOWN}", Response(503))
    main.route(f"/gone{WELL_KNOWN}", Response(410))
    crawl(database_url, **CRAWL_ENV)
    return federation


def shift_into_the_past(database_url: str, by: timedelta) -> None:
    """Every timestamp in the database moved `by` into the past: as if what it records had
    happened that much earlier."""
    sync_url = database_url.replace("+aiosqlite", "").replace("+asyncpg", "")
    if sync_url.startswith("postgresql://"):
        sync_url = sync_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(sync_url)
    try:
        with engine.begin() as conn:
            for table in schema.metadata.sorted_tables:
                columns = [c for c in table.columns if isinstance(c.type, UtcDateTime)]
                if not columns:
                    continue
                key = list(table.primary_key.columns)
                for row in conn.execute(table.select()).mappings().all():
                    changes = {c.name: row[c.name] - by for c in columns if row[c.name] is not None}
                    if changes:
                        where = [k == row[k.name] for k in key]
                        conn.execute(table.update().where(*where).values(**changes))
    finally:
        engine.dispose()


@contextmanager
def scratch_postgres(server_url: str) -> Iterator[str]:
    """A database of its own on the Postgres server of `server_url`, dropped afterwards."""
    name = f"cds_views_{uuid.uuid4().hex[:12]}"
    admin = "postgresql://" + server_url.split("://", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def crawled(database_url: str) -> Iterator[Federation]:
    """The federation served on loopback and crawled into `database_url`."""
    with running_server() as main, running_server() as home:
        yield build(database_url, main, home)

"""Whole-database exports: current territories as GeoJSON features, servers and entries as
CSV rows, and the live metadata URLs as a seed list. Each reads in bounded batches."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson
import shapely

from storage.coverage_query import EntryFilters
from storage.reader import Reader
from storage.readmodel import ENTRY_FIELDS, entry_json, entry_rows, list_servers

_BATCH = 500
_CHUNK_BYTES = 64 * 1024
Link = Callable[[int, str], str]


def territory_features(
    reader: Reader, filters: EntryFilters, server_id: int | None = None, link: Link | None = None
) -> Iterator[dict[str, Any]]:
    """Every current territory that `filters` admit, as a GeoJSON Feature whose properties
    are its entry's (and `link(server_id, entry_id)` when given), ordered by server URL and
    entry id."""
    after: tuple[str, str] | None = None
    while True:
        where = "c.valid_to IS NULL AND t.valid_to IS NULL"
        params: dict[str, Any] = {}
        if server_id is not None:
            where += " AND s.id = :server_id"
            params["server_id"] = server_id
        if after is not None:
            where += " AND (s.url > :url OR (s.url = :url AND c.entry_id > :entry_id))"
            params.update(url=after[0], entry_id=after[1])
        rows = entry_rows(reader, where, params, geometry=True, limit=_BATCH)
        for row in rows:
            entry = entry_json(reader, row)
            if filters.admit(entry):
                feature = _feature(reader, entry, row["geometry"])
                if link is not None:
                    feature["properties"]["link"] = link(entry["server_id"], entry["entry_id"])
                yield feature
        if len(rows) < _BATCH:
            return
        after = (rows[-1]["server_url"], rows[-1]["entry_id"])


def feature_collection(
    reader: Reader, filters: EntryFilters, server_id: int | None = None, link: Link | None = None
) -> Iterator[bytes]:
    """`territory_features` as a GeoJSON FeatureCollection, in pieces of 64 KiB or more (a
    piece per feature would cost a streamed answer a send and a thread hop each)."""
    chunk = bytearray(b'{"type":"FeatureCollection","features":[')
    separator = b""
    for feature in territory_features(reader, filters, server_id, link):
        chunk += separator + orjson.dumps(feature)
        separator = b","
        if len(chunk) >= _CHUNK_BYTES:
            yield bytes(chunk)
            chunk.clear()
    yield bytes(chunk + b"]}\n")


def csv_text(columns: Iterable[str], rows: Iterable[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def servers_csv(reader: Reader) -> str:
    return csv_text(SERVER_CSV_COLUMNS, server_csv_rows(reader))


def entries_csv(reader: Reader) -> str:
    return csv_text(ENTRY_CSV_COLUMNS, entry_csv_rows(reader))


def seed_list(reader: Reader) -> str:
    """The live metadata URLs in the seed-list text format: a `#` comment, one URL a line."""
    urls = live_metadata_urls(reader)
    header = f"# cds-crawler seed list: {len(urls)} live metadata URLs\n"
    return header + "".join(url + "\n" for url in urls)


def _feature(reader: Reader, entry: dict[str, Any], wkb: Any) -> dict[str, Any]:
    territory = entry.pop("territory")
    return {
        "type": "Feature",
        "id": f"{entry['server_id']}/{entry['entry_id']}",
        "geometry": reader.json(shapely.to_geojson(shapely.from_wkb(bytes(wkb)))),
        "properties": {
            **entry,
            "territory_url": territory["url"],
            "area_km2": territory["area_km2"],
        },
    }


SERVER_CSV_COLUMNS = (
    "url",
    "canonical_url",
    "name",
    "status",
    "status_since",
    "first_seen",
    "last_fetched",
    "last_changed",
    "versions",
    "discovered_via",
    "moved_to",
)


def server_csv_rows(reader: Reader) -> Iterator[list[Any]]:
    for server in list_servers(reader):
        yield [server[column] for column in SERVER_CSV_COLUMNS]


ENTRY_CSV_COLUMNS = ("server_url", "entry_id", *ENTRY_FIELDS, "valid", "territory_url", "area_km2")


def entry_csv_rows(reader: Reader) -> Iterator[list[Any]]:
    """Every current entry, with or without a territory; list values joined by `;`."""
    rows = reader.rows(
        """
        SELECT s.url AS server_url, c.entry_id, c.model, c.valid, t.url AS territory_url,
               t.area_km2
        FROM coverage_entries c
        JOIN servers s ON s.id = c.server_id
        LEFT JOIN territories t ON t.server_id = c.server_id AND t.entry_id = c.entry_id
             AND t.valid_to IS NULL
        WHERE c.valid_to IS NULL
        ORDER BY s.url, c.entry_id
        """
    )
    for row in rows:
        model = reader.json(row["model"])
        values = {**model, **row, "valid": bool(row["valid"])}
        yield [_cell(values.get(column)) for column in ENTRY_CSV_COLUMNS]


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    return value


def live_metadata_urls(reader: Reader) -> list[str]:
    """Every metadata URL that answered with a usable document at its last fetch."""
    rows = reader.rows("SELECT url FROM servers WHERE status = 'ok' ORDER BY url")
    return [row["url"] for row in rows]

"""The specification's uptake: of all metadata seeds, how many publish and how many conform,
per country, tag and commodity, and as a daily series.

A seed *publishes* when its metadata URL's last fetch found a usable document (`ok`), and
*conforms* when that document's current version has no error findings. A seed's countries
and commodities are those of its current coverage entries; a seed without entries counts
under its domain's country-code TLD (`.de`: DE, `.uk`: GB) or `unknown`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

from crawler.domain.countries import is_country_code
from storage.reader import Reader

UNKNOWN = "unknown"
_TLD_COUNTRY = {"UK": "GB"}


@dataclass(slots=True)
class _Seed:
    url: str
    tags: list[str]
    added_at: datetime
    status: str | None = None
    valid: bool = False
    countries: set[str] = field(default_factory=set)
    commodities: set[str] = field(default_factory=set)
    versions: list[tuple[datetime, bool]] = field(default_factory=list)  # oldest first

    @property
    def publishes(self) -> bool:
        return self.status == "ok"

    @property
    def conforms(self) -> bool:
        return self.publishes and self.valid


def _tld_country(url: str) -> str:
    label = (urlsplit(url).hostname or "").rsplit(".", 1)[-1].upper()
    code = _TLD_COUNTRY.get(label, label)
    return code if len(code) == 2 and is_country_code(code) else UNKNOWN


def _seeds(reader: Reader) -> list[_Seed]:
    seeds = {
        row["url"]: _Seed(
            row["url"], reader.json(row["tags"]) or [], _moment(reader, row["added_at"])
        )
        for row in reader.rows("SELECT url, tags, added_at FROM seeds WHERE kind = 'metadata'")
    }
    by_server: dict[int, _Seed] = {}
    for row in reader.rows(
        """
        SELECT s.id, s.url, s.status,
               (SELECT v.valid FROM versions v WHERE v.server_id = s.id
                ORDER BY v.id DESC LIMIT 1) AS valid
        FROM servers s
        """
    ):
        seed = seeds.get(row["url"])
        if seed is not None:
            seed.status, seed.valid = row["status"], bool(row["valid"])
            by_server[row["id"]] = seed
    for row in reader.rows("SELECT server_id, model FROM coverage_entries WHERE valid_to IS NULL"):
        if (seed := by_server.get(row["server_id"])) is not None:
            model = reader.json(row["model"])
            if isinstance(model.get("country"), str):
                seed.countries.add(model["country"])
            seed.commodities.update(
                item for item in model.get("commodity_types") or [] if isinstance(item, str)
            )
    for row in reader.rows("SELECT server_id, fetched_at, valid FROM versions ORDER BY id"):
        if (seed := by_server.get(row["server_id"])) is not None:
            seed.versions.append((_moment(reader, row["fetched_at"]), bool(row["valid"])))
    for seed in seeds.values():
        seed.countries = seed.countries or {_tld_country(seed.url)}
        seed.commodities = seed.commodities or {UNKNOWN}
    return list(seeds.values())


def _moment(reader: Reader, value: Any) -> datetime:
    moment = reader.timestamp(value)
    assert moment is not None, "a NOT NULL timestamp column was null"
    return moment


def _counts(seeds: Iterable[_Seed]) -> dict[str, Any]:
    chosen = list(seeds)
    publishing = sum(seed.publishes for seed in chosen)
    conforming = sum(seed.conforms for seed in chosen)
    return {
        "seeds": len(chosen),
        "publishing": publishing,
        "conforming": conforming,
        "publishing_share": round(publishing / len(chosen), 4) if chosen else None,
    }


def _grouped(seeds: list[_Seed], keys_of: Any) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[_Seed]] = defaultdict(list)
    for seed in seeds:
        for key in keys_of(seed):
            groups[key].append(seed)
    return {key: _counts(groups[key]) for key in sorted(groups)}


def adoption_report(reader: Reader) -> dict[str, Any]:
    """Totals now, and the same counts per country, tag and commodity."""
    seeds = _seeds(reader)
    return {
        "total": _counts(seeds),
        "by_country": _grouped(seeds, lambda seed: seed.countries),
        "by_tag": _grouped(seeds, lambda seed: seed.tags or ["untagged"]),
        "by_commodity": _grouped(seeds, lambda seed: seed.commodities),
    }


def adoption_series(reader: Reader, since: date, until: date) -> list[dict[str, Any]]:
    """One point per day from `since` to `until`, each as things stood at the day's end (UTC):
    seeds added by then, those that had published a document by then, and those whose
    version in effect then was valid."""
    seeds = _seeds(reader)
    series = []
    day = since
    while day <= until:
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
        known = [seed for seed in seeds if seed.added_at < end]
        in_effect = [[valid for fetched, valid in seed.versions if fetched < end] for seed in known]
        series.append(
            {
                "date": day.isoformat(),
                "seeds": len(known),
                "publishing": sum(bool(versions) for versions in in_effect),
                "conforming": sum(bool(versions) and versions[-1] for versions in in_effect),
            }
        )
        day += timedelta(days=1)
    return series

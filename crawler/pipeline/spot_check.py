"""Ask a coverage listing for entries by id (the `ids` filter of CDSC-WG1-01 4.2).

A listing read that stops at its watermark cannot see an entry deleted further down; asking
for a few of the entries it did not read finds deletions between full reads. After a full
read the same question only checks that the server honours the filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from crawler.domain import rules
from crawler.domain.availability import is_transient
from crawler.domain.coverage import CoverageEntry, parse_coverage_page
from crawler.domain.fetching import FetchOutcome
from crawler.domain.findings import Finding
from crawler.domain.jsondoc import parse_json_object
from crawler.http.fetch import Fetcher


@dataclass(frozen=True, slots=True)
class SpotCheck:
    entries: tuple[CoverageEntry, ...] = ()  # the entries asked for that the listing holds
    absent: frozenset[str] = frozenset()  # those it no longer holds
    finding: Finding | None = None  # the filter is not honoured
    requests: int = 0


def ids_url(listing_url: str, ids: Sequence[str]) -> str:
    """The listing's URL asking for `ids` (space-separated, as section 4.2 says)."""
    separator = "&" if "?" in listing_url else "?"
    return f"{listing_url}{separator}ids={quote(' '.join(ids), safe='')}"


def askable(entry_id: str) -> bool:
    """Whether an id can be asked for in a space-separated list."""
    return bool(entry_id) and not any(character.isspace() for character in entry_id)


async def spot_check(
    fetcher: Fetcher, listing_url: str, ids: Sequence[str], listed: frozenset[str]
) -> SpotCheck:
    """Ask the listing at `listing_url` for `ids`; `listed` holds the ids the pages just read
    list, which the answer must not leave out. An answer that ignores the filter, leaves out
    a listed entry, or does not fit on one page tells nothing about the rest."""
    url = ids_url(listing_url, ids)
    fetched = await fetcher.fetch(url)
    requests = fetched.requests
    if fetched.outcome is not FetchOutcome.OK:
        if is_transient(fetched):
            return SpotCheck(requests=requests)
        message = f"asking for entries by `ids` failed: {fetched.reason}"
        return _ignored(listing_url, message, requests)
    document, _ = parse_json_object(fetched.body or b"", url)
    page = parse_coverage_page(document, url) if document is not None else None
    if page is None or not page.usable:
        return _ignored(listing_url, "the answer to an `ids` query is not a listing", requests)
    asked = set(ids)
    returned = {entry.entry_id: entry for entry in page.entries}
    extra = sorted(returned.keys() - asked)
    if extra:
        message = (
            f"asked for {len(asked)} entries by `ids`, the answer holds {len(extra)} others "
            f"(such as {extra[0][:80]!r})"
        )
        return _ignored(listing_url, message, requests)
    missing = asked - returned.keys()
    left_out = sorted(missing & listed)
    if left_out:
        message = f"the answer to an `ids` query leaves out {left_out[0][:80]!r}, which it lists"
        return _ignored(listing_url, message, requests)
    found = tuple(entry for entry in page.entries if entry.entry_id not in listed)
    absent = frozenset(missing) if page.next is None else frozenset()
    return SpotCheck(found, absent, None, requests)


def _ignored(listing_url: str, message: str, requests: int) -> SpotCheck:
    finding = rules.COVERAGE_IDS_FILTER.finding(listing_url, "", message)
    return SpotCheck(finding=finding, requests=requests)

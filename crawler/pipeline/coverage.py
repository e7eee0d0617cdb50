"""Read a server's coverage listing: follow `next`, bounded, each page once; on a re-poll,
stop paging at the entries the last read already saw (CDSC-WG1-01 4.1 orders them newest
first), with a full read every `coverage_sweep_interval`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from crawler.domain import rules
from crawler.domain.canonical import canonical_form
from crawler.domain.coverage import CoverageEntry, parse_coverage_page
from crawler.domain.fetching import FetchOutcome
from crawler.domain.findings import Finding, json_pointer
from crawler.domain.jsondoc import parse_json_object
from crawler.domain.targets import InvalidTarget, normalise_list_url
from crawler.domain.union import capabilities_union_findings
from crawler.http.fetch import Fetcher
from crawler.pipeline.failures import unavailable
from crawler.settings import Settings
from storage.repositories.coverage_listings import ListingState
from storage.repositories.coverage_pages import StoredPage


@dataclass(frozen=True, slots=True)
class PageRead:
    """A page that came back with validators, to be asked for conditionally next time."""

    url: str
    etag: str | None
    last_modified: str | None
    content: dict[str, Any]
    sha256: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class CoverageRead:
    url: str | None  # the first page; None when the document no longer links a listing
    entries: tuple[CoverageEntry, ...]  # de-duplicated by id, in listing order
    complete: bool  # every page was read, so an entry missing from it has left the listing
    findings: tuple[Finding, ...]
    requests: int
    page_urls: tuple[str, ...] = ()  # the pages read, in order
    fresh_pages: tuple[PageRead, ...] = ()  # pages read in full that carried validators
    incremental: bool = False  # paging stopped at the watermark: the rest is as last read
    state: ListingState | None = None  # to remember for the next read, if it learnt any
    spot_checked: bool = False  # some entries beyond the pages read were asked for by id:
    checked: tuple[CoverageEntry, ...] = ()  # those the listing holds
    absent: frozenset[str] = frozenset()  # those it no longer holds

    @classmethod
    def withdrawn(cls) -> CoverageRead:
        """The listing of a document that no longer links one: complete, and empty."""
        return cls(None, (), True, (), 0)


def watermark(state: ListingState | None, settings: Settings, now: datetime) -> datetime | None:
    """Where a read of a listing in `state` may stop paging: None when it must be read whole
    (never read whole, out of order when last read whole, or a full read is due)."""
    if state is None or state.watermark is None or state.swept_at is None or not state.ordered:
        return None
    if now - state.swept_at >= timedelta(seconds=settings.coverage_sweep_interval):
        return None
    return state.watermark


async def read_listing(
    fetcher: Fetcher,
    url: str,
    settings: Settings,
    stored_pages: Mapping[str, StoredPage] | None = None,
    since: ListingState | None = None,
    now: datetime | None = None,
) -> CoverageRead:
    """The entries of the listing that starts at `url`; never raises for what servers do.

    A page URL seen twice ends the listing (all its pages were read); so do the page and
    entry caps, a page that cannot be fetched or parsed (then the listing is incomplete and
    entries missing from it are not taken as removed). A page in `stored_pages` is asked
    for conditionally, and a 304 reads the stored page. Given the listing's state `since`
    its last read (at `now`), paging stops after the first page with an entry no newer
    than the watermark, unless a full read is due or the pages read break the order.
    """
    reader = _ListingReader(url, settings, stored_pages or {}, since, now or datetime.now(UTC))
    next_url: str | None = url
    while next_url is not None:
        next_url = await reader.read_page(fetcher, next_url)
    return reader.result()


def with_union_findings(read: CoverageRead, document: Any, url: str) -> CoverageRead:
    """The read with the capabilities union rule checked against the metadata `document`
    published at `url`; only a listing read whole can show a capability missing."""
    if not read.complete or not isinstance(document, dict):
        return read
    union = capabilities_union_findings(document, read.entries, url)
    return replace(read, findings=read.findings + union)


class _ListingReader:
    """Reads a listing page by page; `read_page` returns the next page to read."""

    def __init__(
        self,
        url: str,
        settings: Settings,
        stored_pages: Mapping[str, StoredPage],
        since: ListingState | None,
        now: datetime,
    ) -> None:
        self.url = url
        self.settings = settings
        self.stored_pages = stored_pages
        self.fresh_pages: list[PageRead] = []
        self.entries: dict[str, CoverageEntry] = {}
        self.findings: list[Finding] = []
        self.pages: list[str] = []
        self.requests = 0
        self.complete = True
        self.out_of_order = False
        self.last: CoverageEntry | None = None
        self.since = since
        self.now = now
        self.watermark = watermark(since, settings, now)  # stop paging there, unless None
        self.incremental = False

    def result(self) -> CoverageRead:
        return CoverageRead(
            self.url,
            tuple(self.entries.values()),
            self.complete,
            tuple(self.findings),
            self.requests,
            tuple(self.pages),
            tuple(self.fresh_pages),
            self.incremental,
            self._state(),
        )

    def _state(self) -> ListingState | None:
        """What the next read should know: the newest `updated` and, after a whole read,
        when it was and whether the order held; nothing when a page failed."""
        dates = [entry.updated for entry in self.entries.values() if entry.updated is not None]
        newest = max(dates, default=None)
        if self.complete:
            return ListingState(newest, self.now, self.now, not self.out_of_order)
        if self.incremental and self.since is not None:
            old = self.since.watermark
            mark = max(newest, old) if newest is not None and old is not None else newest or old
            return replace(self.since, watermark=mark)
        return None

    def stop(self, finding: Finding, *, complete: bool) -> None:
        self.findings.append(finding)
        self.complete = self.complete and complete

    async def read_page(self, fetcher: Fetcher, page_url: str) -> str | None:
        """Read one page; the next page's URL, or None when the listing ends here."""
        if page_url in self.pages:
            message = f"the listing's next link leads back to {page_url}, already read"
            self.stop(rules.COVERAGE_PAGE_LOOP.finding(page_url, "/next", message), complete=True)
            return None
        if len(self.pages) >= self.settings.max_coverage_pages:
            message = f"more than {self.settings.max_coverage_pages} pages; the rest is not read"
            self.stop(rules.COVERAGE_TOO_MANY_PAGES.finding(page_url, "", message), complete=False)
            return None
        self.pages.append(page_url)
        document = await self._fetch_page(fetcher, page_url)
        if document is None:
            self.complete = False
            return None
        page = parse_coverage_page(document, page_url)
        self.findings.extend(page.findings)
        if not page.usable:
            self.complete = False
            return None
        if not self._add_entries(page_url, page.entries):
            return None
        next_url = _next_page(page.next)
        if next_url is not None and self._at_watermark(page.entries):
            self.incremental, self.complete = True, False
            return None
        return next_url

    def _at_watermark(self, entries: tuple[CoverageEntry, ...]) -> bool:
        """Whether the rest of the listing holds only entries the last read saw: this page
        has one no newer than the watermark, and the order held so far."""
        mark = self.watermark
        if mark is None or self.out_of_order:
            return False
        return any(entry.updated is not None and entry.updated <= mark for entry in entries)

    async def _fetch_page(self, fetcher: Fetcher, page_url: str) -> dict[str, Any] | None:
        """The page as a JSON object (the stored one when it answers 304), or None."""
        stored = self.stored_pages.get(page_url)
        fetched = await fetcher.fetch(
            page_url,
            etag=stored.etag if stored else None,
            last_modified=stored.last_modified if stored else None,
        )
        self.requests += fetched.requests
        if fetched.outcome is FetchOutcome.NOT_MODIFIED and stored is not None:
            content: dict[str, Any] = stored.content
            return content
        if fetched.outcome is not FetchOutcome.OK:
            finding = unavailable(fetched, rules.COVERAGE_UNAVAILABLE, "a coverage page")
            self.findings.append(finding)
            return None
        document, parse_findings = parse_json_object(fetched.body or b"", page_url)
        self.findings.extend(parse_findings)
        if document is not None and (fetched.etag or fetched.last_modified):
            canonical, sha256 = canonical_form(document)
            self.fresh_pages.append(
                PageRead(
                    page_url, fetched.etag, fetched.last_modified, document, sha256, len(canonical)
                )
            )
        return document

    def _add_entries(self, page_url: str, entries: tuple[CoverageEntry, ...]) -> bool:
        for index, entry in enumerate(entries):
            pointer = json_pointer("coverage_entries", index, "id")
            if entry.entry_id in self.entries:
                message = f"entry id {entry.entry_id[:80]!r} is listed again; the first is kept"
                self.findings.append(
                    rules.COVERAGE_DUPLICATE_ID.finding(page_url, pointer, message)
                )
                continue
            if len(self.entries) >= self.settings.max_coverage_entries:  # one entry too many
                message = (
                    f"more than {self.settings.max_coverage_entries} entries; the rest is not read"
                )
                self.stop(
                    rules.COVERAGE_TOO_MANY_ENTRIES.finding(page_url, "", message), complete=False
                )
                return False
            self._check_order(page_url, index, entry)
            self.entries[entry.entry_id] = entry
            self.last = entry
        return True

    def _check_order(self, page_url: str, index: int, entry: CoverageEntry) -> None:
        """CDSC-WG1-01 4.1: entries newest first by `updated`; reported once per listing."""
        previous = self.last
        if (
            self.out_of_order
            or previous is None
            or previous.updated is None
            or entry.updated is None
        ):
            return
        if entry.updated > previous.updated:
            self.out_of_order = True
            message = (
                f"entry {entry.entry_id[:80]!r} (updated {entry.updated.isoformat()}) comes after "
                f"{previous.entry_id[:80]!r} (updated {previous.updated.isoformat()})"
            )
            pointer = json_pointer("coverage_entries", index, "updated")
            self.findings.append(rules.COVERAGE_ORDER.finding(page_url, pointer, message))


def _next_page(url: str | None) -> str | None:
    if url is None:
        return None
    try:
        return normalise_list_url(url).url
    except InvalidTarget:
        return None  # the page's findings already say the link is not a URL

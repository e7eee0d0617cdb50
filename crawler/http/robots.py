"""robots.txt (RFC 9309): each origin's rules, read once and kept for a day, asked before
anything else is fetched from it."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from crawler.domain import rules
from crawler.domain.availability import is_transient
from crawler.domain.fetching import FetchOutcome, FetchResult

MAX_BYTES = 500 * 1024  # RFC 9309 2.5: at least 500 KiB must be parsed
KEEP_S = 86400.0  # 2.4: a cached copy SHOULD NOT be used for more than 24 hours
RETRY_S = 60.0  # an unreachable robots.txt is asked for again after this long
MAX_ORIGINS = 10_000


@dataclass(frozen=True, slots=True)
class StoredRobots:
    """An origin's robots.txt as last read: its text (None when it had none: a 4xx)."""

    text: str | None
    etag: str | None
    last_modified: str | None
    read_at: datetime


class RobotsStore(Protocol):
    """Where robots.txt files are kept between processes (so that a crawl an hour after
    another asks for none, and one a day later asks conditionally)."""

    async def load(self, origin: str) -> StoredRobots | None: ...

    async def save(self, origin: str, robots: StoredRobots) -> None: ...

    async def flush(self) -> None:
        """Make what was saved durable (a store may gather saves and write them at once)."""


RobotsFetch = Callable[[str, str | None, str | None], Awaitable[FetchResult]]


@dataclass(frozen=True, slots=True)
class _Rules:
    parser: RobotFileParser | None  # None: everything is allowed
    failure: FetchResult | None  # the robots.txt could not be read: nothing is allowed
    until: float  # monotonic time when it is read again


class RobotsRules:
    """Per origin: may `agent` fetch a URL? `refusal(url)` answers with None (go ahead) or
    the FetchResult that stands for the refused fetch."""

    def __init__(self, fetch: RobotsFetch, agent: str, store: RobotsStore | None = None) -> None:
        self._fetch = fetch
        self._agent = agent
        self._store = store
        self._rules: OrderedDict[str, _Rules] = OrderedDict()
        self._reading: dict[str, asyncio.Future[_Rules]] = {}
        self.requests = 0  # made for robots.txt files

    async def flush(self) -> None:
        if self._store is not None:
            await self._store.flush()

    async def refusal(self, url: str) -> FetchResult | None:
        origin = origin_of(url)
        if origin is None:
            return None  # the fetch itself reports what is wrong with the URL
        known = await self._rules_of(origin)
        if known.failure is not None:
            return _unreadable(url, origin, known.failure)
        if known.parser is None or known.parser.can_fetch(self._agent, url):
            return None
        return _disallowed(url, origin, self._agent)

    async def _rules_of(self, origin: str) -> _Rules:
        known = self._rules.get(origin)
        if known is not None and known.until > time.monotonic():
            self._rules.move_to_end(origin)
            return known
        reading = self._reading.get(origin)
        if reading is None:
            reading = asyncio.get_running_loop().create_future()
            self._reading[origin] = reading
            try:
                reading.set_result(await self._read(origin))
            except BaseException as exc:
                reading.set_exception(exc)
                raise
            finally:
                del self._reading[origin]
            self._keep(origin, reading.result())
        return await asyncio.shield(reading)

    async def _read(self, origin: str) -> _Rules:
        """The origin's rules: the stored copy while it is less than a day old, else the
        robots.txt asked for again (conditionally when a copy is stored)."""
        stored = await self._store.load(origin) if self._store is not None else None
        now = datetime.now(UTC)
        if stored is not None and (age := (now - stored.read_at).total_seconds()) < KEEP_S:
            return _parsed(stored.text, time.monotonic() + KEEP_S - age)
        etag, modified = (stored.etag, stored.last_modified) if stored else (None, None)
        fetched = await self._fetch(f"{origin}/robots.txt", etag, modified)
        self.requests += fetched.requests
        if fetched.outcome is FetchOutcome.NOT_MODIFIED and stored is not None:
            text = stored.text
        elif fetched.outcome is FetchOutcome.OK:
            text = (fetched.body or b"").decode("utf-8", "replace")
        elif is_transient(fetched) and fetched.status_code != 429:
            return _Rules(None, fetched, time.monotonic() + RETRY_S)  # 2.3.1.4: disallow all
        else:
            text = None  # 2.3.1.3: unavailable (4xx): no rules
        if self._store is not None:
            kept = StoredRobots(text, fetched.etag, fetched.last_modified, now)
            await self._store.save(origin, kept)
        return _parsed(text, time.monotonic() + KEEP_S)

    def _keep(self, origin: str, known: _Rules) -> None:
        self._rules[origin] = known
        self._rules.move_to_end(origin)
        while len(self._rules) > MAX_ORIGINS:
            self._rules.popitem(last=False)


def origin_of(url: str) -> str | None:
    """The origin whose robots.txt applies to `url` (None for what is not http(s))."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _parsed(text: str | None, until: float) -> _Rules:
    if text is None:
        return _Rules(None, None, until)
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    return _Rules(parser, None, until)


def robots_agent(user_agent: str) -> str:
    """The product token robots.txt groups name (RFC 9309 2.2.1): `cds-crawler` of
    `cds-crawler/1.0 (+https://...)`."""
    return user_agent.split("/", 1)[0].split()[0] if user_agent.strip() else "*"


def _disallowed(url: str, origin: str, agent: str) -> FetchResult:
    message = (
        f"{origin}/robots.txt disallows {url} for {agent} (RFC 9309); an operator with the "
        "publisher's consent can set CDS_CRAWLER_RESPECT_ROBOTS_TXT=false"
    )
    return FetchResult(
        url=url,
        final_url=url,
        outcome=FetchOutcome.BLOCKED,
        started_at=_now(),
        duration_s=0.0,
        error_class="RobotsDisallowed",
        findings=(rules.ROBOTS_DISALLOWED.finding(url, "", message),),
    )


def _unreadable(url: str, origin: str, failure: FetchResult) -> FetchResult:
    """The refused fetch of `url`: the network failure that kept robots.txt from being read
    (the fetch of `url` would have met it too), or, for an error answer, that finding."""
    if failure.outcome is not FetchOutcome.HTTP_ERROR:
        return replace(failure, url=url, final_url=url, requests=0)
    message = (
        f"{origin}/robots.txt could not be read ({failure.reason}); nothing is fetched from "
        "the host until it can be (RFC 9309 2.3.1.4)"
    )
    finding = rules.ROBOTS_UNREACHABLE.finding(url, "", message)
    return replace(failure, url=url, final_url=url, requests=0, findings=(finding,))


def _now() -> datetime:
    return datetime.now(UTC)

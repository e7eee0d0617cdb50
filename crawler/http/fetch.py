"""Fetching one URL: guard, politeness, redirects, conditional requests, size cap and deadline."""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from contextlib import asynccontextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from crawler.domain import rules
from crawler.domain.caching import freshness_s, retry_after_s
from crawler.domain.fetching import FetchOutcome, FetchResult, RedirectHop
from crawler.http.client import request_headers, timeouts
from crawler.http.guard import BlockedTarget, check_scheme
from crawler.http.robots import MAX_BYTES as ROBOTS_MAX_BYTES
from crawler.http.robots import RobotsRules, RobotsStore, robots_agent
from crawler.http.transport import ResolutionError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    from crawler.domain.findings import Rule
    from crawler.http.politeness import HostGate, HostLimiter
    from crawler.settings import Settings

_E = TypeVar("_E", bound=BaseException)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DRAIN_MAX_S = 0.5  # an unused body is read for at most this long
_DRAIN_MARGIN_S = 0.05  # and never into the fetch's deadline, which would turn it into a timeout
_UNGATED = nullcontext()
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_CODINGS = {"gzip": _GZIP_WBITS, "x-gzip": _GZIP_WBITS, "deflate": zlib.MAX_WBITS}


class _Failure(Exception):
    """Ends a fetch with a non-OK outcome and the one finding that says why."""

    def __init__(self, outcome: FetchOutcome, rule: Rule, message: str, error_class: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.rule = rule
        self.message = message
        self.error_class = error_class


@dataclass(frozen=True, slots=True)
class _Success:
    outcome: FetchOutcome
    headers: httpx.Headers
    body: bytes | None = None


@dataclass(slots=True)
class _Progress:
    """What a fetch has done so far, across hops, so that every outcome can report it."""

    url: str
    current_url: str
    requests: int = 0
    redirects: list[RedirectHop] = field(default_factory=list)
    bytes_received: int = 0
    status_code: int | None = None
    phase: str = ""
    migrations: bool = False  # a redirect to another origin ends the fetch as MOVED
    read_body: bool = True  # False: a 200's headers are the answer (a reachability probe)
    truncate: bool = False  # True: a body over the cap is cut there rather than refused
    retry_after_s: float | None = None  # what a 429 or 503 asked for

    async def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """The transport's trace hook: counts requests actually sent, remembers the phase."""
        if event.endswith(".started"):
            self.phase = event.removesuffix(".started")
            if self.phase.endswith(".send_request_headers"):
                self.requests += 1


class _Budget:
    """The total deadline of one fetch, spent only while a request is on the wire (not while
    waiting for a politeness slot)."""

    def __init__(self, seconds: float) -> None:
        self.total = seconds
        self.remaining = seconds
        self._started: float | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        self._started = started = time.monotonic()
        try:
            async with asyncio.timeout(max(self.remaining, 0.0)):
                yield
        finally:
            self._started = None
            self.remaining -= time.monotonic() - started

    def left(self) -> float:
        """What is left of the deadline now."""
        spent = 0.0 if self._started is None else time.monotonic() - self._started
        return self.remaining - spent


class _Decoder:
    """Undoes one content coding without ever producing more output than asked for."""

    def __init__(self, coding: str | None) -> None:
        self.coding = coding
        self._z = zlib.decompressobj(_CODINGS[coding]) if coding else None
        self._started = False

    def decode(self, data: bytes, limit: int) -> bytes:
        """At most `limit` decoded bytes of `data` (all of it for identity). Raises zlib.error
        on corrupt data."""
        if self._z is None or not data:
            return data
        try:
            out = self._z.decompress(data, limit)
        except zlib.error:
            if self.coding != "deflate" or self._started:
                raise
            # Some servers send raw DEFLATE for "deflate" instead of the zlib format.
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._z.decompress(data, limit)
        self._started = True
        if self._z.eof and self._z.unused_data and self.coding != "deflate" and len(out) < limit:
            rest = self._z.unused_data  # a further gzip member follows
            self._z = zlib.decompressobj(_GZIP_WBITS)
            self._started = False
            out += self.decode(rest, limit - len(out))
        return out

    def finish(self) -> None:
        """Raises zlib.error when the compressed stream stopped before its end."""
        if self._z is not None and self._started and not self._z.eof:
            raise zlib.error("the compressed stream is truncated")


class Fetcher:
    """Fetches URLs through the guarded transport, politely, with all limits applied.

    It talks to the transport directly rather than through an `httpx.AsyncClient`: the client's
    cookie, auth and hook machinery, unused here, cost about a quarter of an unchanged poll.
    Every request holds a slot of `limiter`, and of `gate` where one is given (the daemon's
    limits across workers).
    """

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        settings: Settings,
        limiter: HostLimiter,
        robots_store: RobotsStore | None = None,
        gate: HostGate | None = None,
    ) -> None:
        self._transport = transport
        self._settings = settings
        self._limiter = limiter
        self._gate = gate
        self._headers = request_headers(settings)
        self._timeouts = timeouts(settings).as_dict()
        self._robots = (
            RobotsRules(self._robots_txt, robots_agent(settings.user_agent), robots_store)
            if settings.respect_robots_txt
            else None
        )

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
        migrations: bool = False,
        read_body: bool = True,
    ) -> FetchResult:
        """GET `url`, following redirects, and say what happened.

        Never raises for anything the remote side or the network does: refusals by the guard,
        DNS, connection, TLS and protocol errors, timeouts (connect, read, and the total
        `settings.request_deadline` over all hops), oversized or corrupt bodies and bad
        redirects all come back as a `FetchResult` whose outcome, error_class and single
        finding say why. An invalid `url` is BLOCKED too. `etag` / `last_modified` make the
        first request conditional (a 304 is NOT_MODIFIED). The body is decoded (gzip, deflate)
        and capped at `max_bytes` (default `settings.max_document_bytes`). Cancellation and
        internal errors propagate. With `migrations`, a redirect to another origin is a server
        migration (CDSC-WG1-01 5): it is not followed, and the outcome is MOVED with the target
        as `final_url`; redirects within the origin are followed either way. Without
        `read_body`, a 200 is OK as soon as its headers arrive, and the body is left unread.
        A URL the origin's robots.txt disallows (when `respect_robots_txt`) is BLOCKED.
        """
        if self._robots is not None:
            refusal = await self._robots.refusal(url)
            if refusal is not None:
                return refusal
        return await self._get(url, etag, last_modified, max_bytes, migrations, read_body)

    async def flush(self) -> None:
        """Write what the fetcher keeps between processes (the robots.txt files it read)."""
        if self._robots is not None:
            await self._robots.flush()

    @property
    def robots_requests(self) -> int:
        """Requests made for robots.txt files so far."""
        return self._robots.requests if self._robots is not None else 0

    async def _robots_txt(
        self, url: str, etag: str | None, last_modified: str | None
    ) -> FetchResult:
        # RFC 9309 2.5: the rules within the first 500 KiB apply, however long the file is.
        return await self._get(
            url, etag, last_modified, ROBOTS_MAX_BYTES, False, True, truncate=True
        )

    async def _get(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        max_bytes: int | None,
        migrations: bool,
        read_body: bool,
        *,
        truncate: bool = False,
    ) -> FetchResult:
        started_at = datetime.now(UTC)
        clock = time.monotonic()
        progress = _Progress(
            url=url,
            current_url=url,
            migrations=migrations,
            read_body=read_body,
            truncate=truncate,
        )
        cap = self._settings.max_document_bytes if max_bytes is None else max_bytes
        try:
            success = await self._follow(progress, _conditional(etag, last_modified), cap)
        except _Failure as failure:
            return _failed(progress, failure, started_at, time.monotonic() - clock)
        return _succeeded(
            progress, success, etag, last_modified, started_at, time.monotonic() - clock
        )

    async def _follow(self, progress: _Progress, conditional: dict[str, str], cap: int) -> _Success:
        budget = _Budget(self._settings.request_deadline)
        seen: set[str] = set()
        headers = conditional
        while True:
            target = self._checked_url(progress.current_url)
            seen.add(str(target))
            step = await self._exchange(progress, target, headers, cap, budget)
            if isinstance(step, _Success):
                return step
            self._record_redirect(progress, str(target), step, seen)
            headers = {}

    def _checked_url(self, url: str) -> httpx.URL:
        reason = check_scheme(url, self._settings.allow_http)
        if reason is None:
            try:
                return httpx.URL(url)
            except httpx.InvalidURL as exc:
                reason = f"not a valid URL ({exc})"
        raise _Failure(
            FetchOutcome.BLOCKED, rules.NETWORK_SCHEME_REFUSED, f"{url}: {reason}", "SchemeRefused"
        )

    def _record_redirect(
        self, progress: _Progress, source: str, target: str, seen: set[str]
    ) -> None:
        assert progress.status_code is not None
        progress.redirects.append(RedirectHop(source, progress.status_code, target))
        progress.current_url = target
        if progress.migrations and _origin(target) != _origin(progress.url):
            raise _Failure(
                FetchOutcome.MOVED,
                rules.SERVER_MOVED,
                f"{progress.url} moved to {target} ({progress.status_code} from {source})",
                "Moved",
            )
        if target in seen:
            raise _Failure(
                FetchOutcome.REDIRECT_ERROR,
                rules.HTTP_REDIRECT_LOOP,
                f"{source} redirects to {target}, which this fetch already visited",
                "RedirectLoop",
            )
        if len(progress.redirects) > self._settings.max_redirects:
            raise _Failure(
                FetchOutcome.REDIRECT_ERROR,
                rules.HTTP_TOO_MANY_REDIRECTS,
                f"{source} redirects to {target}: more than {self._settings.max_redirects} "
                "redirects",
                "TooManyRedirects",
            )

    async def _exchange(
        self,
        progress: _Progress,
        target: httpx.URL,
        headers: dict[str, str],
        cap: int,
        budget: _Budget,
    ) -> _Success | str:
        """One request and its response: a final answer, or the next URL of a redirect."""
        request = httpx.Request(
            "GET",
            target,
            headers={**self._headers, **self._settings.headers_for(target.host), **headers},
            extensions={"timeout": self._timeouts, "trace": progress.trace},
        )
        host = _host_key(target)
        # The gate (across processes) first: waiting for it must not hold a slot here.
        async with self._gate.hold(host) if self._gate else _UNGATED, self._limiter.slot(host):
            try:
                async with budget.running():
                    response = await self._transport.handle_async_request(request)
                    response.request = request
                    try:
                        return await _interpret(progress, response, bool(headers), cap, budget)
                    finally:
                        await response.aclose()
            except _Failure:
                if self._gate is not None and progress.retry_after_s is not None:
                    self._gate.paused(host, progress.retry_after_s)
                raise
            except TimeoutError as exc:
                raise _Failure(
                    FetchOutcome.TIMEOUT,
                    rules.HTTP_TIMEOUT,
                    f"{target}: no complete answer within the {budget.total:g} s deadline",
                    "DeadlineExceeded",
                ) from exc
            except BlockedTarget as exc:
                raise _Failure(
                    FetchOutcome.BLOCKED,
                    rules.NETWORK_ADDRESS_REFUSED,
                    f"{target}: {exc}; private networks are not allowed",
                    type(exc).__name__,
                ) from exc
            except httpx.HTTPError as exc:
                raise _network_failure(exc, target, progress.phase) from exc


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port


def _host_key(url: httpx.URL) -> str:
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.host}:{port}"


def _conditional(etag: str | None, last_modified: str | None) -> dict[str, str]:
    # The validators were sent by the server; one that cannot be sent back as a header value
    # only costs the request its condition.
    pairs = (("If-None-Match", etag), ("If-Modified-Since", last_modified))
    return {name: value for name, value in pairs if value and _sendable(value)}


def _sendable(value: str) -> bool:
    return value.isascii() and value.isprintable()


async def _interpret(
    progress: _Progress, response: httpx.Response, conditional: bool, cap: int, budget: _Budget
) -> _Success | str:
    status = response.status_code
    progress.status_code = status
    answer = f"{response.url} answered {status} {response.reason_phrase}".rstrip()
    if status == 200:
        if not progress.read_body:
            return _Success(FetchOutcome.OK, response.headers)
        body = await _read_body(progress, response, cap)
        return _Success(FetchOutcome.OK, response.headers, body)
    # Whatever else comes with a body that is not used: read it, when it is small and quick,
    # so that the connection serves the next request instead of a new one.
    await _drain(response, budget.left() - _DRAIN_MARGIN_S)
    if status == 304 and conditional:
        return _Success(FetchOutcome.NOT_MODIFIED, response.headers)
    if status in REDIRECT_STATUSES:
        return _location(response, answer)
    if status in (404, 410):
        raise _Failure(FetchOutcome.NOT_FOUND, rules.HTTP_NOT_FOUND, answer, f"HTTP {status}")
    if status in (429, 503):
        progress.retry_after_s = retry_after_s(
            response.headers.get("retry-after"), datetime.now(UTC)
        )
    expected = "; a metadata URL answers 200" if 200 <= status < 400 else ""
    raise _Failure(FetchOutcome.HTTP_ERROR, rules.HTTP_STATUS, answer + expected, f"HTTP {status}")


async def _drain(response: httpx.Response, seconds: float, limit: int = 64 * 1024) -> None:
    """Read what is left of an answer whose body is not used, within `seconds`, so that its
    connection can serve the next request. A body past `limit`, slower than that or broken is
    left: closing the response then closes its connection, and the answer stands as it is."""
    if seconds <= 0:
        return
    read = 0
    with suppress(TimeoutError, httpx.TransportError):
        async with asyncio.timeout(min(seconds, _DRAIN_MAX_S)):
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read > limit:
                    return


def _location(response: httpx.Response, answer: str) -> str:
    raw: str = response.headers.get("location", "").strip()
    problem = "without a Location header"
    if raw:
        try:
            return str(response.url.join(raw).copy_with(fragment=None))
        except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
            problem = f"with an unusable Location {raw!r} ({exc})"
    raise _Failure(
        FetchOutcome.REDIRECT_ERROR, rules.HTTP_BAD_REDIRECT, f"{answer} {problem}", "BadRedirect"
    )


async def _read_body(progress: _Progress, response: httpx.Response, cap: int) -> bytes:
    """The decoded body, reading and keeping at most about `cap` + one network chunk; over
    the cap, the fetch fails, or with `progress.truncate` the body is cut at the cap."""
    if not progress.truncate:
        _refuse_declared_size(response, cap)
    decoder = _Decoder(_content_coding(response))
    body = bytearray()
    try:
        async for chunk in response.aiter_raw():
            body += decoder.decode(chunk, cap + 1 - len(body))
            progress.bytes_received = len(body)
            if len(body) > cap:
                if progress.truncate:
                    return bytes(body[:cap])
                raise _Failure(
                    FetchOutcome.TOO_LARGE,
                    rules.HTTP_TOO_LARGE,
                    f"{response.url}: the body exceeds the cap of {cap} bytes (decoded)",
                    "BodyTooLarge",
                )
        decoder.finish()
    except zlib.error as exc:
        raise _Failure(
            FetchOutcome.PROTOCOL_ERROR,
            rules.HTTP_ENCODING,
            f"{response.url}: the {decoder.coding} body cannot be decoded ({exc})",
            "CorruptContentEncoding",
        ) from exc
    return bytes(body)


def _refuse_declared_size(response: httpx.Response, cap: int) -> None:
    try:
        declared = int(response.headers.get("content-length", ""))
    except ValueError:
        return
    if declared > cap:
        raise _Failure(
            FetchOutcome.TOO_LARGE,
            rules.HTTP_TOO_LARGE,
            f"{response.url}: Content-Length {declared} exceeds the cap of {cap} bytes",
            "BodyTooLarge",
        )


def _content_coding(response: httpx.Response) -> str | None:
    header: str = response.headers.get("content-encoding", "")
    codings = [c.strip().lower() for c in header.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in _CODINGS:
        return codings[0]
    problem = (
        "applies several codings in turn, which is not supported"
        if all(coding in _CODINGS for coding in codings)
        else "was not asked for (Accept-Encoding: gzip, deflate)"
    )
    raise _Failure(
        FetchOutcome.PROTOCOL_ERROR,
        rules.HTTP_ENCODING,
        f"{response.url}: Content-Encoding {header!r} {problem}",
        "UnsupportedContentEncoding",
    )


def _network_failure(exc: httpx.HTTPError, target: httpx.URL, phase: str) -> _Failure:
    """The outcome and finding for an httpx error raised while talking to `target`."""
    name = type(exc).__name__
    detail = str(exc) or name
    if isinstance(exc, httpx.TimeoutException):
        return _Failure(
            FetchOutcome.TIMEOUT, rules.HTTP_TIMEOUT, f"{target}: timed out ({detail})", name
        )
    if isinstance(exc, httpx.ConnectError):
        return _connect_failure(exc, target, phase)
    if isinstance(exc, httpx.ProtocolError) and _cause(exc, httpx.InvalidURL) is not None:
        # httpx parses the Location of every redirect, followed or not.
        return _Failure(
            FetchOutcome.REDIRECT_ERROR,
            rules.HTTP_BAD_REDIRECT,
            f"{target} answered a redirect with an unusable Location ({detail})",
            "BadRedirect",
        )
    if isinstance(exc, httpx.ProtocolError):
        return _Failure(
            FetchOutcome.PROTOCOL_ERROR,
            rules.HTTP_PROTOCOL,
            f"{target}: malformed HTTP ({detail})",
            name,
        )
    if isinstance(exc, httpx.TransportError):
        return _Failure(
            FetchOutcome.CONNECT_ERROR,
            rules.HTTP_CONNECT,
            f"{target}: the connection failed ({detail})",
            name,
        )
    return _Failure(FetchOutcome.PROTOCOL_ERROR, rules.HTTP_PROTOCOL, f"{target}: {detail}", name)


def _connect_failure(exc: httpx.ConnectError, target: httpx.URL, phase: str) -> _Failure:
    detail = str(exc) or type(exc).__name__
    if _cause(exc, ResolutionError) is not None:
        return _Failure(
            FetchOutcome.CONNECT_ERROR, rules.NETWORK_DNS, f"{target}: {detail}", "ResolutionError"
        )
    tls_error = _cause(exc, ssl.SSLError)
    if tls_error is not None or phase.endswith("start_tls"):
        return _Failure(
            FetchOutcome.CONNECT_ERROR,
            rules.HTTP_CONNECT,
            f"{target}: the TLS handshake with {target.host} failed ({detail})",
            type(tls_error or exc).__name__,
        )
    return _Failure(
        FetchOutcome.CONNECT_ERROR,
        rules.HTTP_CONNECT,
        f"{target}: could not connect ({detail})",
        type(exc).__name__,
    )


def _cause(exc: BaseException, kind: type[_E]) -> _E | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _failed(
    progress: _Progress, failure: _Failure, started_at: datetime, duration_s: float
) -> FetchResult:
    finding = failure.rule.finding(progress.url, "", failure.message)
    return FetchResult(
        url=progress.url,
        final_url=progress.current_url,
        outcome=failure.outcome,
        started_at=started_at,
        duration_s=duration_s,
        status_code=progress.status_code,
        bytes_received=progress.bytes_received,
        requests=progress.requests,
        redirects=tuple(progress.redirects),
        error_class=failure.error_class,
        findings=(finding,),
        retry_after_s=progress.retry_after_s,
    )


def _succeeded(
    progress: _Progress,
    success: _Success,
    etag: str | None,
    last_modified: str | None,
    started_at: datetime,
    duration_s: float,
) -> FetchResult:
    headers = success.headers
    not_modified = success.outcome is FetchOutcome.NOT_MODIFIED
    return FetchResult(
        url=progress.url,
        final_url=progress.current_url,
        outcome=success.outcome,
        started_at=started_at,
        duration_s=duration_s,
        status_code=progress.status_code,
        body=success.body,
        content_type=headers.get("content-type"),
        etag=headers.get("etag") or (etag if not_modified else None),
        last_modified=headers.get("last-modified") or (last_modified if not_modified else None),
        bytes_received=progress.bytes_received,
        requests=progress.requests,
        redirects=tuple(progress.redirects),
        fresh_for_s=freshness_s(headers, started_at),
    )

"""The fetcher against real loopback servers: outcomes, limits, redirects and the network guard.

All traffic goes to loopback. Where a test needs a target the guard allows while private
networks are refused, it builds a `GuardedTransport` whose `exempt_networks` allow one loopback
address (127.0.0.2) and passes it to the `Fetcher`; names are made to
resolve with an injected `resolver`, so no real DNS or non-loopback traffic is involved.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import ssl
import time
import tracemalloc
import zlib
from datetime import UTC
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import TYPE_CHECKING, Any

import httpcore
import pytest
import trustme

from crawler.domain.fetching import FetchOutcome, FetchResult, RedirectHop
from crawler.http.client import build_transport
from crawler.http.fetch import Fetcher
from crawler.http.politeness import HostLimiter
from crawler.http.streams import AsyncioBackend
from crawler.http.transport import GuardedTransport, Resolver
from crawler.settings import Settings
from crawler.testing import LoopbackServer, Request, Response, drip, gzip_bomb, raw, stream

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

MIB = 1024 * 1024
DOC = {"cds_metadata_url": "https://example.org/.well-known/carbon-data-spec.json"}
PATH = "/.well-known/carbon-data-spec.json"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "allow_http": True,
        "allow_private_networks": True,
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        "request_deadline": 5.0,
        "per_host_rate": 1000.0,
        "per_host_concurrency": 8,
    }
    values.update(overrides)
    return Settings(**values)


async def fetch_once(
    url: str,
    settings: Settings | None = None,
    *,
    transport: GuardedTransport | None = None,
    **kwargs: Any,
) -> FetchResult:
    settings = settings or make_settings()
    async with transport or build_transport(settings) as used:
        return await Fetcher(used, settings, HostLimiter(settings)).fetch(url, **kwargs)


def rules_of(result: FetchResult) -> list[str]:
    return [f.rule for f in result.findings]


@pytest.fixture
async def server() -> AsyncIterator[LoopbackServer]:
    async with LoopbackServer() as running:
        yield running


async def loopback_server_on(host: str) -> LoopbackServer:
    try:
        started = LoopbackServer([host])
        await started.start()
    except OSError as exc:  # e.g. macOS, where only 127.0.0.1 is configured
        pytest.skip(f"cannot bind {host}: {exc}")
    return started


def fixed_resolver(table: dict[str, Sequence[str]]) -> Resolver:
    async def resolve(host: str, port: int) -> list[IPv4Address | IPv6Address]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ip_address(a) for a in table[host]]

    return resolve


# --- answers ---


async def test_ok_returns_body_and_validators(server: LoopbackServer) -> None:
    seen: list[Request] = []
    response = Response.json(DOC, etag=True, last_modified="Wed, 01 Jan 2025 00:00:00 GMT")

    async def handler(request: Request, writer: asyncio.StreamWriter) -> Response:
        seen.append(request)
        return response

    server.route(PATH, handler)
    settings = make_settings()
    result = await fetch_once(server.url(PATH), settings)

    assert result.outcome is FetchOutcome.OK
    assert result.body == response.body
    assert result.bytes_received == len(response.body)
    assert result.status_code == 200
    assert result.content_type == "application/json"
    assert result.etag is not None
    assert result.etag.startswith('"')
    assert result.last_modified == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert (result.requests, result.redirects, result.findings) == (1, (), ())
    assert result.final_url == result.url == server.url(PATH)
    assert result.started_at.tzinfo is UTC
    assert result.duration_s > 0
    headers = seen[0].headers
    assert headers["user-agent"] == settings.user_agent
    assert headers["accept"] == "application/json"
    assert headers["accept-encoding"] == "gzip, deflate"
    assert "if-none-match" not in headers


async def test_a_body_that_is_not_json_is_just_bytes(server: LoopbackServer) -> None:
    server.route(PATH, Response(200, b"<html>not json", {"Content-Type": "text/html"}))
    result = await fetch_once(server.url(PATH))
    assert result.outcome is FetchOutcome.OK
    assert (result.body, result.content_type) == (b"<html>not json", "text/html")


async def test_conditional_request_with_etag_is_not_modified(server: LoopbackServer) -> None:
    server.route(PATH, Response.json(DOC, etag=True))
    first = await fetch_once(server.url(PATH))
    second = await fetch_once(server.url(PATH), etag=first.etag)
    assert second.outcome is FetchOutcome.NOT_MODIFIED
    assert (second.status_code, second.body, second.etag) == (304, None, first.etag)
    assert second.findings == ()
    assert server.requests[PATH] == 2


async def test_conditional_request_with_last_modified(server: LoopbackServer) -> None:
    stamp = "Wed, 01 Jan 2025 00:00:00 GMT"
    server.route(PATH, Response.json(DOC, last_modified=stamp))
    result = await fetch_once(server.url(PATH), last_modified=stamp)
    assert result.outcome is FetchOutcome.NOT_MODIFIED
    assert result.last_modified == stamp


async def test_conditional_headers_go_on_the_first_request_only(server: LoopbackServer) -> None:
    target = Response.json(DOC, etag=True)
    server.route("/old", Response(301, headers={"Location": "/new"}))
    server.route("/new", target)
    result = await fetch_once(server.url("/old"), etag=target.etag_value)
    assert result.outcome is FetchOutcome.OK
    assert result.body == target.body


async def test_an_unsendable_validator_makes_the_request_unconditional(
    server: LoopbackServer,
) -> None:
    server.route(PATH, Response.json(DOC, etag=True))
    result = await fetch_once(server.url(PATH), etag='"caf\u00e9"', last_modified="x\r\ny: z")
    assert result.outcome is FetchOutcome.OK


@pytest.mark.parametrize(
    ("status", "outcome", "rule"),
    [
        (404, FetchOutcome.NOT_FOUND, "http.not-found"),
        (410, FetchOutcome.NOT_FOUND, "http.not-found"),
        (500, FetchOutcome.HTTP_ERROR, "http.status"),
        (503, FetchOutcome.HTTP_ERROR, "http.status"),
        (403, FetchOutcome.HTTP_ERROR, "http.status"),
        (204, FetchOutcome.HTTP_ERROR, "http.status"),
        (304, FetchOutcome.HTTP_ERROR, "http.status"),  # 304 to an unconditional request
    ],
)
async def test_error_statuses(
    server: LoopbackServer, status: int, outcome: FetchOutcome, rule: str
) -> None:
    server.route(PATH, Response(status, b"" if status in (204, 304) else b"nope"))
    result = await fetch_once(server.url(PATH))
    assert (result.outcome, result.status_code, rules_of(result)) == (outcome, status, [rule])
    assert result.error_class == f"HTTP {status}"
    assert str(status) in result.findings[0].message
    assert result.body is None


# --- size cap and content codings ---


async def test_declared_oversized_body_is_refused_before_reading(server: LoopbackServer) -> None:
    server.route(PATH, Response(200, b"x" * (10 * 100_000)))
    result = await fetch_once(server.url(PATH), max_bytes=100_000)
    assert result.outcome is FetchOutcome.TOO_LARGE
    assert rules_of(result) == ["http.body-too-large"]
    assert result.bytes_received == 0


@pytest.mark.timeout(10)
async def test_streamed_oversized_body_stops_at_the_cap(server: LoopbackServer) -> None:
    server.route(PATH, stream(10 * MIB))
    tracemalloc.start()
    try:
        result = await fetch_once(server.url(PATH), max_bytes=MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.outcome is FetchOutcome.TOO_LARGE
    assert MIB < result.bytes_received <= MIB + 64 * 1024
    assert peak < 4 * MIB  # the 10 MiB body was never held


@pytest.mark.timeout(10)
async def test_a_probe_answers_with_the_headers_and_leaves_the_body_unread(
    server: LoopbackServer,
) -> None:
    server.route(PATH, stream(100 * MIB, headers={"Content-Type": "image/png"}))
    result = await fetch_once(server.url(PATH), max_bytes=MIB, read_body=False)
    assert result.outcome is FetchOutcome.OK
    assert result.media_type == "image/png"
    assert result.bytes_received < MIB


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(1024 * MIB)  # 1 GiB of zeros in about 1 MB


@pytest.mark.timeout(10)
async def test_gzip_bomb_stops_at_the_cap_quickly(server: LoopbackServer, bomb: bytes) -> None:
    server.route(PATH, Response(200, bomb, {"Content-Encoding": "gzip"}))
    tracemalloc.start()
    try:
        started = time.monotonic()
        result = await fetch_once(server.url(PATH), max_bytes=2 * MIB)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(bomb) < 2 * MIB  # so the Content-Length check lets it through
    assert result.outcome is FetchOutcome.TOO_LARGE
    assert result.bytes_received == 2 * MIB + 1
    assert elapsed < 3
    assert peak < 6 * MIB


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", raw_deflate),
        ("gzip", lambda b: gzip.compress(b[:100]) + gzip.compress(b[100:])),  # two members
        ("identity", lambda b: b),
    ],
)
async def test_compressed_bodies_are_decoded(
    server: LoopbackServer, coding: str, encode: Any
) -> None:
    document = b'{"name": "' + b"a" * 5000 + b'"}'
    server.route(PATH, Response(200, encode(document), {"Content-Encoding": coding}))
    result = await fetch_once(server.url(PATH))
    assert result.outcome is FetchOutcome.OK
    assert (result.body, result.bytes_received) == (document, len(document))


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        ("gzip", b"\x1f\x8b\x08\x00garbage that is not deflate"),
        ("gzip", gzip.compress(b"x" * 5000)[:-4]),  # truncated
        ("deflate", b"\x00\x01\x02 definitely not deflate \xff\xfe"),
    ],
)
async def test_corrupt_compressed_body_is_a_protocol_error(
    server: LoopbackServer, coding: str, body: bytes
) -> None:
    server.route(PATH, Response(200, body, {"Content-Encoding": coding}))
    result = await fetch_once(server.url(PATH))
    assert result.outcome is FetchOutcome.PROTOCOL_ERROR
    assert rules_of(result) == ["http.content-encoding"]


@pytest.mark.parametrize("coding", ["br", "zstd", "gzip, gzip", "compress"])
async def test_unknown_content_coding_is_a_protocol_error(
    server: LoopbackServer, coding: str
) -> None:
    server.route(PATH, Response(200, b"whatever", {"Content-Encoding": coding}))
    result = await fetch_once(server.url(PATH))
    assert result.outcome is FetchOutcome.PROTOCOL_ERROR
    assert rules_of(result) == ["http.content-encoding"]
    assert coding in result.findings[0].message
    stacked = "applies several codings in turn" in result.findings[0].message
    assert stacked == (coding == "gzip, gzip")


# --- time limits ---


@pytest.mark.timeout(10)
async def test_dripping_server_hits_the_total_deadline(server: LoopbackServer) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
    server.route(PATH, drip(head, b"x" * 100, interval=1.0))
    settings = make_settings(request_deadline=2.0, read_timeout=5.0)
    result = await fetch_once(server.url(PATH), settings)
    assert result.outcome is FetchOutcome.TIMEOUT
    assert rules_of(result) == ["http.timeout"]
    assert result.error_class == "DeadlineExceeded"
    assert result.requests == 1
    assert 2.0 <= result.duration_s < 3.0


@pytest.mark.timeout(10)
async def test_silent_server_hits_the_read_timeout(server: LoopbackServer) -> None:
    async def silent(request: Request, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server.route(PATH, silent)
    result = await fetch_once(server.url(PATH), make_settings(read_timeout=0.5))
    assert result.outcome is FetchOutcome.TIMEOUT
    assert result.error_class == "ReadTimeout"
    assert result.duration_s < 2


# --- connection and protocol failures ---


async def test_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await fetch_once(f"http://127.0.0.1:{port}{PATH}")
    assert result.outcome is FetchOutcome.CONNECT_ERROR
    assert rules_of(result) == ["http.connect"]
    assert result.requests == 0


async def test_unresolvable_name_is_a_dns_error(server: LoopbackServer) -> None:
    transport = GuardedTransport(allow_private_networks=True, resolver=fixed_resolver({}))
    result = await fetch_once(f"http://nowhere.test:{server.port}/", transport=transport)
    assert result.outcome is FetchOutcome.CONNECT_ERROR
    assert rules_of(result) == ["network.dns"]
    assert "nowhere.test" in result.findings[0].message
    assert (result.requests, server.connections) == (0, 0)


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",  # oversized head
        b"HELLO WORLD\r\n\r\n",  # garbage status line
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10,  # closed mid-body
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello",
        b"",  # closed without an answer
    ],
)
async def test_malformed_http_is_a_protocol_error(server: LoopbackServer, answer: bytes) -> None:
    server.route(PATH, raw(answer))
    result = await fetch_once(server.url(PATH))
    assert result.outcome is FetchOutcome.PROTOCOL_ERROR
    assert rules_of(result) == ["http.protocol"]


async def test_tls_failure_is_a_connect_error(server: LoopbackServer) -> None:
    result = await fetch_once(f"https://127.0.0.1:{server.port}{PATH}")
    assert result.outcome is FetchOutcome.CONNECT_ERROR
    assert rules_of(result) == ["http.connect"]
    assert "TLS" in result.findings[0].message
    assert result.requests == 0


class RecordingStream(httpcore.AsyncNetworkStream):
    """A real stream that records the host name TLS is started for."""

    def __init__(self, stream: httpcore.AsyncNetworkStream, hostnames: list[str | None]) -> None:
        self._stream = stream
        self._hostnames = hostnames

    async def read(self, *args: Any, **kwargs: Any) -> bytes:
        return await self._stream.read(*args, **kwargs)

    async def write(self, *args: Any, **kwargs: Any) -> None:
        await self._stream.write(*args, **kwargs)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        self._hostnames.append(kwargs.get("server_hostname"))
        return await self._stream.start_tls(*args, **kwargs)


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Opens real connections and records what it was asked to connect to and verify."""

    def __init__(self) -> None:
        self.inner = AsyncioBackend()
        self.connected: list[str] = []
        self.server_hostnames: list[str | None] = []

    async def connect_tcp(self, host: str, port: int, *args: Any) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        stream = await self.inner.connect_tcp(host, port, *args)
        return RecordingStream(stream, self.server_hostnames)


async def test_connects_to_the_checked_address_and_verifies_tls_for_the_name(
    server: LoopbackServer,
) -> None:
    recorder = RecordingBackend()
    transport = GuardedTransport(
        allow_private_networks=True,
        resolver=fixed_resolver({"cds.test": ["127.0.0.1"]}),
        inner_backend=recorder,
    )
    result = await fetch_once(f"https://cds.test:{server.port}{PATH}", transport=transport)
    assert result.outcome is FetchOutcome.CONNECT_ERROR  # the server speaks no TLS
    assert recorder.connected == ["127.0.0.1"]
    assert recorder.server_hostnames == ["cds.test"]


async def test_plain_http_to_a_resolved_name_sends_the_name_as_host(
    server: LoopbackServer,
) -> None:
    hosts: list[str] = []

    async def handler(request: Request, writer: asyncio.StreamWriter) -> Response:
        hosts.append(request.headers["host"])
        return Response.json(DOC)

    server.route(PATH, handler)
    transport = GuardedTransport(
        allow_private_networks=True, resolver=fixed_resolver({"cds.test": ["127.0.0.1"]})
    )
    result = await fetch_once(f"http://cds.test:{server.port}{PATH}", transport=transport)
    assert result.outcome is FetchOutcome.OK
    assert hosts == [f"cds.test:{server.port}"]


async def test_environment_proxies_are_ignored(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    server.route(PATH, Response.json(DOC))
    assert (await fetch_once(server.url(PATH))).outcome is FetchOutcome.OK


# --- redirects ---


async def test_redirect_chain_is_followed_and_recorded(server: LoopbackServer) -> None:
    server.route("/r1", Response(301, headers={"Location": "r2"}))  # relative
    server.route("/r2", Response(302, headers={"Location": server.url("/r3")}))
    server.route("/r3", Response(307, headers={"Location": "/r4?x=1#frag"}))
    server.route("/r4", Response(308, headers={"Location": PATH}))
    server.route(PATH, Response.json(DOC))
    result = await fetch_once(server.url("/r1"))
    assert result.outcome is FetchOutcome.OK
    assert result.redirects == (
        RedirectHop(server.url("/r1"), 301, server.url("/r2")),
        RedirectHop(server.url("/r2"), 302, server.url("/r3")),
        RedirectHop(server.url("/r3"), 307, server.url("/r4?x=1")),
        RedirectHop(server.url("/r4?x=1"), 308, server.url(PATH)),
    )
    assert (result.url, result.final_url) == (server.url("/r1"), server.url(PATH))
    assert result.requests == 5


async def test_redirect_loop(server: LoopbackServer) -> None:
    server.route("/a", Response(302, headers={"Location": "/b"}))
    server.route("/b", Response(302, headers={"Location": "/a"}))
    result = await fetch_once(server.url("/a"))
    assert result.outcome is FetchOutcome.REDIRECT_ERROR
    assert rules_of(result) == ["http.redirect-loop"]
    assert (len(result.redirects), result.requests) == (2, 2)


async def test_too_many_redirects(server: LoopbackServer) -> None:
    for hop in range(12):
        server.route(f"/hop/{hop}", Response(301, headers={"Location": f"/hop/{hop + 1}"}))
    server.route("/hop/12", Response.json(DOC))
    result = await fetch_once(server.url("/hop/0"), make_settings(max_redirects=10))
    assert result.outcome is FetchOutcome.REDIRECT_ERROR
    assert rules_of(result) == ["http.too-many-redirects"]
    assert (len(result.redirects), result.requests) == (11, 11)
    assert server.requests["/hop/12"] == 0


@pytest.mark.parametrize("headers", [{}, {"Location": "http://[::1"}, {"Location": "  "}])
async def test_redirect_without_usable_location(
    server: LoopbackServer, headers: dict[str, str]
) -> None:
    server.route(PATH, Response(302, headers=headers))
    result = await fetch_once(server.url(PATH))
    assert result.outcome is FetchOutcome.REDIRECT_ERROR
    assert rules_of(result) == ["http.bad-redirect"]


# --- the network guard ---


async def test_plain_http_is_refused_by_default(server: LoopbackServer) -> None:
    server.route(PATH, Response.json(DOC))
    result = await fetch_once(server.url(PATH), Settings.model_validate({}))
    assert result.outcome is FetchOutcome.BLOCKED
    assert rules_of(result) == ["network.scheme-refused"]
    assert (result.requests, server.connections) == (0, 0)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "not a url"])
async def test_other_schemes_are_refused(url: str) -> None:
    result = await fetch_once(url)
    assert result.outcome is FetchOutcome.BLOCKED
    assert rules_of(result) == ["network.scheme-refused"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "[::ffff:127.0.0.1]"])
async def test_loopback_targets_are_refused_without_a_connection(
    server: LoopbackServer, host: str
) -> None:
    server.route(PATH, Response.json(DOC))
    settings = make_settings(allow_private_networks=False)
    result = await fetch_once(f"http://{host}:{server.port}{PATH}", settings)
    assert result.outcome is FetchOutcome.BLOCKED
    assert rules_of(result) == ["network.address-refused"]
    assert result.error_class == "BlockedTarget"
    message = result.findings[0].message
    assert host.strip("[]") in message
    assert "loopback" in message
    assert (result.requests, server.connections) == (0, 0)


async def test_redirect_to_a_refused_address_is_blocked(server: LoopbackServer) -> None:
    allowed = await loopback_server_on("127.0.0.2")
    try:
        allowed.route("/start", Response(302, headers={"Location": server.url(PATH)}))
        server.route(PATH, Response.json(DOC))
        transport = GuardedTransport(
            allow_private_networks=False, exempt_networks=[ip_network("127.0.0.2/32")]
        )
        settings = make_settings(allow_private_networks=False)
        result = await fetch_once(allowed.url("/start"), settings, transport=transport)
    finally:
        await allowed.close()
    assert result.outcome is FetchOutcome.BLOCKED
    assert rules_of(result) == ["network.address-refused"]
    assert result.redirects == (RedirectHop(allowed.url("/start"), 302, server.url(PATH)),)
    assert result.final_url == server.url(PATH)
    assert (result.requests, allowed.requests["/start"], server.connections) == (1, 1, 0)


async def test_every_resolved_address_is_checked() -> None:
    allowed = await loopback_server_on("127.0.0.2")
    try:
        allowed.route(PATH, Response.json(DOC))
        transport = GuardedTransport(
            allow_private_networks=False,
            exempt_networks=[ip_network("127.0.0.2/32")],
            resolver=fixed_resolver({"mixed.test": ["127.0.0.2", "127.0.0.1"]}),
        )
        url = f"http://mixed.test:{allowed.port}{PATH}"
        result = await fetch_once(url, make_settings(), transport=transport)
    finally:
        await allowed.close()
    assert result.outcome is FetchOutcome.BLOCKED
    assert "127.0.0.1" in result.findings[0].message
    assert allowed.connections == 0


# --- politeness ---


@pytest.mark.timeout(10)
async def test_per_host_concurrency_is_respected(server: LoopbackServer) -> None:
    async def slow(request: Request, writer: asyncio.StreamWriter) -> Response:
        await asyncio.sleep(0.05)
        return Response.json(DOC)

    server.route(PATH, slow)
    settings = make_settings(per_host_concurrency=2)
    async with build_transport(settings) as transport:
        fetcher = Fetcher(transport, settings, HostLimiter(settings))
        results = await asyncio.gather(*(fetcher.fetch(server.url(PATH)) for _ in range(12)))
    assert all(r.outcome is FetchOutcome.OK for r in results)
    assert server.max_in_flight == 2


@pytest.mark.timeout(10)
async def test_global_concurrency_is_respected() -> None:
    in_flight = peak = 0

    async def slow(request: Request, writer: asyncio.StreamWriter) -> Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return Response.json(DOC)

    settings = make_settings(per_host_concurrency=4, concurrency=3)
    async with LoopbackServer() as one, LoopbackServer() as two:
        for running in (one, two):
            running.route(PATH, slow)
        urls = [one.url(PATH), two.url(PATH)] * 8
        async with build_transport(settings) as transport:
            fetcher = Fetcher(transport, settings, HostLimiter(settings))
            results = await asyncio.gather(*(fetcher.fetch(u) for u in urls))
    assert all(r.outcome is FetchOutcome.OK for r in results)
    assert peak == 3


@pytest.mark.timeout(10)
async def test_per_host_rate_is_respected(server: LoopbackServer) -> None:
    server.route(PATH, Response.json(DOC))
    settings = make_settings(per_host_rate=5.0)
    started = time.monotonic()
    async with build_transport(settings) as transport:
        fetcher = Fetcher(transport, settings, HostLimiter(settings))
        await asyncio.gather(*(fetcher.fetch(server.url(PATH)) for _ in range(10)))
    assert time.monotonic() - started >= 0.8  # 5 at once, then 5 per second


async def test_idle_hosts_are_forgotten() -> None:
    limiter = HostLimiter(make_settings(per_host_rate=10_000.0))
    for number in range(2000):
        async with limiter.slot(f"host-{number}:443"):
            pass
        if number % 100 == 0:
            await asyncio.sleep(0.01)
    assert limiter.tracked_hosts < 1000


# --- connections ---


async def fetch_all(server: LoopbackServer, times: int, pause: float = 0.0) -> list[FetchResult]:
    """`times` fetches of PATH, one after the other, through one transport."""
    settings = make_settings(respect_robots_txt=False)
    results = []
    async with build_transport(settings) as transport:
        fetcher = Fetcher(transport, settings, HostLimiter(settings))
        for _ in range(times):
            results.append(await fetcher.fetch(server.url(PATH)))
            await asyncio.sleep(pause)
    return results


async def test_requests_to_one_origin_reuse_its_connection(server: LoopbackServer) -> None:
    server.route(PATH, Response.json(DOC))

    results = await fetch_all(server, 3)

    assert [r.outcome for r in results] == [FetchOutcome.OK] * 3
    assert (server.requests[PATH], server.connections) == (3, 1)


async def test_an_error_answer_s_body_is_read_so_its_connection_serves_the_next_request(
    server: LoopbackServer,
) -> None:
    server.route(PATH, Response.json(DOC))  # robots.txt: 404 with a body
    settings = make_settings(respect_robots_txt=True)
    async with build_transport(settings) as transport:
        fetcher = Fetcher(transport, settings, HostLimiter(settings))
        missing = await fetcher.fetch(server.url("/missing"))
        found = await fetcher.fetch(server.url(PATH))

    assert (missing.outcome, found.outcome) == (FetchOutcome.NOT_FOUND, FetchOutcome.OK)
    assert (server.requests["/robots.txt"], server.connections) == (1, 1)


async def test_an_error_answer_s_slow_body_costs_its_connection_not_its_outcome(
    server: LoopbackServer,
) -> None:
    head = b"HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\n"
    server.route(PATH, drip(head, b"0123456789", interval=1.0))
    clock = time.monotonic()

    result = await fetch_once(server.url(PATH), make_settings(request_deadline=3.0))

    assert result.outcome is FetchOutcome.NOT_FOUND
    assert time.monotonic() - clock < 2.5


async def test_a_connection_the_answer_closes_is_not_reused(server: LoopbackServer) -> None:
    body = json.dumps(DOC).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    server.route(PATH, raw(head.encode() + body))

    results = await fetch_all(server, 3)

    assert [r.outcome for r in results] == [FetchOutcome.OK] * 3
    assert server.connections == 3


async def test_a_kept_connection_the_server_dropped_meanwhile_is_replaced(
    server: LoopbackServer,
) -> None:
    body = json.dumps(DOC).encode()
    # Announced as reusable, then closed by the server while the client keeps it.
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n"
    server.route(PATH, raw(head.encode() + body))

    results = await fetch_all(server, 3, pause=0.1)

    assert [r.outcome for r in results] == [FetchOutcome.OK] * 3
    assert server.connections == 3


async def test_a_connection_whose_body_was_left_unread_is_not_reused(
    server: LoopbackServer,
) -> None:
    server.route(PATH, Response.json({"padding": "x" * 200_000}))
    settings = make_settings()
    async with build_transport(settings) as transport:
        fetcher = Fetcher(transport, settings, HostLimiter(settings))
        probe = await fetcher.fetch(server.url(PATH), read_body=False)
        read = await fetcher.fetch(server.url(PATH))

    assert (probe.outcome, read.outcome) == (FetchOutcome.OK, FetchOutcome.OK)
    assert len(read.body or b"") > 200_000
    assert server.connections == 2


@pytest.mark.timeout(30)
async def test_more_hosts_at_once_than_open_pools_all_succeed() -> None:
    hosts = [f"127.0.1.{n}" for n in range(1, 151)]
    settings = make_settings(concurrency=64)
    async with LoopbackServer(hosts) as many:
        many.route(PATH, Response.json(DOC))
        async with build_transport(settings) as transport:
            fetcher = Fetcher(transport, settings, HostLimiter(settings))
            results = await asyncio.gather(
                *(fetcher.fetch(many.url(PATH, host)) for host in hosts * 2)
            )

    assert [r.outcome for r in results] == [FetchOutcome.OK] * len(hosts) * 2
    assert many.requests[PATH] == len(hosts) * 2


async def test_https_with_a_verified_certificate_for_the_host_name() -> None:
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("cds.test").configure_cert(server_context)
    body = json.dumps(DOC).encode()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        )
        writer.write(head.encode() + b"Connection: close\r\n\r\n" + body)
        await writer.drain()
        writer.close()

    tls_server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
    port = tls_server.sockets[0].getsockname()[1]
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    try:
        trusted = GuardedTransport(
            allow_private_networks=True,
            resolver=fixed_resolver({"cds.test": ["127.0.0.1"]}),
            verify=client_context,
        )
        untrusted = GuardedTransport(
            allow_private_networks=True, resolver=fixed_resolver({"cds.test": ["127.0.0.1"]})
        )
        ok = await fetch_once(f"https://cds.test:{port}{PATH}", transport=trusted)
        refused = await fetch_once(f"https://cds.test:{port}{PATH}", transport=untrusted)
    finally:
        tls_server.close()
        await tls_server.wait_closed()

    assert ok.outcome is FetchOutcome.OK
    assert json.loads(ok.body or b"") == DOC
    assert refused.outcome is FetchOutcome.CONNECT_ERROR
    assert "certificate" in refused.findings[0].message.lower()


async def test_configured_credentials_go_to_their_host_only(server: LoopbackServer) -> None:
    other = await loopback_server_on("127.0.0.2")
    seen: dict[str, str | None] = {}

    def recording(name: str, response: Response) -> Any:
        async def handler(request: Request, writer: asyncio.StreamWriter) -> Response:
            seen[name] = request.headers.get("authorization")
            return response

        return handler

    server.route(
        PATH, recording("configured", Response(302, headers={"Location": other.url(PATH)}))
    )
    other.route(PATH, recording("other", Response.json(DOC)))
    settings = make_settings(host_headers={"127.0.0.1": {"Authorization": "Bearer s3cret"}})
    try:
        result = await fetch_once(server.url(PATH), settings)
    finally:
        await other.close()

    assert result.outcome is FetchOutcome.OK
    assert seen == {"configured": "Bearer s3cret", "other": None}
    assert "s3cret" not in repr(settings)

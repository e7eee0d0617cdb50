"""The guarded transport: every connection is checked against the network guard before it opens.

`GuardedBackend` is an httpcore network backend. For each new connection it resolves the host,
checks every address it resolves to, and connects to the checked address itself (never to the
name again), so a DNS answer that changes between the check and the connection cannot reach a
refused address. TLS still verifies the certificate against, and sends SNI for, the host name:
httpcore calls `start_tls(server_hostname=<the URL's host>)` on the stream returned here.
"""

from __future__ import annotations

import asyncio
import socket
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Sequence
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address
from itertools import islice
from typing import TYPE_CHECKING, Any

import httpcore
import httpx
from httpx._transports.default import map_httpcore_exceptions  # httpx's own error mapping

from crawler.http.guard import BlockedTarget, IPAddress, classify_address
from crawler.http.streams import AsyncioBackend

if TYPE_CHECKING:
    import ssl

Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""Resolves (host, port) to addresses; raises OSError (socket.gaierror) when it cannot."""

Network = IPv4Network | IPv6Network
Trace = Callable[[str, dict[str, Any]], Awaitable[None]]
Connection = httpcore.AsyncHTTP11Connection


class ResolutionError(httpcore.ConnectError):
    """The host name could not be resolved (httpx raises it as an `httpx.ConnectError` caused
    by this exception)."""


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The host's addresses from the system resolver, in its order, without duplicates."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


@lru_cache(maxsize=4096)
def _literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal stands for (parsing one costs more than a
    small request's own bookkeeping, and a crawl meets the same hosts again and again)."""
    try:
        return ip_address(host.strip("[]"))
    except ValueError:
        return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to addresses the guard allows.

    `connect_tcp` raises `BlockedTarget` (before any socket is opened) when any address of the
    host is not public and private networks are not allowed, `ResolutionError` when the name
    does not resolve, and httpcore's ConnectError/ConnectTimeout when no address accepts.
    `exempt_networks` are allowed even when not public (for tests and controlled deployments);
    `resolver` replaces the system resolver (for tests); `inner` opens the actual connections.
    """

    def __init__(
        self,
        *,
        allow_private_networks: bool,
        resolver: Resolver | None = None,
        exempt_networks: Iterable[Network] = (),
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private_networks
        self._resolver = resolver or system_resolver
        self._exempt = tuple(exempt_networks)
        self._inner = inner or AsyncioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        literal = _literal_address(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                async with asyncio.timeout(timeout):
                    addresses = await self._resolve(host, port)
            except TimeoutError as exc:
                raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        self._check(host, addresses)
        last_error: Exception = httpcore.ConnectError(f"{host}: no address to connect to")
        for address in addresses:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise httpcore.ConnectTimeout(f"connecting to {host} timed out")
            try:
                return await self._inner.connect_tcp(
                    str(address), port, remaining, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the guarded transport")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

    async def _resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            addresses = list(await self._resolver(host, port))
        except (OSError, UnicodeError) as exc:
            raise ResolutionError(f"{host} could not be resolved: {exc}") from exc
        if not addresses:
            raise ResolutionError(f"{host} resolves to no address")
        return addresses

    def _check(self, host: str, addresses: Sequence[IPAddress]) -> None:
        if self._allow_private:
            return
        for address in addresses:
            if any(address in network for network in self._exempt):
                continue
            reason = classify_address(address)
            if reason is not None:
                raise BlockedTarget(host, address, reason)


class _Origin:
    """One origin's connections: the idle ones kept for reuse, and how many are in use."""

    __slots__ = ("active", "idle")

    def __init__(self) -> None:
        self.idle: list[Connection] = []
        self.active = 0

    def reusable(self) -> tuple[Connection | None, list[Connection]]:
        """An idle connection still open and within its keep-alive time, and the ones that
        are not (to close)."""
        expired: list[Connection] = []
        while self.idle:
            connection = self.idle.pop()
            if connection.is_idle() and not connection.has_expired():
                return connection, expired
            expired.append(connection)
        return None, expired


class _ResponseBody(httpx.AsyncByteStream):
    """A response body that, once closed, hands its connection back to its origin (when
    the exchange left it reusable and there is room) or closes it."""

    def __init__(
        self,
        body: AsyncIterable[bytes],
        connection: Connection,
        origin: _Origin,
        transport: GuardedTransport,
    ) -> None:
        self._body = body
        self._connection: Connection | None = connection
        self._origin = origin
        self._transport = transport

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with map_httpcore_exceptions():
            async for chunk in self._body:
                yield chunk

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            with map_httpcore_exceptions():
                await self._body.aclose()  # type: ignore[attr-defined]
        finally:
            self._origin.active -= 1
            await self._transport.give_back(self._origin, connection)


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose every connection goes through a `GuardedBackend`.

    Requests raise what `httpx.AsyncHTTPTransport` raises, plus `BlockedTarget` (not an httpx
    error) when the guard refuses the target; proxies are never used. It speaks HTTP/1.1
    through httpcore's connection class and keeps its own, minimal pool: a request takes an
    idle connection of its origin or opens a new one (the caller's limits bound how many are
    in use), and up to `limits.max_keepalive_connections` per origin are kept open for
    `limits.keepalive_expiry` seconds. httpcore's pool does work quadratic in its number of
    connections on every request, and a crawler opens a connection for almost every request,
    so its per-connection bookkeeping is kept to a few list operations. Origins not in use
    are forgotten, least recently used first, when more than `max_origins` are known.
    """

    def __init__(
        self,
        *,
        allow_private_networks: bool,
        limits: httpx.Limits | None = None,
        max_origins: int = 256,
        resolver: Resolver | None = None,
        exempt_networks: Iterable[Network] = (),
        inner_backend: httpcore.AsyncNetworkBackend | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._backend = GuardedBackend(
            allow_private_networks=allow_private_networks,
            resolver=resolver,
            exempt_networks=exempt_networks,
            inner=inner_backend,
        )
        self._verify = verify
        self._ssl_context: ssl.SSLContext | None = None  # made on the first https connection
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._keep_alive = limits.max_keepalive_connections or 0
        self._keepalive_expiry = limits.keepalive_expiry
        self._max_origins = max_origins
        self._origins: OrderedDict[tuple[bytes, bytes, int | None], _Origin] = OrderedDict()
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            # The trace hook hears only what callers use (see _connect); httpcore would await
            # it a dozen times per request.
            extensions={k: v for k, v in request.extensions.items() if k != "trace"},
        )
        trace = request.extensions.get("trace")
        origin, unused = self._acquire((url.raw_scheme, url.raw_host, url.port))
        try:
            connection, expired = origin.reusable()
            await _close_all((*unused, *expired))
            with map_httpcore_exceptions():
                if connection is None:
                    connection = await self._connect(core_request, trace)
                try:
                    if trace is not None:
                        await trace("http11.send_request_headers.started", {})
                    response = await connection.handle_async_request(core_request)
                except BaseException:
                    await connection.aclose()
                    raise
        except BaseException:
            origin.active -= 1
            raise
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseBody(response.stream, connection, origin, self),
            extensions=response.extensions,
        )

    async def give_back(self, origin: _Origin, connection: Connection) -> None:
        """Keep `connection` for its origin's next request, or close it."""
        if not self._closed and connection.is_idle() and len(origin.idle) < self._keep_alive:
            origin.idle.append(connection)
        else:
            await connection.aclose()

    async def aclose(self) -> None:
        self._closed = True
        origins, self._origins = self._origins, OrderedDict()
        await _close_all([c for origin in origins.values() for c in origin.idle])

    async def _connect(self, request: httpcore.Request, trace: Trace | None) -> Connection:
        """A new HTTP/1.1 connection to the request's origin, TLS included for https.

        `trace` hears httpcore's names for the start of each phase: connecting, the TLS
        handshake and (in handle_async_request) sending the request, so that a caller can
        tell which phase failed and count the requests actually sent.
        """
        origin = request.url.origin
        host = origin.host.decode("ascii")
        timeout = request.extensions.get("timeout", {}).get("connect")
        if trace is not None:
            await trace("connection.connect_tcp.started", {"host": host, "port": origin.port})
        stream = await self._backend.connect_tcp(host, origin.port, timeout=timeout)
        if origin.scheme == b"https":
            if trace is not None:
                await trace("connection.start_tls.started", {"server_hostname": host})
            try:
                stream = await stream.start_tls(
                    self._tls_context(), server_hostname=host, timeout=timeout
                )
            except BaseException:
                await stream.aclose()
                raise
        return Connection(origin=origin, stream=stream, keepalive_expiry=self._keepalive_expiry)

    def _tls_context(self) -> ssl.SSLContext:
        # Loading the CA certificates costs as much as a few dozen small requests.
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context(verify=self._verify, trust_env=False)
            self._ssl_context.set_alpn_protocols(["http/1.1"])
        return self._ssl_context

    def _acquire(self, key: tuple[bytes, bytes, int | None]) -> tuple[_Origin, list[Connection]]:
        """The origin's state, marked in use, and the idle connections of the origins
        forgotten to stay within `max_origins` (to close).

        Nothing here awaits, so concurrent requests can neither create two states for one
        origin nor forget one another request has just taken.
        """
        origin = self._origins.get(key)
        if origin is None:
            origin = self._origins[key] = _Origin()
        else:
            self._origins.move_to_end(key)
        origin.active += 1
        excess = len(self._origins) - self._max_origins
        if excess <= 0:
            return origin, []
        unused = list(islice((k for k, o in self._origins.items() if o.active == 0), excess))
        return origin, [c for k in unused for c in self._origins.pop(k).idle]


async def _close_all(connections: Iterable[Connection]) -> None:
    for connection in connections:
        await connection.aclose()

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
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import TYPE_CHECKING

import httpcore
import httpx

from crawler.http.guard import BlockedTarget, IPAddress, classify_address
from crawler.http.streams import AsyncioBackend

if TYPE_CHECKING:
    import ssl

Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""Resolves (host, port) to addresses; raises OSError (socket.gaierror) when it cannot."""

Network = IPv4Network | IPv6Network


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
            return [ip_address(host.strip("[]"))]
        except ValueError:
            pass
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


class _OriginTransport(httpx.AsyncHTTPTransport):
    """httpx's own HTTP transport (and its exception mapping) over a given network backend."""

    def __init__(
        self,
        backend: httpcore.AsyncNetworkBackend,
        ssl_context: ssl.SSLContext,
        limits: httpx.Limits,
    ) -> None:
        # httpx offers no parameter for the network backend, and its __init__ only builds the
        # pool: build the same pool over the given backend instead (handle_async_request and
        # aclose use nothing else).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


@dataclass(slots=True)
class _Origin:
    transport: _OriginTransport
    active: int = 0

    def release(self) -> None:
        self.active -= 1


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that tells its origin when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, origin: _Origin) -> None:
        self._stream = stream
        self._origin: _Origin | None = origin

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._origin is not None:
                self._origin.release()
                self._origin = None


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose every connection goes through a `GuardedBackend`.

    Requests raise what `httpx.AsyncHTTPTransport` raises, plus `BlockedTarget` (not an httpx
    error) when the guard refuses the target; proxies are never used. Each origin gets its own
    small connection pool (`limits` applies per origin): httpcore's pool does work quadratic in
    its number of connections on every request, which one shared pool of hundreds of
    connections turns into the crawler's bottleneck. Pools of origins not in use are closed,
    least recently used first, when more than `max_origins` are open.
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
        self._ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        self._limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        self._max_origins = max_origins
        self._origins: OrderedDict[tuple[bytes, bytes, int | None], _Origin] = OrderedDict()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin, stale = self._acquire(request.url)
        for unused in stale:
            await unused.transport.aclose()
        try:
            response = await origin.transport.handle_async_request(request)
        except BaseException:
            origin.release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_ReleasingStream(response.stream, origin),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        origins, self._origins = self._origins, OrderedDict()
        for origin in origins.values():
            await origin.transport.aclose()

    def _acquire(self, url: httpx.URL) -> tuple[_Origin, list[_Origin]]:
        """The origin's pool, marked in use, and the idle pools over the limit to close.

        Nothing here awaits, so concurrent requests can neither create two pools for one
        origin nor close a pool another request has just taken.
        """
        key = (url.raw_scheme, url.raw_host, url.port)
        origin = self._origins.get(key)
        if origin is None:
            origin = _Origin(_OriginTransport(self._backend, self._ssl_context, self._limits))
            self._origins[key] = origin
        else:
            self._origins.move_to_end(key)
        origin.active += 1
        excess = len(self._origins) - self._max_origins
        if excess <= 0:
            return origin, []
        unused = [k for k, o in self._origins.items() if o.active == 0][:excess]
        return origin, [self._origins.pop(k) for k in unused]

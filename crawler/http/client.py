"""The one factory for outbound HTTP clients."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from crawler.http.transport import GuardedTransport

if TYPE_CHECKING:
    from crawler.settings import Settings

KEEPALIVE_EXPIRY_S = 30.0


def origin_limits(settings: Settings) -> httpx.Limits:
    """Connection limits of one origin's pool: at most `settings.concurrency` connections
    (the whole process's budget), keeping `settings.per_host_concurrency` of them alive."""
    return httpx.Limits(
        max_connections=settings.concurrency,
        max_keepalive_connections=settings.per_host_concurrency,
        keepalive_expiry=KEEPALIVE_EXPIRY_S,
    )


def build_client(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` for all outbound HTTP, guarded by the network guard.

    It never follows redirects (the caller decides, hop by hop), ignores proxy and TLS
    environment variables (a proxy would bypass the guard), and sends the configured
    User-Agent. Requests raise httpx errors, plus `crawler.http.guard.BlockedTarget` when the
    guard refuses an address. `transport` replaces the guarded transport (tests only, or a
    `GuardedTransport` built with a test resolver). The caller closes the client.
    """
    if transport is None:
        transport = GuardedTransport(
            allow_private_networks=settings.allow_private_networks,
            limits=origin_limits(settings),
            max_origins=max(64, settings.concurrency),
        )
    return httpx.AsyncClient(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(
            settings.read_timeout,
            connect=settings.connect_timeout,
            pool=settings.connect_timeout,
        ),
        headers={
            "User-Agent": settings.user_agent,
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
        },
    )

"""The one factory for outbound HTTP: the guarded transport, its limits, headers and timeouts."""

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


def build_transport(settings: Settings) -> GuardedTransport:
    """The guarded transport every outbound request goes through (the caller closes it)."""
    return GuardedTransport(
        allow_private_networks=settings.allow_private_networks,
        limits=origin_limits(settings),
        # A pool per server in progress, so that its requests reuse one connection.
        max_origins=max(64, settings.servers_in_progress),
    )


def request_headers(settings: Settings) -> dict[str, str]:
    return {
        "User-Agent": settings.user_agent,
        "Accept": "application/json",
        "Accept-Encoding": "gzip, deflate",
    }


def timeouts(settings: Settings) -> httpx.Timeout:
    return httpx.Timeout(
        settings.read_timeout, connect=settings.connect_timeout, pool=settings.connect_timeout
    )

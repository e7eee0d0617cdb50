"""HTTP caching for every GET answer: `Cache-Control`, a strong `ETag` computed from the body,
and `304 Not Modified` when the client already holds it.

A pure ASGI middleware, so that streamed answers (exports) pass through unbuffered: only an
answer whose first body message is its whole body gets an ETag.
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HttpCaching:
    def __init__(self, app: ASGIApp, max_age: int) -> None:
        self.app = app
        self.cache_control = f"public, max-age={max_age}" if max_age else "no-cache"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        wanted = Headers(scope=scope).get("if-none-match")
        start: MutableMapping[str, Any] | None = None
        answered = False  # with a 304: the rest of the body is dropped

        async def send_cached(message: Message) -> None:
            nonlocal start, answered
            if answered:
                return
            if message["type"] == "http.response.start":
                start = message
                return
            if start is None:  # the body after a start already sent
                await send(message)
                return
            headers = MutableHeaders(scope=start)
            if start["status"] == 200:
                headers.setdefault("cache-control", self.cache_control)
                if not message.get("more_body", False) and "etag" not in headers:
                    headers["etag"] = _etag(message.get("body", b""))
                if wanted is not None and _matches(wanted, headers.get("etag")):
                    await _not_modified(send, headers)
                    answered = True
                    return
            await send(start)
            start = None
            await send(message)

        await self.app(scope, receive, send_cached)


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(wanted: str, etag: str | None) -> bool:
    if etag is None:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    return "*" in candidates or etag in candidates


async def _not_modified(send: Send, headers: MutableHeaders) -> None:
    kept = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in headers.items()
        if name in ("etag", "cache-control", "vary")
    ]
    await send({"type": "http.response.start", "status": 304, "headers": kept})
    await send({"type": "http.response.body", "body": b""})

"""A small, fast HTTP/1.1 server that only ever binds loopback addresses.

Tests, the demo and the benchmarks serve their fixtures with it:

    async with LoopbackServer() as server:
        server.route("/.well-known/carbon-data-spec.json", Response.json({...}, etag=True))
        ...fetch server.url("/.well-known/carbon-data-spec.json")...
        assert server.requests["/.well-known/carbon-data-spec.json"] == 1

Outside a test's event loop, `stop = server.start_in_thread()` serves from a background thread,
and `python -m crawler.testing DIR` serves the files under DIR from a process of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import http
import json
import mimetypes
import struct
import threading
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from ipaddress import ip_address
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import TracebackType

MAX_HEAD_BYTES = 64 * 1024
_TLS_HANDSHAKE = 0x16
# A fatal TLS "handshake_failure" alert: what a client attempting TLS gets from this server.
_TLS_ALERT = bytes([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28])


def _encode_head(status: int, headers: Mapping[str, str]) -> bytes:
    """Status line and header lines, without the blank line that ends the head."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    lines = [f"HTTP/1.1 {status} {phrase}\r\n"]
    lines.extend(f"{name}: {value}\r\n" for name, value in headers.items())
    return "".join(lines).encode("latin-1")


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed request. Header names are lower-case."""

    method: str
    target: str
    path: str
    query: str
    version: str
    headers: Mapping[str, str]
    body: bytes
    local_host: str  # the loopback address the connection arrived on


@dataclass(frozen=True, slots=True)
class Response:
    """A static response. With `etag=True` it carries a strong ETag of its body and answers a
    matching If-None-Match with 304; with `last_modified` it answers 304 to an
    If-Modified-Since that is not older."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: bool = False
    last_modified: str | None = None
    _etag_value: str = field(init=False, default="")
    _head: bytes = field(init=False, default=b"")
    _head_304: bytes = field(init=False, default=b"")

    def __post_init__(self) -> None:
        # The head is encoded once: serving a static response is then a few writes.
        validators = {}
        if self.etag:
            tag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'
            object.__setattr__(self, "_etag_value", tag)
            validators["ETag"] = tag
        if self.last_modified:
            validators["Last-Modified"] = self.last_modified
        length = {} if self.status in (204, 304) else {"Content-Length": str(len(self.body))}
        head = _encode_head(self.status, {**self.headers, **validators, **length})
        object.__setattr__(self, "_head", head)
        object.__setattr__(self, "_head_304", _encode_head(304, validators))

    @property
    def etag_value(self) -> str | None:
        """The ETag header this response sends (None without `etag=True`)."""
        return self._etag_value or None

    @classmethod
    def json(
        cls,
        value: object,
        status: int = 200,
        *,
        headers: Mapping[str, str] | None = None,
        etag: bool = False,
        last_modified: str | None = None,
    ) -> Response:
        """A JSON response (Content-Type: application/json) of `value`."""
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        return cls(status, body, all_headers, etag=etag, last_modified=last_modified)

    def write_to(self, writer: asyncio.StreamWriter, request: Request, keep_alive: bool) -> None:
        """Queue this response (or its 304) for `request` on `writer`."""
        not_modified = self._not_modified(request)
        writer.write(self._head_304 if not_modified else self._head)
        writer.write(b"\r\n" if keep_alive else b"Connection: close\r\n\r\n")
        if not not_modified and request.method != "HEAD" and self.body:
            writer.write(self.body)

    def _not_modified(self, request: Request) -> bool:
        if self.status != 200 or request.method not in ("GET", "HEAD"):
            return False
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None:
            tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
            return bool(self._etag_value) and ("*" in tags or self._etag_value in tags)
        since = request.headers.get("if-modified-since")
        if since is None or not self.last_modified:
            return False
        try:
            return parsedate_to_datetime(self.last_modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False


Handler = Response | Callable[[Request, asyncio.StreamWriter], Awaitable[Response | None]]
"""A static `Response`, or an async callable that either returns a Response to send (the
connection stays open) or writes whatever it likes itself and returns None (the connection is
closed afterwards)."""

NOT_FOUND = Response(404, b"not found\n", {"Content-Type": "text/plain"})


def _loopback_host(host: str) -> str:
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ip_address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ValueError(f"LoopbackServer binds loopback addresses only, not {host!r}")
    return str(address)


class LoopbackServer:
    """An asyncio HTTP/1.1 server (keep-alive, no chunked request bodies) on loopback only.

    `hosts` are loopback addresses, all bound on the same port (`port=0` picks a free one);
    binding anything else raises ValueError. It counts `connections`, `requests` per path,
    the `conditional` ones among them (with If-None-Match or If-Modified-Since), and the
    largest number of requests handled at once (`max_in_flight`). Exceptions raised by
    callable handlers are collected in `errors` (the connection is closed).
    """

    def __init__(self, hosts: Sequence[str] = ("127.0.0.1",), port: int = 0) -> None:
        if not hosts:
            raise ValueError("LoopbackServer needs at least one loopback address")
        self.hosts = [_loopback_host(h) for h in hosts]
        self.port = port
        self.connections = 0
        self.requests: Counter[str] = Counter()
        self.conditional: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.errors: list[BaseException] = []
        self._routes: dict[str, Handler] = {}
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    # --- routes and addresses ---

    def route(self, path: str, handler: Handler) -> None:
        """Serve `handler` at `path` (the query string is ignored when matching)."""
        self._routes[path] = handler

    def serve_directory(self, root: str | Path, prefix: str = "/") -> None:
        """Route every file under `root` as a static response with an ETag."""
        base = Path(root)
        for file in sorted(p for p in base.rglob("*") if p.is_file()):
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            path = prefix.rstrip("/") + "/" + file.relative_to(base).as_posix()
            self.route(path, Response(200, file.read_bytes(), {"Content-Type": kind}, etag=True))

    @property
    def base_url(self) -> str:
        return self.base_urls[0]

    @property
    def base_urls(self) -> list[str]:
        """One base URL per bound address (`http://127.0.0.2:PORT`, ...)."""
        return [f"http://{_url_host(h)}:{self.port}" for h in self.hosts]

    def url(self, path: str, host: str | None = None) -> str:
        """The URL of `path` on this server (on `host`, one of the bound addresses)."""
        return f"http://{_url_host(host or self.hosts[0])}:{self.port}{path}"

    # --- life cycle ---

    async def start(self) -> None:
        """Bind every address on one port. Raises OSError when that cannot be done."""
        # With a random port, a later address may find it taken: then try another port.
        attempts = 1 if self.port else 20
        for attempt in range(attempts):
            try:
                await self._bind_all()
                return
            except OSError:
                await self._close_servers()
                if attempt == attempts - 1:
                    raise

    async def _bind_all(self) -> None:
        self._closing = False
        port = self.port
        for host in self.hosts:
            server = await asyncio.start_server(
                self._serve_connection, host, port, limit=MAX_HEAD_BYTES
            )
            self._servers.append(server)
            port = server.sockets[0].getsockname()[1]
        self.port = port

    async def close(self) -> None:
        """Stop listening and end every open connection."""
        self._closing = True
        for server in self._servers:
            server.close()
        await asyncio.sleep(0)  # connections accepted just now start, and can be cancelled
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._close_servers()

    async def _close_servers(self) -> None:
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
            await server.wait_closed()

    async def __aenter__(self) -> LoopbackServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def serve_forever(self) -> None:
        """Start, serve until cancelled, then close."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    def start_in_thread(self) -> Callable[[], None]:
        """Serve from a new thread with its own event loop; returns the function that stops it.

        Routes may be added before or after. Raises what `start` raises.
        """
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # handed to the starting thread
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.close())
            loop.close()

        thread = threading.Thread(target=run, name="loopback-server", daemon=True)
        thread.start()
        started.wait()
        if failure:
            raise failure[0]

        def stop() -> None:
            if thread.is_alive():
                loop.call_soon_threadsafe(loop.stop)
                thread.join()

        return stop

    # --- serving ---

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            await self._converse(reader, writer)
        except asyncio.CancelledError:
            # close() cancels open connections; asyncio logs a connection task that ends
            # cancelled as an error, so end it normally.
            if not self._closing:
                raise

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.connections += 1
        local_host = str(writer.get_extra_info("sockname")[0])
        try:
            first = await _first_byte(reader, writer)
            if first is None:
                return
            if await self._serve_one(reader, writer, local_host, first):
                while await self._serve_one(reader, writer, local_host):
                    pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception as exc:  # a broken handler must not take the server down
            self.errors.append(exc)
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _serve_one(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        local_host: str,
        prefix: bytes = b"",
    ) -> bool:
        """Serve one request; whether the connection stays open."""
        try:
            request = await _read_request(reader, local_host, prefix)
        except asyncio.LimitOverrunError:
            Response(431, b"request head too large\n").write_to(writer, _BAD_REQUEST, False)
            return False
        except ValueError:
            Response(400, b"bad request\n").write_to(writer, _BAD_REQUEST, False)
            return False
        if request is None:
            return False
        self.requests[request.path] += 1
        if "if-none-match" in request.headers or "if-modified-since" in request.headers:
            self.conditional[request.path] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._respond(request, writer)
        finally:
            self.in_flight -= 1

    async def _respond(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        handler = self._routes.get(request.path, NOT_FOUND)
        response = handler if isinstance(handler, Response) else await handler(request, writer)
        if response is None:
            await writer.drain()
            return False
        keep_alive = _keep_alive(request)
        response.write_to(writer, request, keep_alive)
        await writer.drain()
        return keep_alive


_BAD_REQUEST = Request("GET", "/", "/", "", "HTTP/1.1", {}, b"", "")


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _keep_alive(request: Request) -> bool:
    return request.version == "HTTP/1.1" and request.headers.get("connection") != "close"


async def _first_byte(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes | None:
    """The connection's first byte; None when there is none, or when it starts a TLS
    handshake, which gets a handshake_failure alert rather than a wait for an HTTP head that
    never comes."""
    first = await reader.read(1)
    if not first:
        return None
    if first[0] == _TLS_HANDSHAKE:
        writer.write(_TLS_ALERT)
        await writer.drain()
        return None
    return first


async def _read_request(
    reader: asyncio.StreamReader, local_host: str, prefix: bytes = b""
) -> Request | None:
    """The next request, None at a clean end of the connection. Raises ValueError when the
    head is malformed, LimitOverrunError when it is too large."""
    try:
        head = prefix + await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if (prefix + exc.partial).strip():
            raise ValueError("incomplete request head") from exc
        return None
    lines = head[:-4].decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"malformed header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    if "transfer-encoding" in headers:
        raise ValueError("chunked request bodies are not supported")
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    path, _, query = target.partition("?")
    return Request(method, target, path, query, version, headers, body, local_host)


# --- hostile behaviour, for tests and benchmarks ---


def raw(data: bytes) -> Handler:
    """A handler that writes `data` verbatim and closes the connection (broken responses)."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(data)

    return handler


def drip(head: bytes, body: bytes, interval: float = 1.0) -> Handler:
    """A handler that sends `head` at once, then `body` one byte every `interval` seconds."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        writer.write(head)
        for i in range(len(body)):
            await writer.drain()
            await asyncio.sleep(interval)
            writer.write(body[i : i + 1])

    return handler


def stream(total: int, chunk: int = 64 * 1024, headers: Mapping[str, str] | None = None) -> Handler:
    """A handler that streams `total` bytes of "x" without a Content-Length (the end of the
    body is the end of the connection), so only the reader can stop it early."""
    piece = b"x" * chunk

    async def handler(request: Request, writer: asyncio.StreamWriter) -> None:
        head = {"Content-Type": "application/json", "Connection": "close", **(headers or {})}
        writer.write(_encode_head(200, head) + b"\r\n")
        sent = 0
        while sent < total:
            part = piece[: total - sent]
            writer.write(part)
            sent += len(part)
            await writer.drain()

    return handler


def gzip_bomb(decoded_size: int, block: int = 1024 * 1024) -> bytes:
    """A valid gzip stream of `decoded_size` zero bytes (a multiple of `block`), built in a
    fraction of a second and ~1000x smaller: one fully flushed compressed block, repeated."""
    count = max(1, decoded_size // block)
    zeros = bytes(block)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    # After a full flush the compressor keeps no history, so the next block is self-contained.
    repeat = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush(zlib.Z_FINISH)[:-8]  # final empty block, without its trailer
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    trailer = struct.pack("<II", crc, (count * block) & 0xFFFFFFFF)
    return first + repeat * (count - 1) + end + trailer


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m crawler.testing DIR [--host 127.0.0.1] [--port 8000]`: serve DIR's files."""
    parser = argparse.ArgumentParser(prog="python -m crawler.testing", description=main.__doc__)
    parser.add_argument("root", help="directory whose files are served")
    parser.add_argument("--host", action="append", help="loopback address (repeatable)")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = LoopbackServer(args.host or ["127.0.0.1"], args.port)
    server.serve_directory(args.root)

    async def serve() -> None:
        await server.start()
        print(" ".join(server.base_urls), flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()

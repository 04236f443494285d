"""A minimal, fast asyncio HTTP/1.1 server for the emulated upstreams.

No framework on purpose: the emulators must control the bytes on the wire (SSE framing,
chunk boundaries, abrupt closes) and must not be the bottleneck of a benchmark.

A handler is `async def handler(request) -> Response | RawResponse | AsyncIterable[bytes]`.
* `Response` with a `bytes` body is sent with content-length.
* `Response` with an (async) iterable body is streamed: chunked (unless the headers carry
  a content-length), each element written and drained at once so streams stream for real.
* A bare async iterable is a 200 `text/event-stream` stream.
* `RawResponse` hands the socket to a callback (fault injection); the connection is then
  closed.
* Raising `AbortConnection` from a body iterator closes the socket abruptly (TCP reset),
  without the terminating chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass
from dataclasses import field
from http import HTTPStatus
from typing import AsyncIterable
from typing import Awaitable
from typing import Callable
from typing import Iterable
from typing import Union
from urllib.parse import parse_qsl

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass
class Request:
    method: str
    path: str  # request target as sent, query string included
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ", "
    body: bytes = b""

    @property
    def route(self) -> str:
        """The path without its query string (clients add `?beta=true` and the like)."""
        return self.path.split("?", 1)[0]

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.path.partition("?")[2]))


Body = Union[bytes, Iterable[bytes], AsyncIterable[bytes]]


@dataclass
class Response:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Body = b""


@dataclass
class RawResponse:
    """Escape hatch: the callback owns the socket (after the request was read)."""

    callback: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class AbortConnection(Exception):
    """Raised by a body iterator to drop the connection mid-response."""


Handler = Callable[[Request], Awaitable[Union[Response, RawResponse, AsyncIterable[bytes]]]]


class BadRequest(Exception):
    pass


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_reason(status)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Request | None:
    """Read one request; None on a clean EOF between requests."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise BadRequest("truncated request head") from e
    except asyncio.LimitOverrunError as e:
        raise BadRequest("request head too large") from e
    lines = raw.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ", 2)
    except ValueError as e:
        raise BadRequest("bad request line") from e
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest("bad header line")
        name, value = name.strip().lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    if version == "HTTP/1.0":
        headers.setdefault("connection", "close")
    if headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    else:
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError as e:
            raise BadRequest("bad content-length") from e
        if length < 0 or length > MAX_BODY_BYTES:
            raise BadRequest("bad content-length")
        body = await reader.readexactly(length) if length else b""
    return Request(method.upper(), target, headers, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        except ValueError as e:
            raise BadRequest("bad chunk size") from e
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        total += size
        if total > MAX_BODY_BYTES:
            raise BadRequest("body too large")
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset, the way a crashed upstream or a dropped link looks."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _plain_400(reason: str) -> bytes:
    body = f"Bad request: {reason}\n".encode()
    headers = {"content-type": "text/plain", "content-length": str(len(body)), "connection": "close"}
    return _head(400, headers) + body


async def _send_stream(writer: asyncio.StreamWriter, resp: Response, head_only: bool) -> None:
    headers = dict(resp.headers)
    chunked = "content-length" not in {k.lower() for k in headers}
    if chunked:
        headers["transfer-encoding"] = "chunked"
    writer.write(_head(resp.status, headers))
    await writer.drain()
    if head_only:
        return
    write, drain = writer.write, writer.drain
    if hasattr(resp.body, "__aiter__"):
        async for chunk in resp.body:  # type: ignore[union-attr]
            if chunk:
                write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                await drain()
    else:  # a plain iterable: no async-generator hop per chunk (bench speed)
        for chunk in resp.body:  # type: ignore[union-attr]
            if chunk:
                write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                await drain()
    if chunked:
        writer.write(b"0\r\n\r\n")
        await writer.drain()


class HTTPServer:
    """One listening socket serving one handler, with keep-alive connections."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, limit=MAX_HEADER_BYTES, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._conns):  # stalled streams would block wait_closed forever
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while await self._one_exchange(reader, writer):
                pass
        except AbortConnection:
            _abort(writer)
            return
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            asyncio.CancelledError,
        ):
            pass
        except BadRequest as e:
            with contextlib.suppress(ConnectionError):
                writer.write(_plain_400(str(e)))
        finally:
            self._conns.discard(task)
        with contextlib.suppress(Exception):
            writer.close()

    async def _one_exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; True when the connection stays open for the next one."""
        req = await _read_request(reader, writer)
        if req is None:
            return False
        try:
            result = await self.handler(req)
        except AbortConnection:
            raise
        except Exception as e:  # a handler bug must not kill the connection silently
            msg = f"emulator handler error: {type(e).__name__}: {e}".encode()
            result = Response(500, {"content-type": "text/plain"}, msg)
        if isinstance(result, RawResponse):
            await result.callback(reader, writer)
            return False
        if not isinstance(result, Response):
            result = Response(200, {"content-type": "text/event-stream; charset=utf-8"}, result)
        keep_alive = req.headers.get("connection", "").lower() != "close"
        if not keep_alive:
            result.headers.setdefault("connection", "close")
        head_only = req.method == "HEAD"
        if isinstance(result.body, (bytes, bytearray)):
            headers = dict(result.headers)
            headers["content-length"] = str(len(result.body))
            writer.write(_head(result.status, headers) + (b"" if head_only else bytes(result.body)))
            await writer.drain()
        else:
            await _send_stream(writer, result, head_only)
        return keep_alive

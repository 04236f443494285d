"""Fault injection and pacing applied to any protocol's answer.

Contract (see the package docstring): a request header `x-emulator-fault: MODE`, or a
server-wide fault (CLI `--fault`, `Emulator.set_fault`, `POST /_emulator/fault`), selects
one of FAULT_MODES. Protocols only provide their error bodies; how a fault is acted out
on the wire is decided here, once for all of them.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterable
from typing import AsyncIterator
from typing import Iterable

from .httpserver import AbortConnection
from .httpserver import Response

FAULT_MODES = ("429", "500", "reset", "stall", "garbage", "error200")
FAULT_HEADER = "x-emulator-fault"
DELAY_HEADER = "x-emulator-delay-ms"
STALL_SECONDS = 60.0


def is_stream(resp: Response) -> bool:
    return not isinstance(resp.body, (bytes, bytearray))


async def _aiter(body: Iterable[bytes] | AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    if hasattr(body, "__aiter__"):
        async for chunk in body:  # type: ignore[union-attr]
            yield chunk
    else:
        for chunk in body:  # type: ignore[union-attr]
            yield chunk


async def _paced(body: Iterable[bytes] | AsyncIterable[bytes], delay: float) -> AsyncIterator[bytes]:
    async for chunk in _aiter(body):
        await asyncio.sleep(delay)
        yield chunk


def with_delay(resp: Response, delay_ms: int) -> Response:
    """Delay each streamed event by delay_ms (slow-stream benchmarks)."""
    if delay_ms > 0 and is_stream(resp):
        resp.body = _paced(resp.body, delay_ms / 1000)  # type: ignore[arg-type]
    return resp


async def _cut(first: bytes | list[bytes], mode: str) -> AsyncIterator[bytes]:
    """Send the first event (or half a body), then drop the connection or go silent."""
    for chunk in first if isinstance(first, list) else [first]:
        yield chunk
    if mode == "stall":
        await asyncio.sleep(STALL_SECONDS)
    raise AbortConnection(mode)


async def _first_then(body: Iterable[bytes] | AsyncIterable[bytes], mode: str) -> AsyncIterator[bytes]:
    async for chunk in _aiter(body):
        async for out in _cut(chunk, mode):
            yield out
        return
    raise AbortConnection(mode)


def cut_short(resp: Response, mode: str) -> Response:
    """`reset` / `stall`: headers and one event (a stream) or half the body (a JSON answer,
    announced with its full content-length), then a TCP reset or 60 s of silence."""
    if is_stream(resp):
        resp.body = _first_then(resp.body, mode)  # type: ignore[arg-type]
        return resp
    body = bytes(resp.body)  # type: ignore[arg-type]
    resp.headers["content-length"] = str(len(body))
    resp.body = _cut([body[: len(body) // 2]], mode)
    return resp


def garbage(event_name: str | None) -> Response:
    """200 text/event-stream whose data lines are not JSON."""
    prefix = f"event: {event_name}\n".encode() if event_name else b""
    events = [prefix + b"data: {this is not json\n\n", prefix + b"data: <html>garbage</html>\n\n"]
    return Response(200, {"content-type": "text/event-stream; charset=utf-8"}, events)

"""Sending an upstream call again, from the bridge itself, when the first attempt failed before any
byte reached the client (429, 401/403, 5xx, unreachable).

mitmproxy cannot re-send a flow, so retries are made with httpx and their answer is buffered whole:
the happy path keeps mitmproxy's own streaming; only a retried answer reaches the client in one
piece (a streaming client still gets a well-formed stream, just not paced)."""

from __future__ import annotations

from mitmproxy import http

from addons.httpcalls import HttpCalls
from translators.providers.base import UpstreamCall

RETRYABLE = frozenset({401, 403, 408, 409, 429, 500, 502, 503, 504, 529})
HOP_BY_HOP = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"})


class Sender:
    """Sends a retried call and buffers its answer as a mitmproxy Response."""

    def __init__(self, timeout: float = 600.0) -> None:
        self.calls = HttpCalls(timeout)

    async def send(self, call: UpstreamCall, proxy: str | None) -> http.Response:
        r = await self.calls.request(call, proxy)
        headers = [(k.encode(), v.encode()) for k, v in r.headers.items() if k.lower() not in HOP_BY_HOP]
        return http.Response.make(r.status_code, r.content, headers)

    async def close(self) -> None:
        await self.calls.close()

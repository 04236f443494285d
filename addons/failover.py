"""Sending an upstream call again, from the bridge itself, when the first attempt failed before any
byte reached the client (429, 401/403, 5xx, unreachable).

mitmproxy cannot re-send a flow, so retries are made with httpx and their answer is buffered whole:
the happy path keeps mitmproxy's own streaming; only a retried answer reaches the client in one
piece (a streaming client still gets a well-formed stream, just not paced)."""

from __future__ import annotations

import httpx
from mitmproxy import http

from translators.providers.base import UpstreamCall

RETRYABLE = frozenset({401, 403, 408, 409, 429, 500, 502, 503, 504, 529})
HOP_BY_HOP = frozenset({"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"})


class Sender:
    """One httpx client per outgoing proxy (None = direct), reused across retries."""

    def __init__(self, timeout: float = 600.0) -> None:
        self.timeout = timeout
        self.clients: dict[str | None, httpx.AsyncClient] = {}

    async def send(self, call: UpstreamCall, proxy: str | None) -> http.Response:
        client = self.clients.get(proxy)
        if client is None:
            client = self.clients[proxy] = httpx.AsyncClient(proxy=proxy, timeout=self.timeout, trust_env=False)
        r = await client.request(call.method, call.url, headers=dict(call.headers), content=call.body)
        headers = [(k.encode(), v.encode()) for k, v in r.headers.items() if k.lower() not in HOP_BY_HOP]
        return http.Response.make(r.status_code, r.content, headers)

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()
        self.clients.clear()

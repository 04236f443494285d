"""The bridge's own HTTP calls (runtimes' token, discovery and chat-creation calls; failover
retries): one httpx client per outgoing proxy, since httpx binds a proxy to a client.

trust_env=False: like the requests mitmproxy sends, these ignore HTTP(S)_PROXY variables; a proxy
is the account's `proxy` or none."""

from __future__ import annotations

from typing import Mapping

import httpx

from translators.errors import TranslationError
from translators.providers.base import UpstreamCall

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class HttpCalls:
    def __init__(self, timeout: httpx.Timeout | float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self.clients: dict[str | None, httpx.AsyncClient] = {}

    def client(self, proxy: str | None) -> httpx.AsyncClient:
        client = self.clients.get(proxy)
        if client is None:
            client = self.clients[proxy] = httpx.AsyncClient(proxy=proxy, timeout=self.timeout, trust_env=False)
        return client

    async def request(self, call: UpstreamCall, proxy: str | None) -> httpx.Response:
        return await self.client(proxy).request(call.method, call.url, content=call.body or None,
                                                headers=dict(call.headers))

    async def send(self, call: UpstreamCall, proxy: str | None,
                   who: str) -> tuple[int, Mapping[str, str], bytes]:
        """(status, headers, body); an unreachable host is a TranslationError naming `who`."""
        try:
            r = await self.request(call, proxy)
        except httpx.HTTPError as e:
            host = call.url.split("/")[2] if "//" in call.url else call.url
            raise TranslationError(f"{who} ({host}) could not be reached: {type(e).__name__} {e}",
                                   kind="upstream_unreachable") from None
        return r.status_code, r.headers, r.content

    async def close(self) -> None:
        clients, self.clients = list(self.clients.values()), {}
        for client in clients:
            await client.aclose()

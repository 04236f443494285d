"""Re-targets a flow at its upstream: URL, path per dialect, credentials, header policy, body."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import orjson
from mitmproxy import http

from mitmproxy.connection import Server
from mitmproxy.net import server_spec

from addons.pool import Account
from addons.settings import Provider
from translators.providers.base import UpstreamCall

PATHS = {
    "openai-chat": "/chat/completions",
    "openai-responses": "/responses",
    "anthropic-messages": "/messages",
    "count_tokens": "/messages/count_tokens",
    "models": "/models",
}
ANTHROPIC_VERSION = "2023-06-01"

# Client headers never sent upstream (openai-passthrough.md 3): other credentials, hop-by-hop,
# CDN/forwarding metadata that leaks the user's address, cookies and browser noise.
DROP = frozenset({
    "authorization", "api-key", "x-api-key", "openai-organization", "openai-project", "cookie", "origin",
    "referer", "proxy-authorization", "proxy-connection", "keep-alive", "te", "trailer", "upgrade",
    "cf-connecting-ip", "cf-ipcountry", "cf-ray", "cf-visitor", "cf-worker", "cf-ew-via", "cf-request-id",
    "cdn-loop", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port",
    "x-real-ip", "forwarded", "true-client-ip", "via", "accept-encoding",
})
ANTHROPIC_ONLY = frozenset({"anthropic-version", "anthropic-beta", "anthropic-dangerous-direct-browser-access"})


@lru_cache(maxsize=256)
def split_url(url: str) -> tuple[str, str, int, str]:
    u = urlsplit(url)
    port = u.port or (443 if u.scheme == "https" else 80)
    return u.scheme, u.hostname or "", port, u.path.rstrip("/")


def retarget(flow: http.HTTPFlow, provider: Provider, path_key: str, body: dict[str, Any] | None,
             client_dialect: str, account: Account) -> None:
    """Point a flow at a dialect upstream (OpenAI-type or Anthropic) with the account's key."""
    req = flow.request
    scheme, host, port, base = split_url(provider.url())
    _set_target(flow, scheme, host, port, base + (PATHS[path_key] if path_key in PATHS else path_key),
                account.proxy)
    _headers(req.headers, provider, client_dialect, str(account.fields.get("api_key") or ""))
    if body is not None:
        req.content = orjson.dumps(body)


def retarget_call(flow: http.HTTPFlow, call: UpstreamCall, proxy: str | None) -> None:
    """Point a flow at a provider's own endpoint: the codec decided URL, headers and body."""
    scheme, host, port, path = split_full_url(call.url)
    _set_target(flow, scheme, host, port, path, proxy)
    req = flow.request
    req.method = call.method
    for name in list(req.headers.keys()):
        if name.lower() not in ("content-length", "host"):
            del req.headers[name]
    for name, value in call.headers.items():
        req.headers[name] = value
    req.headers["accept-encoding"] = "identity"
    req.content = call.body


@lru_cache(maxsize=1024)
def split_full_url(url: str) -> tuple[str, str, int, str]:
    u = urlsplit(url)
    port = u.port or (443 if u.scheme == "https" else 80)
    return u.scheme, u.hostname or "", port, (u.path or "/") + (f"?{u.query}" if u.query else "")


def _set_target(flow: http.HTTPFlow, scheme: str, host: str, port: int, path: str, proxy: str | None) -> None:
    req = flow.request
    req.scheme, req.host, req.port, req.path = scheme, host, port, path
    if proxy:  # per-account HTTP proxy: a fresh server connection going through it
        flow.server_conn = Server(address=(host, port))
        flow.server_conn.via = server_spec.parse(proxy, "http")


def _headers(h: http.Headers, provider: Provider, client_dialect: str, key: str) -> None:
    anthropic_up = provider.type == "anthropic"
    for name in list(h.keys()):
        low = name.lower()
        if low in DROP or low.startswith(("sec-fetch-", "sec-ch-ua")) or (low in ANTHROPIC_ONLY and not anthropic_up):
            del h[name]
    if anthropic_up:
        if key:
            h["x-api-key"] = key
        if client_dialect != "anthropic-messages" or "anthropic-version" not in h:
            h["anthropic-version"] = ANTHROPIC_VERSION
    elif key:
        h["authorization"] = f"Bearer {key}"
    if provider.organization:
        h["openai-organization"] = provider.organization
    if provider.project:
        h["openai-project"] = provider.project
    for name, value in provider.headers.items():
        h[name] = value
    h["content-type"] = "application/json"
    h["accept-encoding"] = "identity"  # the stream callable must see plain bytes


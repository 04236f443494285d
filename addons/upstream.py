"""Upstream requests: what to send (an UpstreamCall: URL, headers, body) and how a flow is pointed at
it. Dialect upstreams (OpenAI-type, Anthropic) get their call built here from the client's request
and the account; providers with a wire format of their own build theirs in their codec. The same
call can be applied to the flow (first attempt) or sent again for another account (failover)."""

from __future__ import annotations

from functools import lru_cache
from typing import Mapping
from urllib.parse import urlsplit

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
# CDN/forwarding metadata that leaks the user's address, cookies and browser noise. Length and
# host are set for the new body and target.
DROP = frozenset({
    "authorization", "api-key", "x-api-key", "openai-organization", "openai-project", "cookie", "origin",
    "referer", "proxy-authorization", "proxy-connection", "keep-alive", "te", "trailer", "upgrade",
    "cf-connecting-ip", "cf-ipcountry", "cf-ray", "cf-visitor", "cf-worker", "cf-ew-via", "cf-request-id",
    "cdn-loop", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port",
    "x-real-ip", "forwarded", "true-client-ip", "via", "accept-encoding", "content-length", "host",
    "connection", "transfer-encoding",
})
ANTHROPIC_ONLY = frozenset({"anthropic-version", "anthropic-beta", "anthropic-dangerous-direct-browser-access"})


@lru_cache(maxsize=1024)
def split_url(url: str) -> tuple[str, str, int, str]:
    """scheme, host, port, path (with query) of an absolute URL."""
    u = urlsplit(url)
    port = u.port or (443 if u.scheme == "https" else 80)
    return u.scheme, u.hostname or "", port, (u.path or "/") + (f"?{u.query}" if u.query else "")


def dialect_call(provider: Provider, path_key: str, body: bytes, client_headers: Mapping[str, str],
                 client_dialect: str, account: Account) -> UpstreamCall:
    """The request for an OpenAI-type or Anthropic upstream, with the account's key."""
    path = PATHS.get(path_key, path_key)
    headers = _headers(client_headers, provider, client_dialect, str(account.fields.get("api_key") or ""))
    return UpstreamCall(provider.url() + path, body, headers)


def apply(flow: http.HTTPFlow, call: UpstreamCall, proxy: str | None) -> None:
    """Point the flow at the call: target, method, headers (replaced whole), body."""
    req = flow.request
    scheme, host, port, path = split_url(call.url)
    req.scheme, req.host, req.port, req.path = scheme, host, port, path
    if proxy:  # per-account HTTP proxy: a fresh server connection going through it
        flow.server_conn = Server(address=(host, port))
        flow.server_conn.via = server_spec.parse(proxy, "http")
    req.method = call.method
    # built whole: removing the client's headers one by one costs a scan each
    default_port = 443 if scheme == "https" else 80
    authority = host if port == default_port else f"{host}:{port}"
    fields = [(b"host", authority.encode())]  # mitmproxy sends HTTP/1.1 requests' Host header as it finds it
    fields += [(k.encode(), v.encode()) for k, v in call.headers.items()
               if k.lower() not in ("accept-encoding", "host")]
    fields.append((b"accept-encoding", b"identity"))  # the stream callable must see plain bytes
    req.headers = http.Headers(fields)
    req.content = call.body


def _headers(client: Mapping[str, str], provider: Provider, client_dialect: str, key: str) -> dict[str, str]:
    anthropic_up = provider.type == "anthropic"
    out = {}
    for name, value in client.items():
        low = name.lower()
        if low in DROP or low.startswith(("sec-fetch-", "sec-ch-ua")) or (low in ANTHROPIC_ONLY and not anthropic_up):
            continue
        out[low] = value
    if anthropic_up:
        if key:
            out["x-api-key"] = key
        if client_dialect != "anthropic-messages" or "anthropic-version" not in out:
            out["anthropic-version"] = ANTHROPIC_VERSION
    elif key:
        out["authorization"] = f"Bearer {key}"
    if provider.organization:
        out["openai-organization"] = provider.organization
    if provider.project:
        out["openai-project"] = provider.project
    out.update({k.lower(): v for k, v in provider.headers.items()})
    out["content-type"] = out.get("content-type", "application/json")
    return out

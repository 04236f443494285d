"""Secrets as they may appear in logs, errors and stored flows: a short prefix and the length."""

from __future__ import annotations

from mitmproxy import http

SECRET_HEADERS = ("authorization", "x-api-key", "api-key", "cookie", "proxy-authorization")


def mask(secret: str | None) -> str:
    if not secret:
        return ""
    return f"{secret[:4]}***(len={len(secret)})"


def mask_headers(h: http.Headers) -> None:
    for name in SECRET_HEADERS:
        if name in h:
            value = h[name]
            scheme = value[:7] if value[:7].lower() == "bearer " else ""
            h[name] = scheme + mask(value[len(scheme):])

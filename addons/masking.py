"""Secrets as they may appear in logs, errors and stored flows: a short prefix and the length."""

from __future__ import annotations

from mitmproxy import http

SECRET_MARKS = ("auth", "token", "key", "secret", "cookie", "session")  # e.g. CodeGeeX's `code-token`


def mask(secret: str | None) -> str:
    if not secret:
        return ""
    return f"{secret[:4]}***(len={len(secret)})"


def is_secret_header(name: str) -> bool:
    low = name.lower()
    return any(mark in low for mark in SECRET_MARKS) and not low.startswith(("x-stainless", "anthropic-"))


def mask_headers(h: http.Headers) -> None:
    for name in [n for n in h.keys() if is_secret_header(n)]:
        value = h[name]
        if "***(len=" in value:
            continue  # masked already
        scheme = value[:7] if value[:7].lower() == "bearer " else ""
        h[name] = scheme + mask(value[len(scheme):])

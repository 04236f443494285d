"""Secrets as they may appear in logs, errors and stored flows: a short prefix and the length."""

from __future__ import annotations

import functools
import hashlib

from mitmproxy import http

SECRET_MARKS = ("auth", "token", "key", "secret", "cookie", "session")  # e.g. CodeGeeX's `code-token`


def mask(secret: str | None) -> str:
    if not secret:
        return ""
    return f"{secret[:4]}***(len={len(secret)})"


def key_id(secret: str) -> str:
    """A stable, non-secret name for a key (usage per client key): masks alone collide, e.g. every
    generated `sk-bridge-` key has the same prefix and length."""
    return f"{secret[:4]}…{hashlib.sha256(secret.encode()).hexdigest()[:8]}"


@functools.lru_cache(maxsize=512)
def is_secret_header(name: str) -> bool:
    low = name.lower()
    return any(mark in low for mark in SECRET_MARKS) and not low.startswith(("x-stainless", "anthropic-"))


def mask_value(value: str) -> str:
    if "***(len=" in value:
        return value  # masked already
    scheme = value[:7] if value[:7].lower() == "bearer " else ""
    return scheme + mask(value[len(scheme):])


def mask_headers(h: http.Headers) -> None:
    """One pass over the raw header list (this runs twice per flow, on the hot path)."""
    fields = h.fields
    if not any(is_secret_header(name.decode("latin-1")) for name, _ in fields):
        return
    h.fields = tuple(
        (name, mask_value(value.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape"))
        if is_secret_header(name.decode("latin-1")) else (name, value)
        for name, value in fields)

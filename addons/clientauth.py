"""Client API keys: which keys are accepted, constant-time comparison, and the key generated on first
start when none is configured (stored 0600, printed once)."""

from __future__ import annotations

import hmac
import logging
import secrets
from pathlib import Path

from mitmproxy import http

from addons.atomicfile import write_atomic

logger = logging.getLogger(__name__)


def presented_key(request: http.Request, browser: bool = False) -> str | None:
    """The client key from the API headers; for the bridge's own pages (browser=True) also from
    `?key=`, since a browser cannot send an Authorization header."""
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    key = request.headers.get("x-api-key") or request.headers.get("api-key")
    if key or not browser:
        return key or None
    return request.query.get("key") or None


def key_matches(presented: str | None, accepted: list[bytes]) -> bool:
    """Compare against every accepted key, always, so timing says nothing about which or how much."""
    given = (presented or "").encode()
    ok = False
    for key in accepted:
        ok |= hmac.compare_digest(given, key)
    return ok and bool(presented)


def load_or_create_key(path: str) -> str:
    p = Path(path)
    if p.exists():
        return p.read_text().strip()
    key = "sk-bridge-" + secrets.token_urlsafe(24)
    p.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(p, key + "\n")
    logger.warning("No client key configured: generated one and stored it in %s (mode 0600). "
                   "Clients must send it as 'Authorization: Bearer' or 'x-api-key':\n\n    %s\n", p, key)
    return key


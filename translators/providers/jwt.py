"""Reading a JWT's expiry (no verification: only to refresh or refuse a token before it is used)."""

from __future__ import annotations

import base64
import binascii

import orjson


def expiry(jwt: str) -> int | None:
    """The `exp` claim (epoch seconds); None when the token is not a readable JWT."""
    parts = jwt.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return exp if isinstance(exp, int) and not isinstance(exp, bool) else None

"""Errors in Anthropic's shape, both ways (anthropic-messages.md 5.4, 6; conversions.md 12)."""

from __future__ import annotations

import re
from typing import Any

import orjson

from translators.errors import BridgeError
from translators.errors import kind_for_status
from translators.sse import encode

# Anthropic error type -> neutral kind (section 6). billing_error has no neutral kind: the account cannot
# serve, which is what "permission" means to the router; the code keeps the distinction.
KIND_OF_TYPE: dict[str, str] = {
    "invalid_request_error": "invalid_request", "authentication_error": "authentication",
    "permission_error": "permission", "billing_error": "permission", "not_found_error": "not_found",
    "request_too_large": "request_too_large", "rate_limit_error": "rate_limit", "api_error": "api_error",
    "timeout_error": "timeout", "overloaded_error": "overloaded",
}

# Neutral kind -> (status, type) for an Anthropic client; overload is 529, the status its SDK retries on.
_WIRE_OF_KIND: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "invalid_request_error"), "authentication": (401, "authentication_error"),
    "permission": (403, "permission_error"), "not_found": (404, "not_found_error"),
    "request_too_large": (413, "request_too_large"), "rate_limit": (429, "rate_limit_error"),
    "api_error": (500, "api_error"), "upstream_unreachable": (502, "api_error"),
    "overloaded": (529, "overloaded_error"), "timeout": (504, "timeout_error"),
}
_STATUS_OF_TYPE = {t: s for s, t in _WIRE_OF_KIND.values()} | {"billing_error": 402, "api_error": 500}

CONTEXT_CODE = "context_length_exceeded"
# The two context-overflow wordings Claude Code reacts to (section 6).
_OVERFLOW = re.compile(r"prompt is too long|exceed context limit", re.I)
_NUMBER = re.compile(r"\d+")


def wire_error(kind: str, message: str, code: str | None = None) -> tuple[int, dict[str, Any]]:
    if code == "billing_error":
        status, typ = 402, "billing_error"
    else:
        status, typ = _WIRE_OF_KIND.get(kind, (500, "api_error"))
    if code == CONTEXT_CODE:
        message = _overflow_wording(message)
    return status, {"type": "error", "error": {"type": typ, "message": message}}


def stream_error_type(kind_or_type: str, status: int) -> str:
    """An IR StreamError's `type` (a neutral kind, or already an Anthropic type) -> Anthropic type."""
    if kind_or_type in _WIRE_OF_KIND:
        return _WIRE_OF_KIND[kind_or_type][1]
    if kind_or_type in _STATUS_OF_TYPE:
        return kind_or_type
    return _WIRE_OF_KIND[kind_for_status(status)][1]


def render_error(err: BridgeError) -> tuple[int, dict[str, Any]]:
    return wire_error(err.kind, err.message, err.code)


def render_stream_error(err: BridgeError) -> bytes:
    """Mid-stream: one `event: error` (the event line is mandatory for SDK clients, 5.1)."""
    return encode(orjson.dumps(wire_error(err.kind, err.message, err.code)[1]), "error")


def parse_error(status: int, body: bytes) -> BridgeError:
    typ, message = _fields(body)
    kind = KIND_OF_TYPE.get(typ or "", "") or kind_for_status(status)
    if typ == "overloaded_error" or status == 529:
        kind = "overloaded"
    message = message or f"Upstream returned HTTP {status}."
    code = "billing_error" if typ == "billing_error" else None
    if _OVERFLOW.search(message):
        code = CONTEXT_CODE  # Chat/Responses clients then get their canonical code (conversions.md 12)
    return BridgeError.of(kind, message, status=status, code=code)


def status_of_kind(kind: str) -> int:
    return _WIRE_OF_KIND.get(kind, (500, "api_error"))[0]


def _fields(body: bytes) -> tuple[str | None, str | None]:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()[:500]
        return None, text or None
    err = obj.get("error") if isinstance(obj, dict) else None
    if not isinstance(err, dict):
        return None, None
    typ, message = err.get("type"), err.get("message")
    return (typ if isinstance(typ, str) else None), (message if isinstance(message, str) else None)


def _overflow_wording(message: str) -> str:
    """Keep Anthropic's wording for context overflow: Claude Code compacts on it (section 6)."""
    if _OVERFLOW.search(message):
        return message
    numbers = sorted((int(n) for n in _NUMBER.findall(message)), reverse=True)
    if len(numbers) >= 2:
        return f"prompt is too long: {numbers[0]} tokens > {numbers[1]} maximum"
    return f"prompt is too long: {message}"

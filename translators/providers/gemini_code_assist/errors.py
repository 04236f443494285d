"""Google API errors (`google.rpc.Status`) -> BridgeError (gemini-code-assist.md 6, gemini.md 6).

The body may be wrapped in an array, carry a stray `,\\s*,` (seen on SSE transport; gemini-cli
sanitises it), or hide the real error stringified in `message`. A 429's wait comes from
`google.rpc.RetryInfo.retryDelay` ("17s", "0.539477544s"), else ErrorInfo's `quotaResetDelay`,
else "Please retry in 12.3s" in the message; it becomes the client's Retry-After (whole seconds)."""

from __future__ import annotations

import math
import re
from typing import Any
from typing import Mapping

import orjson

from translators.dialects.common import is_context_overflow
from translators.errors import BridgeError

_STRAY_COMMA = re.compile(rb",(\s*,)+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_RETRY_IN = re.compile(r"(?:retry in|reset after)\s+((?:\d+(?:\.\d+)?(?:ms|h|m|s))+)", re.IGNORECASE)
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> BridgeError:
    err = error_object(body)
    message = err.get("message") or body.decode("utf-8", "replace")[:500] or f"Upstream answered {status}."
    return bridge_error(status, err, str(message))


def bridge_error(status: int, err: Mapping[str, Any], message: str) -> BridgeError:
    reason = error_reason(err)
    kind, out_status = kind_of(status)
    code = reason or (str(err["status"]) if isinstance(err.get("status"), str) else None)
    if kind == "invalid_request" and is_context_overflow(message):
        code = "context_length_exceeded"  # agents compact on this code (conversions.md 12)
    retry = retry_after(err, message) if status == 429 else None
    return BridgeError.of(kind, message, code=code, status=out_status, retry_after=retry)


def kind_of(status: int) -> tuple[str, int]:
    """Google's status -> (kind, status for the client); 5xx from Google are the bridge's 502 (6)."""
    if status in (503, 504):
        return ("overloaded" if status == 503 else "timeout"), status
    if status >= 500 or status == 499:
        return "api_error", 502
    kinds = {400: "invalid_request", 401: "authentication", 403: "permission", 404: "not_found",
             413: "request_too_large", 429: "rate_limit"}
    return kinds.get(status, "invalid_request"), status


def error_object(body: bytes) -> dict[str, Any]:
    """The `error` object of a Google error body ({} when there is none)."""
    obj = _loads(body)
    if isinstance(obj, list) and obj:
        obj = obj[0]
    err = obj.get("error") if isinstance(obj, dict) else None
    if isinstance(err, str):
        return {"message": err}
    if not isinstance(err, dict):
        return obj if isinstance(obj, dict) and "message" in obj else {}
    inner = _loads(err["message"].encode()) if isinstance(err.get("message"), str) else None
    if isinstance(inner, (dict, list)):  # an error stringified inside another error's message
        nested = error_object(err["message"].encode())
        if nested.get("message"):
            return nested
    return err


def _loads(body: bytes) -> Any:
    text = body.strip()
    if text.startswith(b"data:"):
        text = text[5:].strip()
    for candidate in (text, _STRAY_COMMA.sub(b",", text)):
        try:
            return orjson.loads(candidate)
        except orjson.JSONDecodeError:
            continue
    return None


def _details(err: Mapping[str, Any]) -> list[dict[str, Any]]:
    details = err.get("details")
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def error_reason(err: Mapping[str, Any]) -> str | None:
    for d in _details(err):
        if d.get("@type") == ERROR_INFO and isinstance(d.get("reason"), str):
            return str(d["reason"])
    return None


def retry_after(err: Mapping[str, Any], message: str) -> str | None:
    seconds = None
    for d in _details(err):
        if d.get("@type") == RETRY_INFO:
            seconds = duration_seconds(d.get("retryDelay"))
        elif d.get("@type") == ERROR_INFO and seconds is None:
            meta = d.get("metadata")
            seconds = duration_seconds(meta.get("quotaResetDelay")) if isinstance(meta, dict) else None
        if seconds is not None and d.get("@type") == RETRY_INFO:
            break
    if seconds is None:
        m = _RETRY_IN.search(message)
        seconds = duration_seconds(m.group(1)) if m else None
    return None if seconds is None else str(max(1, math.ceil(seconds)))


def duration_seconds(value: Any) -> float | None:
    """"17s", "0.539477544s", "539.477544ms", "19h14m47s" -> seconds; None if unreadable."""
    if not isinstance(value, str):
        return None
    parts = _DURATION_PART.findall(value.strip())
    if not parts or "".join(n + u for n, u in parts) != value.strip():
        return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)

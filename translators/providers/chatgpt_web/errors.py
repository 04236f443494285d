"""ChatGPT web backend errors (chatgpt-web.md 9, 5.4, 11) -> BridgeError.

Bodies are FastAPI's `{"detail": <string or object>}`; 403 may be Cloudflare's HTML challenge; a
token error once came with status 200 (9). A 429 cools its account down for the Retry-After header,
else the first of retry_after / reset_after / resets_after / restore_at / reset_at found anywhere
in the body (numbers under 30 days are seconds, larger ones unix times; strings may be durations,
RFC 3339 or HTTP dates), else one hour - chat2api's rule (11)."""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from typing import Mapping

import orjson

from translators.dialects.common import is_context_overflow
from translators.errors import BridgeError
from translators.errors import kind_for_status

RESET_KEYS = ("retry_after", "reset_after", "resets_after", "restore_at", "reset_at")  # 11
DEFAULT_RETRY_AFTER = "3600"  # 11: a 429 naming no time cools the account for an hour
THIRTY_DAYS = 30 * 24 * 3600
AUTH_CODES = ("token_expired", "invalid_token", "token_invalidated", "account_deactivated", "invalid_api_key")
CLOUDFLARE_MARKS = (b"Just a moment", b"cf-chl", b"challenge-platform")
_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(ms|h|m|s))+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> BridgeError:
    """A non-2xx answer of any backend call."""
    obj = _json(body)
    if isinstance(obj, dict) and "detail" in obj:
        message, code = detail_text(obj["detail"])
    elif isinstance(obj, dict) and obj.get("error"):
        message, code = detail_text(obj["error"])
    elif status == 403 and any(mark in body for mark in CLOUDFLARE_MARKS):
        return BridgeError.of("permission", "ChatGPT: blocked by Cloudflare's browser check (403 challenge "
                              "page). The web backend wants a browser TLS fingerprint: route the account "
                              "through a proxy that provides one (accounts[].proxy).",
                              code="cloudflare_challenge")
    else:
        text = body.decode("utf-8", "replace").strip()[:300]
        message, code = text or "no body", None
    retry = retry_after(status, headers, obj)
    return classify(status, message, code, retry)


def from_body(body: bytes) -> BridgeError | None:
    """The error a 200 JSON body carries (`{"detail": ...}`, 9), None when it is not one."""
    obj = _json(body)
    if isinstance(obj, dict) and "detail" in obj and "message" not in obj:
        message, code = detail_text(obj["detail"])
        return classify(200, message, code, None)
    return None


def from_stream(obj: Mapping[str, Any]) -> BridgeError | None:
    """An in-stream failure (5.4): the document's `error` (string or object) with its `error_code`,
    or a `detail` payload."""
    err = obj.get("error")
    if err is None and "detail" in obj and "message" not in obj:
        err = obj["detail"]
    if err is None or err == "":
        return None
    message, code = detail_text(err)
    code = code or (obj["error_code"] if isinstance(obj.get("error_code"), str) else None)
    return classify(200, message, code, None)


def detail_text(detail: Any) -> tuple[str, str | None]:
    """`detail` as a message and a code: a string, an object (message/msg/code) or FastAPI's list."""
    if isinstance(detail, str):
        return detail, None
    if isinstance(detail, dict):
        message = detail.get("message") or detail.get("msg") or detail.get("detail")
        code = detail.get("code") or detail.get("type")
        text = message if isinstance(message, str) else orjson.dumps(detail).decode()
        return text, code if isinstance(code, str) else None
    if isinstance(detail, list):
        return "; ".join(detail_text(d)[0] for d in detail) or "invalid request", None
    return str(detail), None


def classify(status: int, message: str, code: str | None, retry: str | None) -> BridgeError:
    """chatgpt-web.md 9's table. The backend's code stays in the message; the client dialect's own
    codes are kept (SDKs and agents react to those)."""
    text = f"ChatGPT: {message}" + (f" ({code})" if code and code not in message else "")
    low = (code or "").lower()
    if status == 401 or low in AUTH_CODES:
        return BridgeError.of("authentication", text)
    if status == 429 or "rate_limit" in low:
        return BridgeError.of("rate_limit", text, retry_after=retry or DEFAULT_RETRY_AFTER)
    if status == 403:
        return BridgeError.of("permission", text)
    if status == 404:
        return BridgeError.of("not_found", text)
    if status == 413 or is_context_overflow(message):
        return BridgeError.of("invalid_request", text, code="context_length_exceeded")
    if 400 <= status < 500:
        return BridgeError.of(kind_for_status(status), text, status=status)
    if status >= 500:
        return BridgeError.of("api_error", text, status=status)
    return BridgeError.of("api_error", text, status=502)  # an error carried with status 200


# ---- how long a rate-limited account waits (11) ----


def retry_after(status: int, headers: Mapping[str, str], obj: Any) -> str | None:
    """Seconds to wait, as a string: the header, else the body's reset fields. Absolute times are
    measured from the answer's Date header (translators have no clock)."""
    now = _date(headers.get("date"))
    header = headers.get("retry-after")
    if header:
        found = _seconds(header.strip(), now)
        if found is not None:
            return found
    if status != 429:
        return None
    value = _find(obj, RESET_KEYS)
    return _seconds(value, now) if value is not None else None


def _find(obj: Any, keys: tuple[str, ...]) -> Any:
    """The first of `keys` (in that order of preference) anywhere in a JSON value."""
    for key in keys:
        found = _find_key(obj, key, 0)
        if found is not None:
            return found
    return None


def _find_key(obj: Any, key: str, depth: int) -> Any:
    if depth > 8:
        return None
    if isinstance(obj, dict):
        if obj.get(key) is not None:
            return obj[key]
        children: Any = obj.values()
    elif isinstance(obj, list):
        children = obj
    else:
        return None
    for child in children:
        found = _find_key(child, key, depth + 1)
        if found is not None:
            return found
    return None


def _seconds(value: Any, now: float | None) -> str | None:
    """A number (seconds, or a unix time when beyond 30 days), a numeric string, a Go-style duration
    (`1h30m`, `45s`), an RFC 3339 time or an HTTP date -> whole seconds from now, at least 1."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _relative(float(value), now)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return _relative(float(text), now)
    except ValueError:
        pass
    if _DURATION.match(text):
        return _whole(sum(float(n) * _UNIT[u] for n, u in _DURATION_PART.findall(text)))
    when = _date(text)
    if when is None:
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return _whole(when - now) if now is not None else None


def _relative(value: float, now: float | None) -> str | None:
    if value < THIRTY_DAYS:
        return _whole(value)
    return _whole(value - now) if now is not None else None


def _whole(seconds: float) -> str:
    return str(max(1, round(seconds)))


def _date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None

"""chat.qwen.ai errors (qwen.md A5) -> BridgeError. They come as a JSON envelope
`{"success": false, "data": {"code", "details", "num"}}` (any HTTP status, 200 included), as an
SSE event `{"error": {"code", "details"}}`, or as the WAF's HTML page with status 200."""

from __future__ import annotations

import dataclasses
from typing import Any
from typing import Mapping

import orjson

from translators.dialects.common import is_context_overflow
from translators.errors import BridgeError
from translators.errors import kind_for_status

CONTEXT_CODE = "context_length_exceeded"
IN_PROGRESS_RETRY = "3"  # "The chat is in progress!": retry after 2-4 s (A5)
WAF_MARKS = (b"aliyun_waf_aa", b'"requestInfo"')  # A1 anti-bot note


def from_object(obj: Any, status: int = 200) -> BridgeError | None:
    """The error an answer object carries, None when it is not an error."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("error"), dict):  # in-stream failure (A5)
        err = obj["error"]
        return classify(_str(err.get("code")), _str(err.get("details") or err.get("message")), status)
    if obj.get("success") is False:  # the envelope (A5)
        data: dict[str, Any] = obj["data"] if isinstance(obj.get("data"), dict) else {}
        return classify(_str(data.get("code")), _str(data.get("details") or data.get("message")), status,
                        data.get("num"))
    if "requestInfo" in obj:
        return waf_error()
    return None


def from_body(body: bytes, status: int = 200) -> BridgeError | None:
    """The error a non-SSE body carries (JSON envelope or WAF page), None when it is not one."""
    if any(mark in body for mark in WAF_MARKS):
        return waf_error()
    try:
        return from_object(orjson.loads(body), status)
    except orjson.JSONDecodeError:
        return None


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> BridgeError:
    found = from_body(body, status)
    if found is not None:
        retry = headers.get("retry-after")  # the header is more precise than data.num's hours
        return dataclasses.replace(found, retry_after=retry) if retry else found
    text = body.decode("utf-8", "replace").strip()[:300]
    return BridgeError.of(kind_for_status(status), f"Qwen answered HTTP {status}: {text or 'no body'}",
                          status=status if status >= 400 else 502)


def classify(code: str, details: str, status: int = 200, num: Any = None) -> BridgeError:
    """Qwen's codes -> kinds, as A8 maps them (RateLimited -> 429, unauthorized -> 401, context
    length -> 400 context_length_exceeded, internal error -> 502). Qwen's code stays in the message; the
client dialect's own codes are kept (SDKs and agents react to those)."""
    low, text = code.lower().replace("_", ""), details.lower()
    message = f"Qwen: {details or code or 'unknown error'}" + (f" ({code})" if code and details else "")
    if low in ("ratelimited", "toomanyrequests") or status == 429:
        return BridgeError.of("rate_limit", message, retry_after=_hours(num))
    if "unauthorized" in low or "unauthenticated" in low or status == 401:
        return BridgeError.of("authentication", message)
    if "contextlength" in low or is_context_overflow(details):
        return BridgeError.of("invalid_request", message, code=CONTEXT_CODE)
    if "in progress" in text:
        return BridgeError.of("overloaded", message, retry_after=IN_PROGRESS_RETRY)
    if "internal error" in text or status >= 500:
        return BridgeError.of("api_error", message, status=status if status >= 500 else 502)
    if low == "notfound" or "not exist" in text or status == 404:
        return BridgeError.of("not_found", message)
    if status == 403:
        return BridgeError.of("permission", message)
    if low == "badrequest" or 400 <= status < 500:
        return BridgeError.of("invalid_request", message)
    return BridgeError.of("api_error", message, status=502)


def waf_error() -> BridgeError:
    return BridgeError.of("api_error", "Qwen: the request was blocked by chat.qwen.ai's web application "
                          "firewall (anti-bot check); set the browser headers/cookies in the provider's "
                          "options.headers.", code="waf_blocked", status=502)


def _hours(num: Any) -> str | None:
    """`data.num` is the number of hours to wait (A5)."""
    if isinstance(num, (int, float)) and not isinstance(num, bool) and num > 0:
        return str(int(num * 3600))
    return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))

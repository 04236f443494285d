"""CAPI errors (github-copilot.md 8) -> BridgeError. Bodies come as OpenAI-like JSON
`{"error": {"message", "code"}}` (often labelled text/plain), Anthropic JSON from /v1/messages, GitHub
REST JSON `{"message"}`, plain text (`unauthorized: token expired`) or GitHub's HTML error page."""

from __future__ import annotations

from typing import Any
from typing import Mapping

import orjson

from translators.dialects.anthropic_messages.errors import KIND_OF_TYPE
from translators.dialects.common import is_context_overflow
from translators.errors import BridgeError
from translators.errors import TranslationError
from translators.errors import kind_for_status

CONTEXT_CODE = "context_length_exceeded"
# code prefix (codes may be suffixed, `user_global_rate_limited:enterprise`) -> (kind, client code)
CODES: dict[str, tuple[str, str | None]] = {
    "model_max_prompt_tokens_exceeded": ("invalid_request", CONTEXT_CODE),
    "model_not_supported": ("invalid_request", "model_not_found"),
    "quota_exceeded": ("rate_limit", "insufficient_quota"),
    "free_quota_exceeded": ("rate_limit", "insufficient_quota"),
    "overage_limit_reached": ("rate_limit", "insufficient_quota"),
    "billing_not_configured": ("permission", "billing_not_configured"),
    "rate_limited": ("rate_limit", None), "user_model_rate_limited": ("rate_limit", None),
    "user_global_rate_limited": ("rate_limit", None), "integration_rate_limited": ("rate_limit", None),
    "agent_mode_limit_exceeded": ("rate_limit", None), "extension_blocked": ("rate_limit", None),
    "model_overloaded": ("overloaded", None), "upstream_provider_rate_limit": ("overloaded", None),
    "payload_too_large": ("request_too_large", None), "previous_response_not_found": ("not_found", None),
}
# status -> kind where the generic mapping is wrong (8): 402 quota, 466 old client, 422 RAI filter, 502 a
# GitHub error page (the upstream answered: not unreachable)
STATUS_KIND = {402: "rate_limit", 413: "request_too_large", 422: "invalid_request", 466: "invalid_request",
               499: "api_error", 502: "api_error", 503: "overloaded"}


def fields(body: bytes) -> tuple[str, str, Any]:
    """(message, code, the parsed object or None) of any error body shape."""
    try:
        obj: Any = orjson.loads(body) if body.strip() else None
    except orjson.JSONDecodeError:
        obj = None
    err = obj.get("error") if isinstance(obj, dict) else None
    if isinstance(err, str):
        err = {"message": err}
    if not isinstance(err, dict):
        err = obj if isinstance(obj, dict) else {}
    message = err.get("message")
    code = err.get("code") or err.get("type") or (obj.get("code") if isinstance(obj, dict) else None)
    if not isinstance(message, str) or not message:
        message = _text(body)
    return message, str(code) if isinstance(code, (str, int)) and not isinstance(code, bool) else "", obj


def classify(status: int, message: str, code: str, retry_after: str | None = None) -> BridgeError:
    """A Copilot error -> its neutral kind; the client dialect's own codes where agents react to them
    (context overflow, quota), Copilot's code in the message otherwise."""
    base = code.split(":", 1)[0]
    by_type = KIND_OF_TYPE.get(base) if status == 500 else None  # in-band Anthropic errors carry no status
    kind, client_code = CODES.get(base) or (by_type or STATUS_KIND.get(status) or kind_for_status(status),
                                            None)
    if kind == "invalid_request" and client_code is None and is_context_overflow(message):
        client_code = CONTEXT_CODE
    if status == 466:
        message += (" (Copilot does not accept this client version: raise options.editor_version / "
                    "plugin_version)")
    text = f"GitHub Copilot: {message}" + (f" ({code})" if code and code not in message else "")
    out_status = 502 if status >= 500 and kind == "api_error" else None
    if status == 402:
        out_status = 429
    return BridgeError.of(kind, text, code=client_code, status=out_status, retry_after=retry_after)


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> BridgeError:
    message, code, _ = fields(body)
    if status == 401 and "token expired" in message:
        message = "the Copilot token expired (" + message + ")"
    if status >= 500 and body.lstrip()[:1] == b"<":  # GitHub's "Unicorn!" page (8)
        message = f"HTTP {status} from GitHub (HTML error page)"
    return classify(status if status >= 400 else 502, message, code, headers.get("retry-after"))


def error_in(obj: Any) -> BridgeError | None:
    """The error a 200 answer carries (`{"error": ...}` or Anthropic's `{"type": "error"}`), if any."""
    if not isinstance(obj, dict) or not obj.get("error") or "choices" in obj and obj.get("choices"):
        return None
    err = obj["error"] if isinstance(obj["error"], dict) else {"message": str(obj["error"])}
    message = str(err.get("message") or "unknown error")
    code = err.get("code") if err.get("code") is not None else err.get("type")
    status = code if isinstance(code, int) and not isinstance(code, bool) and 400 <= code < 600 else 500
    return classify(status, message, "" if isinstance(code, int) else str(code or ""))


def raise_for(err: BridgeError) -> TranslationError:
    return TranslationError(err.message, kind=err.kind, code=err.code, status=err.status,
                            retry_after=err.retry_after)


def _text(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    return text[:300] if text else "no error body"

"""Errors in the Responses dialect.

Before the first byte: HTTP status + the Chat-style body {"error": {message, type, param, code}}
(openai-responses.md 4.5, openai-chat.md 5). In the stream: an `error` event (4.5); the stream encoder
itself reports failures it is fed as `response.failed`, which is what Codex classifies."""

from __future__ import annotations

from typing import Any

import orjson

from translators.dialects.common import is_context_overflow
from translators.dialects.openai_responses.wire import code_for
from translators.errors import BridgeError
from translators.errors import kind_for_status
from translators.jsonutil import dumps
from translators.sse import encode

# Neutral kind -> OpenAI (type, default code) (openai-chat.md 5).
_OPENAI_ERROR = {
    "invalid_request": ("invalid_request_error", None),
    "authentication": ("invalid_request_error", "invalid_api_key"),
    "permission": ("invalid_request_error", "permission_denied"),
    "not_found": ("invalid_request_error", None),
    "request_too_large": ("invalid_request_error", "request_too_large"),
    "rate_limit": ("requests", "rate_limit_exceeded"),
    "api_error": ("server_error", None),
    "upstream_unreachable": ("server_error", None),
    "overloaded": ("server_error", None),
    "timeout": ("server_error", None),
}


def render_error(err: BridgeError) -> tuple[int, dict[str, Any]]:
    typ, code = _OPENAI_ERROR.get(err.kind, ("server_error", None))
    if err.code is not None:
        code = err.code
    elif err.kind == "invalid_request" and is_context_overflow(err.message):
        code = "context_length_exceeded"  # agents compact on this code (openai-chat.md 5)
    status = 503 if err.status == 529 else err.status  # 529 is Anthropic's; OpenAI clients know 503
    return status, {"error": {"message": err.message, "type": typ, "param": err.param, "code": code}}


def render_stream_error(err: BridgeError) -> bytes:
    # Stateless: no sequence to continue, so 0 (the encoder's response.failed carries the real one).
    body = {"type": "error", "sequence_number": 0, "code": err.code or code_for(err.kind, err.message),
            "message": err.message, "param": err.param}
    return encode(dumps(body), event="error")


def parse_error(status: int, body: bytes) -> BridgeError:
    kind = kind_for_status(status)
    try:
        obj = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        obj = None
    err = obj.get("error") if isinstance(obj, dict) else None
    if isinstance(err, str):
        err = {"message": err}
    if not isinstance(err, dict):
        err = obj if isinstance(obj, dict) and isinstance(obj.get("message"), str) else {}
    message = err["message"] if isinstance(err.get("message"), str) else _fallback(status, body)
    param, code = err.get("param"), err.get("code")
    return BridgeError.of(kind, message, status=status, param=param if isinstance(param, str) else None,
                          code=code if isinstance(code, str) else None)


def _fallback(status: int, body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()[:500]
    return text or f"The upstream returned HTTP {status}."

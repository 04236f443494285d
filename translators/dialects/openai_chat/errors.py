"""OpenAI error objects (openai-chat.md 5) <-> BridgeError. Shared by Chat and Responses, which use
the same body before the first byte."""

from __future__ import annotations

from typing import Any

import orjson

from translators.dialects.common import is_context_overflow
from translators.errors import BridgeError
from translators.errors import kind_for_status
from translators.sse import encode

# Neutral kind -> OpenAI (type, default code).
KIND_TYPE = {
    "invalid_request": ("invalid_request_error", None),
    "authentication": ("invalid_request_error", "invalid_api_key"),
    "permission": ("permission_denied", None),
    "not_found": ("invalid_request_error", "model_not_found"),
    "request_too_large": ("invalid_request_error", "request_too_large"),
    "rate_limit": ("requests", "rate_limit_exceeded"),
    "api_error": ("server_error", None),
    "upstream_unreachable": ("server_error", "upstream_unreachable"),
    "overloaded": ("server_error", "overloaded"),
    "timeout": ("server_error", "timeout"),
}


def error_object(err: BridgeError) -> dict[str, Any]:
    typ, code = KIND_TYPE.get(err.kind, ("server_error", None))
    if err.code is not None:
        code = err.code
    elif err.kind == "invalid_request" and is_context_overflow(err.message):
        code = "context_length_exceeded"  # agents compact on this code (openai-chat.md 5)
    return {"error": {"message": err.message, "type": typ, "param": err.param, "code": code}}


def render_error(err: BridgeError) -> tuple[int, dict[str, Any]]:
    status = 503 if err.status == 529 else err.status  # 529 is Anthropic's; OpenAI clients know 503
    return status, error_object(err)


def render_stream_error(err: BridgeError) -> bytes:
    """In-band error (openai-chat.md 4.7): the SDK raises on a chunk with an `error` key."""
    return encode(orjson.dumps(error_object(err))) + b"data: [DONE]\n\n"


def parse_error(status: int, body: bytes) -> BridgeError:
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
    return BridgeError.of(kind_for_status(status), message, status=status,
                          param=param if isinstance(param, str) else None,
                          code=str(code) if isinstance(code, (str, int)) and not isinstance(code, bool) else None)


def _fallback(status: int, body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()[:500]
    return text or f"The upstream returned HTTP {status}."

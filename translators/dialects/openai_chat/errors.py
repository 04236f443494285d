"""OpenAI error objects (openai-chat.md 5) <-> BridgeError. Shared by Chat and Responses."""

from __future__ import annotations

from typing import Any

import orjson

from translators.errors import BridgeError
from translators.errors import kind_for_status
from translators.sse import encode

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
    return {"error": {"message": err.message, "type": typ, "param": err.param, "code": err.code or code}}


def render_error(err: BridgeError) -> tuple[int, dict[str, Any]]:
    return err.status, error_object(err)


def render_stream_error(err: BridgeError) -> bytes:
    """In-band error (openai-chat.md 4.7): the SDK raises on a chunk with an `error` key."""
    return encode(orjson.dumps(error_object(err))) + b"data: [DONE]\n\n"


def parse_error(status: int, body: bytes) -> BridgeError:
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        obj = None
    err = obj.get("error") if isinstance(obj, dict) else None
    if isinstance(err, str):
        err = {"message": err}
    if not isinstance(err, dict):
        err = obj if isinstance(obj, dict) and "message" in obj else {}
    message = err.get("message") or body.decode("utf-8", "replace")[:500] or f"Upstream answered {status}."
    code = err.get("code")
    return BridgeError.of(kind_for_status(status), str(message), param=err.get("param"),
                          code=str(code) if code is not None else None, status=status)

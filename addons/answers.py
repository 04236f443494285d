"""Responses the bridge makes itself: JSON bodies, errors in the client's dialect, CORS headers."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from mitmproxy import http

from translators.errors import BridgeError
from translators.registry import codec

logger = logging.getLogger(__name__)

EXPOSE = ("x-request-id, openai-processing-ms, retry-after, retry-after-ms, x-ratelimit-limit-requests, "
          "x-ratelimit-remaining-requests, x-ratelimit-reset-requests, x-ratelimit-limit-tokens, "
          "x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens, request-id")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> http.Response:
    return http.Response.make(status, orjson.dumps(body), {"content-type": "application/json", **(headers or {})})


def error_body(dialect: str, err: BridgeError) -> tuple[int, dict[str, Any]]:
    try:
        return codec(dialect).render_error(err)
    except ImportError:  # a dialect whose codec is not installed answers in OpenAI's shape
        return codec("openai-chat").render_error(err)


def error_response(dialect: str, err: BridgeError) -> http.Response:
    status, body = error_body(dialect, err)
    headers = {"retry-after": err.retry_after} if err.retry_after else {}
    if err.kind == "authentication":
        headers["www-authenticate"] = 'Bearer realm="llm-bridge"'
    return json_response(status, body, headers)


def add_cors(request: http.Request, response: http.Response) -> None:
    """Set (never append: a doubled header is rejected by browsers) CORS headers on an answer."""
    if "origin" in request.headers:
        response.headers["access-control-allow-origin"] = "*"
        response.headers["access-control-expose-headers"] = EXPOSE


def preflight(request: http.Request) -> http.Response:
    """Answer a CORS preflight locally, echoing the requested headers (openai-passthrough.md 5)."""
    headers = {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
        "access-control-allow-headers": request.headers.get("access-control-request-headers", "*"),
        "access-control-max-age": "86400",
        "vary": "Origin, Access-Control-Request-Headers",
    }
    return http.Response.make(204, b"", headers)

"""The operator's admin page at /admin (login with a client key)."""

from __future__ import annotations

from typing import Any

from mitmproxy import http

from addons import answers
from addons.clientauth import key_matches
from addons.clientauth import presented_key
from translators.errors import TranslationError


def authorized(flow: http.HTTPFlow, gateway: Any) -> bool:
    """A client key in the API headers (scripts, curl)."""
    return key_matches(presented_key(flow.request), gateway.keys)


async def answer(flow: http.HTTPFlow, gateway: Any) -> http.Response:
    path = flow.request.path.split("?", 1)[0].rstrip("/")
    if not authorized(flow, gateway):
        raise TranslationError("A valid client key is required.", kind="authentication", code="invalid_api_key")
    if path == "/admin/usage" and flow.request.method == "GET":
        return answers.json_response(200, await gateway.usage.report())
    raise TranslationError("The admin page is not available.", kind="not_found", code="unknown_url")

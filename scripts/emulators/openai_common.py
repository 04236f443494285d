"""What api.openai.com's endpoints share: the Bearer credential, the error envelope and
the model list (openai-passthrough.md sections 7, 8 and 12)."""

from __future__ import annotations

from typing import Any

from .app import WireProtocol
from .httpserver import Request
from .httpserver import Response
from .wire import hex_id
from .wire import json_response

MODELS = [
    ("gpt-4.1", 1744316542, "system"),
    ("gpt-4.1-mini", 1744318173, "system"),
    ("gpt-4o-mini", 1721172741, "system"),
    ("gpt-5", 1754425777, "system"),
    ("gpt-5-codex", 1757527818, "system"),
    ("o4-mini", 1744225351, "system"),
]

# kind -> (error.type, error.code)
_KINDS: dict[str, tuple[str, str | None]] = {
    "invalid_request": ("invalid_request_error", None),
    "auth": ("invalid_request_error", "invalid_api_key"),
    "auth_missing": ("invalid_request_error", None),
    "not_found": ("invalid_request_error", None),
    "model_not_found": ("invalid_request_error", "model_not_found"),
    "rate_limit": ("requests", "rate_limit_exceeded"),
    "server": ("server_error", None),
}


def mask_key(key: str) -> str:
    """OpenAI's masking in 401 messages: `sk-p***...wxyz`."""
    return key[:3] + "*" * max(len(key) - 7, 4) + key[-4:] if len(key) > 8 else "*" * len(key)


def bearer(req: Request) -> str | None:
    value = req.headers.get("authorization", "")
    if value[:7].lower() == "bearer ":
        return value[7:].strip()
    return None


class OpenAIProtocol(WireProtocol):
    """Base of the api.openai.com emulators (Chat Completions, Responses, bench)."""

    # api.openai.com sets Cloudflare cookies and offers HTTP/3 on every answer (openai-passthrough.md 4)
    extra_headers = {"set-cookie": "__cf_bm=emulated-cookie; path=/; domain=.api.openai.com; HttpOnly; Secure",
                     "alt-svc": 'h3=":443"; ma=86400'}

    def __init__(self, key: str) -> None:
        super().__init__(key)
        for path in ("/v1/models", "/models"):
            self.routes[("GET", path)] = self.list_models

    def route(self, method: str, path: str) -> Any:
        found = super().route(method, path)
        if found is None and method == "GET" and path.startswith(("/v1/models/", "/models/")):
            return self.get_model
        return found

    def error(
        self, status: int, message: str, kind: str = "invalid_request", param: str | None = None
    ) -> Response:
        etype, code = _KINDS.get(kind, _KINDS["invalid_request"])
        headers = {"x-request-id": hex_id("req_")}
        if kind.startswith("auth"):
            headers["www-authenticate"] = 'Bearer realm="OpenAI API"'
        if kind == "rate_limit":
            headers.update(
                {
                    "x-ratelimit-limit-requests": "500",
                    "x-ratelimit-remaining-requests": "0",
                    "x-ratelimit-reset-requests": "1s",
                }
            )
        body = {"error": {"message": message, "type": etype, "param": param, "code": code}}
        return json_response(status, body, headers)

    def rate_limited(self) -> Response:
        resp = self.error(
            429,
            "Rate limit reached for requests per min (RPM): Limit 500, Used 500, "
            "Requested 1. Please try again in 1s. (emulated)",
            "rate_limit",
        )
        resp.headers["retry-after"] = "1"
        return resp

    def server_error(self) -> Response:
        return self.error(
            500, "The server had an error while processing your request. Sorry about that!", "server"
        )

    def authenticate(self, req: Request) -> Response | None:
        got = bearer(req)
        if got is None:
            return self.error(401, "Missing bearer or basic authentication in header", "auth_missing")
        if got != self.key:
            return self.error(
                401,
                f"Incorrect API key provided: {mask_key(got)}. You can find your "
                "API key at https://platform.openai.com/account/api-keys.",
                "auth",
            )
        return None

    def check_request(self, req: Request, required: tuple[str, ...]) -> dict[str, Any] | Response:
        """The JSON body with its required fields, or OpenAI's 400."""
        body = self.json_body(req)
        if isinstance(body, Response):
            return self.error(
                400,
                "We could not parse the JSON body of your request. (HINT: This likely "
                "means you aren't using your HTTP library correctly. The OpenAI API "
                "expects a JSON payload, but what was sent was not valid JSON.)",
            )
        if not body.get("model"):
            return self.error(400, "you must provide a model parameter")
        for name in required:
            if body.get(name) is None:
                return self.error(400, f"Missing required parameter: '{name}'.", param=name)
        return body

    def list_models(self, req: Request) -> Response:
        data = [{"id": m, "object": "model", "created": c, "owned_by": o} for m, c, o in MODELS]
        return json_response(200, {"object": "list", "data": data})

    def get_model(self, req: Request) -> Response:
        model = req.route.rsplit("/", 1)[1]
        for m, c, o in MODELS:
            if m == model:
                return json_response(200, {"id": m, "object": "model", "created": c, "owned_by": o})
        return self.error(
            404, f"The model `{model}` does not exist or you do not have access to it.", "model_not_found"
        )

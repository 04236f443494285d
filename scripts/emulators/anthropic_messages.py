"""Emulated api.anthropic.com Messages API (anthropic-messages.md sections 4-8).

POST /v1/messages, POST /v1/messages/count_tokens, GET /v1/models (+ /v1/models/{id});
query strings such as `?beta=true` are ignored.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any
from typing import Iterator

from .app import WireProtocol
from .httpserver import Request
from .httpserver import Response
from .openai_common import bearer
from .script import Decision
from .script import decide
from .script import split_fragments
from .turns import anthropic_turn
from .wire import SSE_HEADERS
from .wire import dumps
from .wire import estimate_tokens
from .wire import json_response
from .wire import new_id
from .wire import output_tokens
from .wire import pieces
from .wire import reasoning_text
from .wire import sse_event

MODELS = [
    ("claude-opus-4-1-20250805", "Claude Opus 4.1", "2025-08-05T00:00:00Z"),
    ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    ("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17T00:00:00Z"),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-01T00:00:00Z"),
]

_ERROR_TYPES = {
    "invalid_request": "invalid_request_error",
    "auth": "authentication_error",
    "not_found": "not_found_error",
    "rate_limit": "rate_limit_error",
    "server": "api_error",
}


def _signature() -> str:
    """An opaque thinking signature, recognisable as the emulator's."""
    return "EmuSig" + base64.b64encode(secrets.token_bytes(48)).decode()


class AnthropicMessages(WireProtocol):
    name = "anthropic"
    garbage_event = "message_start"

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.routes[("POST", "/v1/messages")] = self.messages
        self.routes[("POST", "/v1/messages/count_tokens")] = self.count_tokens
        self.routes[("GET", "/v1/models")] = self.list_models

    def route(self, method: str, path: str) -> Any:
        found = super().route(method, path)
        if found is None and method == "GET" and path.startswith("/v1/models/"):
            return self.get_model
        return found

    def error(self, status: int, message: str, kind: str = "invalid_request") -> Response:
        body = {
            "type": "error",
            "error": {"type": _ERROR_TYPES.get(kind, "invalid_request_error"), "message": message},
            "request_id": new_id("req_011"),
        }
        return json_response(status, body, {"request-id": body["request_id"]})

    def rate_limited(self) -> Response:
        resp = self.error(
            429,
            "Number of request tokens has exceeded your per-minute rate limit "
            "(emulated). Please try again later.",
            "rate_limit",
        )
        resp.headers.update(
            {
                "retry-after": "1",
                "anthropic-ratelimit-requests-limit": "50",
                "anthropic-ratelimit-requests-remaining": "0",
            }
        )
        return resp

    def server_error(self) -> Response:
        return self.error(500, "Internal server error", "server")

    def authenticate(self, req: Request) -> Response | None:
        api_key, token = req.headers.get("x-api-key"), bearer(req)
        if api_key is None and token is None:
            return self.error(401, "x-api-key header is required", "auth")
        if self.key not in (api_key, token):
            return self.error(
                401, "invalid x-api-key" if api_key is not None else "Invalid bearer token", "auth"
            )
        return None

    def _checked(self, req: Request, required: tuple[str, ...]) -> dict[str, Any] | Response:
        body = self.json_body(req)
        if isinstance(body, Response):
            return self.error(400, "There was an error parsing the body of your request: invalid JSON")
        for name in required:
            if body.get(name) is None:
                return self.error(400, f"{name}: Field required")
        if not isinstance(body["messages"], list):
            return self.error(400, "messages: Input should be a valid list")
        return body

    def count_tokens(self, req: Request) -> Response:
        body = self._checked(req, ("model", "messages"))
        if isinstance(body, Response):
            return body
        return json_response(200, {"input_tokens": estimate_tokens(req.body)})

    def messages(self, req: Request) -> Response:
        body = self._checked(req, ("model", "messages", "max_tokens"))
        if isinstance(body, Response):
            return body
        decision = decide(anthropic_turn(body))
        thinking = body.get("thinking") or {}
        wants_thinking = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
        # display "omitted": thinking blocks carry no text, only the signature.
        reasoning = reasoning_text(decision) if wants_thinking else None
        if reasoning is not None and thinking.get("display") == "omitted":
            reasoning = ""
        answer = _Message(str(body["model"]), decision, reasoning, estimate_tokens(req.body))
        headers = {"request-id": new_id("req_011")}
        if body.get("stream"):
            return Response(200, {**SSE_HEADERS, **headers}, list(answer.events()))
        return json_response(200, answer.message(), headers)

    def list_models(self, req: Request) -> Response:
        data = [self._model(*m) for m in MODELS]
        return json_response(
            200, {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
        )

    def get_model(self, req: Request) -> Response:
        model = req.route.rsplit("/", 1)[1]
        for m in MODELS:
            if m[0] == model:
                return json_response(200, self._model(*m))
        return self.error(404, f"model: {model}", "not_found")

    @staticmethod
    def _model(model_id: str, display: str, created: str) -> dict[str, Any]:
        return {
            "type": "model",
            "id": model_id,
            "display_name": display,
            "created_at": created,
            "max_input_tokens": 200000,
            "max_tokens": 64000,
        }


class _Message:
    """One scripted answer as a Message object or as its SSE event sequence."""

    def __init__(self, model: str, decision: Decision, reasoning: str | None, input_tokens: int) -> None:
        self.id = new_id("msg_01", 22)
        self.model, self.decision, self.reasoning = model, decision, reasoning
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens(decision, reasoning or "")
        self.signature = _signature() if reasoning is not None else ""
        self.tool_ids = [new_id("toolu_01", 22) for _ in decision.calls]
        self.stop_reason = "tool_use" if decision.calls else "end_turn"

    def usage(self, output: int) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output,
        }

    def blocks(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.reasoning is not None:
            out.append({"type": "thinking", "thinking": self.reasoning, "signature": self.signature})
        if self.decision.text is not None:
            out.append({"type": "text", "text": self.decision.text})
        for call, tool_id in zip(self.decision.calls, self.tool_ids):
            out.append({"type": "tool_use", "id": tool_id, "name": call.name, "input": call.arguments})
        return out

    def message(self, final: bool = True) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": self.blocks() if final else [],
            "stop_reason": self.stop_reason if final else None,
            "stop_sequence": None,
            "usage": {**self.usage(self.output_tokens if final else 1), "service_tier": "standard"},
        }

    def events(self) -> Iterator[bytes]:
        yield sse_event("message_start", {"type": "message_start", "message": self.message(final=False)})
        yield sse_event("ping", {"type": "ping"})
        for index, block in enumerate(self.blocks()):
            yield from self._block_events(index, block)
        yield sse_event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
                "usage": self.usage(self.output_tokens),
            },
        )
        yield sse_event("message_stop", {"type": "message_stop"})

    @staticmethod
    def _block_events(index: int, block: dict[str, Any]) -> Iterator[bytes]:
        kind = block["type"]
        start = {
            "thinking": {"type": "thinking", "thinking": "", "signature": ""},
            "text": {"type": "text", "text": ""},
            "tool_use": {**block, "input": {}},
        }[kind]
        yield sse_event(
            "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
        )
        if kind == "thinking":
            deltas = [{"type": "thinking_delta", "thinking": p} for p in pieces(block["thinking"])]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        elif kind == "text":
            deltas = [{"type": "text_delta", "text": p} for p in pieces(block["text"])]
        else:
            args = dumps(block["input"]).decode()
            deltas = [{"type": "input_json_delta", "partial_json": f} for f in ["", *split_fragments(args)]]
        for delta in deltas:
            yield sse_event(
                "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
            )
        yield sse_event("content_block_stop", {"type": "content_block_stop", "index": index})

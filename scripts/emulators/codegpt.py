"""Emulated CodeGPT agent API (shared/protocols/upstreams/codegpt.md).

POST /api/v1/chat/completions (codegpt.md 3-5): `format: "json"` answers as a `chat.completion` or an
SSE stream whose text is in `delta.contents[]` (2025 shape) or, for the legacy agent, `delta.content`
(2024 shape), ended by `data: [DONE]`; `format: "text"` answers as a JSON string or raw streamed text.
GET /api/v1/agent and /api/v1/agent/<id> (codegpt.md 7). Errors: `{"error": "<reason>", "message": ...}`.

CodeGPT has no tools (codegpt.md 8.6): when the system prompt carries the bridge's prompt-tool
instructions, the offered tools are read from them and SCRIPT.md's calls are written in that markup.
"""

from __future__ import annotations

import secrets
from http import HTTPStatus
from typing import Any
from typing import Iterator

from .app import WireProtocol
from .httpserver import Request
from .httpserver import Response
from .openai_common import bearer
from .prompt_markup import TRIGGER
from .prompt_markup import answer_text
from .prompt_markup import read_tools
from .prompt_markup import tool_results
from .script import Decision
from .script import Turn
from .script import decide
from .script import split_fragments
from .script import split_text
from .wire import SSE_DONE
from .wire import SSE_HEADERS
from .wire import estimate_tokens
from .wire import json_response
from .wire import now
from .wire import sse_data

API = "/api/v1"
ORG_ID = "8d5e2c1a-7b3f-4e9d-a0c2-5f6e7d8c9b0a"
# The agents of the account (codegpt.md 7); the second streams in the older `delta.content` shape.
AGENTS = [
    {"id": "3f2b1c0d-9e8f-4a7b-b6c5-d4e3f2a1b0c9", "name": "Code Helper",
     "prompt": "You are a helpful assistant.", "model": "claude-3.7-sonnet-anthropic", "agent_documents": [],
     "welcome": "Hello, how can I help you today?", "pincode": None, "is_public": False, "agent_type": "qa"},
    {"id": "5c4d3e2f-1a0b-4c9d-8e7f-6a5b4c3d2e1f", "name": "Legacy Helper",
     "prompt": "You are a helpful assistant.", "model": "gpt-4o", "agent_documents": [], "welcome": "Hi!",
     "pincode": None, "is_public": False, "agent_type": "qa"},
]
LEGACY_SHAPE = {"5c4d3e2f-1a0b-4c9d-8e7f-6a5b4c3d2e1f"}
ROLES = ("system", "user", "assistant")


def offered_tools(system: str, turn: Turn) -> None:
    """The tools of instructions that carry the trigger (the bridge's prompt-tools section)."""
    if TRIGGER in system:
        read_tools(system, turn)


def codegpt_turn(messages: list[dict[str, str]]) -> Turn:
    """SCRIPT.md's view of a CodeGPT conversation: tool results are the <tool_result> elements of a
    trailing user message (tool traffic travels as text, codegpt.md 9)."""
    system = "\n".join(m["content"] for m in messages if m["role"] == "system")
    conversation = [m for m in messages if m["role"] != "system"]
    users = [m["content"] for m in conversation if m["role"] == "user" and m["content"]]
    turn = Turn(prompt=users[-1] if users else "")
    if conversation and conversation[-1]["role"] == "user":
        turn.tool_results = tool_results(conversation[-1]["content"])
    offered_tools(system, turn)
    return turn


def answer_pieces(decision: Decision, text: str) -> list[str]:
    """Text cut at spaces; markup cut anywhere (as a model's tokens would), so the bridge's
    scanner sees tags split across deltas."""
    return split_fragments(text, 5) if decision.calls else split_text(text)


# ---- the protocol ----


class CodeGPT(WireProtocol):
    name = "codegpt"

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.routes[("POST", f"{API}/chat/completions")] = self.completions
        self.routes[("GET", f"{API}/agent")] = self.list_agents

    def route(self, method: str, path: str) -> Any:
        found = super().route(method, path)
        if found is None and method == "GET" and path.startswith(f"{API}/agent/"):
            return self.get_agent
        return found

    def error(self, status: int, message: str, kind: str = "invalid_request") -> Response:
        """codegpt.md 6 (suggested shape): the reason phrase and a message."""
        return json_response(status, {"error": HTTPStatus(status).phrase, "message": message})

    def rate_limited(self) -> Response:
        resp = self.error(429, "You have reached your usage limit", "rate_limit")
        resp.headers["retry-after"] = "1"
        return resp

    def authenticate(self, req: Request) -> Response | None:
        got = bearer(req)
        if got != self.key:
            return self.error(401, "Missing API key" if got is None else "Invalid API key", "auth")
        org = req.headers.get("codegpt-org-id")
        if org is not None and org != ORG_ID:  # optional header, but a wrong one is refused (codegpt.md 6)
            return self.error(403, "This API key does not belong to the organization " + org, "auth")
        return None

    def list_agents(self, req: Request) -> Response:
        return json_response(200, AGENTS)

    def get_agent(self, req: Request) -> Response:
        agent_id = req.route.rsplit("/", 1)[1]
        agent = next((a for a in AGENTS if a["id"] == agent_id), None)
        return json_response(200, agent) if agent else self.error(404, "Agent not found", "not_found")

    def completions(self, req: Request) -> Response:
        body = self.json_body(req)
        if isinstance(body, Response):
            return body
        checked = self._check(body)
        if isinstance(checked, Response):
            return checked
        agent, messages, fmt = checked
        decision = decide(codegpt_turn(messages))
        text = answer_text(decision)
        pieces = answer_pieces(decision, text)
        if body.get("stream") is True:
            if fmt == "text":  # codegpt.md 5.2: no framing, no terminator
                return Response(200, {"content-type": "text/plain; charset=utf-8"},
                                [p.encode() for p in pieces])
            return Response(200, dict(SSE_HEADERS), list(_sse(agent, pieces)))
        if fmt == "text":
            return json_response(200, text)
        usage = {"prompt_tokens": estimate_tokens(req.body), "completion_tokens": estimate_tokens(text)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return json_response(200, {
            "id": _chat_id(), "object": "chat.completion", "created": now(), "model": agent["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "stop"}],
            "usage": usage})

    def _check(self, body: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, str]], str] | Response:
        agent_id = body.get("agentId")
        if not isinstance(agent_id, str) or not agent_id:
            return self.error(400, "agentId is required")
        agent = next((a for a in AGENTS if a["id"] == agent_id), None)
        if agent is None:
            return self.error(404, f"Agent {agent_id} not found", "not_found")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self.error(400, "messages must be a non-empty array")
        for m in messages:  # codegpt.md 8.4: content must be a string
            if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
                return self.error(400, "each message needs a role (system, user or assistant) and a "
                                       "string content")
        fmt = body.get("format", "json")
        if fmt not in ("json", "text"):
            return self.error(400, "format must be 'json' or 'text'")
        return agent, messages, fmt


def _chat_id() -> str:
    return "chatcmpl-" + secrets.token_hex(6)


def _sse(agent: dict[str, Any], pieces: list[str]) -> Iterator[bytes]:
    """codegpt.md 5.1: one chunk per piece, finish_reason on the last content chunk, then [DONE]."""
    base = {"id": _chat_id(), "object": "chat.completion.chunk", "created": now(), "model": agent["model"]}
    legacy = agent["id"] in LEGACY_SHAPE
    for i, piece in enumerate(pieces):
        delta: dict[str, Any] = (
            {"content": piece} if legacy else {"contents": [{"type": "text", "content": piece}]}
        )
        if i == 0 and not legacy:
            delta = {"role": "assistant", **delta}
        finish = "stop" if i == len(pieces) - 1 else None
        yield sse_data({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    yield SSE_DONE

"""Emulated chat.qwen.ai web API v2 (qwen.md Part A).

POST /api/v2/chats/new, POST /api/v2/chat/completions?chat_id=..., GET /api/models (also
/api/v2/models/), POST /api/v1/auths/signin, GET /api/v1/auths/.

Byte-level quirks kept (A4, A7): the stream always (stream:false is ignored), only `data:` lines,
the first one `{"response.created":...}` with a trailing space, Python-style JSON separators,
cumulative `usage` with Qwen's names, a `finished` chunk and no `[DONE]`; cumulative text when
`incremental_output` is not true (Part C); no `phase` without `output_schema: "phase"`; errors in
the `{"success": false, "data": {...}}` envelope, with HTTP 200 for the `error200` fault (A5).

The one user message holds the whole conversation, flattened by the client (A8): paragraphs
`system: `/`user: `/`assistant: ` separated by a blank line, or a bare user prompt. Qwen has no
client tools: when the prompt-tools instructions (a `<tool name="...">` list with `Arguments (JSON
schema): ...` lines) are in the system turn, tool calls are answered as the markup they describe,
and `<tool_result ...>` blocks ending the conversation are the tool results (SCRIPT.md).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any
from typing import Iterator

from .app import WireProtocol
from .httpserver import Request
from .httpserver import Response
from .openai_common import bearer
from .prompt_markup import answer_text
from .prompt_markup import read_tools
from .prompt_markup import tool_results
from .prompt_markup import trigger_of
from .prompt_markup import without_results
from .script import Decision
from .script import Turn
from .script import decide
from .wire import SSE_HEADERS
from .wire import estimate_tokens
from .wire import json_response
from .wire import now
from .wire import pieces
from .wire import reasoning_text

MAX_CHATS = 10_000

MODELS = [
    ("qwen3-max-preview", "Qwen3-Max-Preview", ["t2t", "search", "t2i", "t2v", "artifacts", "web_dev"]),
    ("qwen3-235b-a22b", "Qwen3-235B-A22B-2507", ["t2t", "search", "t2i", "image_edit", "deep_research"]),
    ("qwen3-coder-plus", "Qwen3-Coder", ["t2t", "search", "artifacts", "web_dev"]),
    ("qwen3-30b-a3b", "Qwen3-30B-A3B-2507", ["t2t", "search"]),
    ("qwq-32b", "QwQ-32B", ["t2t", "search"]),
    ("wanx-video", "Wanx (video only)", ["t2v"]),
]

_CODES = {"invalid_request": "Bad_Request", "auth": "Unauthorized", "not_found": "Not_Found",
          "rate_limit": "RateLimited", "server": "Bad_Request"}
_OPEN_ROUTES = ("/api/models", "/api/v2/models/", "/api/v2/models", "/api/v1/auths/signin")

_TURN = re.compile(r"(?:\A|\n\n)(system|user|assistant): ")


def _dumps(obj: Any) -> str:
    """Python-style separators, `", "` and `": "` (A4)."""
    return json.dumps(obj, ensure_ascii=False)


def _data(text: str) -> bytes:
    return f"data: {text}\n\n".encode()


class Qwen(WireProtocol):
    name = "qwen"

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.chats: dict[str, bool] = {}  # chat id -> generating now ("The chat is in progress", A5)
        self.routes[("POST", "/api/v2/chats/new")] = self.new_chat
        self.routes[("POST", "/api/v2/chat/completions")] = self.completions
        for path in ("/api/models", "/api/v2/models/", "/api/v2/models"):
            self.routes[("GET", path)] = self.list_models
        self.routes[("POST", "/api/v1/auths/signin")] = self.signin
        self.routes[("GET", "/api/v1/auths/")] = self.user_info

    # ---- protocol basics ----

    def authenticate(self, req: Request) -> Response | None:
        """Only `Authorization: Bearer <jwt>` is checked; anti-bot headers are ignored (A1)."""
        if req.route in _OPEN_ROUTES:
            return None
        if bearer(req) != self.key:
            return self.error(401, "Invalid token, please login again.", "auth")
        return None

    def error(self, status: int, message: str, kind: str = "invalid_request") -> Response:
        data: dict[str, Any] = {"code": _CODES.get(kind, "Bad_Request"), "details": message}
        if kind == "server":
            data["details"] = "An internal error occurred (emulated): " + message
        if kind == "rate_limit":
            data["num"] = 1  # hours to wait (A5)
        return json_response(status, {"success": False, "request_id": str(uuid.uuid4()), "data": data})

    def rate_limited(self) -> Response:
        resp = self.error(429, "You have reached the usage limit. Please try again later.", "rate_limit")
        resp.headers["retry-after"] = "1"
        return resp

    # ---- routes ----

    def new_chat(self, req: Request) -> Response:
        body = self.json_body(req)
        if isinstance(body, Response):
            return body
        chat_id = str(uuid.uuid4())
        self.chats[chat_id] = False
        while len(self.chats) > MAX_CHATS:
            del self.chats[next(iter(self.chats))]
        return json_response(200, {"success": True, "request_id": str(uuid.uuid4()), "data": {"id": chat_id}})

    def completions(self, req: Request) -> Response:
        chat_id = req.query.get("chat_id", "")  # required in the query string (A7.2)
        if not chat_id:
            return self.error(400, "chat_id is required in the query string.")
        if chat_id not in self.chats:
            return self.error(404, f"The chat {chat_id} does not exist.", "not_found")
        if self.chats[chat_id]:
            return self.error(200, "The chat is in progress!")
        body = self.json_body(req)
        if isinstance(body, Response):
            return body
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
            return self.error(400, "messages must hold the new user message.")
        fc = messages[-1].get("feature_config") or {}
        text = _content_text(messages[-1].get("content"))
        turn = read_turn(text)
        answer = _Answer(
            chat_id, decide(turn), trigger_of(text), estimate_tokens(text),
            thinking=fc.get("thinking_enabled") is True,
            phases=fc.get("output_schema") == "phase",
            incremental=body.get("incremental_output") is True,
        )
        headers = {**SSE_HEADERS, "x-request-id": str(uuid.uuid4()), "x-actual-status-code": "200"}
        return Response(200, headers, self._busy(chat_id, answer.events()))

    def _busy(self, chat_id: str, events: Iterator[bytes]) -> Iterator[bytes]:
        self.chats[chat_id] = True
        try:
            yield from events
        finally:
            if chat_id in self.chats:
                self.chats[chat_id] = False

    def list_models(self, req: Request) -> Response:
        data = [_model(mid, name, types) for mid, name, types in MODELS]
        if req.route.startswith("/api/v2/"):  # the newer endpoint wraps the list (A6)
            wrapped = {"success": True, "request_id": str(uuid.uuid4()), "data": {"data": data}}
            return json_response(200, wrapped)
        return json_response(200, {"data": data})

    def signin(self, req: Request) -> Response:
        """Any email; the password is the emulator's key, sent as its hex SHA-256 (A1.2)."""
        body = self.json_body(req)
        if isinstance(body, Response):
            return body
        if body.get("password") != hashlib.sha256(self.key.encode()).hexdigest():
            return self.error(401, "The email or password is incorrect.", "auth")
        return json_response(200, {"id": "emulated-user", "email": body.get("email"), "name": "Emulated",
                                   "role": "user", "token": self.key, "token_type": "Bearer"})

    def user_info(self, req: Request) -> Response:
        return json_response(200, {"id": "emulated-user", "email": "user@example.com", "name": "Emulated",
                                   "role": "user", "token": self.key})


def _model(mid: str, name: str, chat_types: list[str]) -> dict[str, Any]:
    meta = {"profile_image_url": "/static/favicon.png", "description": f"{name} (emulated)",
            "capabilities": {"document": True, "vision": True, "video": True, "citations": True},
            "short_description": name, "max_context_length": 131072, "max_generation_length": 81920,
            "abilities": {"document": 1, "vision": 1, "thinking": 1}, "chat_type": chat_types,
            "mcp": ["code-interpreter"], "modality": ["text", "image"]}
    info = {"id": mid, "user_id": "7d1c0b4e-0000-4000-8000-000000000000", "base_model_id": None, "name": name,
            "meta": meta, "access_control": None, "is_active": True, "is_visitor_active": True,
            "updated_at": 1753920000, "created_at": 1745280000}
    return {"id": mid, "name": name, "object": "model", "owned_by": "qwen", "info": info, "preset": True,
            "action_ids": []}


# ---- reading the flattened conversation ----


def _content_text(content: Any) -> str:
    """A string, or content items of which the text ones count (A2.2 Images)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def split_turns(text: str) -> list[tuple[str, str]]:
    """`role: text` paragraphs -> (role, text); a text without a leading role is one user turn."""
    marks = list(_TURN.finditer(text))
    if not marks or marks[0].start() != 0:
        return [("user", text)]
    ends = [m.start() for m in marks[1:]] + [len(text)]
    return [(m.group(1), text[m.end():end]) for m, end in zip(marks, ends)]


def read_turn(text: str) -> Turn:
    """SCRIPT.md's dialect-neutral view of the flattened conversation."""
    turns = split_turns(text)
    turn = Turn()
    for role, body in turns:
        if role == "system":
            read_tools(body, turn)
    conversation = [(r, b) for r, b in turns if r != "system"]
    for role, body in reversed(conversation):  # trailing user turns made of tool results (rule 1)
        found = tool_results(body) if role == "user" else []
        if not found:
            break
        turn.tool_results[:0] = found
    for role, body in reversed(conversation):
        prompt = without_results(body) if role == "user" else ""
        if prompt:
            turn.prompt = prompt
            break
    return turn


# ---- the answer stream (A4) ----


class _Answer:
    def __init__(self, chat_id: str, decision: Decision, trigger: str, input_tokens: int, *,
                 thinking: bool, phases: bool, incremental: bool) -> None:
        self.chat_id, self.response_id = chat_id, str(uuid.uuid4())
        self.text = answer_text(decision, trigger)
        self.reasoning = reasoning_text(decision) if thinking else ""
        self.input_tokens, self.phases, self.incremental = input_tokens, phases, incremental

    def events(self) -> Iterator[bytes]:
        # mixed separators and the trailing space before the newline, as captured (A4)
        yield (f'data: {{"response.created":{{"chat_id": "{self.chat_id}", "parent_id": "{uuid.uuid4()}", '
               f'"response_id":"{self.response_id}", "response_index": "0"}}}} \n\n').encode()
        if self.reasoning:
            yield from self._phase("think", self.reasoning, "")
        yield from self._phase("answer", self.text, self.reasoning)

    def _phase(self, phase: str, text: str, before: str) -> Iterator[bytes]:
        sent = ""
        for piece in pieces(text):
            sent += piece
            content = piece if self.incremental else sent  # cumulative without incremental_output (C)
            yield self._chunk(phase, content, "typing", self._usage(phase, sent, before))
        if phase == "answer":  # an empty typing chunk precedes the end, as captured (A4 Example 1)
            yield self._chunk(phase, "", "typing", self._usage(phase, sent, before))
        yield self._chunk(phase, "", "finished", None)

    def _chunk(self, phase: str, content: str, status: str, usage: dict[str, Any] | None) -> bytes:
        if status == "finished":  # key order as captured (A4 Example 1)
            delta: dict[str, Any] = {"content": content, "role": "assistant", "status": status,
                                     "phase": phase}
        else:
            delta = {"role": "assistant", "content": content, "phase": phase, "status": status}
        if not self.phases:
            del delta["phase"]
        obj: dict[str, Any] = {"choices": [{"delta": delta}], "response_id": self.response_id}
        if usage is not None:
            obj["usage"] = usage
            obj["timestamp"] = now()
        return _data(_dumps(obj))

    def _usage(self, phase: str, sent: str, before: str) -> dict[str, Any]:
        """Cumulative, with Qwen's field names (A4, A7.7)."""
        if phase == "think":
            reasoning, text = estimate_tokens(sent), 0
        else:
            reasoning, text = (estimate_tokens(before) if before else 0), estimate_tokens(sent)
        out = reasoning + text
        details: dict[str, int] = {"text_tokens": text}
        if reasoning:
            details["reasoning_tokens"] = reasoning
        return {"input_tokens": self.input_tokens, "output_tokens": out, "characters": 0,
                "total_tokens": self.input_tokens + out,
                "input_tokens_details": {"text_tokens": self.input_tokens},
                "output_tokens_details": details, "prompt_tokens_details": {"cached_tokens": 0}}

"""Emulated CodeGeeX chat backend (shared/protocols/upstreams/codegeex.md).

POST /prod/code/chatCodeSseV3/chat         SSE `add` deltas, then `finish` with the whole answer (section 5);
                                           `?stream=false`: one JSON object with `text` (section 4)
GET  /prod/v3/chat/model                   the model listing, no credential (section 7)
GET  /prod/code/oauth/getUserInfo          the login check (section 1)

Credential: `code-token: KEY`; errors are the `{"code","msg","data"}` envelope (section 6, [I]).
The SSE framing is the Java emitter's `name:value` without a space, `\\n` line ends, no `[DONE]`.

CodeGeeX has no tools: the bridge describes them in the prompt (its prompt-tools markup, documented in
translators/transforms/prompt_tools.py) and this emulator answers a SCRIPT.md tool call by writing
that markup. The prompt layout it reads: `[System]\\n<system text>\\n\\n[User]\\n<user text>`, the
tools listed in the system text as `N. <tool name="NAME">` entries, tool results in the user text as
`<tool_result ...>` elements.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from typing import Iterator

from .app import WireProtocol
from .httpserver import Request
from .httpserver import Response
from .prompt_markup import TRIGGER
from .prompt_markup import answer_text
from .prompt_markup import read_tools
from .prompt_markup import tool_results
from .prompt_markup import without_results
from .script import Turn
from .script import decide
from .script import split_fragments
from .script import split_text
from .wire import json_response

CHAT = "/prod/code/chatCodeSseV3/chat"
MODEL_LIST = "/prod/v3/chat/model"
USER_INFO = "/prod/code/oauth/getUserInfo"
MODELS = [
    ("codegeex-4", "CodeGeeX-4", "通用模型", "General model"),
    ("codegeex-chat-pro", "CodeGeeX Pro", "增强模型", "Enhanced model"),
    ("claude-sonnet-4", "Claude Sonnet 4", "Claude 模型", "Claude model"),
    ("claude-3-7-sonnet", "Claude 3.7 Sonnet", "Claude 模型", "Claude model"),
]
SSE_HEADERS = {"content-type": "text/event-stream;charset=UTF-8", "cache-control": "no-cache"}

SYSTEM_HEAD, USER_SEP = "[System]\n", "\n\n[User]\n"
_HISTORY_FIELDS = ("query", "answer", "id")


class CodeGeeX(WireProtocol):
    name = "codegeex"
    garbage_event = "add"

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.routes[("POST", CHAT)] = self.chat
        self.routes[("GET", MODEL_LIST)] = self.model_list
        self.routes[("GET", USER_INFO)] = self.user_info

    def authenticate(self, req: Request) -> Response | None:
        if req.route == MODEL_LIST:  # WenChunTech sends no credential here
            return None
        if req.headers.get("code-token") != self.key:
            return self.error(401, "token invalid or expired", "auth")
        return None

    def error(self, status: int, message: str, kind: str = "invalid_request") -> Response:
        return json_response(status, {"code": status, "msg": message, "data": None})

    def rate_limited(self) -> Response:
        resp = self.error(429, "request too frequent")
        resp.headers["retry-after"] = "1"
        return resp

    def model_list(self, req: Request) -> Response:
        options = [{"id": i, "name": n, "description": {"zh": zh, "en": en}, "host": ""}
                   for i, n, zh, en in MODELS]
        return json_response(200, {"options": options, "default": MODELS[0][0],
                                   "promote": {"key": "", "text": {"zh": "", "en": ""}}, "ip": "127.0.0.1"})

    def user_info(self, req: Request) -> Response:
        return json_response(200, {"code": 200, "msg": "success", "data": {"userId": "emulated-user"}})

    def chat(self, req: Request) -> Response:
        body = self.json_body(req)
        if isinstance(body, Response):
            return body
        problem = _check(body)
        if problem:
            return self.error(400, problem)
        text = answer_text(decide(prompt_turn(body["prompt"])))
        msg_id = str(uuid.uuid4())
        model = body["model"]
        if req.query.get("stream") == "false":
            return json_response(200, {"id": msg_id, "text": text, "finish_reason": "stop", "model": model})
        return Response(200, dict(SSE_HEADERS), list(_events(body, msg_id, text)))


def _check(body: dict[str, Any]) -> str | None:
    """What the server needs (section 3): a prompt, a known model, well-formed history pairs."""
    if not isinstance(body.get("prompt"), str):
        return "prompt is required"
    if body.get("model") not in [m[0] for m in MODELS]:
        return f"unsupported model: {body.get('model')}"
    history = body.get("history")
    if history is not None and not (isinstance(history, list) and all(map(_pair_ok, history))):
        return "history must be a list of {query, answer, id} objects"
    return None


def _pair_ok(item: Any) -> bool:
    return isinstance(item, dict) and all(isinstance(item.get(f), str) for f in _HISTORY_FIELDS)


def _events(body: dict[str, Any], msg_id: str, text: str) -> Iterator[bytes]:
    model = body["model"]
    if body.get("command") == "online_search":  # web-search progress, not answer text (section 5)
        yield _sse("processing", msg_id, {"type": "keyword", "data": body["prompt"].split()[:3]})
    # tool-call markup has no spaces to cut at: arbitrary fragments, as a model's tokens would be
    pieces = split_fragments(text) if text.startswith(TRIGGER) else split_text(text)
    for piece in pieces:
        yield _sse("add", msg_id, {"id": msg_id, "text": piece, "finish_reason": "", "model": model})
    yield _sse("finish", msg_id, {"id": msg_id, "text": text, "finish_reason": "stop", "model": model})


def _sse(event: str, msg_id: str, data: Any) -> bytes:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event:{event}\nid:{msg_id}\ndata:{payload}\n\n".encode()


# ---- the prompt as SCRIPT.md sees it ----


def prompt_turn(prompt: str) -> Turn:
    """System section (tools), user text (prompt) and the tool results in it."""
    system, user = "", prompt
    if prompt.startswith(SYSTEM_HEAD) and USER_SEP in prompt:
        system, _, user = prompt[len(SYSTEM_HEAD):].partition(USER_SEP)
    turn = Turn(prompt=without_results(user), tool_results=tool_results(user))
    if TRIGGER in system:  # the bridge's tool instructions
        read_tools(system, turn)
    return turn

"""Emulated ChatGPT web backend (shared/protocols/upstreams/chatgpt-web.md, 13).

GET  /                                                    homepage: <script src> URLs, data-build (2)
POST /backend-api/sentinel/chat-requirements              legacy one-step sentinel (3.3)
POST /backend-api/sentinel/chat-requirements/prepare      two-step sentinel, then .../finalize (3.2)
POST /backend-api/f/conversation/prepare                  conduit tokens, states none/sent/success (3.7)
POST /backend-api/f/conversation, /backend-api/conversation   the answer, always SSE (4, 5)
GET  /backend-api/models, /backend-api/me                 (8, 2)

Credential: `Authorization: Bearer <access token>`, one of `tokens` (the emulator's key, plus any a
test adds). Every conversation needs a fresh requirements token and a proof of work (FNV-1a or SHA3,
3.5) of an easy difficulty; on /f/conversation also the last conduit token. Tokens are single-use.
The answer follows SCRIPT.md: v1 deltas when `supported_encodings` holds "v1" (5.1), else the
cumulative format (5.3), with the captures' quirks (Python-style JSON separators, \\u escapes,
trailing spaces after some data lines, typed events between deltas). Tool calls are written in the
bridge's prompt-tools markup. A prompt saying "remember" adds an internal `bio` tool message before
the answer; a reasoning request (thinking_effort extended/max, system hint `reason`, a `thinking`
model) adds a `thoughts` message. Errors are FastAPI's `{"detail": ...}` (9).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

from .app import WireProtocol
from .chatgpt_web_answer import Answer
from .httpserver import Request
from .httpserver import Response
from .openai_common import bearer
from .prompt_markup import answer_text
from .prompt_markup import read_tools
from .prompt_markup import tool_results
from .prompt_markup import trigger_of
from .prompt_markup import without_results
from .script import Turn
from .script import decide
from .wire import SSE_HEADERS
from .wire import json_response

SENTINEL = "/backend-api/sentinel/chat-requirements"
F_CONVERSATION = "/backend-api/f/conversation"
CONVERSATION = "/backend-api/conversation"
POW_DIFFICULTY = "0fffff"  # 1 attempt in 16 succeeds: easy, yet a wrong solver is caught (13)
EFFORTS = ("standard", "extended", "max")  # anything else: 422 (4)
STATES = ("none", "sent", "success")  # 3.7
MAX_TOKENS = 10_000  # issued tokens kept (each is used once)
TOKEN_EXPIRED = {"message": "Your authentication token has expired. Please try signing in again.",
                 "type": "invalid_request_error", "param": None, "code": "token_expired"}  # 9
UNUSUAL = "Unusual activity has been detected from your device. Try again later."  # 9, 403
HOME = ('<!DOCTYPE html><html data-build="c/emulated-build-7f3a/_"><head><meta charset="utf-8">'
        '<script src="https://cdn.oaistatic.com/assets/emu-a1b2c3.js"></script>'
        '<script src="https://cdn.oaistatic.com/assets/emu-d4e5f6.js"></script></head>'
        "<body><div id=\"root\"></div></body></html>")
MODELS = [("auto", "Auto", 32767), ("gpt-5", "GPT-5", 196608), ("gpt-5-thinking", "GPT-5 Thinking", 196608),
          ("gpt-5-instant", "GPT-5 Instant", 32767), ("gpt-4o", "GPT-4o", 32767), ("o3", "o3", 196608)]


class ChatGPTWeb(WireProtocol):
    name = "chatgpt"
    retry_after = "1"  # the 429's Retry-After (13 suggests 30; tests wait for it)

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.tokens: set[str] = {key}
        self.difficulty = POW_DIFFICULTY
        self.prepared: dict[str, tuple[str, str]] = {}  # prepare_token -> (seed, difficulty)
        self.requirements: dict[str, tuple[str, str] | str] = {}  # token -> PoW (legacy) or prepare_token
        self.conduits: dict[str, str] = {}  # conduit token -> the prepare state it answered
        self.routes[("GET", "/")] = self.home
        self.routes[("POST", SENTINEL)] = self.legacy_requirements
        self.routes[("POST", SENTINEL + "/prepare")] = self.prepare
        self.routes[("POST", SENTINEL + "/finalize")] = self.finalize
        self.routes[("POST", F_CONVERSATION + "/prepare")] = self.conversation_prepare
        self.routes[("POST", F_CONVERSATION)] = self.conversation
        self.routes[("POST", CONVERSATION)] = self.conversation
        self.routes[("GET", "/backend-api/models")] = self.models
        self.routes[("GET", "/backend-api/me")] = self.me

    # ---- protocol basics ----

    def authenticate(self, req: Request) -> Response | None:
        if req.route == "/":
            return None  # the homepage is a browser navigation, without a token
        got = bearer(req)
        if got is None:
            return json_response(401, {"detail": "Unauthorized"})
        if got not in self.tokens:
            return json_response(401, {"detail": TOKEN_EXPIRED})
        return None

    def error(self, status: int, message: str, kind: str = "invalid_request") -> Response:
        return json_response(status, {"detail": TOKEN_EXPIRED if kind == "auth" else message})

    def rate_limited(self) -> Response:
        resp = self.error(429, "You've reached our limit of messages per hour. Please try again later.")
        resp.headers["retry-after"] = self.retry_after
        return resp

    def server_error(self) -> Response:
        return self.error(500, "Something went wrong while processing your request (emulated).")

    # ---- homepage, models, me ----

    def home(self, req: Request) -> Response:
        return Response(200, {"content-type": "text/html; charset=utf-8"}, HOME.encode())

    def models(self, req: Request) -> Response:
        models = [{"slug": slug, "max_tokens": size, "title": title, "description": f"{title} (emulated)",
                   "tags": [], "capabilities": {}} for slug, title, size in MODELS]
        return json_response(200, {"models": models, "categories": [
            {"category": "gpt_5", "human_category_name": "GPT-5", "default_model": "auto"}],
            "default_model_slug": "auto"})

    def me(self, req: Request) -> Response:
        return json_response(200, {"object": "user", "id": "user-emulated", "email": "user@example.com",
                                   "name": "Emulated User"})

    # ---- sentinel (3.2, 3.3) ----

    def legacy_requirements(self, req: Request) -> Response:
        problem = self._check_p(req)
        if problem is not None:
            return problem
        token, seed = _token("gAAAAABn"), _seed()
        _keep(self.requirements, token, (seed, self.difficulty))
        checks = _checks(seed, self.difficulty)
        return json_response(200, {"persona": "chatgpt-paid", "token": token, **checks})

    def prepare(self, req: Request) -> Response:
        problem = self._check_p(req)
        if problem is not None:
            return problem
        prepare_token, seed = _token("gAAAAABo"), _seed()
        _keep(self.prepared, prepare_token, (seed, self.difficulty))
        return json_response(200, {"persona": "chatgpt-paid", "prepare_token": prepare_token,
                                   "token": _token("gAAAAABo"), **_checks(seed, self.difficulty),
                                   "so": {"required": False}, "force_login": False})

    def finalize(self, req: Request) -> Response:
        body = self.json_body(req)
        if isinstance(body, Response):
            return body
        pow_ = self.prepared.pop(str(body.get("prepare_token")), None)
        if pow_ is None:
            return self.error(400, "Invalid or expired prepare_token.")
        if not pow_ok(str(body.get("proofofwork") or ""), *pow_):
            return self.error(403, UNUSUAL)
        token = _token("gAAAAABo")
        _keep(self.requirements, token, str(body["prepare_token"]))
        return json_response(200, {"persona": "chatgpt-paid", "token": token, "expire_after": 540})

    def _check_p(self, req: Request) -> Response | None:
        body = self.json_body(req)
        if isinstance(body, Response):
            return body
        p = body.get("p")
        config = _config(p[7:]) if isinstance(p, str) and p.startswith("gAAAAAC") else None
        if config is None or len(config) < 18:  # 25 elements, 18 in xqdoo00o's variant (3.1)
            return self.error(422, "Invalid requirements token (p).")
        return None

    def _sentinel_problem(self, req: Request, consume: bool) -> Response | None:
        """3.4's headers: a requirements token we issued; its proof of work when it came from the
        one-step call; the matching prepare token when it came from finalize."""
        token = req.headers.get("openai-sentinel-chat-requirements-token", "")
        issued = self.requirements.get(token)
        if issued is None:
            return self.error(403, UNUSUAL)
        if isinstance(issued, tuple):
            if not pow_ok(req.headers.get("openai-sentinel-proof-token", ""), *issued):
                return self.error(403, UNUSUAL)
        elif req.headers.get("openai-sentinel-chat-requirements-prepare-token", issued) != issued:
            return self.error(403, UNUSUAL)
        if consume:
            del self.requirements[token]
        return None

    # ---- conversation ----

    def conversation_prepare(self, req: Request) -> Response:
        problem = self._sentinel_problem(req, consume=False)
        if problem is not None:
            return problem
        body = self.json_body(req)
        if isinstance(body, Response):
            return body
        state = body.get("client_prepare_state")
        if state not in STATES:
            return self.error(422, "Invalid client_prepare_state.")
        previous = STATES[STATES.index(state) - 1] if state != "none" else None
        conduit = req.headers.get("x-conduit-token")
        if previous is not None and self.conduits.pop(conduit or "", None) != previous:
            return self.error(400, "Missing or invalid conduit token.")
        if state != "none" and not isinstance(body.get("partial_query"), dict):
            return self.error(422, "partial_query is required once the query is sent.")
        token = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9." + secrets.token_urlsafe(24)
        _keep(self.conduits, token, state)
        return json_response(200, {"conduit_token": token})

    def conversation(self, req: Request) -> Response:
        problem = self._sentinel_problem(req, consume=False)
        if problem is not None:
            return problem
        conduit = req.headers.get("x-conduit-token", "")
        if req.route == F_CONVERSATION and self.conduits.get(conduit) != "success":
            return self.error(400, "Missing or invalid conduit token.")
        body = self.json_body(req)
        if isinstance(body, Response):
            return body
        invalid = _invalid_body(body)
        if invalid is not None:
            return self.error(422, invalid)
        self._sentinel_problem(req, consume=True)  # accepted: its tokens are spent
        self.conduits.pop(conduit, None)
        system, turn = read_conversation(body["messages"])
        decision = decide(turn)
        model = str(body.get("model") or "auto")
        hints = body.get("system_hints") or []
        thinking = (body.get("thinking_effort") in ("extended", "max") or "reason" in hints
                    or "thinking" in model)
        answer = Answer(model, body["messages"][-1], decision, answer_text(decision, trigger_of(system)),
                        thinking=thinking, memory="remember" in turn.prompt.lower())
        events = answer.v1() if "v1" in (body.get("supported_encodings") or []) else answer.cumulative()
        return Response(200, dict(SSE_HEADERS), list(events))


# ---- reading the request ----


def _invalid_body(body: dict[str, Any]) -> str | None:
    """4's checks: `action: next`, messages with ids/roles/text parts, a known thinking_effort."""
    if body.get("action") != "next":
        return "Invalid conversation body: only action 'next' is emulated."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "Invalid conversation body: messages are required."
    for m in messages:
        content = m.get("content") if isinstance(m, dict) else None
        if (not isinstance(m, dict) or not isinstance(m.get("id"), str)
                or not isinstance(m.get("author"), dict) or not isinstance(content, dict)
                or not isinstance(content.get("parts"), list)):
            return "Invalid conversation body: each message needs an id, an author and content parts."
    if body.get("thinking_effort", "standard") not in EFFORTS:
        return "Invalid conversation body"  # e.g. OpenAI's low/medium/high (4, aurora)
    if not isinstance(body.get("parent_message_id"), str):
        return "Invalid conversation body: parent_message_id is required."
    return None


def _text(message: dict[str, Any]) -> str:
    parts = message["content"]["parts"]
    return "".join(p for p in parts if isinstance(p, str))


def read_conversation(messages: list[dict[str, Any]]) -> tuple[str, Turn]:
    """The system text, and SCRIPT.md's view: tools from the system text, tool results from the
    last (user) message, the prompt from the last user message with text besides results."""
    roles = [(m["author"].get("role"), _text(m)) for m in messages]
    system = "\n\n".join(t for r, t in roles if r in ("system", "critic"))
    conversation = [(r, t) for r, t in roles if r not in ("system", "critic")]
    turn = Turn()
    read_tools(system, turn)
    if conversation and conversation[-1][0] == "user":
        turn.tool_results = tool_results(conversation[-1][1])
    prompts = (without_results(t) for r, t in reversed(conversation) if r == "user")
    turn.prompt = next((p for p in prompts if p), "")
    return system, turn


# ---- proof of work (3.5) ----


def fnv(text: str) -> str:
    h = 2166136261
    for c in text:
        h = ((h ^ ord(c)) * 16777619) & 0xFFFFFFFF
    h ^= h >> 16
    h = (h * 2246822507) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 3266489909) & 0xFFFFFFFF
    return "%08x" % (h ^ (h >> 16))


def pow_ok(answer: str, seed: str, difficulty: str) -> bool:
    """`gAAAAAB` + base64 config [+ `~S`] whose hash (chat2api's FNV or the legacy SHA3-512) has a
    hex prefix <= difficulty. Lenient about which hash, as 12.3 advises."""
    if not answer.startswith("gAAAAAB"):
        return False
    encoded = answer[7:].removesuffix("~S")
    if _config(encoded) is None:
        return False
    n = len(difficulty)
    sha3 = hashlib.sha3_512((seed + encoded).encode()).hexdigest()
    return fnv(seed + encoded)[:n] <= difficulty or sha3[:n] <= difficulty


def _config(encoded: str) -> list[Any] | None:
    try:
        value = json.loads(base64.b64decode(encoded.removesuffix("~S"), validate=True))
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def _checks(seed: str, difficulty: str) -> dict[str, Any]:
    return {"arkose": {"required": False, "dx": None}, "turnstile": {"required": False},
            "proofofwork": {"required": True, "seed": seed, "difficulty": difficulty}}


def _token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def _seed() -> str:
    return str(secrets.randbelow(10**16) / 10**16)


def _keep(store: dict[str, Any], key: str, value: Any) -> None:
    store[key] = value
    while len(store) > MAX_TOKENS:
        del store[next(iter(store))]

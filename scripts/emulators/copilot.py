"""Emulated GitHub Copilot (github-copilot.md 12): GitHub's device flow and token exchange, and CAPI.

GitHub (1):
POST /login/device/code              device code; verification_uri = this server's /login/device
GET|POST /login/device               the verification page: a form taking the user code (authorize/deny);
                                     tests may call `authorize(user_code)` / `deny(user_code)` instead
POST /login/oauth/access_token       200 with `authorization_pending` until authorised, `slow_down`
                                     (interval +5 s) when polled faster than the interval, `expired_token`,
                                     `access_denied`, then `{"access_token": "ghu_..."}` once
GET  /copilot_internal/v2/token      `authorization: token <gh>` -> the envelope, endpoints.api = this server
GET  /user, /copilot_internal/user   the login, the quota snapshot
CAPI (2-7), `Authorization: Bearer <minted Copilot token>` (expired -> 401 text/plain
`unauthorized: token expired`):
GET  /models                         chat, responses-only, Claude with /v1/messages, embeddings, a model
                                     awaiting consent, a duplicated id
POST /chat/completions               openai_chat's answer with CAPI's quirks: preamble, content filter
                                     results, usage always (trailing chunk for GPT, finish chunk for Claude),
                                     Claude's reasoning_text/reasoning_opaque and tool indexes from 1,
                                     whole answers without object/created, with padding, Claude tool calls
                                     in a choice of their own
POST /responses, POST /v1/messages   openai_responses' / anthropic_messages' answers (Anthropic model names)
Strict where bridges always comply [I]: Copilot-Integration-Id and Editor-Version are required, images
need Copilot-Vision-Request, a model must list the endpoint (400 model_not_supported otherwise).
The GitHub token accepted besides issued ones is the emulator key (the demo's pre-seeded login).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from typing import Iterable
from typing import Iterator
from urllib.parse import parse_qsl

from .anthropic_messages import AnthropicMessages
from .app import WireProtocol
from .httpserver import Request
from .httpserver import Response
from .openai_chat import OpenAIChat
from .openai_responses import OpenAIResponses
from .wire import SSE_DONE
from .wire import dumps
from .wire import effort_requested
from .wire import hex_id
from .wire import json_response
from .wire import new_id
from .wire import sse_data

CLIENT_ID = "Iv1.b507a08c87ecfe98"
GRANT = "urn:ietf:params:oauth:grant-type:device_code"
TEXT = {"content-type": "text/plain; charset=utf-8"}  # CAPI labels its JSON errors text/plain (8)
DOC = "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow"
CHAT, RESPONSES, MESSAGES = "/chat/completions", "/responses", "/v1/messages"
DEPLOYMENT = {"gpt-4.1": "gpt-4.1-2025-04-14", "gpt-4o": "gpt-4o-2024-11-20"}  # `model` in answers (3.2)
ANTHROPIC_NAME = {"claude-sonnet-4.5": "claude-sonnet-4-5-20250929", "claude-opus-4.6": "claude-opus-4-6",
                  "claude-sonnet-4": "claude-sonnet-4-20250514",
                  "claude-haiku-4.5": "claude-haiku-4-5-20251001"}
SAFE = {c: {"filtered": False, "severity": "safe"} for c in ("hate", "self_harm", "sexual", "violence")}
PROMPT_FILTER = [{"content_filter_results": SAFE, "prompt_index": 0}]


def _model(mid: str, vendor: str, endpoints: list[str] | None, kind: str = "chat", state: str = "enabled",
           **supports: Any) -> dict[str, Any]:
    caps = {"family": mid, "object": "model_capabilities", "tokenizer": "o200k_base", "type": kind,
            "limits": {"max_context_window_tokens": 200000, "max_output_tokens": 32000,
                       "max_prompt_tokens": 128000},
            "supports": {"streaming": True, "tool_calls": True, "parallel_tool_calls": True, **supports}}
    entry = {"id": mid, "name": mid, "object": "model", "vendor": vendor, "version": mid, "preview": False,
             "capabilities": caps, "model_picker_enabled": kind == "chat", "is_chat_default": False,
             "policy": {"state": state, "terms": "..."},
             "billing": {"is_premium": vendor == "Anthropic", "multiplier": 1}}
    if endpoints is not None:
        entry["supported_endpoints"] = endpoints
    return entry


MODELS = [
    _model("gpt-4.1", "Azure OpenAI", None, vision=True),  # no supported_endpoints: chat only (2)
    _model("gpt-4o", "Azure OpenAI", None, vision=True),
    _model("gpt-4o", "Azure OpenAI", None, vision=True),  # the capture lists some ids twice (7)
    _model("gpt-5-mini", "Azure OpenAI", [CHAT, RESPONSES], reasoning_effort=["low", "medium", "high"]),
    _model("gpt-5.1-codex", "OpenAI", [RESPONSES, "ws:/responses"],
           reasoning_effort=["low", "medium", "high"]),
    _model("claude-sonnet-4.5", "Anthropic", [CHAT, MESSAGES], vision=True, min_thinking_budget=1024,
           max_thinking_budget=32000),
    _model("claude-sonnet-4", "Anthropic", [CHAT], vision=True),
    _model("claude-opus-4.6", "Anthropic", [CHAT, MESSAGES], vision=True, adaptive_thinking=True),
    _model("claude-haiku-4.5", "Anthropic", [CHAT, MESSAGES], vision=True),
    _model("gemini-2.5-pro", "Google", [CHAT]),
    _model("claude-opus-41", "Anthropic", [CHAT], state="requires_consent"),
    _model("text-embedding-3-small", "Azure OpenAI", None, kind="embeddings"),
]
ENDPOINTS = {m["id"]: m.get("supported_endpoints", [CHAT]) for m in MODELS
             if m["capabilities"]["type"] == "chat"}


@dataclass
class Device:
    user_code: str
    expires: float
    interval: float
    last_poll: float
    state: str = "pending"  # pending | approved | denied | used


class Copilot(WireProtocol):
    name = "copilot"

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.interval, self.device_lifetime = 5.0, 899  # 1.1
        self.token_lifetime, self.refresh_in = 1800, 1500  # 1.2
        self.devices: dict[str, Device] = {}  # device code -> state
        self.github_tokens = {key}
        self.copilot_tokens: dict[str, float] = {}  # minted token -> expiry
        self.no_copilot: set[str] = set()  # GitHub tokens of users without a Copilot subscription
        # the shared protocol modules answer; this module reshapes their answers the CAPI way
        self.chat, self.responses = OpenAIChat(key), OpenAIResponses(key)
        self.messages = AnthropicMessages(key)
        self.routes.update({
            ("POST", "/login/device/code"): self.device_code, ("GET", "/login/device"): self.verify_page,
            ("POST", "/login/device"): self.verify, ("POST", "/login/oauth/access_token"): self.access_token,
            ("GET", "/copilot_internal/v2/token"): self.copilot_token, ("GET", "/user"): self.user,
            ("GET", "/copilot_internal/user"): self.quota, ("GET", "/models"): self.models,
            ("POST", CHAT): self.chat_completions, ("POST", RESPONSES): self.create_response,
            ("POST", MESSAGES): self.create_message,
        })

    # ---------------------------------------------------------------- errors and credentials

    def error(self, status: int, message: str, kind: str = "invalid_request",
              code: str | None = None) -> Response:
        codes = {"rate_limit": "rate_limited", "server": "internal_error", "not_found": "not_found"}
        err = {"message": message, "code": code or codes.get(kind, "invalid_request_body")}
        return Response(status, dict(TEXT), dumps({"error": err}))

    def rate_limited(self) -> Response:
        resp = self.error(429, "Sorry, you've exceeded your rate limits. Please review our Terms of Service.",
                          "rate_limit", "user_model_rate_limited")
        resp.headers.update({"retry-after": "1", "x-ratelimit-exceeded": "user_model_rate_limited"})
        return resp

    def authenticate(self, req: Request) -> Response | None:
        route = req.route
        if route.startswith("/login/"):
            return None
        if route in ("/copilot_internal/v2/token", "/user", "/copilot_internal/user"):
            scheme, _, token = req.headers.get("authorization", "").partition(" ")
            if scheme.lower() in ("token", "bearer") and token.strip() in self.github_tokens:
                return None
            return json_response(401, {"message": "Bad credentials", "documentation_url":
                                       "https://docs.github.com/rest", "status": "401"})
        auth = req.headers.get("authorization", "")
        expiry = self.copilot_tokens.get(auth[7:].strip()) if auth[:7].lower() == "bearer " else None
        if expiry is None:
            return Response(401, dict(TEXT), b"unauthorized: invalid token")
        if expiry <= time.time():
            return Response(401, dict(TEXT), b"unauthorized: token expired")  # 8, quirk 1
        return None

    # ---------------------------------------------------------------- GitHub (1)

    def device_code(self, req: Request) -> Response:
        form = _form(req)
        if form.get("client_id") != CLIENT_ID:
            return _oauth("unauthorized_client", "unknown client_id")
        code, user_code = secrets.token_hex(20), "-".join(new_id("", 4).upper() for _ in range(2))
        now = time.time()
        self.devices[code] = Device(user_code, now + self.device_lifetime, self.interval, now)
        return json_response(200, {"device_code": code, "user_code": user_code,
                                   "verification_uri": f"http://{req.headers.get('host')}/login/device",
                                   "expires_in": self.device_lifetime, "interval": self.interval})

    def authorize(self, user_code: str, state: str = "approved") -> bool:
        """The user typed the code on github.com/login/device and authorised (or denied) the app."""
        for device in self.devices.values():
            if device.user_code == user_code.strip().upper() and device.state == "pending":
                device.state = state
                return True
        return False

    def deny(self, user_code: str) -> bool:
        return self.authorize(user_code, "denied")

    def verify_page(self, req: Request) -> Response:
        return _html("<h1>Device Activation</h1><form method=post><input name=user_code autofocus> "
                     "<button name=action value=authorize>Authorize</button> "
                     "<button name=action value=deny>Deny</button></form>")

    def verify(self, req: Request) -> Response:
        form = _form(req)
        state = "denied" if form.get("action") == "deny" else "approved"
        done = self.authorize(form.get("user_code", ""), state)
        return _html("<h1>Congratulations, you're all set!</h1>" if done else "<h1>Invalid code</h1>",
                     200 if done else 404)

    def access_token(self, req: Request) -> Response:
        """1.1: HTTP 200 for pending and errors alike."""
        form, now = _form(req), time.time()
        device = self.devices.get(form.get("device_code", ""))
        if form.get("client_id") != CLIENT_ID:
            return _oauth("incorrect_client_credentials", "The client_id is not valid.")
        if form.get("grant_type") != GRANT:
            return _oauth("unsupported_grant_type", "The grant type is not supported.")
        if device is None or device.state == "used":
            return _oauth("incorrect_device_code", "The device_code provided is not valid.")
        if now > device.expires:
            return _oauth("expired_token", "The device_code has expired.")
        too_fast, device.last_poll = now - device.last_poll < device.interval, now
        if too_fast:
            device.interval += 5
            return _oauth("slow_down", "Too many requests have been made in the same timeframe.",
                          interval=device.interval)
        if device.state == "denied":
            return _oauth("access_denied", "The authorization request was denied.")
        if device.state == "pending":
            return _oauth("authorization_pending", "The authorization request is still pending.")
        device.state = "used"
        token = "ghu_" + new_id("", 36)
        self.github_tokens.add(token)
        return json_response(200, {"access_token": token, "token_type": "bearer", "scope": ""})

    def copilot_token(self, req: Request) -> Response:
        github = req.headers["authorization"].partition(" ")[2].strip()
        if github in self.no_copilot:
            message = "You don't have access to GitHub Copilot."
            details = {"notification_id": "no_copilot_access", "message": message, "title": "GitHub Copilot"}
            return json_response(403, {"can_signup_for_limited": True, "message": message,
                                       "error_details": details})
        exp = int(time.time()) + self.token_lifetime
        tid = secrets.token_hex(16)
        token = (f"tid={tid};exp={exp};sku=monthly_subscriber_quota;"
                 f"proxy-ep=proxy.individual.githubcopilot.com;st=dotcom;chat=1;8kp=1:{secrets.token_hex(32)}")
        self.copilot_tokens[token] = float(exp)
        own = f"http://{req.headers.get('host')}"
        return json_response(200, {"annotations_enabled": True, "chat_enabled": True, "expires_at": exp,
                                   "endpoints": {"api": own, "proxy": own, "telemetry": own + "/telemetry"},
                                   "individual": True, "refresh_in": self.refresh_in, "token": token,
                                   "sku": "monthly_subscriber_quota", "tracking_id": tid,
                                   "organization_list": []})

    def user(self, req: Request) -> Response:
        return json_response(200, {"login": "octocat", "id": 583231, "type": "User"})

    def quota(self, req: Request) -> Response:
        snap = {"entitlement": 300, "percent_remaining": 42.3, "quota_id": "premium_interactions",
                "remaining": 126, "unlimited": False, "overage_permitted": False, "overage_count": 0}
        return json_response(200, {"copilot_plan": "individual", "chat_enabled": True,
                                   "quota_snapshots": {"premium_interactions": snap}})

    # ---------------------------------------------------------------- CAPI (2-7)

    def models(self, req: Request) -> Response:
        return json_response(200, {"object": "list", "data": MODELS})

    def checked(self, req: Request, endpoint: str) -> dict[str, Any] | Response:
        body = self.json_body(req)
        if isinstance(body, Response):
            return body
        for header in ("copilot-integration-id", "editor-version"):
            if not req.headers.get(header):
                return self.error(400, f"missing required header {header}")
        model = body.get("model")
        if model not in ENDPOINTS:
            return self.error(400, "The requested model is not supported.", code="model_not_supported")
        if endpoint not in ENDPOINTS[model]:
            return self.error(400, "Model is not supported for this request.", code="model_not_supported")
        if _has_image(body) and req.headers.get("copilot-vision-request") != "true":
            return self.error(400, "missing required Copilot-Vision-Request header for vision requests")
        return body

    def chat_completions(self, req: Request) -> Response:
        body = self.checked(req, CHAT)
        if isinstance(body, Response):
            return body
        model, claude = body["model"], body["model"].startswith(("claude", "gemini"))  # reasoning_text models
        thinks = effort_requested(body.get("reasoning_effort")) or (body.get("thinking_budget") or 0) > 0
        # openai_chat answers; CAPI always reports usage; only Claude/Gemini stream their reasoning (3.3)
        inner = {**body, "reasoning_effort": "medium" if claude and thinks else None,
                 "stream_options": {"include_usage": True}}
        resp = self.chat.completions(Request(req.method, req.path, req.headers, dumps(inner)))
        if resp.status != 200:
            return resp
        if body.get("stream"):
            resp.body = list(_stream(resp.body, model, claude))  # type: ignore[arg-type]
        else:
            resp.body = dumps(_whole(json.loads(resp.body), model, claude))  # type: ignore[arg-type]
        resp.headers.update({"x-request-id": req.headers.get("x-request-id", ""), "x-github-request-id":
                             hex_id("", 8).upper()})
        return resp

    def create_response(self, req: Request) -> Response:
        body = self.checked(req, RESPONSES)
        return body if isinstance(body, Response) else self.responses.create(req)

    def create_message(self, req: Request) -> Response:
        body = self.checked(req, MESSAGES)
        if isinstance(body, Response):
            return body
        if body["messages"] and body["messages"][-1].get("role") == "assistant":
            return self.error(400, "This model does not support assistant message prefill.")  # 5
        # the answer names the model the Anthropic way (5)
        inner = {**body, "model": ANTHROPIC_NAME.get(body["model"], body["model"])}
        return self.messages.messages(Request(req.method, req.path, req.headers, dumps(inner)))


# ---------------------------------------------------------------- CAPI's chat quirks (3.2, 3.3)


def _stream(chunks: Iterable[bytes], model: str, claude: bool) -> Iterator[bytes]:
    """openai_chat's chunks re-shaped as CAPI sends them."""
    if not claude:  # Azure-hosted models open with an empty-choices preamble (quirk 1)
        yield sse_data({"choices": [], "created": 0, "id": "", "prompt_filter_results": PROMPT_FILTER})
    events = [json.loads(c[len(b"data: "):]) for c in chunks if c != SSE_DONE]
    usage = next((e["usage"] for e in events if not e["choices"] and e.get("usage")), None)
    thinking = False
    for e in events:
        for key in ("service_tier", "system_fingerprint") if claude else ("service_tier",):
            e.pop(key, None)
        e["model"] = DEPLOYMENT.get(model, model)
        if not e["choices"]:
            if not claude:
                yield sse_data(e)  # usage on a trailing choices:[] chunk (GPT, quirk 6)
            continue
        choice = e["choices"][0]
        choice["content_filter_results"] = {}
        delta = choice["delta"]
        if claude:
            e.pop("object", None)
            e["usage"] = usage if choice.get("finish_reason") else None  # on the finish chunk (Claude)
            if "reasoning_content" in delta:
                delta["reasoning_text"] = delta.pop("reasoning_content")
                thinking = True
            elif thinking:  # the opaque signature arrives once, after the reasoning (quirk 8)
                thinking = False
                yield sse_data({"choices": [{"index": 0, "delta": {"reasoning_opaque": _opaque()}}],
                                "created": e["created"], "id": e["id"], "model": model})
            for tc in delta.get("tool_calls") or ():
                tc["index"] += 1  # Anthropic block numbering leaks through (quirk 7)
        yield sse_data(e)
    yield SSE_DONE


def _whole(obj: dict[str, Any], model: str, claude: bool) -> dict[str, Any]:
    """No object/created, padding in the message, content absent beside tool calls; Claude puts its
    tool calls in a choice of their own and its reasoning in reasoning_text/reasoning_opaque (3.2)."""
    for key in ("object", "created", "service_tier"):
        obj.pop(key, None)
    obj["model"], obj["prompt_filter_results"] = DEPLOYMENT.get(model, model), PROMPT_FILTER
    choice = obj["choices"][0]
    msg = {k: v for k, v in choice["message"].items()
           if v is not None and k not in ("refusal", "annotations")}
    msg["padding"] = new_id("", 26).lower()
    if claude and "reasoning_content" in msg:
        msg["reasoning_text"], msg["reasoning_opaque"] = msg.pop("reasoning_content"), _opaque()
    choices = [{"index": 0, "finish_reason": choice["finish_reason"], "content_filter_results": {},
                "message": msg}]
    if claude and "tool_calls" in msg:
        calls = msg.pop("tool_calls")
        choices[0]["finish_reason"] = "stop"
        choices.append({"index": 1, "finish_reason": "tool_calls",
                        "message": {"role": "assistant", "tool_calls": calls}})
    obj["choices"] = choices
    return obj


def _opaque() -> str:
    return "EmuOpaque" + base64.b64encode(secrets.token_bytes(36)).decode()


def _has_image(node: Any) -> bool:
    if isinstance(node, dict):
        if node.get("type") in ("image_url", "input_image", "image"):
            return True
        return any(map(_has_image, node.values()))
    return isinstance(node, list) and any(map(_has_image, node))


def _form(req: Request) -> dict[str, str]:
    """JSON or form-encoded bodies (1.1)."""
    try:
        obj = json.loads(req.body or b"{}")
        return {str(k): str(v) for k, v in obj.items()} if isinstance(obj, dict) else {}
    except ValueError:
        return dict(parse_qsl(req.body.decode("utf-8", "replace")))


def _oauth(error: str, description: str, **extra: Any) -> Response:
    return json_response(200, {"error": error, "error_description": description, "error_uri": DOC, **extra})


def _html(body: str, status: int = 200) -> Response:
    page = f"<!doctype html><html><head><title>GitHub</title></head><body>{body}</body></html>"
    return Response(status, {"content-type": "text/html; charset=utf-8"}, page.encode())

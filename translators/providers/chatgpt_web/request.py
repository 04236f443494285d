"""Requests to the ChatGPT web backend (chatgpt-web.md 2-4, 8): the homepage bootstrap, the sentinel
calls, the conversation prepare calls, the conversation itself and the model list. Pure: the
runtime (addons/providers/chatgpt_web.py) sends what these functions build, in that order.

The conversation context is the whole history in `messages` (each with its own id), a fresh
`parent_message_id` and no `conversation_id`: a new conversation each call, as every bridge does
(4, field notes). Options (provider `options`, all optional): `conversation: f | legacy` (the
`/f/conversation` endpoint with its prepare calls, or the older `/backend-api/conversation`),
`delta_encoding` (default true: v1 deltas; false: the cumulative format), `temporary` (default true:
`history_and_training_disabled`, nothing saved in the account's history), `timezone`,
`timezone_offset_min`, `language`, `user_agent`, `headers` (extra headers, e.g. cookies)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from typing import Mapping
from typing import Sequence

import orjson

from translators import ir
from translators.dialects.common import budget_to_effort
from translators.errors import TranslationError
from translators.providers.base import UpstreamCall

BASE_URL = "https://chatgpt.com"
HOME_PATH = "/"
SENTINEL_PATH = "/backend-api/sentinel/chat-requirements"  # legacy one-step (3.3)
PREPARE_PATH = SENTINEL_PATH + "/prepare"  # two-step (3.2)
FINALIZE_PATH = SENTINEL_PATH + "/finalize"
F_CONVERSATION_PATH = "/backend-api/f/conversation"  # current (2, 3.7)
F_PREPARE_PATH = F_CONVERSATION_PATH + "/prepare"
CONVERSATION_PATH = "/backend-api/conversation"  # legacy, still accepted (2)
MODELS_PATH = "/backend-api/models?history_and_training_disabled=false"  # 8
PREPARE_STATES = ("none", "sent", "success")  # 3.7

USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/146.0.0.0 Safari/537.36")
CLIENT_VERSION = "prod-81e0c5cdf6140e8c5db714d613337f4aeab94029"
BUILD_NUMBER = "6128297"
BROWSER_HEADERS = {  # 2.1
    "accept": "*/*", "accept-language": "en-US,en;q=0.9", "origin": "https://chatgpt.com",
    "referer": "https://chatgpt.com/", "priority": "u=1, i",
    "sec-ch-ua": '"Chromium";v="146", "Not-A.Brand";v="24", "Microsoft Edge";v="146"',
    "sec-ch-ua-arch": '"x86"', "sec-ch-ua-bitness": '"64"', "sec-ch-ua-mobile": "?0", "sec-ch-ua-model": '""',
    "sec-ch-ua-platform": '"Windows"', "sec-fetch-dest": "empty", "sec-fetch-mode": "cors",
    "sec-fetch-site": "same-origin",
}
NAVIGATION_HEADERS = {  # the homepage is a browser navigation (2, bootstrap)
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-language": "en-US,en;q=0.9", "sec-fetch-dest": "document", "sec-fetch-mode": "navigate",
    "sec-fetch-site": "none", "sec-fetch-user": "?1", "upgrade-insecure-requests": "1",
}
SENTINEL_HEADERS = (  # 3.4: ctx["sentinel"] key -> header
    ("token", "openai-sentinel-chat-requirements-token"),
    ("prepare_token", "openai-sentinel-chat-requirements-prepare-token"),
    ("proof", "openai-sentinel-proof-token"),
    ("turnstile", "openai-sentinel-turnstile-token"),
    ("so", "openai-sentinel-so-token"),
)
# 4: only standard/extended/max are accepted (others: 422); aurora's mapping of OpenAI's efforts
EFFORTS = {"none": "standard", "minimal": "standard", "low": "standard", "medium": "extended",
           "high": "max", "xhigh": "max", "max": "max"}
OMITTED_IMAGE = "[image omitted]"  # images need the file upload flow (2), which is not done
CLIENT_INFO = {"is_dark_mode": False, "time_since_loaded": 1200, "page_height": 1072, "page_width": 1724,
               "pixel_ratio": 1.2, "screen_height": 1440, "screen_width": 2560, "app_name": "chatgpt.com"}

_SCRIPT = re.compile(r"""<script[^>]+src=["']([^"']+)["']""", re.I)
_BUILD = re.compile(r"""data-build=["']([^"']+)["']""", re.I)
_BUILD_PATH = re.compile(r"c/[A-Za-z0-9_-]+/_")


# ---- credentials and headers ----


def token(ctx: Mapping[str, Any]) -> str:
    value = ctx.get("api_key") or ctx.get("access_token")
    if not isinstance(value, str) or not value:
        raise TranslationError("No ChatGPT access token is configured for this account (api_key).",
                               kind="authentication")
    return value




def base_url(ctx: Mapping[str, Any]) -> str:
    return str(ctx.get("base_url") or BASE_URL).rstrip("/")


def headers(ctx: Mapping[str, Any], auth: bool = True) -> dict[str, str]:
    """2.1's headers; `authorization` and `chatgpt-account-id` for authenticated calls."""
    device = str(ctx.get("device_id") or "")
    out = {**BROWSER_HEADERS, "user-agent": str(ctx.get("user_agent") or USER_AGENT),
           "oai-language": str(ctx.get("language") or "en-US"), "oai-client-version": CLIENT_VERSION,
           "oai-client-build-number": BUILD_NUMBER}
    if device:
        out["oai-device-id"], out["cookie"] = device, f"oai-did={device}"
    if ctx.get("session_id"):
        out["oai-session-id"] = str(ctx["session_id"])
    if auth:
        out["authorization"] = f"Bearer {token(ctx)}"
        if ctx.get("account_id"):
            out["chatgpt-account-id"] = str(ctx["account_id"])
    extra = ctx.get("headers")
    if isinstance(extra, Mapping):
        out.update({str(k).lower(): str(v) for k, v in extra.items()})
    return out


def sentinel_headers(ctx: Mapping[str, Any]) -> dict[str, str]:
    found = ctx.get("sentinel")
    sentinel = found if isinstance(found, Mapping) else {}
    return {name: str(sentinel[key]) for key, name in SENTINEL_HEADERS if sentinel.get(key)}


def _json_call(ctx: Mapping[str, Any], path: str, body: Any,
               extra: Mapping[str, str] | None = None) -> UpstreamCall:
    hdrs = {**headers(ctx), "content-type": "application/json", **(extra or {})}
    return UpstreamCall(base_url(ctx) + path, orjson.dumps(body), hdrs, streams=False)


# ---- homepage bootstrap (2): script URLs and the build id for the fingerprint (3.1) ----


@dataclass(frozen=True, slots=True)
class HomeInfo:
    scripts: tuple[str, ...] = ()
    build: str | None = None


def home_call(ctx: Mapping[str, Any]) -> UpstreamCall:
    hdrs = {**NAVIGATION_HEADERS, "user-agent": str(ctx.get("user_agent") or USER_AGENT)}
    return UpstreamCall(base_url(ctx) + HOME_PATH, b"", hdrs, method="GET", streams=False)


def parse_home(html: bytes) -> HomeInfo:
    text = html.decode("utf-8", "replace")
    attr, path = _BUILD.search(text), _BUILD_PATH.search(text)
    build = attr.group(1) if attr else path.group(0) if path else None
    return HomeInfo(tuple(dict.fromkeys(_SCRIPT.findall(text))), build)


# ---- sentinel (3.2, 3.3) ----


def requirements_call(ctx: Mapping[str, Any], p: str, two_step: bool = True) -> UpstreamCall:
    path = PREPARE_PATH if two_step else SENTINEL_PATH
    return _json_call(ctx, path, {"p": p}, {"x-openai-target-path": path, "x-openai-target-route": path})


def finalize_call(ctx: Mapping[str, Any], prepare_token: str, proof: str | None,
                  turnstile: str | None = None) -> UpstreamCall:
    body: dict[str, Any] = {"prepare_token": prepare_token}
    if proof:
        body["proofofwork"] = proof
    if turnstile:
        body["turnstile"] = turnstile
    extra = {"x-openai-target-path": FINALIZE_PATH, "x-openai-target-route": FINALIZE_PATH}
    return _json_call(ctx, FINALIZE_PATH, body, extra)


# ---- the conversation (3.7, 4) ----


def uses_f(ctx: Mapping[str, Any]) -> bool:
    return str(ctx.get("conversation") or "f") != "legacy"


def new_uuid(ids: ir.Ids) -> str:
    """A UUID (v4 layout) from the flow's id source: the backend wants UUIDs, translators may not
    draw random numbers."""
    h = hashlib.sha256(ids.new("chatgpt-").encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"


def thinking_effort(r: ir.Reasoning | None) -> str:
    if r is None or r.mode == "disabled":
        return "standard"
    effort = r.effort or (budget_to_effort(r.budget) if r.budget else None)
    return EFFORTS.get(effort.lower(), "standard") if effort else "standard"


def wants_reasoning(r: ir.Reasoning | None) -> bool:
    return r is not None and r.mode != "disabled" and (r.effort or "").lower() != "none"


def _common(req: ir.ChatRequest, model: str, ctx: Mapping[str, Any]) -> dict[str, Any]:
    """The fields the prepare calls and the conversation share."""
    slug = model.rsplit("/", 1)[-1] or "auto"
    return {"model": slug, "timezone_offset_min": _int(ctx.get("timezone_offset_min"), 0),
            "timezone": str(ctx.get("timezone") or "UTC"), "conversation_mode": {"kind": "primary_assistant"},
            # `reason` turns thinking on for the `auto` model (4, aurora)
            "system_hints": ["reason"] if slug == "auto" and wants_reasoning(req.reasoning) else [],
            "supports_buffering": True,
            "supported_encodings": ["v1"] if ctx.get("delta_encoding", True) is not False else [],
            "thinking_effort": thinking_effort(req.reasoning)}


def prepare_call(req: ir.ChatRequest, model: str, ctx: Mapping[str, Any], state: str, conduit: str | None,
                 query_id: str) -> UpstreamCall:
    """One of the three `/f/conversation/prepare` calls (3.7); `partial_query` from `sent` on."""
    body: dict[str, Any] = {"action": "next", "fork_from_shared_post": False,
                            "parent_message_id": "client-created-root", "client_prepare_state": state,
                            **_common(req, model, ctx), "client_contextual_info": {"app_name": "chatgpt.com"}}
    if state != "none":
        body["partial_query"] = _message(query_id, "user", last_user_text(req))
    extra = {**sentinel_headers(ctx), "x-openai-target-path": F_PREPARE_PATH,
             "x-openai-target-route": F_PREPARE_PATH}
    if conduit:
        extra["x-conduit-token"] = conduit
    return _json_call(ctx, F_PREPARE_PATH, body, extra)


def parse_conduit(obj: Any) -> str:
    found = obj.get("conduit_token") if isinstance(obj, dict) else None
    if not isinstance(found, str) or not found:
        raise TranslationError("ChatGPT's conversation prepare answer carries no conduit_token.",
                               kind="api_error", status=502)
    return found


def build(req: ir.ChatRequest, model: str, ctx: Mapping[str, Any], ids: ir.Ids) -> UpstreamCall:
    if not sentinel_headers(ctx).get("openai-sentinel-chat-requirements-token"):
        raise TranslationError("No ChatGPT chat-requirements token was obtained for this request.",
                               kind="api_error")
    f = uses_f(ctx)
    body: dict[str, Any] = {"action": "next", "messages": messages(req, ids),
                            "parent_message_id": new_uuid(ids), **_common(req, model, ctx)}
    if f:
        body["client_prepare_state"] = "success"
    body.update({
        "enable_message_followups": True, "suggestions": [],
        "history_and_training_disabled": ctx.get("temporary", True) is not False,
        "force_use_sse": True, "face_use_sse": False, "force_paragen": False, "force_paragen_model_slug": "",
        "force_rate_limit": False, "reset_rate_limits": False, "variant_purpose": "comparison_implicit",
        "websocket_request_id": new_uuid(ids), "client_contextual_info": CLIENT_INFO,
        "paragen_cot_summary_display_override": "allow", "force_parallel_switch": "auto"})
    hdrs = {**headers(ctx), "accept": "text/event-stream", "content-type": "application/json",
            **sentinel_headers(ctx), "x-oai-turn-trace-id": new_uuid(ids)}
    if f:
        hdrs.update({"oai-echo-logs": "0,943,1,65876,0,68124,1,68930", "oai-telemetry": "[1,null]"})
        if ctx.get("conduit_token"):
            hdrs["x-conduit-token"] = str(ctx["conduit_token"])
    path = F_CONVERSATION_PATH if f else CONVERSATION_PATH
    return UpstreamCall(base_url(ctx) + path, orjson.dumps(body), hdrs)


def messages(req: ir.ChatRequest, ids: ir.Ids) -> list[dict[str, Any]]:
    """The history as 4's messages: one leading `system` message for the system prompt (aurora), each
    turn with its role (developer -> system), content flattened to text (10.1 step 4)."""
    out = []
    system = flatten(req.system)
    if system:
        out.append(_message(new_uuid(ids), "system", system))
    for m in req.messages:
        text = flatten(m.content)
        if text:
            out.append(_message(new_uuid(ids), "system" if m.role == "developer" else m.role, text))
    if not any(m["author"]["role"] == "user" for m in out):
        raise TranslationError("The conversation has no user message to send to ChatGPT.", param="messages")
    return out


def _message(mid: str, role: str, text: str) -> dict[str, Any]:
    return {"id": mid, "author": {"role": role}, "content": {"content_type": "text", "parts": [text]}}


def last_user_text(req: ir.ChatRequest) -> str:
    texts = (flatten(m.content) for m in reversed(req.messages) if m.role == "user")
    return next((t for t in texts if t), "")


def flatten(blocks: Sequence[ir.Block]) -> str:
    """Text of a turn. Tool traffic arrives as text already (the gateway's prompt_tools); reasoning
    of earlier turns is not sent back."""
    parts: list[str] = []
    for b in blocks:
        if isinstance(b, ir.Text):
            parts.append(b.text)
        elif isinstance(b, ir.Document) and b.text is not None:
            parts.append(b.text)
        elif isinstance(b, (ir.Image, ir.Document, ir.Audio)):
            parts.append(OMITTED_IMAGE if isinstance(b, ir.Image) else "[attachment omitted]")
        elif isinstance(b, ir.ToolUse):
            parts.append(f"[tool call {b.name} {b.arguments}]")
        elif isinstance(b, ir.ToolResult):
            parts.append(flatten(b.content))
    return "\n".join(p for p in parts if p)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# ---- model list (8) ----


def models_call(ctx: Mapping[str, Any]) -> UpstreamCall:
    return UpstreamCall(base_url(ctx) + MODELS_PATH, b"", headers(ctx), method="GET", streams=False)


def parse_models(obj: Any) -> list[str]:
    """Each unique `models[].slug` (basketikun)."""
    found = obj.get("models") if isinstance(obj, dict) else None
    slugs = [m.get("slug") for m in found if isinstance(m, dict)] if isinstance(found, list) else []
    return list(dict.fromkeys(s for s in slugs if isinstance(s, str) and s))

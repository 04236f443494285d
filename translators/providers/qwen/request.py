"""Requests to the chat.qwen.ai web API v2 (qwen.md Part A): the chat to create first, the
completion body, the model list call. Pure: the runtime sends what these functions build."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from typing import Mapping
from urllib.parse import quote

import orjson

from translators import ir
from translators.dialects.common import effort_to_budget
from translators.errors import TranslationError
from translators.providers.base import UpstreamCall

BASE_URL = "https://chat.qwen.ai"
NEW_CHAT_PATH = "/api/v2/chats/new"  # A2.1
COMPLETIONS_PATH = "/api/v2/chat/completions"  # A2, chat_id in the query string (A7.2)
MODELS_PATH = "/api/models"  # A6
SIGNIN_PATH = "/api/v1/auths/signin"  # A1.2
MAX_THINKING_BUDGET = 81920  # A2.2 field notes
# Qwen2API's derived ids (A6): stripped before calling upstream, each turning a feature on.
SUFFIXES = {"-thinking": (True, False), "-search": (False, True)}
OMITTED_IMAGE = "[image omitted]"  # data URLs would need the STS + OSS upload (A8): not done


@dataclass(frozen=True, slots=True)
class ModelSpec:
    model: str
    thinking: bool = False
    search: bool = False

    @property
    def chat_type(self) -> str:
        return "search" if self.search else "t2t"


def model_spec(name: str) -> ModelSpec:
    """`qwen3-235b-a22b-thinking-search` -> the upstream id and the features its suffixes ask for."""
    name = name.rsplit("/", 1)[-1]
    thinking = search = False
    stripped = True
    while stripped:
        stripped = False
        for suffix, (think, find) in SUFFIXES.items():
            if name.endswith(suffix) and len(name) > len(suffix):
                name, stripped = name[: -len(suffix)], True
                thinking, search = thinking or think, search or find
    return ModelSpec(name, thinking, search)


def token(ctx: Mapping[str, Any]) -> str:
    value = ctx.get("api_key") or ctx.get("token")
    if not isinstance(value, str) or not value:
        raise TranslationError("No chat.qwen.ai token is configured for this account (api_key).",
                               kind="authentication")
    return value




def headers(ctx: Mapping[str, Any], accept: str = "application/json") -> dict[str, str]:
    """Only Authorization is required (A1 anti-bot note); `source: web` is what the web app sends.
    Provider option `headers` adds the WAF headers (bx-ua, cookies...) a deployment may need."""
    out = {"authorization": f"Bearer {token(ctx)}", "content-type": "application/json", "accept": accept,
           "source": "web"}
    extra = ctx.get("headers")
    if isinstance(extra, Mapping):
        out.update({str(k).lower(): str(v) for k, v in extra.items()})
    return out


def base_url(ctx: Mapping[str, Any]) -> str:
    return str(ctx.get("base_url") or BASE_URL).rstrip("/")


# ---- the chat, created before each completion (A2.1, A7.1) ----


def new_chat_call(ctx: Mapping[str, Any], model: str, now_ms: int) -> UpstreamCall:
    spec = model_spec(model)
    body = {"title": "New Chat", "models": [spec.model], "chat_mode": "normal", "chat_type": spec.chat_type,
            "timestamp": now_ms}
    return UpstreamCall(base_url(ctx) + NEW_CHAT_PATH, orjson.dumps(body), headers(ctx), streams=False)


def models_call(ctx: Mapping[str, Any]) -> UpstreamCall:
    """The model list; the bearer is optional there (A6), sent when the account has one."""
    hdrs = headers(ctx) if ctx.get("api_key") or ctx.get("token") else {"accept": "application/json"}
    return UpstreamCall(base_url(ctx) + MODELS_PATH, b"", hdrs, method="GET", streams=False)


def signin_call(ctx: Mapping[str, Any], email: str, password: str) -> UpstreamCall:
    """Password login (A1.2): the password travels as its lowercase hex SHA-256."""
    body = orjson.dumps({"email": email, "password": hashlib.sha256(password.encode()).hexdigest()})
    return UpstreamCall(base_url(ctx) + SIGNIN_PATH, body, {"content-type": "application/json"},
                        streams=False)


# ---- the completion (A2.2) ----


def build(req: ir.ChatRequest, model: str, ctx: Mapping[str, Any], ids: ir.Ids) -> UpstreamCall:
    chat_id = ctx.get("chat_id")
    if not isinstance(chat_id, str) or not chat_id:
        raise TranslationError("No Qwen chat was created for this request.", kind="api_error")
    spec = model_spec(model)
    thinking = spec.thinking or wants_reasoning(req.reasoning)
    now = ids.now()
    message = {
        "fid": str(ctx.get("fid") or ids.new("fid-")), "parentId": None, "childrenIds": [], "role": "user",
        "content": content(req), "user_action": "chat", "files": [], "timestamp": now, "models": [spec.model],
        "chat_type": spec.chat_type, "feature_config": feature_config(req.reasoning, thinking),
        "extra": {"meta": {"subChatType": spec.chat_type}}, "sub_chat_type": spec.chat_type,
        "parent_id": None,
    }
    body = {"stream": True, "version": "2.1", "incremental_output": True, "chat_id": chat_id,
            "chat_mode": "normal", "model": spec.model, "parent_id": None, "messages": [message],
            "timestamp": now}
    url = f"{base_url(ctx)}{COMPLETIONS_PATH}?chat_id={quote(chat_id, safe='')}"
    return UpstreamCall(url, orjson.dumps(body), headers(ctx, "text/event-stream"))


def wants_reasoning(r: ir.Reasoning | None) -> bool:
    return r is not None and r.mode != "disabled" and (r.effort or "").lower() != "none"


def feature_config(r: ir.Reasoning | None, thinking: bool) -> dict[str, Any]:
    """`output_schema: "phase"` is what makes chunks carry `phase` at all (A7.3)."""
    fc: dict[str, Any] = {"thinking_enabled": thinking, "output_schema": "phase", "research_mode": "normal",
                          "auto_thinking": False, "thinking_mode": "Thinking" if thinking else "Fast",
                          "thinking_format": "detail", "auto_search": False}
    if thinking:
        if r is not None and r.budget:
            budget = r.budget
        elif r is not None and r.effort:
            budget = effort_to_budget(r.effort)
        else:  # a `-thinking` model or a request without a size: the web app's default
            budget = MAX_THINKING_BUDGET
        fc["thinking_budget"] = min(budget, MAX_THINKING_BUDGET)
    return fc


# ---- the conversation, flattened into one user message (A2.2 field notes, A8) ----


def content(req: ir.ChatRequest) -> str | list[dict[str, Any]]:
    """History lives server-side only under a chat we do not reuse, so the whole conversation goes
    in one message. A lone user turn is sent as is; otherwise each turn is a paragraph starting with
    its role (`system: `, `user: `, `assistant: `), paragraphs separated by a blank line. http(s)
    images become content items (A2.2 Images)."""
    turns: list[tuple[str, str]] = []
    images: list[str] = []
    if req.system:
        turns.append(("system", _text(req.system, images)))
    for m in req.messages:
        turns.append(("system" if m.role == "developer" else m.role, _text(m.content, images)))
    turns = [(role, text) for role, text in turns if text]
    if len(turns) == 1 and turns[0][0] == "user":
        text = turns[0][1]
    else:
        text = "\n\n".join(f"{role}: {text}" for role, text in turns)
    if not images:
        return text
    return [{"type": "text", "text": text}, *({"type": "image", "image": url} for url in images)]


def _text(blocks: tuple[ir.Block, ...], images: list[str]) -> str:
    parts: list[str] = []
    for b in blocks:
        if isinstance(b, ir.Text):
            parts.append(b.text)
        elif isinstance(b, ir.Document) and b.text is not None:
            parts.append(b.text)
        elif isinstance(b, ir.Image):
            if b.url and b.url.startswith(("http://", "https://")):
                images.append(b.url)
            else:
                parts.append(OMITTED_IMAGE)
        elif isinstance(b, ir.ToolUse):  # the gateway turns tool traffic into text first (prompt_tools)
            parts.append(f"[tool call {b.name} {b.arguments}]")
        elif isinstance(b, ir.ToolResult):
            parts.append(_text(b.content, images))
    return "\n".join(p for p in parts if p)

"""One chat turn -> one CAPI request (github-copilot.md 2-5, 10, 11): the model id, the API that serves
it, the body rendered by that API's dialect codec plus Copilot's edits, and the editor headers."""

from __future__ import annotations

import dataclasses
from typing import Any
from typing import Iterable
from typing import Mapping

import orjson

from translators import ir
from translators.dialects.anthropic_messages.request_render import MIN_BUDGET
from translators.errors import TranslationError
from translators.providers.base import UpstreamCall
from translators.providers.copilot import models
from translators.providers.copilot.auth import API_URL
from translators.providers.copilot.auth import EDITOR_VERSION
from translators.providers.copilot.auth import PLUGIN_VERSION
from translators.providers.copilot.models import DIALECT_OF
from translators.providers.copilot.models import ModelInfo
from translators.registry import codec

ORIGIN = "copilot"  # thinking minted by CAPI's chat completions (reasoning_text / reasoning_opaque, 3.5)
INTEGRATION_ID = "vscode-chat"
API_VERSION = "2025-05-01"
ANTHROPIC_VERSION = "2023-06-01"
CONTINUE = "Please continue."  # /v1/messages rejects a trailing assistant turn; vscode appends this (5)
DROPPED = {"openai-chat": ("service_tier", "store", "prediction"),
           "openai-responses": ("service_tier", "previous_response_id", "background"),
           "anthropic-messages": ("inference_geo", "service_tier", "container", "mcp_servers")}


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """The Copilot model and API chosen for a request."""

    model: str
    endpoint: str
    info: ModelInfo | None

    @property
    def dialect(self) -> ir.Dialect:
        return DIALECT_OF[self.endpoint]


def target(req: ir.ChatRequest, model: str, ctx: Mapping[str, Any]) -> Target:
    catalog = ctx.get("models") or {}
    upstream = models.resolve(model, catalog.keys())
    info = models.info_of(catalog.get(upstream))
    return Target(upstream, models.choose_endpoint(upstream, info, req.extra_from,
                                                   ctx.get("messages_api") is not False), info)


def build(req: ir.ChatRequest, model: str, ctx: Mapping[str, Any], ids: ir.Ids) -> UpstreamCall:
    t = target(req, model, ctx)
    prepared = prepare(req, t)
    body = codec(t.dialect).render_request(prepared, t.model)
    for key in DROPPED[t.dialect]:
        body.pop(key, None)
    EDITS[t.dialect](body, prepared, t.info)
    return UpstreamCall(api_base(ctx) + t.endpoint, orjson.dumps(body), headers(ctx, prepared, t, ids),
                        streams=prepared.stream)


def api_base(ctx: Mapping[str, Any]) -> str:
    """`endpoints.api` of the Copilot token (1.2), or the provider's base_url when it overrides it."""
    return str(ctx.get("api_base") or API_URL).rstrip("/")


def prepare(req: ir.ChatRequest, t: Target) -> ir.ChatRequest:
    changes: dict[str, Any] = {}
    if t.info is not None and not t.info.streaming and req.stream:
        changes["stream"] = False  # vscode forces stream:false for such models (3.2)
    if t.dialect == "anthropic-messages":
        if req.max_output_tokens is None and t.info is not None and t.info.max_output_tokens:
            changes["max_output_tokens"] = t.info.max_output_tokens  # ericc-ch's default (10.12)
        if req.messages and req.messages[-1].role == "assistant":
            changes["messages"] = req.messages + (ir.Message("user", (ir.Text(CONTINUE),)),)
    return dataclasses.replace(req, **changes) if changes else req


# ---- headers (2.1) ----


def headers(ctx: Mapping[str, Any], req: ir.ChatRequest, t: Target, ids: ir.Ids) -> dict[str, str]:
    token = ctx.get("copilot_token")
    if not isinstance(token, str) or not token:
        raise TranslationError("No Copilot token for this account.", kind="authentication")
    plugin = str(ctx.get("plugin_version") or PLUGIN_VERSION)
    intent = "conversation-agent" if req.tools else "conversation-panel"
    request_id = str(ctx.get("request_id") or ids.new("req-"))
    out = {"authorization": f"Bearer {token}", "content-type": "application/json",
           "accept": "text/event-stream" if req.stream else "application/json",
           "copilot-integration-id": str(ctx.get("integration_id") or INTEGRATION_ID),
           "editor-version": str(ctx.get("editor_version") or EDITOR_VERSION),
           "editor-plugin-version": plugin, "user-agent": "GitHubCopilotChat/" + plugin.rpartition("/")[2],
           "openai-intent": intent, "x-interaction-type": intent,
           "x-github-api-version": str(ctx.get("api_version") or API_VERSION),
           "x-request-id": request_id, "x-agent-task-id": request_id, "x-initiator": initiator(req),
           "x-vscode-user-agent-library-version": "electron-fetch"}
    if ctx.get("interaction_id"):
        out["x-interaction-id"] = str(ctx["interaction_id"])
    if has_images(req):
        out["copilot-vision-request"] = "true"  # images are rejected without it (2.1)
    if t.dialect == "anthropic-messages":
        out["anthropic-version"] = ANTHROPIC_VERSION
        if ctx.get("anthropic_beta"):
            out["anthropic-beta"] = str(ctx["anthropic_beta"])
    if t.info is not None:
        out.update({k.lower(): v for k, v in t.info.request_headers.items()})  # per-model headers (2.1)
    extra = ctx.get("headers")
    if isinstance(extra, Mapping):
        out.update({str(k).lower(): str(v) for k, v in extra.items()})
    return out


def initiator(req: ir.ChatRequest) -> str:
    """`user` only for a genuine user turn: the last (non-system) message is the user's and carries no
    tool result; a tool result or an assistant follow-up is the agent's (CLIProxyAPI's rule, 2.1), so
    that agent loops are not billed as premium user requests."""
    turns = [m for m in req.messages if m.role not in ("system", "developer")]
    if not turns:
        return "user"
    last = turns[-1]
    if last.role == "user" and not any(isinstance(b, ir.ToolResult) for b in last.content):
        return "user"
    return "agent"


def has_images(req: ir.ChatRequest) -> bool:
    return _any_image(req.system) or any(_any_image(m.content) for m in req.messages)


def _any_image(blocks: Iterable[ir.Block]) -> bool:
    return any(isinstance(b, ir.Image) or isinstance(b, ir.ToolResult) and _any_image(b.content)
               for b in blocks)


# ---- body edits per API ----


def _chat(body: dict[str, Any], req: ir.ChatRequest, info: ModelInfo | None) -> None:
    """3.1 / 10.11: function tools only (a choice naming another downgrades to auto); the previous
    turns' reasoning echoed back on the assistant messages that produced it (3.5)."""
    if "tools" in body:
        body["tools"] = [t for t in body["tools"] if t.get("type") == "function"]
        names = {t["function"]["name"] for t in body["tools"]}
        choice = body.get("tool_choice")
        if isinstance(choice, dict) and (choice.get("function") or {}).get("name") not in names:
            body["tool_choice"] = "auto"
        if not body["tools"]:
            body.pop("tools")
            body.pop("tool_choice", None)
            body.pop("parallel_tool_calls", None)
    assistants = [m for m in req.messages if m.role == "assistant"]
    rendered = [m for m in body["messages"] if m.get("role") == "assistant"]
    for ir_msg, wire in zip(assistants, rendered):
        thinking = [b for b in ir_msg.content if isinstance(b, ir.Thinking) and b.origin == ORIGIN]
        opaque = next((b.signature for b in thinking if b.signature), None)
        if opaque:  # only together: reasoning_text without its opaque is refused (3.1)
            wire["reasoning_text"] = "".join(b.text for b in thinking)
            wire["reasoning_opaque"] = opaque


def _responses(body: dict[str, Any], req: ir.ChatRequest, info: ModelInfo | None) -> None:
    """4: no server-side state over HTTP (full input, store false); function and custom tools only."""
    body["store"] = False
    if "tools" in body:
        body["tools"] = [t for t in body["tools"] if t.get("type") in ("function", "custom")]
        if not body["tools"]:
            body.pop("tools")
            body.pop("tool_choice", None)


def _messages(body: dict[str, Any], req: ir.ChatRequest, info: ModelInfo | None) -> None:
    """5: client tools only (no Anthropic server tools); the thinking budget inside the model's range
    and below max_tokens (puxu clamps it)."""
    if "tools" in body:
        body["tools"] = [t for t in body["tools"] if t.get("type") in (None, "custom")]
        if not body["tools"]:
            body.pop("tools")
            body.pop("tool_choice", None)
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and isinstance(thinking.get("budget_tokens"), int) and info is not None:
        low = info.min_thinking_budget or MIN_BUDGET
        budget = max(thinking["budget_tokens"], low)
        budget = min(budget, info.max_thinking_budget or budget, body["max_tokens"] - 1)
        if budget < low:  # no room to think below max_tokens: answer without (as the codec does)
            body.pop("thinking")
        else:
            thinking["budget_tokens"] = budget


EDITS = {"openai-chat": _chat, "openai-responses": _responses, "anthropic-messages": _messages}

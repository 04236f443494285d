"""CodeGPT requests (codegpt.md 1-3, 7, 9): the agent chat completion and the agent listing.

CodeGPT has no `model` field: the agent (`agentId`) decides model, system prompt and sampling, so the
bridge's model name IS the agent id, and `default` means the account's configured agent."""

from __future__ import annotations

from typing import Any
from typing import Mapping

import orjson

from translators import ir
from translators.errors import TranslationError
from translators.providers.base import UpstreamCall

DEFAULT_BASE_URL = "https://api.codegpt.co"  # codegpt.md 2 (the 2024 SDK used https://api-beta.codegpt.co)
COMPLETIONS_PATH = "/api/v1/chat/completions"
AGENTS_PATH = "/api/v1/agent"
DEFAULT_MODEL = "default"

# codegpt.md 3: roles are system/user/assistant only
_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


def base_url(ctx: Mapping[str, Any]) -> str:
    """The service root; a configured `.../api/v1` suffix is tolerated (it is part of every path)."""
    url = str(ctx.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
    return url[: -len("/api/v1")] if url.endswith("/api/v1") else url


def headers(ctx: Mapping[str, Any], accept: str) -> dict[str, str]:
    """codegpt.md 1: Bearer API key, plus the organization header (optional, the SDK warns without it)."""
    key = ctx.get("api_key")
    if not key:
        raise TranslationError("No CodeGPT API key is configured for this account (api_key / "
                               "CODEGPT_API_KEY).", kind="authentication")
    out = {"authorization": f"Bearer {key}", "content-type": "application/json", "accept": accept}
    if ctx.get("org_id"):
        out["CodeGPT-Org-Id"] = str(ctx["org_id"])
    return out


def agent_id(model: str, ctx: Mapping[str, Any]) -> str:
    if model and model != DEFAULT_MODEL:
        return model
    agent = ctx.get("agent_id")
    if not agent:
        raise TranslationError("No CodeGPT agent to ask: use the model 'codegpt/<agent id>' or configure the "
                               "account's agent_id (CODEGPT_AGENT_ID).", param="model")
    return str(agent)


def build(req: ir.ChatRequest, model: str, ctx: Mapping[str, Any]) -> UpstreamCall:
    """codegpt.md 3 and 9: always `format: "json"` (OpenAI-shaped objects and SSE); sampling, limits and
    stop sequences are the agent's settings and are not sent."""
    body = {"agentId": agent_id(model, ctx), "messages": messages(req), "format": "json",
            "stream": req.stream}
    accept = "text/event-stream" if req.stream else "application/json"
    return UpstreamCall(base_url(ctx) + COMPLETIONS_PATH, orjson.dumps(body), headers(ctx, accept),
                        streams=req.stream)


def agents_call(ctx: Mapping[str, Any]) -> UpstreamCall:
    """codegpt.md 7: `GET /api/v1/agent` lists the account's agents."""
    return UpstreamCall(base_url(ctx) + AGENTS_PATH, b"", headers(ctx, "application/json"), "GET",
                        streams=False)


def parse_agents(body: bytes) -> list[str]:
    """The agent ids of a listing (a JSON array of agent objects; a `{data: [...]}` wrapper is tolerated)."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise TranslationError("The CodeGPT agent list is not JSON.", kind="api_error", status=502) from None
    if isinstance(obj, dict):
        obj = obj.get("data")
    if not isinstance(obj, list):
        raise TranslationError("The CodeGPT agent list is not an array.", kind="api_error", status=502)
    ids = [a.get("id") for a in obj if isinstance(a, dict)]
    return [i for i in ids if isinstance(i, str) and i]


def messages(req: ir.ChatRequest) -> list[dict[str, str]]:
    """codegpt.md 8.4: every content is one string. The system blocks (tool instructions included, see
    prompt_tools) lead as one system message; turns left without text are skipped."""
    out = []
    system = flatten(req.system)
    if system:
        out.append({"role": "system", "content": system})
    for m in req.messages:
        text = flatten(m.content)
        if text:
            out.append({"role": _ROLES[m.role], "content": text})
    if not out:
        raise TranslationError("CodeGPT needs at least one message with text.", param="messages")
    return out


def flatten(blocks: tuple[ir.Block, ...]) -> str:
    return "\n".join(t for t in (_text(b) for b in blocks) if t)


def _text(block: ir.Block) -> str:
    """Media CodeGPT cannot take is named, not silently lost (codegpt.md 8.4: image support unknown);
    reasoning of earlier turns is not replayed (it belongs to the provider that produced it). Tool
    calls and results never get here: native_tools is False, so the shell rewrote them as text."""
    if isinstance(block, ir.Text):
        return block.text
    if isinstance(block, ir.Document):
        if block.text is not None:
            return block.text
        return f"[document omitted: {block.filename}]" if block.filename else "[document omitted]"
    if isinstance(block, ir.Image):
        return "[image omitted]"
    if isinstance(block, ir.Audio):
        return "[audio omitted]"
    return ""

"""Upstream side: ir.ChatRequest -> an Anthropic Messages request body (anthropic-messages.md 3,
conversions.md 1, 3, 4, 6, 7).

Fields the client sent in this same dialect (`extra_from == DIALECT`) go back as they came; from other
dialects only what Anthropic accepts is sent."""

from __future__ import annotations

from typing import Any
from typing import Mapping

from translators import ir
from translators.dialects.anthropic_messages.blocks import DIALECT
from translators.dialects.anthropic_messages.blocks import OPAQUE
from translators.dialects.anthropic_messages.blocks import ORIGIN
from translators.dialects.anthropic_messages.blocks import kept_extra
from translators.dialects.anthropic_messages.blocks import render_document
from translators.dialects.anthropic_messages.blocks import render_image
from translators.dialects.anthropic_messages.blocks import render_tool_use
from translators.dialects.anthropic_messages.blocks import safe_id
from translators.dialects.common import effort_to_budget
from translators.errors import TranslationError

DEFAULT_MAX_TOKENS = 4096
MIN_BUDGET = 1024  # Anthropic's smallest thinking budget (section 3.6)
_SYSTEM_ROLES = ("system", "developer")
_CHOICE = {"auto": "auto", "required": "any", "none": "none", "tool": "tool"}
# output_config.effort takes low..max; OpenAI's "minimal" is the nearest to low
_EFFORTS = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh",
            "max": "max"}


def render_request(req: ir.ChatRequest, model: str) -> dict[str, Any]:
    same = req.extra_from == DIALECT
    if req.n is not None and req.n > 1:
        raise TranslationError("Anthropic returns one completion per request: n must be 1.", param="n")
    system, messages = _conversation(req, same)
    thinking, max_tokens = _thinking(req, same)
    body: dict[str, Any] = {"model": model, "max_tokens": max_tokens}
    if system:
        body["system"] = system
    body["messages"] = messages
    body.update(_tools(req, same, forced_ok=same or not _thinking_on(thinking)))
    if thinking:
        body["thinking"] = thinking
    body.update(_sampling(req, same, _thinking_on(thinking)))
    body.update(_output_config(req, same))
    if req.stop:
        body["stop_sequences"] = list(req.stop)
    metadata = _metadata(req, same)
    if metadata:
        body["metadata"] = metadata
    if req.stream:
        body["stream"] = True
    if same:
        body.update({k: v for k, v in req.extra.items() if k not in body})
    return body


# ---- system and messages ----


def _conversation(req: ir.ChatRequest, same: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system = _texts(req.system, same)
    msgs = list(req.messages)
    if not same:  # leading system/developer messages join `system`; Anthropic-native ones stay in place
        while msgs and msgs[0].role in _SYSTEM_ROLES:
            system += _texts(msgs.pop(0).content, same)
    out: list[dict[str, Any]] = []
    for m in msgs:
        role, content = _turn(m, same)
        if not content:
            continue
        if out and out[-1]["role"] == role and role != "system":
            out[-1]["content"] = out[-1]["content"] + content  # Anthropic merges same-role turns (3.3)
        else:
            out.append({"role": role, "content": content, **(dict(m.extra) if same else {})})
    return system, [_results_first(m) for m in out]


def _turn(m: ir.Message, same: bool) -> tuple[str, list[dict[str, Any]]]:
    if m.role not in _SYSTEM_ROLES:
        return m.role, _blocks(m.content, same)
    if same:  # the 2.x API takes {"role":"system"} turns; the client sent them, so the upstream does too
        return "system", _texts(m.content, same)
    # Older API versions have no mid-conversation system turn: a user turn saying what it is
    # (conversions.md 1).
    text = "\n\n".join(b.text for b in m.content if isinstance(b, ir.Text) and b.text.strip())
    if not text:
        return "user", []
    return "user", [{"type": "text", "text": f"<system-reminder>\n{text}\n</system-reminder>"}]


def _results_first(msg: dict[str, Any]) -> dict[str, Any]:
    """tool_result blocks must open their user turn (section 3.3; conversions.md 3.3)."""
    content = msg["content"]
    if msg["role"] != "user" or not any(b.get("type") == "tool_result" for b in content):
        return msg
    results = [b for b in content if b.get("type") == "tool_result"]
    return {**msg, "content": results + [b for b in content if b.get("type") != "tool_result"]}


def _texts(blocks: tuple[ir.Block, ...], same: bool) -> list[dict[str, Any]]:
    return [t for t in (_text(b, same) for b in blocks if isinstance(b, ir.Text)) if t]


def _text(b: ir.Text, same: bool) -> dict[str, Any] | None:
    if OPAQUE in b.extra:
        return b.extra[OPAQUE] if same else None
    if not b.text.strip():
        return None  # "text content blocks must be non-empty" (section 3.3)
    return {"type": "text", "text": b.text, **kept_extra(b.extra, same)}


def _blocks(blocks: tuple[ir.Block, ...], same: bool) -> list[dict[str, Any]]:
    return [w for w in (_block(b, same) for b in blocks) if w is not None]


def _block(b: ir.Block, same: bool) -> dict[str, Any] | None:
    if isinstance(b, ir.Text):
        return _text(b, same)
    if isinstance(b, ir.Image):
        return render_image(b, same)
    if isinstance(b, ir.Document):
        return render_document(b, same)
    if isinstance(b, ir.ToolUse):
        return render_tool_use(b, same)
    if isinstance(b, ir.ToolResult):
        return _tool_result(b, same)
    if isinstance(b, ir.Thinking):
        return _thinking_block(b, same)
    if isinstance(b, ir.RedactedThinking):
        return {"type": "redacted_thinking", "data": b.data, **kept_extra(b.extra, same)} \
            if b.origin == ORIGIN else None
    raise TranslationError("Anthropic Messages does not accept audio input.", param="messages")


def _thinking_block(b: ir.Thinking, same: bool) -> dict[str, Any] | None:
    # Only Anthropic-minted signatures verify; unsigned or foreign thinking is dropped (conversions.md 7.2).
    if b.origin != ORIGIN or not b.signature:
        return None
    return {"type": "thinking", "thinking": b.text, "signature": b.signature, **kept_extra(b.extra, same)}


def _tool_result(b: ir.ToolResult, same: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "tool_result", "tool_use_id": safe_id(b.tool_use_id)}
    only = b.content[0] if len(b.content) == 1 else None
    if isinstance(only, ir.Text) and not only.extra:
        out["content"] = only.text
    else:
        parts = _blocks(tuple(c for c in b.content if not isinstance(c, (ir.ToolResult, ir.ToolUse))), same)
        if parts:
            out["content"] = parts
    if b.is_error:
        out["is_error"] = True
    return {**out, **kept_extra(b.extra, same)}


# ---- tools ----


def _tools(req: ir.ChatRequest, same: bool, forced_ok: bool) -> dict[str, Any]:
    allowed = req.tool_choice.allowed if req.tool_choice else None
    tools = [_tool(t, same) for t in req.tools if allowed is None or t.name in allowed]
    tools = [t for t in tools if t is not None]
    if not tools:
        return {}
    out: dict[str, Any] = {"tools": tools}
    choice = _tool_choice(req, forced_ok)
    if choice:
        out["tool_choice"] = choice
    return out


def _tool(t: ir.Tool, same: bool) -> dict[str, Any] | None:
    kind = t.extra.get("type")
    if kind not in (None, "custom"):  # an Anthropic-defined tool: meaningful to Anthropic only
        return {"name": t.name, **({"description": t.description} if t.description else {}), **t.extra} \
            if same else None
    out: dict[str, Any] = {"name": t.name}
    if t.description:
        out["description"] = t.description
    out["input_schema"] = _freeform_schema() if t.kind == "custom" else _schema(t.parameters)
    if same and t.strict is not None:
        out["strict"] = t.strict
    return {**out, **kept_extra(t.extra, same)}


def _freeform_schema() -> dict[str, Any]:
    """A freeform (custom) tool becomes a tool with one string argument (conversions.md 3.8)."""
    return {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}


def _schema(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """input_schema is required and must be a top-level object schema (conversions.md 4)."""
    if not params:
        return {"type": "object", "properties": {}}
    return dict(params) if params.get("type") == "object" else {**params, "type": "object"}


def _tool_choice(req: ir.ChatRequest, forced_ok: bool) -> dict[str, Any] | None:
    tc = req.tool_choice
    choice: dict[str, Any] | None = None
    if tc is not None:
        mode = tc.mode if forced_ok or tc.mode in ("auto", "none") else "auto"  # thinking forbids forcing
        choice = {"type": _CHOICE[mode]}
        if mode == "tool":
            choice["name"] = tc.name
    if req.parallel_tool_calls is not None and (choice or not req.parallel_tool_calls):
        choice = choice or {"type": "auto"}
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = not req.parallel_tool_calls
    return choice


# ---- thinking, sampling, output_config, metadata ----


def _thinking(req: ir.ChatRequest, same: bool) -> tuple[dict[str, Any] | None, int]:
    """(thinking, max_tokens): the budget must stay below max_tokens (conversions.md 6)."""
    r = req.reasoning
    max_tokens = req.max_output_tokens
    if same:
        return (_native_thinking(r) if r else None), max_tokens or DEFAULT_MAX_TOKENS
    if r is None or r.mode == "disabled" or r.effort == "none" or (r.mode is None and not r.effort
                                                                   and r.budget is None):
        return None, max_tokens or DEFAULT_MAX_TOKENS
    if r.mode == "adaptive":
        return {"type": "adaptive"}, max_tokens or DEFAULT_MAX_TOKENS
    budget = max(r.budget or effort_to_budget(r.effort), MIN_BUDGET)
    if max_tokens is None:
        return {"type": "enabled", "budget_tokens": budget}, budget + DEFAULT_MAX_TOKENS
    budget = min(budget, max_tokens - 1)
    if budget < MIN_BUDGET:
        return None, max_tokens  # no room to think: answer without (as LiteLLM does)
    return {"type": "enabled", "budget_tokens": budget}, max_tokens


def _native_thinking(r: ir.Reasoning) -> dict[str, Any] | None:
    if r.mode is None:
        return dict(r.extra) if "type" in r.extra else None
    out: dict[str, Any] = {"type": r.mode}
    if r.mode == "enabled":
        out["budget_tokens"] = r.budget if r.budget is not None else effort_to_budget(r.effort)
    return {**out, **r.extra}


def _thinking_on(thinking: dict[str, Any] | None) -> bool:
    return thinking is not None and thinking.get("type") in ("enabled", "adaptive")


def _sampling(req: ir.ChatRequest, same: bool, thinking: bool) -> dict[str, Any]:
    s = req.sampling
    if same:
        return {k: v for k, v in (("temperature", s.temperature), ("top_p", s.top_p), ("top_k", s.top_k))
                if v is not None}
    out: dict[str, Any] = {}
    # With thinking: temperature 1/unset, no top_k, top_p >= 0.95 (section 3.6); range 0..1
    # (conversions.md 6).
    if s.temperature is not None and not thinking:
        out["temperature"] = min(max(s.temperature, 0.0), 1.0)
    if s.top_p is not None and (not thinking or s.top_p >= 0.95):
        out["top_p"] = s.top_p
    if s.top_k is not None and not thinking:
        out["top_k"] = s.top_k
    return out


def _output_config(req: ir.ChatRequest, same: bool) -> dict[str, Any]:
    cfg: dict[str, Any] = dict(req.extra.get("output_config") or {}) if same else {}
    r = req.reasoning
    if r is not None and r.effort and (same or r.mode == "adaptive"):
        cfg["effort"] = r.effort if same else _EFFORTS.get(r.effort, "medium")
    fmt = req.response_format
    if fmt is not None and fmt.type == "json_schema" and fmt.schema is not None:
        cfg["format"] = {"type": "json_schema", "schema": dict(fmt.schema)}
    return {"output_config": cfg} if cfg else {}


def _metadata(req: ir.ChatRequest, same: bool) -> dict[str, Any] | None:
    if same and req.metadata is not None:
        return dict(req.metadata)
    return {"user_id": req.user} if req.user else None  # metadata takes user_id only (section 3.1)

"""Client side: an Anthropic Messages request body -> ir.ChatRequest (anthropic-messages.md 3)."""

from __future__ import annotations

import dataclasses
from typing import Any
from typing import Literal

from translators import ir
from translators.dialects.anthropic_messages.blocks import DIALECT
from translators.dialects.anthropic_messages.blocks import parse_content
from translators.dialects.common import optional
from translators.dialects.common import require
from translators.dialects.common import rest
from translators.errors import TranslationError

_KNOWN = frozenset({
    "model", "messages", "system", "max_tokens", "stream", "stop_sequences", "temperature", "top_p", "top_k",
    "metadata", "tools", "tool_choice", "thinking", "output_config",
})
_ROLES = frozenset({"user", "assistant", "system"})
_CHOICE: dict[str, Literal["auto", "none", "required", "tool"]] = {
    "auto": "auto", "any": "required", "tool": "tool", "none": "none",
}
_MODES = frozenset({"enabled", "adaptive", "disabled"})
_NUM = (int, float)


def parse_request(body: dict[str, Any]) -> ir.ChatRequest:
    max_tokens = require(body, "max_tokens", int)  # required by Anthropic (section 3.1)
    if max_tokens < 1:
        raise TranslationError("max_tokens: must be greater than or equal to 1", param="max_tokens")
    return _parse(body, max_tokens)


def parse_count_tokens(body: dict[str, Any]) -> ir.ChatRequest:
    """/v1/messages/count_tokens: the same body without max_tokens (section 7)."""
    return _parse(body, optional(body, "max_tokens", int))


def _parse(body: dict[str, Any], max_tokens: int | None) -> ir.ChatRequest:
    output_config = optional(body, "output_config", dict) or {}
    tool_choice, parallel = _tool_choice(optional(body, "tool_choice", dict))
    metadata = optional(body, "metadata", dict)
    return ir.ChatRequest(
        model=require(body, "model", str),
        messages=_messages(require(body, "messages", list)),
        system=_system(body.get("system")),
        tools=tuple(_tool(t, i) for i, t in enumerate(optional(body, "tools", list) or ())),
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        max_output_tokens=max_tokens,
        sampling=ir.Sampling(temperature=optional(body, "temperature", _NUM),
                             top_p=optional(body, "top_p", _NUM), top_k=optional(body, "top_k", int)),
        stop=_strings(optional(body, "stop_sequences", list), "stop_sequences"),
        stream=bool(optional(body, "stream", bool)),
        want_usage=True,  # Anthropic streams always carry usage
        reasoning=_reasoning(optional(body, "thinking", dict), output_config),
        response_format=_response_format(output_config),
        metadata=metadata,
        user=(metadata or {}).get("user_id") if isinstance((metadata or {}).get("user_id"), str) else None,
        extra=_extra(body, output_config),
        extra_from=DIALECT,
    )


def _extra(body: dict[str, Any], output_config: dict[str, Any]) -> dict[str, Any]:
    extra = rest(body, _KNOWN)
    leftover = rest(output_config, frozenset({"effort", "format"}))
    fmt = output_config.get("format")
    if fmt is not None and not (isinstance(fmt, dict) and fmt.get("type") == "json_schema"):
        leftover["format"] = fmt  # a format the IR cannot express goes back to Anthropic as it came
    if leftover:
        extra["output_config"] = leftover
    return extra


def _system(system: Any) -> tuple[ir.Block, ...]:
    if system is None:
        return ()
    return parse_content(system, "system")


def _messages(raw: list[Any]) -> tuple[ir.Message, ...]:
    msgs = tuple(_message(m, i) for i, m in enumerate(raw))
    return _name_tool_results(msgs)


def _message(m: Any, i: int) -> ir.Message:
    w = f"messages.{i}."
    if not isinstance(m, dict):
        raise TranslationError(f"Invalid type for 'messages.{i}'.", param=f"messages.{i}")
    role = require(m, "role", str, w)
    if role not in _ROLES:
        raise TranslationError(f"messages.{i}.role: Input should be 'user' or 'assistant'", param=f"{w}role")
    if "content" not in m or m["content"] is None:
        raise TranslationError(f"Missing required parameter: '{w}content'.", param=f"{w}content")
    content = parse_content(m["content"], f"{w}content")
    return ir.Message(role=role, content=content, extra=rest(m, frozenset({"role", "content"})))


def _name_tool_results(msgs: tuple[ir.Message, ...]) -> tuple[ir.Message, ...]:
    """Fill ToolResult.name from the matching tool_use (Gemini needs it, conversions.md 3.5)."""
    names = {b.id: b.name for m in msgs for b in m.content if isinstance(b, ir.ToolUse)}
    if not names:
        return msgs
    return tuple(dataclasses.replace(m, content=tuple(_named(b, names) for b in m.content))
                 if any(isinstance(b, ir.ToolResult) for b in m.content) else m for m in msgs)


def _named(b: ir.Block, names: dict[str, str]) -> ir.Block:
    if isinstance(b, ir.ToolResult) and b.tool_use_id in names:
        return dataclasses.replace(b, name=names[b.tool_use_id])
    return b


def _tool(t: Any, i: int) -> ir.Tool:
    w = f"tools.{i}."
    if not isinstance(t, dict):
        raise TranslationError(f"Invalid type for 'tools.{i}'.", param=f"tools.{i}")
    name = require(t, "name", str, w)
    kind = optional(t, "type", str, w)
    if kind not in (None, "custom"):
        # Anthropic-defined tool (bash_20250124, web_search_20250305...): no schema; keep it whole,
        # `type` included, for an Anthropic upstream (section 3.5).
        return ir.Tool(name=name, description=optional(t, "description", str, w),
                       extra=rest(t, frozenset({"name", "description"})))
    # `type: "custom"` is the default and is dropped: Tool.extra["type"] means an Anthropic-defined tool
    return ir.Tool(name=name, description=optional(t, "description", str, w),
                   parameters=optional(t, "input_schema", dict, w), strict=optional(t, "strict", bool, w),
                   extra=rest(t, frozenset({"type", "name", "description", "input_schema", "strict"})))


def _tool_choice(tc: dict[str, Any] | None) -> tuple[ir.ToolChoice | None, bool | None]:
    if tc is None:
        return None, None
    kind = require(tc, "type", str, "tool_choice.")
    if kind not in _CHOICE:
        raise TranslationError(f"tool_choice.type: unknown tool choice '{kind}'", param="tool_choice.type")
    name = require(tc, "name", str, "tool_choice.") if kind == "tool" else None
    disable = optional(tc, "disable_parallel_tool_use", bool, "tool_choice.")
    return ir.ToolChoice(mode=_CHOICE[kind], name=name), None if disable is None else not disable


def _reasoning(thinking: dict[str, Any] | None, output_config: dict[str, Any]) -> ir.Reasoning | None:
    effort = optional(output_config, "effort", str, "output_config.")
    if thinking is None:
        return ir.Reasoning(effort=effort) if effort else None
    kind = require(thinking, "type", str, "thinking.")
    budget = require(thinking, "budget_tokens", int, "thinking.") if kind == "enabled" else None
    mode = kind if kind in _MODES else None
    display = thinking.get("display")
    # an unknown type (e.g. "between_tools") stays in extra, type included
    extra = rest(thinking, frozenset({"budget_tokens"} if mode is None else {"type", "budget_tokens"}))
    return ir.Reasoning(effort=effort, budget=budget, mode=mode,  # type: ignore[arg-type]
                        summary="auto" if display == "summarized" else None, extra=extra)


def _response_format(output_config: dict[str, Any]) -> ir.ResponseFormat | None:
    fmt = output_config.get("format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return None
    where = "output_config.format."
    return ir.ResponseFormat(type="json_schema", schema=optional(fmt, "schema", dict, where),
                             name=optional(fmt, "name", str, where))


def _strings(values: list[Any] | None, where: str) -> tuple[str, ...]:
    if not values:
        return ()
    if not all(isinstance(v, str) for v in values):
        raise TranslationError(f"Invalid type for '{where}': expected strings.", param=where)
    return tuple(values)

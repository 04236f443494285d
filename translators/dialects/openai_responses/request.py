"""Responses request body -> IR ChatRequest (openai-responses.md 2).

Fields without an IR slot (store, include, prompt_cache_key, truncation, text.verbosity, built-in
tool_choice, ...) are kept in `ChatRequest.extra` with `extra_from = "openai-responses"`."""

from __future__ import annotations

from typing import Any
from typing import Literal
from typing import cast

from translators import ir
from translators.dialects.common import optional
from translators.dialects.common import require
from translators.dialects.common import rest
from translators.dialects.openai_responses.items import parse_input
from translators.dialects.openai_responses.wire import DIALECT
from translators.errors import TranslationError

_KNOWN = frozenset({"model", "input", "instructions", "stream", "tools", "tool_choice", "parallel_tool_calls",
                    "max_output_tokens", "reasoning", "text", "temperature", "top_p", "metadata", "user",
                    "previous_response_id"})
_NUM = (int, float)
ChoiceMode = Literal["auto", "none", "required"]
ReasoningMode = Literal["enabled", "adaptive", "disabled"]


def parse_request(body: dict[str, Any]) -> ir.ChatRequest:
    if not isinstance(body, dict):
        raise TranslationError("The request body must be a JSON object.")
    messages, tail = parse_input(body.get("input"))
    instructions = optional(body, "instructions", str)
    tool_choice, raw_choice = parse_tool_choice(body.get("tool_choice"))
    response_format, text_rest = parse_text(body.get("text"))
    extra = rest(body, _KNOWN)
    if raw_choice is not None:
        extra["tool_choice"] = raw_choice
    if text_rest:
        extra["text"] = text_rest
    if tail:
        extra["_after"] = tail  # unknown items after the last message (item_reference...)
    return ir.ChatRequest(
        model=require(body, "model", str),
        messages=messages,
        system=(ir.Text(instructions),) if instructions is not None else (),
        tools=parse_tools(body.get("tools")),
        tool_choice=tool_choice,
        parallel_tool_calls=optional(body, "parallel_tool_calls", bool),
        max_output_tokens=optional(body, "max_output_tokens", int),
        sampling=ir.Sampling(temperature=optional(body, "temperature", _NUM),
                             top_p=optional(body, "top_p", _NUM)),
        stream=bool(optional(body, "stream", bool)),
        want_usage=True,  # Responses always reports usage in the terminal event
        reasoning=parse_reasoning(body.get("reasoning")),
        response_format=response_format,
        metadata=optional(body, "metadata", dict),
        user=optional(body, "user", str),
        previous_response_id=optional(body, "previous_response_id", str),
        extra=extra,
        extra_from=DIALECT,
    )


def parse_tools(value: Any) -> tuple[ir.Tool, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise TranslationError("Invalid type for 'tools': expected an array.", param="tools")
    return tuple(_tool(t, f"tools[{i}].") for i, t in enumerate(value))


def _tool(t: Any, where: str) -> ir.Tool:
    if not isinstance(t, dict):
        raise TranslationError(f"Invalid type for '{where[:-1]}': expected an object.", param=where[:-1])
    typ = require(t, "type", str, where)
    if typ not in ("function", "custom"):
        # Built-in tool (web_search, local_shell, mcp, namespace, ...): kept whole, type in extra (2.3).
        name = t["name"] if isinstance(t.get("name"), str) else typ
        return ir.Tool(name=str(name), extra=dict(t))
    common = {"name": require(t, "name", str, where), "description": optional(t, "description", str, where)}
    if typ == "custom":
        return ir.Tool(**common, kind="custom", format=optional(t, "format", dict, where),
                       extra=rest(t, frozenset({"type", "name", "description", "format"})))
    return ir.Tool(**common, parameters=optional(t, "parameters", dict, where),
                   strict=optional(t, "strict", bool, where),
                   extra=rest(t, frozenset({"type", "name", "description", "parameters", "strict"})))


def parse_tool_choice(value: Any) -> tuple[ir.ToolChoice | None, dict[str, Any] | None]:
    """-> (IR choice, raw built-in choice such as {"type":"web_search"} kept for same-dialect upstreams)."""
    if value is None:
        return None, None
    if isinstance(value, str):
        if value not in ("auto", "none", "required"):
            raise TranslationError(f"Invalid value for 'tool_choice': {value!r}.", param="tool_choice")
        return ir.ToolChoice(cast(ChoiceMode, value)), None
    if not isinstance(value, dict):
        raise TranslationError("Invalid type for 'tool_choice'.", param="tool_choice")
    typ = require(value, "type", str, "tool_choice.")
    if typ in ("function", "custom"):
        return ir.ToolChoice("tool", name=require(value, "name", str, "tool_choice.")), None
    if typ == "allowed_tools":
        mode = optional(value, "mode", str, "tool_choice.") or "auto"
        if mode not in ("auto", "required"):
            raise TranslationError(f"Invalid value for 'tool_choice.mode': {mode!r}.",
                                   param="tool_choice.mode")
        tools = require(value, "tools", list, "tool_choice.")
        names = tuple(_allowed_name(t, f"tool_choice.tools[{i}]") for i, t in enumerate(tools))
        return ir.ToolChoice(cast(ChoiceMode, mode), allowed=names), None
    return None, dict(value)


def _allowed_name(t: Any, where: str) -> str:
    if not isinstance(t, dict):
        raise TranslationError(f"Invalid type for '{where}'.", param=where)
    name = t.get("name") if isinstance(t.get("name"), str) else t.get("type")
    if not isinstance(name, str):
        raise TranslationError(f"Missing required parameter: '{where}.name'.", param=f"{where}.name")
    return name


def parse_reasoning(value: Any) -> ir.Reasoning | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TranslationError("Invalid type for 'reasoning'.", param="reasoning")
    effort = optional(value, "effort", str, "reasoning.")
    # `generate_summary` is the deprecated alias of `summary` (2).
    summary = optional(value, "summary", str, "reasoning.") or \
        optional(value, "generate_summary", str, "reasoning.")
    mode: ReasoningMode | None = "disabled" if effort == "none" else ("enabled" if effort else None)
    return ir.Reasoning(effort=effort, summary=summary, mode=mode,
                        extra=rest(value, frozenset({"effort", "summary", "generate_summary"})))


def parse_text(value: Any) -> tuple[ir.ResponseFormat | None, dict[str, Any]]:
    """`text` -> (format, the other text options such as verbosity)."""
    if value is None:
        return None, {}
    if not isinstance(value, dict):
        raise TranslationError("Invalid type for 'text'.", param="text")
    fmt = optional(value, "format", dict, "text.")
    return (_format(fmt) if fmt is not None else None), rest(value, frozenset({"format"}))


def _format(fmt: dict[str, Any]) -> ir.ResponseFormat:
    typ = require(fmt, "type", str, "text.format.")
    if typ not in ("text", "json_object", "json_schema"):
        raise TranslationError(f"Invalid value for 'text.format.type': {typ!r}.", param="text.format.type")
    if typ != "json_schema":
        return ir.ResponseFormat(typ)
    return ir.ResponseFormat("json_schema", name=require(fmt, "name", str, "text.format."),
                             schema=require(fmt, "schema", dict, "text.format."),
                             strict=optional(fmt, "strict", bool, "text.format."),
                             description=optional(fmt, "description", str, "text.format."))

"""Reading a request body as a dialect-neutral `Turn` (SCRIPT.md, "Reading the request").

One function per dialect; the small helpers are shared so that the three readers agree on
what text, tool results and tool schemas are.
"""

from __future__ import annotations

from typing import Any
from typing import Iterable

from .script import Turn

_SYSTEM_ROLES = ("system", "developer")
_TEXT_PART_TYPES = ("text", "input_text", "output_text")


def text_of(content: Any) -> str:
    """A message/result content's text: the string itself, or its text parts joined by \\n."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, list):
        texts = [
            p["text"]
            for p in content
            if isinstance(p, dict)
            and p.get("type", "text") in _TEXT_PART_TYPES
            and isinstance(p.get("text"), str)
        ]
        return "\n".join(texts)
    return ""


def _conversation(items: Iterable[Any]) -> list[dict[str, Any]]:
    """Messages/items without system and developer turns, wherever they appear."""
    return [m for m in items if isinstance(m, dict) and m.get("role") not in _SYSTEM_ROLES]


def _last_user_prompt(messages: list[dict[str, Any]]) -> str:
    """Text of the last user message that has any text (a trailing Anthropic user turn made
    only of tool_result blocks does not hide the prompt before it)."""
    for m in reversed(messages):
        if m.get("role") == "user" and m.get("type", "message") == "message":
            text = text_of(m.get("content"))
            if text:
                return text
    return ""


def _add_tool(turn: Turn, name: Any, schema: Any, freeform: bool = False) -> None:
    if not isinstance(name, str) or not name:
        return
    turn.tools.append(name)
    turn.tool_schemas[name] = schema if isinstance(schema, dict) else {}
    if freeform:
        turn.freeform.add(name)


def chat_turn(body: dict[str, Any]) -> Turn:
    """OpenAI Chat Completions: trailing `role: tool` messages are the results."""
    messages = _conversation(body.get("messages") or [])
    turn = Turn(prompt=_last_user_prompt(messages))
    trailing: list[str] = []
    for m in reversed(messages):
        if m.get("role") != "tool":
            break
        trailing.append(text_of(m.get("content")))
    turn.tool_results = trailing[::-1]
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        if tool.get("type") == "custom":
            spec = tool.get("custom") or {}
            _add_tool(turn, spec.get("name"), {}, freeform=True)
        else:
            spec = tool.get("function") or {}
            _add_tool(turn, spec.get("name"), spec.get("parameters"))
    return turn


def anthropic_turn(body: dict[str, Any]) -> Turn:
    """Anthropic Messages: the tool_result blocks of the last user message are the results."""
    messages = _conversation(body.get("messages") or [])
    turn = Turn(prompt=_last_user_prompt(messages))
    if messages and messages[-1].get("role") == "user" and isinstance(messages[-1].get("content"), list):
        turn.tool_results = [
            text_of(b.get("content"))
            for b in messages[-1]["content"]
            if isinstance(b, dict) and b.get("type") == "tool_result"
        ]
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            _add_tool(turn, tool.get("name"), tool.get("input_schema"))
    return turn


_OUTPUT_ITEMS = ("function_call_output", "custom_tool_call_output")


def responses_turn(body: dict[str, Any]) -> Turn:
    """OpenAI Responses: trailing *_call_output items are the results; a string input is
    the prompt; `type: custom` tools are freeform."""
    raw = body.get("input")
    if isinstance(raw, str):
        turn = Turn(prompt=raw)
    else:
        items = _conversation(raw or [])
        turn = Turn(prompt=_last_user_prompt(items))
        trailing: list[str] = []
        for item in reversed(items):
            if item.get("type") not in _OUTPUT_ITEMS:
                break
            trailing.append(text_of(item.get("output")))
        turn.tool_results = trailing[::-1]
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict):
            continue
        if tool.get("type") == "custom":
            _add_tool(turn, tool.get("name"), {}, freeform=True)
        elif tool.get("type", "function") == "function":
            _add_tool(turn, tool.get("name"), tool.get("parameters"))
    return turn

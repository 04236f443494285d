"""The bridge's prompt-tools markup as the emulated upstreams without native tools (CodeGPT, CodeGeeX,
Qwen, ChatGPT web) read and write it.

The contract is the module docstring of translators/transforms/prompt_tools.py; emulators never
import translators, so its few patterns are restated here, once for all of them: the tool list in
the instructions (`N. <tool name="NAME">`, `Arguments (JSON schema): ...` or `Input: free-form ...`,
`</tool>`), tool results (`<tool_result ...>text</tool_result>`), and calls written as the trigger
line followed by one `<function_calls>` block.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .script import Decision
from .script import ToolCall
from .script import Turn

TRIGGER = "<Function_bridge_Start/>"  # used when the instructions show no other trigger
_TOOL = re.compile(r'^\s*\d+\.\s*<tool name="([^"]+)">\s*$(.*?)^</tool>\s*$', re.M | re.S)
_SCHEMA = re.compile(r"^Arguments \(JSON schema\): (.*)$", re.M)
_FREEFORM = re.compile(r"^Input: free-form", re.M)
_RESULT = re.compile(r"<tool_result\b[^>]*>(.*?)</tool_result>", re.S)
_TRIGGER_LINE = re.compile(r"^(<[A-Za-z_][^\s<>]*/>)\n<function_calls>$", re.M)


def read_tools(instructions: str, turn: Turn) -> None:
    """Add the listed tools to `turn`: names in order, JSON schemas, free-form (custom) tools."""
    for m in _TOOL.finditer(instructions):
        name, entry = m.group(1), m.group(2)
        schema_line = _SCHEMA.search(entry)
        turn.tools.append(name)
        turn.tool_schemas[name] = _schema(schema_line.group(1)) if schema_line else {}
        if schema_line is None and _FREEFORM.search(entry):
            turn.freeform.add(name)


def _schema(text: str) -> dict[str, Any]:
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def tool_results(text: str) -> list[str]:
    """The texts of the `<tool_result ...>` elements, in order."""
    return [r.strip("\n") for r in _RESULT.findall(text)]


def without_results(text: str) -> str:
    """The text around the tool results: the prompt of a user turn that also carries results."""
    return _RESULT.sub("", text).strip()


def trigger_of(instructions: str) -> str:
    """The trigger line the instructions' example shows right before `<function_calls>`."""
    m = _TRIGGER_LINE.search(instructions)
    return m.group(1) if m else TRIGGER


def cdata(text: str) -> str:
    """A CDATA section; `]]>` inside is written as two sections, as the contract says."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def markup(calls: tuple[ToolCall, ...], trigger: str = TRIGGER) -> str:
    """The calls as the bridge asks for them: trigger line, then one <function_calls> block."""
    body = ""
    for c in calls:
        tag = "input" if c.freeform else "args_json"
        body += f"<function_call>\n<tool>{c.name}</tool>\n<{tag}>{cdata(c.payload)}</{tag}>\n"
        body += "</function_call>\n"
    return f"{trigger}\n<function_calls>\n{body}</function_calls>"


def answer_text(decision: Decision, trigger: str = TRIGGER) -> str:
    """A text answer as it is; tool calls as the markup (never mixed, SCRIPT.md)."""
    return markup(decision.calls, trigger) if decision.calls else str(decision.text)

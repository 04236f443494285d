"""The tool-call markup of prompt-based tool calling: rendering, and a parser tolerant of what LLMs
write. The format itself is specified in prompt_tools.py's docstring (emulators copy it from there)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any
from typing import Literal
from typing import Mapping
from typing import Sequence

import orjson

from translators import ir

# Fixed, not random per process as in Toolify (chatgpt-web.md 10.3): translators are deterministic
# and emulated upstreams must be able to write it.
TRIGGER = "<Function_bridge_Start/>"
BLOCK_OPEN, BLOCK_CLOSE = "<function_calls>", "</function_calls>"

Kind = Literal["function", "custom"]


@dataclass(frozen=True, slots=True)
class ParsedCall:
    name: str
    arguments: str  # compact JSON object text, or the raw input of a custom tool
    kind: Kind


# ---- rendering ----


def cdata(text: str) -> str:
    # `]]>` cannot appear inside CDATA: split it across two sections (as chat2api does)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_calls(calls: Sequence[tuple[str, Mapping[str, Any] | str]]) -> str:
    """The markup for `calls`: (name, arguments object) for function tools, (name, raw text) for
    freeform (custom) tools. Starts with the trigger line, ends with `</function_calls>`."""
    return _render([(name, "input", args) if isinstance(args, str) else (name, "args_json", to_json(args))
                    for name, args in calls])


def render_tool_uses(uses: Sequence[ir.ToolUse]) -> str:
    """History: IR tool calls as the same markup (arguments normalised to compact JSON when they parse)."""
    out = []
    for use in uses:
        if use.kind == "custom":
            out.append((use.name, "input", use.arguments))
        else:
            value = loads_lenient(use.arguments)
            text = to_json(value) if isinstance(value, dict) else (use.arguments.strip() or "{}")
            out.append((use.name, "args_json", text))
    return _render(out)


def _render(entries: Sequence[tuple[str, str, str]]) -> str:
    calls = "".join(f"<function_call>\n<tool>{name}</tool>\n<{tag}>{cdata(text)}</{tag}>\n</function_call>\n"
                    for name, tag, text in entries)
    return f"{TRIGGER}\n{BLOCK_OPEN}\n{calls}{BLOCK_CLOSE}"


def to_json(value: Any) -> str:
    return orjson.dumps(plain(value)).decode()


def plain(value: Any) -> Any:
    """Mappings (the IR may hold read-only ones) as dicts, so orjson can serialise them."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


# ---- which tools may be called ----


def callable_tools(req: ir.ChatRequest) -> dict[str, ir.Tool]:
    """The tools a parsed call may name, after tool_choice (none / forced tool / allowed subset)."""
    tools = {t.name: t for t in req.tools}
    tc = req.tool_choice
    if tc is None:
        return tools
    if tc.mode == "none":
        return {}
    if tc.mode == "tool" and tc.name:
        return {tc.name: tools[tc.name]} if tc.name in tools else {}
    if tc.allowed is not None:
        return {n: t for n, t in tools.items() if n in tc.allowed}
    return tools


# ---- parsing ----

_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)
_SLOT = re.compile(r"\x00(\d+)\x00")
_ONLY_SLOTS = re.compile(r"\s*(?:\x00\d+\x00\s*)+")
_LAYOUT = re.compile(r"\A[ \t]*\r?\n|\r?\n[ \t]*\Z")
# a call element; the closing tag may be missing at the very end of an unterminated answer
_CALL = re.compile(r"<(function_call|tool_call)\b([^>]*)>(.*?)(?:</\1\s*>|\Z)", re.S)
_NAME_ATTR = re.compile(r"""\bname\s*=\s*["']([^"']*)["']""")
_FENCED = re.compile(r"\A```[\w.+-]*[ \t]*\r?\n(.*?)\s*```\Z", re.S)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")
_KV = re.compile(r"<([\w.-]+)\b[^>]*>(.*?)</\1\s*>", re.S)
_FIELDS = {tag: re.compile(rf"<{tag}\b[^>]*>(.*?)</{tag}\s*>", re.S)
           for tag in ("tool", "name", "tool_name", "input", "args_json", "arguments", "parameters", "args")}
_FAIL = object()


def parse_block(body: str, tools: Mapping[str, ir.Tool]) -> list[ParsedCall] | None:
    """The calls in a block's text (after the trigger, closing tag excluded); None when any call is
    malformed or names a tool that may not be called: the caller then keeps the raw text."""
    masked, saved = _mask(body)
    if "<![CDATA[" in masked:  # unterminated CDATA: the block was cut off
        return None
    found = [(m.group(2), m.group(3)) for m in _CALL.finditer(masked)]
    if not found and _FIELDS["tool"].search(masked):  # one call written without <function_call>
        found = [("", masked)]
    calls: list[ParsedCall] = []
    for attrs, inner in found:
        call = _parse_call(attrs, inner, saved, tools)
        if call is None:
            return None
        calls.append(call)
    return calls or None


def _mask(text: str) -> tuple[str, list[str]]:
    """CDATA sections replaced by \\x00n\\x00 slots, so tags inside arguments fool no regex."""
    saved: list[str] = []

    def keep(m: re.Match[str]) -> str:
        saved.append(m.group(1))
        return f"\x00{len(saved) - 1}\x00"

    return _CDATA.sub(keep, text), saved


def _unmask(text: str, saved: list[str]) -> str:
    if _ONLY_SLOTS.fullmatch(text):  # only CDATA: its content, exactly
        return "".join(saved[int(n)] for n in _SLOT.findall(text))
    # plain text: the line breaks just inside the tags are layout, not content
    return _SLOT.sub(lambda m: saved[int(m.group(1))], _LAYOUT.sub("", text))


def _field(body: str, saved: list[str], *tags: str) -> str | None:
    for tag in tags:
        m = _FIELDS[tag].search(body)
        if m:
            return _unmask(m.group(1), saved)
    return None


def _parse_call(attrs: str, body: str, saved: list[str], tools: Mapping[str, ir.Tool]) -> ParsedCall | None:
    name = _field(body, saved, "tool", "name", "tool_name")
    if name is None:
        m = _NAME_ATTR.search(attrs)
        name = m.group(1) if m else None
    raw_args: Any = _FAIL
    if name is None:  # `{"name": ..., "arguments": {...}}` as the whole body (Hermes/Qwen style)
        obj = loads_lenient(_unmask(body, saved))
        if isinstance(obj, dict) and isinstance(obj.get("name"), str):
            name, raw_args = obj["name"], obj.get("arguments", obj.get("input", {}))
    tool = tools.get(name.strip()) if name is not None else None
    if tool is None:
        return None
    if raw_args is _FAIL:
        raw_args = _raw_arguments(body, saved)
    args = _custom_input(raw_args) if tool.kind == "custom" else _object_json(raw_args)
    return None if args is None else ParsedCall(tool.name, args, tool.kind)


def _raw_arguments(body: str, saved: list[str]) -> Any:
    """The arguments as written: raw text (str), an already-decoded object, or {} when absent."""
    text = _field(body, saved, "input")
    if text is not None:
        return ("input", text)
    text = _field(body, saved, "args_json", "arguments", "parameters")
    if text is not None:
        return text
    text = _field(body, saved, "args")
    if text is None:
        return {}
    decoded = loads_lenient(text)
    if decoded is not _FAIL:
        return decoded
    # <args><key>value</key>...</args>: each value JSON if it decodes, else the string (chat2api)
    return {k: _scalar(v) for k, v in _KV.findall(text)}


def _scalar(text: str) -> Any:
    value = loads_lenient(text) if text.strip() else text
    return text.strip() if value is _FAIL else value


def _object_json(raw: Any) -> str | None:
    if isinstance(raw, tuple):  # <input> given to a function tool
        raw = raw[1]
    value = loads_lenient(raw) if isinstance(raw, str) else raw
    if isinstance(value, str):  # double-encoded: "{\"a\":1}"
        value = loads_lenient(value)
    if not isinstance(value, dict):
        return None
    try:
        return to_json(value)
    except TypeError:  # literal_eval gave something JSON cannot hold (a set, bytes...)
        return None


def _custom_input(raw: Any) -> str | None:
    if isinstance(raw, tuple):  # <input>: the raw text
        return str(raw[1])
    value = loads_lenient(raw) if isinstance(raw, str) else raw
    if isinstance(value, str):
        return value
    if value == {}:  # no input written
        return ""
    if isinstance(value, dict) and len(value) == 1 and isinstance(next(iter(value.values())), str):
        return str(next(iter(value.values())))  # {"input": "..."}: the wrapper conversions.md 3.8 uses
    return raw.strip() if isinstance(raw, str) else to_json(value)


def loads_lenient(text: str) -> Any:
    """JSON as LLMs write it: in a code fence, with trailing commas, or Python-style single quotes.
    Empty text is {}; undecodable text is the module's _FAIL sentinel."""
    text = text.strip()
    fenced = _FENCED.match(text)
    if fenced:
        text = fenced.group(1).strip()
    if not text:
        return {}
    for candidate in (text, _TRAILING_COMMA.sub(r"\1", text)):
        try:
            return orjson.loads(candidate)
        except orjson.JSONDecodeError:
            pass
    try:
        return ast.literal_eval(text)  # literals only: no code runs
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _FAIL

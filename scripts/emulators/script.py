"""The deterministic script every emulated upstream follows (shared/emulator/SCRIPT.md).

Pure and dialect-neutral: protocol modules turn a request into a `Turn`, call `decide`,
and render the `Decision` in their own wire format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any

DEFAULT_TEXT = "Hello from the scripted upstream."
RESULT_LIMIT = 2000  # characters of joined tool results echoed back (rule 1)

CITIES = ("Paris", "London", "Tokyo")
READ_TOOLS = ("Read", "read", "read_file")
SHELL_TOOLS = ("exec_command", "shell_command", "shell", "Bash", "bash")
WRITE_TOOLS = ("Write", "write", "write_file")

_CITY_RE = re.compile("|".join(CITIES), re.IGNORECASE)
_READ_RE = re.compile(r"read the file (\S+)", re.IGNORECASE)
_RUN_RE = re.compile(r"run the command `([^`]*)`", re.IGNORECASE)
_CREATE_RE = re.compile(r"create the file (\S+) containing `([^`]*)`", re.IGNORECASE)
_TOKEN_RE = re.compile(r"ACC-[A-Z0-9]{4,12}")
_PATH_TRAILERS = ".,;:!?)'\""


@dataclass
class Turn:
    """What the script looks at in a request, whatever its dialect."""

    prompt: str = ""
    tool_results: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)  # offered tool names, in request order
    tool_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    freeform: set[str] = field(default_factory=set)  # names of raw-string (custom) tools


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any] | str  # str = raw input of a freeform tool

    @property
    def freeform(self) -> bool:
        return isinstance(self.arguments, str)

    @property
    def payload(self) -> str:
        """The wire string: JSON arguments, or the raw freeform input."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Decision:
    text: str | None = None
    calls: tuple[ToolCall, ...] = ()

    @property
    def kind(self) -> str:
        return "tools" if self.calls else "text"


def decide(turn: Turn) -> Decision:
    """Apply SCRIPT.md's rules in order; the first that applies wins."""
    if turn.tool_results:
        joined = " | ".join(r.strip() for r in turn.tool_results)
        return Decision(text="Tool result: " + joined[:RESULT_LIMIT])
    for rule in (_weather, _read_file, _run_command, _create_file):
        calls = rule(turn)
        if calls:
            return Decision(calls=tuple(calls))
    return Decision(text=_echo_tokens(turn.prompt))


def _first_offered(turn: Turn, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in turn.tools), None)


def _main_param(schema: dict[str, Any]) -> str:
    """First required parameter, else first property, else `input`."""
    required = schema.get("required") or []
    if required:
        return str(required[0])
    props = schema.get("properties") or {}
    return next(iter(props), "input")


def _param_type(schema: dict[str, Any], name: str) -> Any:
    prop = (schema.get("properties") or {}).get(name) or {}
    return prop.get("type") if isinstance(prop, dict) else None


def _weather(turn: Turn) -> list[ToolCall]:
    if "weather" not in turn.prompt.lower() or "get_weather" not in turn.tools:
        return []
    seen: list[str] = []
    for m in _CITY_RE.finditer(turn.prompt):
        city = m.group(0).capitalize()
        if city not in seen:
            seen.append(city)
    return [ToolCall("get_weather", {"city": c}) for c in seen or ["Paris"]]


def _read_file(turn: Turn) -> list[ToolCall]:
    m = _READ_RE.search(turn.prompt)
    tool = _first_offered(turn, READ_TOOLS)
    if not m or not tool:
        return []
    path = m.group(1).rstrip(_PATH_TRAILERS)
    return [ToolCall(tool, {_main_param(turn.tool_schemas.get(tool, {})): path})]


def _run_command(turn: Turn) -> list[ToolCall]:
    m = _RUN_RE.search(turn.prompt)
    tool = _first_offered(turn, SHELL_TOOLS)
    if not m or not tool:
        return []
    schema = turn.tool_schemas.get(tool, {})
    param = _main_param(schema)
    cmd = m.group(1)
    value: Any = ["bash", "-lc", cmd] if _param_type(schema, param) == "array" else cmd
    return [ToolCall(tool, {param: value})]


def _create_file(turn: Turn) -> list[ToolCall]:
    m = _CREATE_RE.search(turn.prompt)
    if not m:
        return []
    path, text = m.group(1), m.group(2)
    if "apply_patch" in turn.tools:
        patch = f"*** Begin Patch\n*** Add File: {path}\n+{text}\n*** End Patch\n"
        if "apply_patch" in turn.freeform:
            return [ToolCall("apply_patch", patch)]
        return [ToolCall("apply_patch", {_main_param(turn.tool_schemas.get("apply_patch", {})): patch})]
    tool = _first_offered(turn, WRITE_TOOLS)
    if not tool:
        return []
    props = list((turn.tool_schemas.get(tool, {}).get("properties") or {}))
    # Case-insensitive so that opencode's `filePath` counts as a path property.
    path_key = next((p for p in props if "path" in p.lower()), "file_path")
    content_key = next((p for p in props if "content" in p.lower()), "content")
    return [ToolCall(tool, {path_key: path, content_key: text + "\n"})]


def _echo_tokens(prompt: str) -> str:
    tokens = list(dict.fromkeys(_TOKEN_RE.findall(prompt)))
    return "ACK " + " ".join(tokens) if tokens else DEFAULT_TEXT


# --- streaming helpers -------------------------------------------------------------------


def split_text(text: str, pieces: int = 3) -> list[str]:
    """Split text into about `pieces` parts, cutting before spaces (so " there!" style
    deltas), and into at least 2 parts whenever the text has 2 or more characters."""
    if len(text) < 2:
        return [text] if text else []
    spaces = [i for i, c in enumerate(text) if c == " " and i > 0]
    cuts: list[int] = []
    for k in range(1, pieces):
        target = len(text) * k / pieces
        options = [i for i in spaces if i not in cuts and (not cuts or i > cuts[-1])]
        if options:
            cuts.append(min(options, key=lambda i: abs(i - target)))
    if not cuts:
        cuts = [len(text) // 2]
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


def split_fragments(payload: str, pieces: int = 3) -> list[str]:
    """Split a JSON-arguments (or freeform input) string into >= 2 arbitrary fragments;
    only their concatenation is meaningful, as with real upstreams."""
    if len(payload) < 2:
        return [payload]
    n = max(2, min(pieces, len(payload)))
    bounds = [round(len(payload) * k / n) for k in range(n + 1)]
    return [payload[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]

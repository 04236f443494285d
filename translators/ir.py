"""The bridge's internal representation (IR) of a chat turn, its answer and its stream.

Block-structured like Anthropic Messages and Responses items, so that no dialect loses data in it;
Chat Completions is the only flat dialect and is lifted into blocks by its codec.
Pure data: frozen, slotted dataclasses built by our own code (no validation cost).

Conventions that every codec follows:
- Usage.input counts ALL prompt tokens, cached ones included (OpenAI's convention); Anthropic's
  `input_tokens` is `input - cache_read - cache_write`. Usage.output includes reasoning tokens.
- ToolUse.arguments is the raw JSON text of the arguments (or the raw input of a freeform tool).
- `extra` holds wire fields the IR has no slot for, tagged by the dialect they came from
  (`extra_from`), so a same-dialect upstream gets them back and others drop them.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from types import MappingProxyType
from typing import Any
from typing import Literal
from typing import Mapping

EMPTY: Mapping[str, Any] = MappingProxyType({})  # immutable, so a safe shared default

Dialect = Literal["openai-chat", "openai-responses", "anthropic-messages"]


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class Image:
    """An image as base64 data (`data` + `media_type`) or as a URL."""

    media_type: str | None = None
    data: str | None = None
    url: str | None = None
    detail: str | None = None
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class Document:
    """A file (PDF, text...) as base64 data, URL, plain text or provider file id."""

    media_type: str | None = None
    data: str | None = None
    url: str | None = None
    text: str | None = None
    file_id: str | None = None
    filename: str | None = None
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class Audio:
    data: str
    format: str
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class Thinking:
    """Reasoning text. `signature` is opaque and only valid for the provider named in `origin`."""

    text: str
    signature: str | None = None
    origin: str | None = None
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class RedactedThinking:
    data: str
    origin: str | None = None
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class ToolUse:
    id: str
    name: str
    arguments: str  # raw JSON text, or the raw input of a freeform (custom) tool
    kind: Literal["function", "custom"] = "function"
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class ToolResult:
    tool_use_id: str
    content: tuple[Block, ...]
    is_error: bool = False
    name: str | None = None
    kind: Literal["function", "custom"] = "function"
    extra: Mapping[str, Any] = EMPTY


Block = Text | Image | Document | Audio | Thinking | RedactedThinking | ToolUse | ToolResult

Role = Literal["system", "developer", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    """One turn. Tool results live in `user` messages (as Anthropic does); system/developer
    messages may appear mid-conversation (Claude Code and Chat clients send them)."""

    role: Role
    content: tuple[Block, ...]
    name: str | None = None
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str | None = None
    parameters: Mapping[str, Any] | None = None  # JSON schema of the arguments
    kind: Literal["function", "custom"] = "function"
    strict: bool | None = None
    format: Mapping[str, Any] | None = None  # freeform tools: grammar / text format
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class ToolChoice:
    mode: Literal["auto", "none", "required", "tool"]
    name: str | None = None  # the forced tool when mode == "tool"
    allowed: tuple[str, ...] | None = None  # allowed_tools subset


@dataclass(frozen=True, slots=True)
class Reasoning:
    """A request for reasoning. `effort` is OpenAI's scale, `budget` Anthropic's token budget;
    codecs derive one from the other when the target needs it."""

    effort: str | None = None
    budget: int | None = None
    summary: str | None = None
    mode: Literal["enabled", "adaptive", "disabled"] | None = None
    extra: Mapping[str, Any] = EMPTY


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema: Mapping[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Sampling:
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: tuple[Message, ...]
    system: tuple[Block, ...] = ()
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    max_output_tokens: int | None = None
    sampling: Sampling = field(default_factory=Sampling)
    stop: tuple[str, ...] = ()
    n: int | None = None
    stream: bool = False
    want_usage: bool = False
    reasoning: Reasoning | None = None
    response_format: ResponseFormat | None = None
    metadata: Mapping[str, Any] | None = None
    user: str | None = None
    previous_response_id: str | None = None
    extra: Mapping[str, Any] = EMPTY
    extra_from: Dialect | None = None


StopReason = Literal[
    "end_turn", "max_tokens", "stop_sequence", "tool_use", "content_filter", "refusal", "pause_turn", "error"
]


@dataclass(frozen=True, slots=True)
class Usage:
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0

    def merged(self, other: Usage | None) -> Usage:
        """Later reports win field by field when they are non-zero (streams report in parts)."""
        if other is None:
            return self
        return Usage(*(b or a for a, b in zip(_usage_tuple(self), _usage_tuple(other))))


def _usage_tuple(u: Usage) -> tuple[int, int, int, int, int]:
    return (u.input, u.output, u.cache_read, u.cache_write, u.reasoning)


@dataclass(frozen=True, slots=True)
class ChatResponse:
    id: str
    model: str
    content: tuple[Block, ...]
    stop_reason: StopReason = "end_turn"
    stop_sequence: str | None = None
    usage: Usage = field(default_factory=Usage)
    extra: Mapping[str, Any] = EMPTY


# ---- stream events, modelled on Anthropic's stream (the richest: explicit block indices) ----


@dataclass(frozen=True, slots=True)
class MessageStart:
    id: str | None
    model: str | None
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class BlockStart:
    index: int
    block: Text | Thinking | RedactedThinking | ToolUse  # ToolUse carries id + name, empty arguments


DeltaKind = Literal["text", "thinking", "signature", "tool_args"]


@dataclass(frozen=True, slots=True)
class BlockDelta:
    index: int
    kind: DeltaKind
    value: str


@dataclass(frozen=True, slots=True)
class BlockStop:
    """Blocks never overlap, with one exception encoders must accept: Chat upstreams may interleave
    the argument fragments of parallel tool calls by index, so a `tool_args` BlockDelta can follow
    the BlockStop of its block."""

    index: int


@dataclass(frozen=True, slots=True)
class MessageDelta:
    stop_reason: StopReason | None
    usage: Usage | None = None
    stop_sequence: str | None = None


@dataclass(frozen=True, slots=True)
class MessageStop:
    pass


@dataclass(frozen=True, slots=True)
class StreamError:
    status: int
    type: str
    message: str


StreamEvent = MessageStart | BlockStart | BlockDelta | BlockStop | MessageDelta | MessageStop | StreamError


class Ids:
    """Supplies ids and the clock to translators, which may not read either themselves.

    The shell passes a real one; tests pass a deterministic one. `new(prefix)` must return a
    fresh id for every call."""

    def __init__(self, now: int, seed: str = "0") -> None:
        self._now, self._seed, self._n = now, seed, 0

    def now(self) -> int:
        return self._now

    def new(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._seed}{self._n:04d}"

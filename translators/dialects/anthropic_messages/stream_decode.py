"""Upstream side: Anthropic SSE events -> IR stream events (anthropic-messages.md 5; conversions.md 13.1)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Callable

import orjson

from translators import ir
from translators.dialects.anthropic_messages.blocks import ORIGIN
from translators.dialects.anthropic_messages.blocks import opaque
from translators.dialects.anthropic_messages.errors import KIND_OF_TYPE
from translators.dialects.anthropic_messages.errors import status_of_kind
from translators.dialects.anthropic_messages.response import STOP_FROM_WIRE
from translators.dialects.anthropic_messages.response import as_dict
from translators.dialects.anthropic_messages.response import as_str
from translators.dialects.anthropic_messages.response import merge_wire_usage
from translators.dialects.anthropic_messages.response import usage_from_wire
from translators.sse import SSEEvent

Events = list[ir.StreamEvent]


@dataclass(slots=True)
class _Open:
    kind: str  # "text" | "thinking" | "redacted" | "tool" | "whole" (server tool blocks: emitted at stop)
    raw: dict[str, Any] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)


class AnthropicStreamDecoder:
    def __init__(self, req: ir.ChatRequest) -> None:
        self._req = req
        self._usage: dict[str, int] = {}
        self._open: dict[int, _Open] = {}
        self._started = self._delta_seen = self._done = False

    def feed(self, event: SSEEvent) -> Events:
        if self._done or event.event == "ping" or not event.data:
            return []
        try:
            data = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            return self._fail("The upstream sent an invalid stream event.")
        if not isinstance(data, dict):
            return self._fail("The upstream sent an invalid stream event.")
        kind = data.get("type") if isinstance(data.get("type"), str) else event.event
        handler = _HANDLERS.get(kind or "")
        return handler(self, data) if handler else []  # ping and unknown events are ignored

    def flush(self) -> Events:
        """The upstream closed: stop open blocks, then the message (an empty stream is an error)."""
        if self._done:
            return []
        if not self._started:
            return self._fail("The upstream closed the stream before sending a message.")
        out = self._stop_open()
        if not self._delta_seen:
            out.append(ir.MessageDelta(stop_reason=None, usage=self._ir_usage()))
        self._done = True
        return out + [ir.MessageStop()]

    # ---- handlers ----

    def _message_start(self, data: dict[str, Any]) -> Events:
        msg = as_dict(data.get("message"))
        self._usage = merge_wire_usage(self._usage, msg.get("usage"))
        if self._started:
            return []
        self._started = True
        return [ir.MessageStart(id=as_str(msg.get("id")), model=as_str(msg.get("model")),
                                usage=self._ir_usage())]

    def _block_start(self, data: dict[str, Any]) -> Events:
        index, block = data.get("index"), data.get("content_block")
        if not isinstance(index, int) or not isinstance(block, dict):
            return []
        kind = block.get("type")
        if kind == "text":
            self._open[index] = _Open("text")
            return [ir.BlockStart(index, ir.Text(as_str(block.get("text")) or ""))]
        if kind == "thinking":
            self._open[index] = _Open("thinking")
            sig = as_str(block.get("signature")) or None
            text = as_str(block.get("thinking")) or ""
            return [ir.BlockStart(index, ir.Thinking(text, signature=sig, origin=ORIGIN))]
        if kind == "redacted_thinking":
            self._open[index] = _Open("redacted")
            return [ir.BlockStart(index, ir.RedactedThinking(as_str(block.get("data")) or "", origin=ORIGIN))]
        if kind == "tool_use":
            # The start's `input` is always {}: never merge it with the deltas (5.2); some compatible
            # servers put the whole input here instead, which _close replays as one fragment.
            self._open[index] = _Open("tool", raw=block)
            tool = ir.ToolUse(id=as_str(block.get("id")) or "", name=as_str(block.get("name")) or "",
                              arguments="")
            return [ir.BlockStart(index, tool)]
        self._open[index] = _Open("whole", raw=block)
        return []

    def _block_delta(self, data: dict[str, Any]) -> Events:
        index, delta = data.get("index"), data.get("delta")
        if not isinstance(index, int) or not isinstance(delta, dict) or index not in self._open:
            return []
        kind = delta.get("type")
        if kind == "input_json_delta":
            fragment = as_str(delta.get("partial_json")) or ""
            self._open[index].args.append(fragment)
            is_tool = self._open[index].kind == "tool"
            return [ir.BlockDelta(index, "tool_args", fragment)] if is_tool else []  # "" too, as sent
        key, ir_kind, block_kind = _DELTAS.get(kind, ("", "text", ""))
        value = as_str(delta.get(key)) if self._open[index].kind == block_kind else None
        return [ir.BlockDelta(index, ir_kind, value)] if value else []  # also skips citations_delta

    def _block_stop(self, data: dict[str, Any]) -> Events:
        index = data.get("index")
        if not isinstance(index, int) or index not in self._open:
            return []
        return self._close(index, self._open.pop(index))

    def _message_delta(self, data: dict[str, Any]) -> Events:
        delta = as_dict(data.get("delta"))
        self._usage = merge_wire_usage(self._usage, data.get("usage"))
        self._delta_seen = True
        stop = delta.get("stop_reason")
        reason = STOP_FROM_WIRE.get(stop, "end_turn") if isinstance(stop, str) else None
        return [ir.MessageDelta(stop_reason=reason, usage=self._ir_usage(),
                                stop_sequence=as_str(delta.get("stop_sequence")))]

    def _message_stop(self, data: dict[str, Any]) -> Events:
        out = self._stop_open()
        self._done = True
        return out + [ir.MessageStop()]

    def _error(self, data: dict[str, Any]) -> Events:
        err = as_dict(data.get("error"))
        kind = KIND_OF_TYPE.get(as_str(err.get("type")) or "", "api_error")
        self._done = True
        return [ir.StreamError(status=529 if kind == "overloaded" else status_of_kind(kind), type=kind,
                               message=as_str(err.get("message")) or "Upstream stream error")]

    # ---- helpers ----

    def _close(self, index: int, o: _Open) -> Events:
        if o.kind == "whole":  # server tool blocks: complete, their streamed input folded in
            block = dict(o.raw)
            if o.args and "".join(o.args).strip():
                try:
                    block["input"] = orjson.loads("".join(o.args))
                except orjson.JSONDecodeError:
                    pass
            return [ir.BlockStart(index, opaque(block)), ir.BlockStop(index)]
        if o.kind == "tool" and not "".join(o.args) and o.raw.get("input"):
            whole = orjson.dumps(o.raw["input"]).decode()
            return [ir.BlockDelta(index, "tool_args", whole), ir.BlockStop(index)]
        return [ir.BlockStop(index)]

    def _stop_open(self) -> Events:
        out = [e for i, o in sorted(self._open.items()) for e in self._close(i, o)]
        self._open = {}
        return out

    def _ir_usage(self) -> ir.Usage:
        return usage_from_wire(self._usage)

    def _fail(self, message: str) -> Events:
        self._done = True
        return [ir.StreamError(status=502, type="upstream_unreachable", message=message)]


_DELTAS: dict[Any, tuple[str, ir.DeltaKind, str]] = {
    "text_delta": ("text", "text", "text"), "thinking_delta": ("thinking", "thinking", "thinking"),
    "signature_delta": ("signature", "signature", "thinking"),
}

_HANDLERS: dict[str, Callable[[AnthropicStreamDecoder, dict[str, Any]], Events]] = {
    "message_start": AnthropicStreamDecoder._message_start,
    "content_block_start": AnthropicStreamDecoder._block_start,
    "content_block_delta": AnthropicStreamDecoder._block_delta,
    "content_block_stop": AnthropicStreamDecoder._block_stop,
    "message_delta": AnthropicStreamDecoder._message_delta,
    "message_stop": AnthropicStreamDecoder._message_stop,
    "error": AnthropicStreamDecoder._error,
}

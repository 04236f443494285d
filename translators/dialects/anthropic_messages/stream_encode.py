"""Client side: IR stream events -> Anthropic SSE frames (anthropic-messages.md 5; conversions.md 10.1).

Wire rules kept here: one message_start first, blocks never interleave and are numbered 0, 1, 2... in
the order they are emitted, no empty text/thinking blocks, one message_delta then message_stop, errors as
`event: error`. An IR stream may interleave blocks: parallel Chat tool calls whose argument fragments
alternate come as deltas for an index that already had its BlockStop. So a tool block stays open on the
wire until the message ends, and events of other blocks wait in a queue meanwhile (conversions.md 10.1:
serialise, never drop); the cost is that a second tool call goes out only when the message ends."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import orjson

from translators import ir
from translators.dialects.anthropic_messages.blocks import OPAQUE
from translators.dialects.anthropic_messages.blocks import encode_signature
from translators.dialects.anthropic_messages.blocks import safe_id
from translators.dialects.anthropic_messages.errors import stream_error_type
from translators.dialects.anthropic_messages.response import message_id
from translators.dialects.anthropic_messages.response import stop_to_wire
from translators.dialects.anthropic_messages.response import usage_to_wire
from translators.dialects.anthropic_messages.tokens import estimate_tokens
from translators.sse import encode

_BlockEvent = ir.BlockStart | ir.BlockDelta | ir.BlockStop
_TEXT_START = {"type": "text", "text": ""}
_THINKING_START = {"type": "thinking", "thinking": "", "signature": ""}
_DELTA_FOR = {"text": "text", "thinking": "thinking", "signature": "thinking", "tool_args": "tool"}


def frame(name: str, obj: dict[str, Any]) -> bytes:
    return encode(orjson.dumps(obj), name)


def ping_frame() -> bytes:
    """Keep-alive for long upstream waits: Claude Code gives up after ~300 s of silence (5.4)."""
    return frame("ping", {"type": "ping"})


@dataclass(slots=True)
class _Block:
    ir_index: int
    kind: str  # "text" | "thinking" | "tool" (freeform: custom=True) | "whole" (complete at start)
    origin: str | None = None
    custom: bool = False
    out: int | None = None  # wire index, once content_block_start went out
    signed: bool = False


class AnthropicStreamEncoder:
    def __init__(self, req: ir.ChatRequest, ids: ir.Ids) -> None:
        self._req, self._ids = req, ids
        self._started = self._done = self._saw_tool = False
        self._next = 0
        self._open: _Block | None = None
        self._blocks: dict[int, _Block] = {}
        self._stopped: set[int] = set()
        self._queue: list[_BlockEvent] = []
        self._usage = ir.Usage()
        self._input = 0  # the prompt size message_start announced
        self._stop: ir.StopReason | None = None
        self._stop_seq: str | None = None

    def feed(self, event: ir.StreamEvent) -> list[bytes]:
        if self._done:
            return []
        if isinstance(event, ir.StreamError):
            return self._error(event)
        if isinstance(event, ir.MessageStart):
            if self._started:
                self._usage = self._usage.merged(event.usage)
                return []
            return self._start(event)
        out = [] if self._started else self._start(None)
        if isinstance(event, (ir.BlockStart, ir.BlockDelta, ir.BlockStop)):
            return out + self._route(event)
        if isinstance(event, ir.MessageDelta):
            self._stop = event.stop_reason or self._stop
            self._stop_seq = event.stop_sequence or self._stop_seq
            self._usage = self._usage.merged(event.usage)
            return out + self._close_all()  # the message_delta itself waits for message_stop (10.1 step 3)
        return out + self._finish()

    def flush(self) -> list[bytes]:
        if self._done:
            return []
        out = [] if self._started else self._start(None)
        return out + self._finish()

    # ---- message level ----

    def _start(self, ev: ir.MessageStart | None) -> list[bytes]:
        self._started = True
        self._usage = (ev.usage if ev else None) or ir.Usage()
        # Claude Code reads the prompt size here: never 0, estimate when the upstream tells later (5.2).
        self._input = self._usage.input or estimate_tokens(self._req)
        msg: dict[str, Any] = {
            "id": message_id(ev.id if ev else None, self._ids), "type": "message", "role": "assistant",
            "model": self._req.model or (ev.model if ev else None) or "", "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": usage_to_wire(self._shown_usage()),
        }
        return [frame("message_start", {"type": "message_start", "message": msg})]

    def _shown_usage(self) -> ir.Usage:
        u = self._usage
        return u if u.input else dataclasses.replace(u, input=self._input + u.cache_read + u.cache_write)

    def _finish(self) -> list[bytes]:
        out = self._close_all()
        delta = {"stop_reason": stop_to_wire(self._stop, self._saw_tool), "stop_sequence": self._stop_seq}
        out.append(frame("message_delta", {"type": "message_delta", "delta": delta,
                                           "usage": usage_to_wire(self._shown_usage())}))
        out.append(frame("message_stop", {"type": "message_stop"}))
        self._done = True
        return out

    def _error(self, ev: ir.StreamError) -> list[bytes]:
        self._done = True  # the stream ends with the error: no message_stop (5.4)
        err = {"type": stream_error_type(ev.type, ev.status), "message": ev.message}
        return [frame("error", {"type": "error", "error": err})]

    # ---- block routing and serialisation ----

    def _route(self, ev: _BlockEvent) -> list[bytes]:
        o = self._open
        if o is not None and o.ir_index != ev.index and (self._queue or o.kind == "tool"):
            self._queue.append(ev)
            return []
        if isinstance(ev, ir.BlockStart):
            return self._block_start(ev)
        if isinstance(ev, ir.BlockDelta):
            return self._block_delta(ev)
        self._stopped.add(ev.index)
        if o is not None and o.ir_index == ev.index and o.kind != "tool":
            return self._close_open() + self._drain()
        return []  # a tool block closes with the message: more of its arguments may still come

    def _drain(self) -> list[bytes]:
        queued, self._queue = self._queue, []
        return [f for ev in queued for f in self._route(ev)]

    def _close_all(self) -> list[bytes]:
        out: list[bytes] = []
        while self._open is not None or self._queue:
            out += self._close_open()
            out += self._drain()
        return out

    def _close_open(self) -> list[bytes]:
        b, self._open = self._open, None
        if b is None or b.out is None:
            return []
        out = self._json(b, '"}') if b.custom else []
        return out + [frame("content_block_stop", {"type": "content_block_stop", "index": b.out})]

    # ---- blocks ----

    def _block_start(self, ev: ir.BlockStart) -> list[bytes]:
        if ev.index in self._blocks and ev.index not in self._stopped:
            return []  # a repeated start
        self._stopped.discard(ev.index)
        out = self._close_open()  # blocks never interleave (5.1)
        blk = ev.block
        b = self._open = self._blocks[ev.index] = _Block(ev.index, _kind(blk), getattr(blk, "origin", None))
        if isinstance(blk, ir.ToolUse):
            return out + self._tool_start(b, blk)
        if isinstance(blk, ir.RedactedThinking):
            data = encode_signature(blk.data, b.origin)
            return out + self._emit_start(b, {"type": "redacted_thinking", "data": data})
        if isinstance(blk, ir.Text) and OPAQUE in blk.extra:
            return out + self._emit_start(b, blk.extra[OPAQUE])
        if isinstance(blk, ir.Text):
            return out + self._text(b, blk.text)
        return out + self._thinking(b, blk.text) + self._signature(b, blk.signature or "")

    def _tool_start(self, b: _Block, tu: ir.ToolUse) -> list[bytes]:
        self._saw_tool = True
        b.custom = tu.kind == "custom"
        tool_id = safe_id(tu.id) or self._ids.new("toolu_")
        out = self._emit_start(b, {"type": "tool_use", "id": tool_id, "name": tu.name, "input": {}})
        if b.custom:  # freeform input travels as {"input": "<raw>"} (conversions.md 3.8)
            out += self._json(b, '{"input":"')
        return out + (self._args(b, tu.arguments) if tu.arguments else [])

    def _block_delta(self, ev: ir.BlockDelta) -> list[bytes]:
        b = self._blocks.get(ev.index)
        out: list[bytes] = []
        if b is None or b is not self._open:
            if ev.index in self._stopped or ev.kind == "tool_args" or (b is not None and b.kind == "tool"):
                return []  # nothing sensible to attach it to
            # A delta without (or after an implicitly closed) start: continue in a fresh wire block.
            kind = _DELTA_FOR[ev.kind]
            out = self._close_open()
            b = self._open = self._blocks[ev.index] = _Block(ev.index, kind, b.origin if b else None)
        if _DELTA_FOR[ev.kind] != b.kind:
            return out
        if ev.kind == "text":
            return out + self._text(b, ev.value)
        if ev.kind == "thinking":
            return out + self._thinking(b, ev.value)
        if ev.kind == "signature":
            return out + self._signature(b, ev.value)
        return out + self._args(b, ev.value)

    def _text(self, b: _Block, text: str) -> list[bytes]:
        if not text:
            return []  # no empty text blocks: clients replay them and Anthropic rejects them (10.1)
        return self._ensure(b, _TEXT_START) + [self._delta(b, {"type": "text_delta", "text": text})]

    def _thinking(self, b: _Block, text: str) -> list[bytes]:
        if not text:
            return []
        delta = {"type": "thinking_delta", "thinking": text}
        return self._ensure(b, _THINKING_START) + [self._delta(b, delta)]

    def _signature(self, b: _Block, sig: str) -> list[bytes]:
        if not sig:
            return []
        wire = sig if b.signed else encode_signature(sig, b.origin)
        b.signed = True
        delta = {"type": "signature_delta", "signature": wire}
        return self._ensure(b, _THINKING_START) + [self._delta(b, delta)]

    def _args(self, b: _Block, fragment: str) -> list[bytes]:
        if not fragment and b.custom:
            return []
        return self._json(b, orjson.dumps(fragment).decode()[1:-1] if b.custom else fragment)

    def _json(self, b: _Block, partial: str) -> list[bytes]:
        return [self._delta(b, {"type": "input_json_delta", "partial_json": partial})]

    def _ensure(self, b: _Block, start: dict[str, Any]) -> list[bytes]:
        return [] if b.out is not None else self._emit_start(b, dict(start))

    def _emit_start(self, b: _Block, block: dict[str, Any]) -> list[bytes]:
        b.out, self._next = self._next, self._next + 1
        start = {"type": "content_block_start", "index": b.out, "content_block": block}
        return [frame("content_block_start", start)]

    def _delta(self, b: _Block, delta: dict[str, Any]) -> bytes:
        return frame("content_block_delta", {"type": "content_block_delta", "index": b.out, "delta": delta})


def _kind(block: ir.Block) -> str:
    if isinstance(block, ir.ToolUse):
        return "tool"
    if isinstance(block, ir.Thinking):
        return "thinking"
    if isinstance(block, ir.Text) and OPAQUE not in block.extra:
        return "text"
    return "whole"

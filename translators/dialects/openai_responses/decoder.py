"""Responses SSE events from an upstream -> IR stream events (openai-responses.md 4, conversions.md 10.5).

Each message / reasoning / function_call / custom_tool_call item becomes one IR block; built-in tool
items (web_search_call, ...) have no IR form and are skipped. The `*.done` events are used to fill in
text a server did not stream as deltas. Usage and the stop reason come from the terminal event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from typing import Callable

import orjson

from translators import ir
from translators.dialects.openai_responses.response import output_blocks
from translators.dialects.openai_responses.response import reasoning_block
from translators.dialects.openai_responses.wire import kind_for_code
from translators.dialects.openai_responses.wire import parse_usage
from translators.dialects.openai_responses.wire import status_for_kind
from translators.dialects.openai_responses.wire import stop_for
from translators.sse import SSEEvent

_DELTA_KIND: dict[str, ir.DeltaKind] = {
    "response.output_text.delta": "text", "response.refusal.delta": "text",
    "response.reasoning_summary_text.delta": "thinking", "response.reasoning_text.delta": "thinking",
    "response.function_call_arguments.delta": "tool_args", "response.custom_tool_call_input.delta": "tool_args",
}


@dataclass(slots=True)
class _Block:
    index: int  # IR block index
    kind: str  # item type
    sent: str = ""  # text / thinking / arguments emitted so far
    open: bool = True


class ResponsesStreamDecoder:
    def __init__(self, req: ir.ChatRequest) -> None:
        self._req = req
        self._blocks: dict[int, _Block] = {}  # output_index -> block
        self._started = self._finished = self._saw_tool = False
        self._handlers: dict[str, Callable[[dict[str, Any]], list[ir.StreamEvent]]] = {
            "response.output_item.added": self._added, "response.output_item.done": self._done,
            "response.reasoning_summary_part.added": self._summary_part,
            "response.completed": self._terminal, "response.incomplete": self._terminal,
            "response.failed": self._failed, "error": self._error,
        }

    def feed(self, event: SSEEvent) -> list[ir.StreamEvent]:
        if self._finished or not event.data.strip() or event.data.strip() == "[DONE]":
            return []
        try:
            obj = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            return self._fail("api_error", "The upstream sent an invalid stream event.")
        if not isinstance(obj, dict):
            return []
        typ = obj.get("type") if isinstance(obj.get("type"), str) else event.event or ""
        out = self._start(obj.get("response")) if typ not in ("error", "response.failed") else []
        if typ in _DELTA_KIND:
            return out + self._delta(obj, _DELTA_KIND[typ])
        handler = self._handlers.get(typ)
        return out + (handler(obj) if handler else [])

    def flush(self) -> list[ir.StreamEvent]:
        if self._finished:
            return []
        # A Responses stream always ends with a terminal event; without one it was cut (5.1).
        return self._close_all() + self._fail("api_error", "The upstream stream ended before response.completed.")

    def _start(self, resp: Any) -> list[ir.StreamEvent]:
        if self._started:
            return []
        self._started = True
        resp = resp if isinstance(resp, dict) else {}
        rid, model = resp.get("id"), resp.get("model")
        return [ir.MessageStart(rid if isinstance(rid, str) else None, model if isinstance(model, str) else None)]

    def _fail(self, kind: str, message: str) -> list[ir.StreamEvent]:
        self._finished = True
        return [ir.StreamError(status_for_kind(kind), kind, message)]

    # ---- items ----

    def _added(self, obj: dict[str, Any]) -> list[ir.StreamEvent]:
        oi, item = obj.get("output_index"), obj.get("item")
        if not isinstance(oi, int) or not isinstance(item, dict) or oi in self._blocks:
            return []
        typ = item.get("type")
        if typ == "message":
            block: ir.Text | ir.Thinking | ir.RedactedThinking | ir.ToolUse = ir.Text("")
        elif typ == "reasoning":
            rb = reasoning_block({"id": item.get("id")}, "item")
            block = ir.Thinking("", origin=rb.origin, extra=rb.extra)
        elif typ in ("function_call", "custom_tool_call"):
            found = output_blocks({**item, "arguments": "", "input": ""}, "item")
            if not found or not isinstance(found[0], ir.ToolUse):
                return []
            block, self._saw_tool = found[0], True
        else:
            return []
        self._blocks[oi] = _Block(len(self._blocks), typ)
        return [ir.BlockStart(self._blocks[oi].index, block)]

    def _delta(self, obj: dict[str, Any], kind: ir.DeltaKind) -> list[ir.StreamEvent]:
        blk = self._blocks.get(obj.get("output_index"))  # type: ignore[arg-type]
        delta = obj.get("delta")
        if blk is None or not blk.open or not isinstance(delta, str) or not delta:
            return []
        blk.sent += delta
        return [ir.BlockDelta(blk.index, kind, delta)]

    def _summary_part(self, obj: dict[str, Any]) -> list[ir.StreamEvent]:
        idx = obj.get("summary_index")
        blk = self._blocks.get(obj.get("output_index"))  # type: ignore[arg-type]
        if blk is None or not blk.open or not isinstance(idx, int) or idx == 0 or not blk.sent:
            return []
        blk.sent += "\n\n"  # summary parts are joined like the non-stream parse joins them
        return [ir.BlockDelta(blk.index, "thinking", "\n\n")]

    def _done(self, obj: dict[str, Any]) -> list[ir.StreamEvent]:
        item = obj.get("item")
        if not isinstance(item, dict):
            return []
        out = [] if obj.get("output_index") in self._blocks else self._added(obj)
        blk = self._blocks.get(obj.get("output_index"))  # type: ignore[arg-type]
        if blk is None or not blk.open:
            return out
        return out + self._sync(blk, item) + self._stop_block(blk)

    def _sync(self, blk: _Block, item: dict[str, Any]) -> list[ir.StreamEvent]:
        """Emit what the final item holds beyond the deltas (servers may send only the done event)."""
        blocks = output_blocks(item, "item")
        if blk.kind == "message":
            final, kind = "".join(b.text for b in blocks if isinstance(b, ir.Text)), "text"
        elif blocks and isinstance(blocks[0], ir.ToolUse):
            final, kind = blocks[0].arguments, "tool_args"
        elif blocks and isinstance(blocks[0], ir.Thinking):
            final, kind = blocks[0].text, "thinking"
        else:
            return []
        out: list[ir.StreamEvent] = []
        if final.startswith(blk.sent) and len(final) > len(blk.sent):
            out.append(ir.BlockDelta(blk.index, kind, final[len(blk.sent):]))  # type: ignore[arg-type]
            blk.sent = final
        if blk.kind == "reasoning" and isinstance(blocks[0], ir.Thinking) and blocks[0].signature:
            out.append(ir.BlockDelta(blk.index, "signature", blocks[0].signature))
        return out

    def _stop_block(self, blk: _Block) -> list[ir.StreamEvent]:
        blk.open = False
        return [ir.BlockStop(blk.index)]

    def _close_all(self) -> list[ir.StreamEvent]:
        return [ev for blk in self._blocks.values() if blk.open for ev in self._stop_block(blk)]

    # ---- terminal ----

    def _terminal(self, obj: dict[str, Any]) -> list[ir.StreamEvent]:
        resp = obj.get("response") if isinstance(obj.get("response"), dict) else {}
        out: list[ir.StreamEvent] = []
        if not self._blocks:  # a server that sent only the final object: replay its items
            for i, item in enumerate(resp.get("output") or ()):
                out += self._done({"output_index": i, "item": item})
        out += self._close_all()
        self._finished = True
        stop = stop_for(resp.get("status") or obj["type"].removeprefix("response."),
                        resp.get("incomplete_details"), self._saw_tool)
        return out + [ir.MessageDelta(stop, parse_usage(resp.get("usage"))), ir.MessageStop()]

    def _failed(self, obj: dict[str, Any]) -> list[ir.StreamEvent]:
        resp = obj.get("response") if isinstance(obj.get("response"), dict) else {}
        return self._close_all() + self._error_from(resp.get("error"))

    def _error(self, obj: dict[str, Any]) -> list[ir.StreamEvent]:
        # Flat {"type":"error","code","message"} or the nested variant seen in the wild (4.5).
        return self._close_all() + self._error_from(obj.get("error") if isinstance(obj.get("error"), dict) else obj)

    def _error_from(self, err: Any) -> list[ir.StreamEvent]:
        err = err if isinstance(err, dict) else {}
        msg = err.get("message") if isinstance(err.get("message"), str) else "The upstream response failed."
        code = err.get("code") or err.get("type")
        self._finished = True
        kind = kind_for_code(code)
        # Keep OpenAI's own code when it says more than the neutral kind (encoders map it back).
        return [ir.StreamError(status_for_kind(kind), code if code == "context_length_exceeded" else kind, msg)]

"""Responses SSE events from an upstream -> IR stream events (openai-responses.md 4, conversions.md 10.5).

Each message / reasoning / function_call / custom_tool_call item becomes one IR block, numbered in
order of appearance; built-in tool items (web_search_call, ...) have no IR form and are skipped. The
`output_item.done` event fills in text a server did not stream as deltas and carries the reasoning
`encrypted_content` (-> signature delta). Usage and the stop reason come from the terminal event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from typing import Callable

import orjson

from translators import ir
from translators.dialects.openai_responses.wire import OPENAI
from translators.dialects.openai_responses.wire import kind_for_code
from translators.dialects.openai_responses.wire import parse_usage
from translators.dialects.openai_responses.wire import status_for_kind
from translators.dialects.openai_responses.wire import stop_for
from translators.sse import SSEEvent

_DELTA_KIND: dict[str, ir.DeltaKind] = {
    "response.output_text.delta": "text",
    "response.refusal.delta": "text",
    "response.reasoning_summary_text.delta": "thinking",
    "response.reasoning_text.delta": "thinking",  # raw chain of thought (open-weight models)
    "response.function_call_arguments.delta": "tool_args",
    "response.custom_tool_call_input.delta": "tool_args",
}
_ITEM_KIND: dict[str, ir.DeltaKind] = {
    "message": "text", "reasoning": "thinking", "function_call": "tool_args", "custom_tool_call": "tool_args",
}
Handler = Callable[[dict[str, Any]], list[ir.StreamEvent]]


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
        self._handlers: dict[str, Handler] = {
            "response.output_item.added": self._added,
            "response.output_item.done": self._done,
            "response.reasoning_summary_part.added": self._summary_part,
            "response.completed": self._terminal,
            "response.incomplete": self._terminal,
            "response.failed": self._failed,
            "error": self._error,
        }

    def feed(self, event: SSEEvent) -> list[ir.StreamEvent]:
        data = event.data.strip()
        if self._finished or not data or data == "[DONE]":
            return []
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return self._fail("api_error", "The upstream sent an invalid stream event.")
        if not isinstance(obj, dict):
            return []
        typ = _opt_str(obj.get("type")) or event.event or ""
        out = [] if typ in ("error", "response.failed") else self._start(_dict(obj.get("response")))
        if typ in _DELTA_KIND:
            return out + self._delta(obj, _DELTA_KIND[typ])
        handler = self._handlers.get(typ)
        return out + handler(obj) if handler else out

    def flush(self) -> list[ir.StreamEvent]:
        if self._finished:
            return []
        # A Responses stream always ends with a terminal event; without one it was cut (5.1).
        return self._close_all() + self._fail("api_error", "The upstream stream ended before the response.")

    def _start(self, resp: dict[str, Any]) -> list[ir.StreamEvent]:
        if self._started:
            return []
        self._started = True
        return [ir.MessageStart(_opt_str(resp.get("id")), _opt_str(resp.get("model")))]

    def _fail(self, kind: str, message: str) -> list[ir.StreamEvent]:
        self._finished = True
        return [ir.StreamError(status_for_kind(kind), kind, message)]

    def _block(self, obj: dict[str, Any]) -> _Block | None:
        oi = obj.get("output_index")
        blk = self._blocks.get(oi) if isinstance(oi, int) else None
        return blk if blk is not None and blk.open else None

    # ---- items ----

    def _added(self, obj: dict[str, Any]) -> list[ir.StreamEvent]:
        oi, item = obj.get("output_index"), obj.get("item")
        if not isinstance(oi, int) or not isinstance(item, dict) or oi in self._blocks:
            return []
        block = _start_block(item)
        if block is None:
            return []
        self._saw_tool = self._saw_tool or isinstance(block, ir.ToolUse)
        self._blocks[oi] = _Block(len(self._blocks), str(item.get("type")))
        return [ir.BlockStart(self._blocks[oi].index, block)]

    def _delta(self, obj: dict[str, Any], kind: ir.DeltaKind) -> list[ir.StreamEvent]:
        blk, delta = self._block(obj), obj.get("delta")
        if blk is None or not isinstance(delta, str) or not delta:
            return []
        blk.sent += delta
        return [ir.BlockDelta(blk.index, kind, delta)]

    def _summary_part(self, obj: dict[str, Any]) -> list[ir.StreamEvent]:
        blk, idx = self._block(obj), obj.get("summary_index")
        if blk is None or not isinstance(idx, int) or idx == 0 or not blk.sent:
            return []
        blk.sent += "\n\n"  # summary parts are joined as the non-stream parse joins them
        return [ir.BlockDelta(blk.index, "thinking", "\n\n")]

    def _done(self, obj: dict[str, Any]) -> list[ir.StreamEvent]:
        item = obj.get("item")
        if not isinstance(item, dict):
            return []
        out = [] if obj.get("output_index") in self._blocks else self._added(obj)  # done without added
        blk = self._block(obj)
        return out + self._sync(blk, item) + self._stop_block(blk) if blk else out

    def _sync(self, blk: _Block, item: dict[str, Any]) -> list[ir.StreamEvent]:
        """Emit what the final item holds beyond the deltas (servers may send only the done event)."""
        final, signature = _final(item)
        out: list[ir.StreamEvent] = []
        if final.startswith(blk.sent) and len(final) > len(blk.sent):
            out.append(ir.BlockDelta(blk.index, _ITEM_KIND[blk.kind], final[len(blk.sent):]))
            blk.sent = final
        if blk.kind == "reasoning" and signature:
            out.append(ir.BlockDelta(blk.index, "signature", signature))
        return out

    def _stop_block(self, blk: _Block) -> list[ir.StreamEvent]:
        blk.open = False
        return [ir.BlockStop(blk.index)]

    def _close_all(self) -> list[ir.StreamEvent]:
        return [ev for blk in self._blocks.values() if blk.open for ev in self._stop_block(blk)]

    # ---- terminal ----

    def _terminal(self, obj: dict[str, Any]) -> list[ir.StreamEvent]:
        resp = _dict(obj.get("response"))
        out: list[ir.StreamEvent] = []
        if not self._blocks:  # a server that sent only the final object: replay its items
            for i, item in enumerate(resp.get("output") or ()):
                out += self._done({"output_index": i, "item": item})
        out += self._close_all()
        self._finished = True
        status = resp.get("status") or str(obj["type"]).removeprefix("response.")
        stop = stop_for(status, resp.get("incomplete_details"), self._saw_tool)
        return out + [ir.MessageDelta(stop, parse_usage(resp.get("usage"))), ir.MessageStop()]

    def _failed(self, obj: dict[str, Any]) -> list[ir.StreamEvent]:
        return self._close_all() + self._error_from(_dict(_dict(obj.get("response")).get("error")))

    def _error(self, obj: dict[str, Any]) -> list[ir.StreamEvent]:
        # Flat {"type":"error","code","message"} or the nested variant seen in the wild (4.5).
        nested = obj.get("error")
        return self._close_all() + self._error_from(nested if isinstance(nested, dict) else obj)

    def _error_from(self, err: dict[str, Any]) -> list[ir.StreamEvent]:
        msg = _opt_str(err.get("message")) or "The upstream response failed."
        # The neutral kind; a context overflow stays recognisable by its message (conversions.md 12).
        return self._fail(kind_for_code(err.get("code") or err.get("type")), msg)


def _start_block(item: dict[str, Any]) -> ir.Text | ir.Thinking | ir.ToolUse | None:
    typ, iid = item.get("type"), item.get("id")
    if typ == "message":
        return ir.Text("")
    if typ == "reasoning":
        # OpenAI's item id is kept: its encrypted_content is bound to it (openai-responses.md 2.1).
        return ir.Thinking("", origin=OPENAI, extra={"item": {"id": iid}} if isinstance(iid, str) else {})
    call_id, name = item.get("call_id"), item.get("name")
    if typ not in ("function_call", "custom_tool_call") or not isinstance(call_id, str) \
            or not isinstance(name, str):
        return None
    return ir.ToolUse(call_id, name, "", kind="custom" if typ == "custom_tool_call" else "function")


def _final(item: dict[str, Any]) -> tuple[str, str | None]:
    """A finished item's whole text (message text, arguments or reasoning summary) and encrypted_content."""
    typ = item.get("type")
    if typ == "message":
        parts = [p for p in item.get("content") or () if isinstance(p, dict)]
        return "".join(_str(p.get("refusal" if p.get("type") == "refusal" else "text")) for p in parts), None
    if typ in ("function_call", "custom_tool_call"):
        return _str(item.get("input" if typ == "custom_tool_call" else "arguments")), None
    texts = [_str(s.get("text")) for s in item.get("summary") or () if isinstance(s, dict)]
    if not any(texts):
        texts = [_str(c.get("text")) for c in item.get("content") or () if isinstance(c, dict)]
    return "\n\n".join(texts), _opt_str(item.get("encrypted_content"))


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _str(v: Any) -> str:
    return v if isinstance(v, str) else ""


def _opt_str(v: Any) -> str | None:
    return v if isinstance(v, str) else None

"""IR stream events -> Responses SSE events for the client (openai-responses.md 4 and 6).

One output item per IR block, opened at BlockStart and closed at BlockStop, with `output_index`
allocated in order of appearance. Every stream starts with response.created + response.in_progress
and ends with exactly one of response.completed / response.incomplete / response.failed carrying the
full response (the agents SDK reads tool calls from it; Codex retries a stream without it, 5.1/5.2).
`result` is the accumulated ChatResponse, for the shell's previous_response_id store."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from translators import ir
from translators.dialects.common import freeform_names
from translators.dialects.common import unwrap_freeform
from translators.dialects.openai_responses.response import response_object
from translators.dialects.openai_responses.wire import call_item
from translators.dialects.openai_responses.wire import code_for
from translators.dialects.openai_responses.wire import encrypted_for
from translators.dialects.openai_responses.wire import is_refusal
from translators.dialects.openai_responses.wire import message_item
from translators.dialects.openai_responses.wire import new_item_id
from translators.dialects.openai_responses.wire import reasoning_item
from translators.dialects.openai_responses.wire import refusal_part
from translators.dialects.openai_responses.wire import status_for
from translators.dialects.openai_responses.wire import text_part
from translators.dialects.openai_responses.wire import usage_obj
from translators.jsonutil import dumps
from translators.sse import encode

_CUT = "incomplete"  # status of items still open when the response ends abnormally (4.5)


@dataclass(slots=True)
class _Item:
    output_index: int
    item_id: str
    block: ir.Text | ir.Thinking | ir.RedactedThinking | ir.ToolUse
    chunks: list[str] = field(default_factory=list)  # text, thinking text or tool arguments
    signature: list[str] = field(default_factory=list)
    part_open: bool = False  # reasoning: summary part 0 was announced
    wrapped: bool = False  # a freeform call the upstream made as a function call: {"input": ...} buffered
    final: dict[str, Any] | None = None  # the item as sent in output_item.done

    @property
    def text(self) -> str:
        return "".join(self.chunks)


class ResponsesStreamEncoder:
    def __init__(self, req: ir.ChatRequest, ids: ir.Ids) -> None:
        self._req, self._ids = req, ids
        self._freeform = freeform_names(req.tools)
        self._resp_id = ids.new("resp_")
        self._created_at = ids.now()
        self._model = req.model
        self._seq = 0
        self._items: list[_Item] = []
        self._open: dict[int, _Item] = {}  # IR block index -> item still streaming
        self._stop: ir.StopReason | None = None
        self._usage: ir.Usage | None = None
        self._started = self._finished = False
        self._result: ir.ChatResponse | None = None

    @property
    def result(self) -> ir.ChatResponse | None:
        """The answer as the client received it; set once the terminal event went out."""
        return self._result

    def feed(self, event: ir.StreamEvent) -> list[bytes]:
        if self._finished:
            return []
        if isinstance(event, ir.MessageStart) and not self._started:
            self._model = event.model or self._model
        out = self._start()
        if isinstance(event, (ir.MessageStart, ir.MessageDelta)) and event.usage is not None:
            self._usage = self._usage.merged(event.usage) if self._usage else event.usage
        if isinstance(event, ir.BlockStart):
            out += self._block_start(event)
        elif isinstance(event, ir.BlockDelta):
            out += self._delta(event)
        elif isinstance(event, ir.BlockStop):
            item = self._open.pop(event.index, None)
            out += self._close(item, "completed") if item else []
        elif isinstance(event, ir.MessageDelta):
            self._stop = event.stop_reason or self._stop
        elif isinstance(event, ir.MessageStop):
            out += self._finish()
        elif isinstance(event, ir.StreamError):
            out += self._finish(event)
        return out

    def flush(self) -> list[bytes]:
        if self._finished:
            return []
        return self._start() + self._finish()

    # ---- framing ----

    def _event(self, typ: str, **fields: Any) -> bytes:
        obj = {"type": typ, "sequence_number": self._seq, **fields}
        self._seq += 1
        return encode(dumps(obj), event=typ)

    def _response(self, status: str, usage: dict[str, Any] | None = None, error: dict[str, Any] | None = None,
                  incomplete: dict[str, Any] | None = None) -> dict[str, Any]:
        output = [it.final for it in self._items if it.final is not None]
        return response_object(self._req, resp_id=self._resp_id, created_at=self._created_at,
                               model=self._model, status=status, output=output, usage=usage, error=error,
                               incomplete=incomplete)

    def _start(self) -> list[bytes]:
        if self._started:
            return []
        self._started = True
        return [self._event("response.created", response=self._response("in_progress")),
                self._event("response.in_progress", response=self._response("in_progress"))]

    # ---- items ----

    def _block_start(self, ev: ir.BlockStart) -> list[bytes]:
        if ev.index in self._open:
            return []  # a repeated start for an open block: keep the first
        block, wrapped = ev.block, False
        if isinstance(block, ir.ToolUse) and block.kind == "function" and block.name in self._freeform:
            # The client declared a freeform tool: it gets a custom_tool_call (conversions.md 10.3).
            block, wrapped = ir.ToolUse(block.id, block.name, "", kind="custom", extra=block.extra), True
        item = _Item(len(self._items), new_item_id(block, self._ids), block, wrapped=wrapped)
        self._items.append(item)
        self._open[ev.index] = item
        out = [self._event("response.output_item.added", output_index=item.output_index,
                           item=self._item_state(item, "in_progress"))]
        if isinstance(block, ir.Text):
            out.append(self._event("response.content_part.added", **self._part_ref(item),
                                   part=self._part(item, "")))
        return out

    def _item_state(self, item: _Item, status: str) -> dict[str, Any]:
        blk, text = item.block, item.text
        if isinstance(blk, ir.Text):
            parts = [self._part(item, text)] if status != "in_progress" else []
            return message_item(item.item_id, status, parts)
        if isinstance(blk, ir.ToolUse):
            return call_item(item.item_id, blk, status, text)
        enc = encrypted_for(blk, "".join(item.signature) or None) if status != "in_progress" else None
        return reasoning_item(item.item_id, text if isinstance(blk, ir.Thinking) else "", enc)

    @staticmethod
    def _part(item: _Item, text: str) -> dict[str, Any]:
        refusal = isinstance(item.block, ir.Text) and is_refusal(item.block)
        return refusal_part(text) if refusal else text_part(text)

    @staticmethod
    def _part_ref(item: _Item, index_key: str = "content_index") -> dict[str, Any]:
        return {"item_id": item.item_id, "output_index": item.output_index, index_key: 0}

    def _delta(self, ev: ir.BlockDelta) -> list[bytes]:
        item = self._open.get(ev.index)
        if item is None or not ev.value:
            return []
        blk = item.block
        if isinstance(blk, ir.Text) and ev.kind == "text":
            item.chunks.append(ev.value)
            if is_refusal(blk):
                return [self._event("response.refusal.delta", **self._part_ref(item), delta=ev.value)]
            return [self._event("response.output_text.delta", **self._part_ref(item), delta=ev.value,
                                logprobs=[])]
        if isinstance(blk, ir.Thinking) and ev.kind == "signature":
            item.signature.append(ev.value)
        elif isinstance(blk, ir.Thinking) and ev.kind == "thinking":
            return self._thinking(item, ev.value)
        elif isinstance(blk, ir.ToolUse) and ev.kind == "tool_args":
            item.chunks.append(ev.value)
            if item.wrapped:
                return []  # JSON fragments of {"input": ...}: unwrapped when the call is complete
            kind = "custom_tool_call_input" if blk.kind == "custom" else "function_call_arguments"
            return [self._event(f"response.{kind}.delta", item_id=item.item_id,
                                output_index=item.output_index, delta=ev.value)]
        return []

    def _thinking(self, item: _Item, value: str) -> list[bytes]:
        out = []
        ref = self._part_ref(item, "summary_index")
        if not item.part_open:  # announce the summary part lazily: no text -> `summary: []` (4.4)
            item.part_open = True
            out.append(self._event("response.reasoning_summary_part.added", **ref,
                                   part={"type": "summary_text", "text": ""}))
        item.chunks.append(value)
        out.append(self._event("response.reasoning_summary_text.delta", **ref, delta=value))
        return out

    def _close(self, item: _Item, status: str) -> list[bytes]:
        blk = item.block
        if isinstance(blk, ir.Text):
            out = self._close_text(item, is_refusal(blk))
        elif isinstance(blk, ir.ToolUse):
            out = self._close_call(item, blk)
        else:
            out = self._close_summary(item) if item.part_open else []
        item.final = self._item_state(item, status)
        out.append(self._event("response.output_item.done", output_index=item.output_index, item=item.final))
        return out

    def _close_text(self, item: _Item, refusal: bool) -> list[bytes]:
        ref, text = self._part_ref(item), item.text
        if refusal:
            done = self._event("response.refusal.done", **ref, refusal=text)
        else:
            done = self._event("response.output_text.done", **ref, text=text, logprobs=[])
        return [done, self._event("response.content_part.done", **ref, part=self._part(item, text))]

    def _close_call(self, item: _Item, blk: ir.ToolUse) -> list[bytes]:
        ref = {"item_id": item.item_id, "output_index": item.output_index}
        if blk.kind == "function":
            return [self._event("response.function_call_arguments.done", **ref, name=blk.name,
                                arguments=item.text)]
        out = []
        if item.wrapped:
            item.chunks = [unwrap_freeform(item.text)]
            if item.text:
                out.append(self._event("response.custom_tool_call_input.delta", **ref, delta=item.text))
        return out + [self._event("response.custom_tool_call_input.done", **ref, input=item.text)]

    def _close_summary(self, item: _Item) -> list[bytes]:
        ref, text = self._part_ref(item, "summary_index"), item.text
        return [self._event("response.reasoning_summary_text.done", **ref, text=text),
                self._event("response.reasoning_summary_part.done", **ref,
                            part={"type": "summary_text", "text": text})]

    # ---- terminal ----

    def _finish(self, error: ir.StreamError | None = None) -> list[bytes]:
        self._finished = True
        stop = "error" if error is not None else (self._stop or "end_turn")
        status, details = status_for(stop)
        out: list[bytes] = []
        for item in sorted(self._open.values(), key=lambda it: it.output_index):
            out += self._close(item, "completed" if status == "completed" else _CUT)
        self._open.clear()
        usage = usage_obj(self._usage) if self._usage is not None else None
        err = {"code": code_for(error.type, error.message), "message": error.message} if error else None
        if usage is None and error is None:
            usage = usage_obj(ir.Usage())  # clients dereference usage on success (3)
        response = self._response(status, usage, err, details)
        self._result = self._accumulated(stop)
        return out + [self._event(f"response.{status}", response=response)]

    def _accumulated(self, stop: ir.StopReason) -> ir.ChatResponse:
        blocks: list[ir.Block] = []
        for it in self._items:
            blk = it.block
            if isinstance(blk, ir.Text):
                blocks.append(ir.Text(it.text, extra=blk.extra))
            elif isinstance(blk, ir.Thinking):
                sig = "".join(it.signature) or blk.signature
                meta = {"item": {"id": it.item_id}}  # the id the client saw (2.1)
                blocks.append(ir.Thinking(it.text, signature=sig, origin=blk.origin, extra=meta))
            elif isinstance(blk, ir.ToolUse):
                blocks.append(ir.ToolUse(blk.id, blk.name, it.text, kind=blk.kind))
            else:
                blocks.append(blk)
        usage = self._usage or ir.Usage()
        return ir.ChatResponse(self._resp_id, self._model, tuple(blocks), stop, usage=usage)

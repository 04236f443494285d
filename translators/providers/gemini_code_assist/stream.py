"""Code Assist answers -> IR events (gemini-code-assist.md 4, 5; gemini.md 3, 4).

Each SSE event (CRLF-framed, no `[DONE]`: the stream ends when the connection closes) is a whole
`{response: GenerateContentResponse, traceId}` holding only the NEW parts. Rules applied:
- text parts are increments, concatenated into one text block;
- `thought: true` parts are thinking; their `thoughtSignature` is the block's signature (origin
  "gemini"); a signature on a text part (often an empty one at the end) becomes an empty thinking
  block just before that text, so the next request can put it back on the same part;
- a `functionCall` part is a whole call: one ToolUse whose id is fresh (Gemini 2.x sends none) and
  carries the part's signature (callids.py);
- `finishReason` is STOP even after calls (calls make it tool_use), and only the last event has it:
  a stream that closes without one was cut off;
- usage runs on every event, the last counts win; `promptFeedback.blockReason` = blocked prompt;
- `{"error": ...}` in an event (even with HTTP 200) is a stream error.
The unary answer (`:generateContent`) goes through the same decoder, leniently."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

from translators import ir
from translators.accumulate import Accumulator
from translators.dialects.common import freeform_names
from translators.dialects.common import unwrap_freeform
from translators.errors import TranslationError
from translators.providers.gemini_code_assist.callids import make_call_id
from translators.providers.gemini_code_assist.contents import ORIGIN
from translators.providers.gemini_code_assist.errors import bridge_error
from translators.sse import SSEEvent

FILTERED = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
                      "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"})
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")

Events = list[ir.StreamEvent]


def stop_reason(finish: str) -> ir.StopReason:
    """gemini-code-assist.md 5 table; MALFORMED_FUNCTION_CALL, OTHER, LANGUAGE... end the turn."""
    if finish == "MAX_TOKENS":
        return "max_tokens"
    return "content_filter" if finish in FILTERED else "end_turn"


def usage(meta: Any) -> ir.Usage | None:
    """Intermediate events carry `{"trafficType": ...}` only: those are not counts (5)."""
    if not isinstance(meta, dict) or not ({"promptTokenCount", "candidatesTokenCount"} & meta.keys()):
        return None
    n = {k: v if isinstance(v, int) else 0 for k, v in meta.items()}
    thoughts = n.get("thoughtsTokenCount", 0)
    return ir.Usage(input=n.get("promptTokenCount", 0), output=n.get("candidatesTokenCount", 0) + thoughts,
                    cache_read=n.get("cachedContentTokenCount", 0), reasoning=thoughts)


class GeminiStreamDecoder:
    def __init__(self, req: ir.ChatRequest, *, lenient: bool = False) -> None:
        self.freeform = freeform_names(req.tools)
        self.lenient = lenient  # a unary answer: a missing finishReason is not a cut-off
        self.started = self.finished = self.saw_tool = self.blocked = False
        self.open: tuple[str, int] | None = None  # ("text" | "thinking", IR index)
        self.next_index = 0
        self.calls = 0
        self.call_base = "call_"
        self.stop: ir.StopReason | None = None
        self.usage: ir.Usage | None = None

    def feed(self, event: SSEEvent) -> Events:
        data = event.data.strip()
        if self.finished or not data:
            return []
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return self._fail(502, "api_error", "The upstream sent a malformed stream event.")
        out: Events = []
        for item in obj if isinstance(obj, list) else [obj]:  # without alt=sse: a JSON array (5)
            if isinstance(item, dict) and not self.finished:
                out += self._item(item, data)
        return out

    def flush(self) -> Events:
        if self.finished:
            return []
        if not self.started and not self.lenient:
            return self._fail(502, "api_error", "The upstream closed the stream without an answer.")
        if self.stop is None and not self.lenient:
            return self._fail(502, "api_error", "The upstream stream ended before the answer was complete.")
        out = self._start({}) + self._close()
        stop = self.stop or "end_turn"
        if self.saw_tool and stop == "end_turn":
            stop = "tool_use"
        self.finished = True
        return out + [ir.MessageDelta(stop, self.usage), ir.MessageStop()]

    def _item(self, item: dict[str, Any], raw: str) -> Events:
        if item.get("error"):
            err = item["error"] if isinstance(item["error"], dict) else {"message": str(item["error"])}
            code = err.get("code") if isinstance(err.get("code"), int) else 500
            e = bridge_error(code, err, str(err.get("message") or "Upstream error."))
            return self._fail(e.status, e.kind, e.message)
        resp = item.get("response", item) if isinstance(item.get("response", item), dict) else {}
        out = self._start(resp, item.get("traceId"), raw)
        self.usage = usage(resp.get("usageMetadata")) or self.usage
        feedback = resp.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            self.blocked, self.stop = True, "content_filter"
        for cand in resp.get("candidates") or ():
            if isinstance(cand, dict) and cand.get("index", 0) == 0:
                out += self._candidate(cand)
        return out

    def _start(self, resp: dict[str, Any], trace: Any = None, raw: str = "") -> Events:
        if self.started:
            return []
        self.started = True
        rid = resp.get("responseId") if isinstance(resp.get("responseId"), str) else None
        seed = _NOT_ALNUM.sub("", rid or (trace if isinstance(trace, str) else ""))
        if not seed:  # ids must differ between answers: derive them from the answer itself
            seed = hashlib.blake2s(raw.encode(), digest_size=8).hexdigest()
        self.call_base = f"call_{seed[:32]}_"
        model = resp.get("modelVersion") if isinstance(resp.get("modelVersion"), str) else None
        return [ir.MessageStart(rid, model, usage(resp.get("usageMetadata")))]

    def _candidate(self, cand: dict[str, Any]) -> Events:
        out: Events = []
        content = cand.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else ():
            if isinstance(part, dict):
                out += self._part(part)
        if isinstance(cand.get("finishReason"), str):
            self.stop = stop_reason(cand["finishReason"])
        return out

    def _part(self, part: dict[str, Any]) -> Events:
        sig = part.get("thoughtSignature") if isinstance(part.get("thoughtSignature"), str) else None
        if isinstance(part.get("functionCall"), dict):
            return self._call(part["functionCall"], sig)
        text = part.get("text")
        if not isinstance(text, str):
            return []  # inlineData, executableCode...: nothing the IR answer carries
        if part.get("thought") is True:
            out = self._delta("thinking", text) if text else self._ensure("thinking")
            if sig and self.open:
                out.append(ir.BlockDelta(self.open[1], "signature", sig))
                out += self._close()  # one signature per block: a later thought starts a new one
            return out
        out = []
        if sig:  # kept in a thinking block of its own, just before the text it came with
            out = self._close() + self._ensure("thinking")
            out += [ir.BlockDelta(self.next_index - 1, "signature", sig)] + self._close()
        return out + (self._delta("text", text) if text else [])

    def _call(self, fc: dict[str, Any], sig: str | None) -> Events:
        name = str(fc.get("name") or "")
        args = fc.get("args") if isinstance(fc.get("args"), dict) else {}
        gid = fc.get("id") if isinstance(fc.get("id"), str) else None
        call_id = make_call_id(f"{self.call_base}{self.calls}", gid, sig)
        self.calls += 1
        self.saw_tool = True
        raw = orjson.dumps(args).decode()
        kind: Any = "function"
        if name in self.freeform:
            kind, raw = "custom", unwrap_freeform(raw)
        out = self._close()
        index = self._new_index()
        return out + [ir.BlockStart(index, ir.ToolUse(call_id, name, "", kind)),
                      ir.BlockDelta(index, "tool_args", raw), ir.BlockStop(index)]

    def _delta(self, kind: str, value: str) -> Events:
        out = self._ensure(kind)
        return out + [ir.BlockDelta(self.open[1], kind, value)]  # type: ignore[index]

    def _ensure(self, kind: str) -> Events:
        if self.open is not None and self.open[0] == kind:
            return []
        out = self._close()
        index = self._new_index()
        self.open = (kind, index)
        block = ir.Thinking("", origin=ORIGIN) if kind == "thinking" else ir.Text("")
        return out + [ir.BlockStart(index, block)]

    def _new_index(self) -> int:
        self.next_index += 1
        return self.next_index - 1

    def _close(self) -> Events:
        if self.open is None:
            return []
        index, self.open = self.open[1], None
        return [ir.BlockStop(index)]

    def _fail(self, status: int, kind: str, message: str) -> Events:
        out = self._close()
        self.finished = True
        return out + [ir.StreamError(status, kind, message)]


def parse_response(req: ir.ChatRequest, body: bytes) -> ir.ChatResponse:
    """A unary answer: `{response, traceId}` (or an error object, even with status 200)."""
    text = body.strip()
    if text.startswith(b"data:"):  # geminicli2api strips this defensively (4)
        text = text[5:]
    if not text:
        raise TranslationError("The upstream sent an empty answer.", kind="api_error", status=502)
    dec, acc = GeminiStreamDecoder(req, lenient=True), Accumulator()
    for ev in dec.feed(SSEEvent(text.decode("utf-8", "replace"))) + dec.flush():
        acc.feed(ev)
    return acc.result()

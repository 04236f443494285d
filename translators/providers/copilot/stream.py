"""CAPI answers -> IR. One codec object serves three APIs, so the decoder recognises which one answered
from the first event (each API's events are unmistakable) and hands the stream to that dialect's
decoder; chat completions go through CopilotChatDecoder for CAPI's quirks (github-copilot.md 3.3, 10)."""

from __future__ import annotations

from typing import Any

import orjson

from translators import ir
from translators.accumulate import decode_stream_body
from translators.codec import StreamDecoder
from translators.dialects.openai_chat.stream import ChatStreamDecoder
from translators.dialects.openai_chat.usage import parse_usage
from translators.errors import TranslationError
from translators.providers.copilot.errors import error_in
from translators.providers.copilot.errors import raise_for
from translators.providers.copilot.request import ORIGIN
from translators.registry import codec
from translators.sse import SSEEvent

ANTHROPIC_EVENTS = frozenset({"message_start", "content_block_start", "content_block_delta",
                              "content_block_stop", "message_delta", "message_stop", "ping"})
REASONING_KEYS = ("reasoning_text", "reasoning_opaque", "cot_summary", "cot_id")
NO_REQUEST = ir.ChatRequest(model="", messages=())


def _thinking() -> ir.Thinking:
    return ir.Thinking("", origin=ORIGIN)


class CopilotChatDecoder(ChatStreamDecoder):
    """Chat completions chunks with CAPI's quirks (3.3): the empty-choices preamble and `choices: null`
    events skipped (1, 4), in-band errors (5), every choice merged into one answer and tool calls
    renumbered by id (7), `reasoning_text` / `reasoning_opaque` (Azure: `cot_summary` / `cot_id`) as
    thinking and its signature (8), `finish_reason: "error"` (9)."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, int] = {}
        self.by_pos: dict[tuple[Any, Any], int] = {}  # (choice index, upstream tool index) -> key
        self.last_key: int | None = None
        self.keys = 0

    def _fresh(self) -> int:
        self.keys += 1
        return self.keys - 1

    def feed(self, event: SSEEvent) -> list[ir.StreamEvent]:
        data = event.data.strip()  # trailing whitespace after the JSON is tolerated (3.3 rule 11)
        if self.finished or not data or data.startswith("[DONE]"):
            return super().feed(event) if data else []
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return self._fail(502, "api_error", "Copilot sent a malformed stream chunk.")
        if not isinstance(chunk, dict):
            return []
        err = error_in(chunk)
        if err is not None:
            return self._fail(err.status, err.kind, err.message)
        choices = [c for c in chunk.get("choices") or () if isinstance(c, dict)]
        if not self.started and not choices and not chunk.get("usage"):
            return []  # preamble with prompt_filter_results, or copilot_references
        out: list[ir.StreamEvent] = []
        if not self.started:
            self.started = True
            out.append(ir.MessageStart(chunk.get("id") or None, chunk.get("model") or None))
        if chunk.get("usage"):  # on the finish chunk (Claude) or a trailing choices:[] one (GPT), 3.3 rule 6
            self.usage = parse_usage(chunk["usage"])
        for choice in choices:
            if choice.get("finish_reason") == "error":
                return out + self._fail(502, "api_error", "Copilot ended the answer with an error.")
            self._choice(choice, out)
        return out

    def _choice(self, choice: dict[str, Any], out: list[ir.StreamEvent]) -> None:
        delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
        reasoning = delta.get("reasoning_text") or delta.get("cot_summary")
        if isinstance(reasoning, str) and reasoning:
            self._delta("thinking", None, _thinking, reasoning, out)
        opaque = delta.get("reasoning_opaque") or delta.get("cot_id")
        if isinstance(opaque, str) and opaque:
            if self.open is None or self.open[0] != "thinking":
                self._open("thinking", None, _thinking(), out)
            out.append(ir.BlockDelta(self.open[2], "signature", opaque))  # type: ignore[index]
        rest = {k: v for k, v in delta.items() if k not in REASONING_KEYS}
        if isinstance(rest.get("tool_calls"), list):
            rest["tool_calls"] = [self._renumbered(choice.get("index"), tc) for tc in rest["tool_calls"]
                                  if isinstance(tc, dict)]
        super()._choice({**choice, "delta": rest}, out)

    def _renumbered(self, choice_index: Any, tc: dict[str, Any]) -> dict[str, Any]:
        """Claude's tool-call indexes may start at 1 and repeat across choices: calls are keyed by id,
        then by (choice, index), then continue the last open call (vscode's matching, 3.3 rule 7)."""
        pos = (choice_index, tc.get("index"))
        call_id = tc.get("id")
        if isinstance(call_id, str) and call_id:
            key = self.by_id.get(call_id)
            if key is None:
                key = self.by_id[call_id] = self._fresh()
        elif pos in self.by_pos:
            key = self.by_pos[pos]
        else:
            key = self.last_key if self.last_key is not None else self._fresh()
        self.by_pos[pos] = key
        self.last_key = key
        return {**tc, "index": key}


class CopilotStreamDecoder:
    """Whichever API answered: decided on the first event, then that dialect's decoder."""

    def __init__(self, req: ir.ChatRequest) -> None:
        self.req = req
        self.inner: StreamDecoder | None = None

    def feed(self, event: SSEEvent) -> list[ir.StreamEvent]:
        if self.inner is None:
            if not event.data.strip() and event.event is None:
                return []
            self.inner = self._pick(event)
        return self.inner.feed(event)

    def flush(self) -> list[ir.StreamEvent]:
        if self.inner is None:
            self.inner = CopilotChatDecoder()
        return self.inner.flush()

    def _pick(self, event: SSEEvent) -> StreamDecoder:
        kind = event.event
        try:
            obj = orjson.loads(event.data) if event.data.lstrip().startswith("{") else None
        except orjson.JSONDecodeError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("type"), str):
            kind = obj["type"]
        if kind and kind.startswith("response."):
            return codec("openai-responses").stream_decoder(self.req)
        anthropic_error = kind == "error" and isinstance(obj, dict) and isinstance(obj.get("error"), dict)
        if kind in ANTHROPIC_EVENTS or anthropic_error:
            return codec("anthropic-messages").stream_decoder(self.req)
        if kind == "error":
            return codec("openai-responses").stream_decoder(self.req)
        return CopilotChatDecoder()


# ---- whole answers ----


def parse_response(body: bytes) -> ir.ChatResponse:
    if body.lstrip().startswith((b"data:", b"event:", b":")):
        return decode_sse(body)  # a stream served under another content type
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()[:200]
        raise TranslationError(f"Copilot answered with something that is not JSON: {text}", kind="api_error",
                               status=502) from None
    err = error_in(obj)
    if err is not None:
        raise raise_for(err)  # an error with status 200 (8, 3.3 rule 5)
    if not isinstance(obj, dict):
        raise TranslationError("Copilot's answer is not a JSON object.", kind="api_error", status=502)
    if obj.get("type") == "message":
        return codec("anthropic-messages").parse_response(obj)
    if obj.get("object") == "response" or isinstance(obj.get("output"), list):
        return codec("openai-responses").parse_response(obj)
    return _chat_response(obj)


def decode_sse(body: bytes) -> ir.ChatResponse:
    return decode_stream_body(CopilotStreamDecoder(NO_REQUEST), body)


def _chat_response(obj: dict[str, Any]) -> ir.ChatResponse:
    """3.2: every choice merged (Claude puts tool calls in a choice of their own), tool_calls winning
    the finish reason; `padding`, missing object/created are of no concern to the chat parser."""
    choices = [c for c in obj.get("choices") or () if isinstance(c, dict)]
    texts, calls, reasoning, opaque, finish = [], [], [], None, None
    for c in choices:
        m = c.get("message") if isinstance(c.get("message"), dict) else {}
        texts += [m["content"]] if isinstance(m.get("content"), str) else []
        calls += [tc for tc in m.get("tool_calls") or () if isinstance(tc, dict)]
        r = m.get("reasoning_text") or m.get("cot_summary")
        reasoning += [r] if isinstance(r, str) else []
        opaque = opaque or m.get("reasoning_opaque") or m.get("cot_id")
        if c.get("finish_reason") and finish != "tool_calls":
            finish = c["finish_reason"]
    message = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    merged = {**obj, "choices": [{"index": 0, "message": message, "finish_reason": finish or "stop"}]}
    resp = codec("openai-chat").parse_response(merged)
    if not reasoning and not opaque:
        return resp
    thinking = ir.Thinking("".join(reasoning), opaque if isinstance(opaque, str) else None, ORIGIN)
    return ir.ChatResponse(resp.id, resp.model, (thinking, *resp.content), resp.stop_reason,
                           resp.stop_sequence, resp.usage, resp.extra)

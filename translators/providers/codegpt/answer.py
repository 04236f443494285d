"""CodeGPT answers (codegpt.md 4-6): the SSE stream, whole answers in every shape the endpoint is known
to produce, and errors.

The text of a chunk is at `choices[0].delta.contents[type=text].content` (2025) or
`choices[0].delta.content` (2024); the legacy `{"data": "<delta>"}` is recognised too. Usage is rarely
sent, so it is estimated when missing (codegpt.md 8.5)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from typing import Mapping

import orjson

from translators import ir
from translators.accumulate import Accumulator
from translators.dialects.anthropic_messages.tokens import estimate_tokens
from translators.dialects.openai_chat.usage import FINISH_TO_STOP
from translators.dialects.openai_chat.usage import parse_usage
from translators.errors import BridgeError
from translators.errors import TranslationError
from translators.errors import kind_for_status
from translators.sse import SSEEvent
from translators.sse import SSEParser

# `{"error": "Too Many Requests"}`: the reason phrase gives the status of an error sent with 200
_PHRASES = {s.phrase.lower(): s.value for s in HTTPStatus}
_NO_TEXT = "CodeGPT ended the answer without any text."


def text_tokens(text_bytes: int) -> int:
    """About four bytes of UTF-8 per token (the rule of anthropic_messages/tokens.py)."""
    return max(1, (text_bytes + 3) // 4)


def chunk_parts(chunk: Mapping[str, Any]) -> tuple[str, str | None]:
    """(text delta, finish_reason) of one chunk, whichever of the known shapes it has."""
    choices = chunk.get("choices")
    if isinstance(choices, list):
        choice = next((c for c in choices if isinstance(c, dict) and c.get("index", 0) == 0), None)
        if choice is None:  # codegpt.md 5.1: a chunk may have empty `choices`
            return "", None
        delta = choice.get("delta") or choice.get("message") or {}
        finish = choice.get("finish_reason")
        text = _delta_text(delta) if isinstance(delta, dict) else ""
        return text, finish if isinstance(finish, str) else None
    legacy = chunk.get("data")  # codegpt.md 5.3
    return (legacy if isinstance(legacy, str) else ""), None


def _delta_text(delta: Mapping[str, Any]) -> str:
    """`contents` first, `content` as the fallback, as the Deno bridge reads them (codegpt.md 5.1)."""
    contents = delta.get("contents")
    if isinstance(contents, list):
        text = "".join(i["content"] for i in contents if isinstance(i, dict)
                       and i.get("type", "text") == "text" and isinstance(i.get("content"), str))
        if text:
            return text
    content = delta.get("content")
    return content if isinstance(content, str) else ""


def in_band_error(obj: Mapping[str, Any]) -> BridgeError | None:
    """An error object where an answer was expected (status 200, codegpt.md 6)."""
    err = obj.get("error")
    code = obj.get("status", obj.get("statusCode"))
    if not err and not (isinstance(code, int) and code >= 400):
        return None
    status = code if isinstance(code, int) and code >= 400 else 0
    if isinstance(err, dict):
        inner = err.get("status", err.get("code"))
        status = status or (inner if isinstance(inner, int) and inner >= 400 else 0)
        message = err.get("message") or obj.get("message")
    else:
        message = obj.get("message") or err
        status = status or (_PHRASES.get(err.lower(), 0) if isinstance(err, str) else 0)
    kind = kind_for_status(status) if status else "api_error"  # no status given: a bad gateway answer
    return BridgeError.of(kind, f"CodeGPT: {message or 'error'}", status=status or 502)


class CodeGPTStreamDecoder:
    """SSE events -> IR: one text block; `[DONE]` or the end of the body ends the answer (codegpt.md 9)."""

    def __init__(self, req: ir.ChatRequest | None) -> None:
        self.req = req
        self.started = self.finished = self.open = False
        self.out_bytes = 0
        self.stop: ir.StopReason | None = None
        self.usage: ir.Usage | None = None

    def feed(self, event: SSEEvent) -> list[ir.StreamEvent]:
        if self.finished:
            return []
        data = event.data.strip()
        if data == "[DONE]":
            return self._finish()
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return []  # codegpt.md 5.1: clients skip what does not parse
        if not isinstance(chunk, dict):
            return []
        err = in_band_error(chunk)
        if err is not None:
            return self._fail(err.status, err.kind, err.message)
        out: list[ir.StreamEvent] = []
        if not self.started:
            self.started = True
            out.append(ir.MessageStart(_str(chunk.get("id")), _str(chunk.get("model"))))
        self.usage = parse_usage(chunk.get("usage")) or self.usage
        text, finish = chunk_parts(chunk)
        if text:
            if not self.open:
                self.open = True
                out.append(ir.BlockStart(0, ir.Text("")))
            out.append(ir.BlockDelta(0, "text", text))
            self.out_bytes += len(text.encode())
        if finish == "error":  # the Deno bridge's mark of a failed stream (codegpt.md 6)
            return out + self._fail(502, "api_error", "CodeGPT failed while generating the answer.")
        if finish:
            self.stop = FINISH_TO_STOP.get(finish, "end_turn")
        return out

    def flush(self) -> list[ir.StreamEvent]:
        return [] if self.finished else self._finish()

    def _finish(self) -> list[ir.StreamEvent]:
        if not self.out_bytes:  # codegpt.md 6: a failure shows as a stream without text
            return self._fail(502, "api_error", _NO_TEXT)
        self.finished = True
        return [ir.BlockStop(0), ir.MessageDelta(self.stop or "end_turn", self._usage()), ir.MessageStop()]

    def _usage(self) -> ir.Usage:
        u = self.usage or ir.Usage()
        estimated_input = estimate_tokens(self.req) if self.req is not None else 0
        return ir.Usage(u.input or estimated_input, u.output or text_tokens(self.out_bytes), u.cache_read,
                        u.cache_write, u.reasoning)

    def _fail(self, status: int, kind: str, message: str) -> list[ir.StreamEvent]:
        out: list[ir.StreamEvent] = [ir.BlockStop(0)] if self.open else []
        self.finished, self.open = True, False
        return out + [ir.StreamError(status, kind, message)]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse_response(body: bytes) -> ir.ChatResponse:
    """A 200 answer to a non-stream request: a `chat.completion` (format json, codegpt.md 4), a JSON
    string or raw text (format text, 4 and 5.2), or an SSE body (detected by its first bytes, 8.3)."""
    if body.lstrip().startswith(b"data:"):
        return _whole_stream(body)
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _text_answer(body.decode("utf-8", "replace"))
    if isinstance(obj, str):
        return _text_answer(obj)
    if not isinstance(obj, dict):
        raise TranslationError("CodeGPT sent an answer of an unknown shape.", kind="api_error", status=502)
    err = in_band_error(obj)
    if err is not None:
        raise TranslationError(err.message, kind=err.kind, status=err.status)
    text, finish = chunk_parts(obj)
    if not text:
        raise TranslationError(_NO_TEXT, kind="api_error", status=502)
    usage = parse_usage(obj.get("usage")) or ir.Usage()
    usage = ir.Usage(usage.input, usage.output or text_tokens(len(text.encode())), usage.cache_read,
                     usage.cache_write, usage.reasoning)
    return ir.ChatResponse(_str(obj.get("id")) or "", _str(obj.get("model")) or "", (ir.Text(text),),
                           FINISH_TO_STOP.get(finish or "stop", "end_turn"), usage=usage)


def _text_answer(text: str) -> ir.ChatResponse:
    if not text:
        raise TranslationError(_NO_TEXT, kind="api_error", status=502)
    return ir.ChatResponse("", "", (ir.Text(text),), usage=ir.Usage(output=text_tokens(len(text.encode()))))


def _whole_stream(body: bytes) -> ir.ChatResponse:
    parser, decoder, acc = SSEParser(), CodeGPTStreamDecoder(None), Accumulator()
    for ev in [e for sse in parser.feed(body) + parser.flush() for e in decoder.feed(sse)] + decoder.flush():
        acc.feed(ev)
    return acc.result()


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> BridgeError:
    """codegpt.md 6: the body is JSON with `error`/`message` (shape unverified) or plain text."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        obj = None
    message: Any = None
    if isinstance(obj, dict):
        err = obj.get("error")
        message = obj.get("message") or (err.get("message") if isinstance(err, dict) else err)
    elif isinstance(obj, str):
        message = obj
    text = str(message) if message else body.decode("utf-8", "replace").strip()[:500]
    retry = headers.get("retry-after") if status == 429 else None
    return BridgeError.of(kind_for_status(status), f"CodeGPT: {text or f'HTTP {status}'}", status=status,
                          retry_after=retry)

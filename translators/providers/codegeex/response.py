"""CodeGeeX answers: the `add`/`finish` SSE stream, the `?stream=false` JSON body and the error
envelope (codegeex.md 4, 5, 6 and 8).

The stream carries no usage: input is estimated from the request, output from the answer text."""

from __future__ import annotations

from typing import Any
from typing import Mapping

import orjson

from translators import ir
from translators.dialects.anthropic_messages.tokens import estimate_tokens
from translators.errors import BridgeError
from translators.errors import TranslationError
from translators.errors import kind_for_status
from translators.sse import SSEEvent

OK_CODES = (0, 200)  # `code` of a successful account-endpoint envelope (section 6)


class CodeGeeXStreamDecoder:
    """`add` texts are deltas; `finish` repeats the whole answer, so only what it adds beyond the
    streamed text is emitted (section 8 quirk 3). `processing` events (web search) are not answer text."""

    def __init__(self, req: ir.ChatRequest) -> None:
        self.req = req
        self.started = self.finished = self.ended = False
        self.text: list[str] = []
        self.id: str | None = None

    def feed(self, event: SSEEvent) -> list[ir.StreamEvent]:
        if self.finished or event.event == "processing":
            return []
        if event.data.strip() == "[DONE]":  # not sent by CodeGeeX; accepted as an end marker
            return self._finish()
        try:
            data = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            return self._fail(502, "api_error", "CodeGeeX sent a malformed stream event.")
        if not isinstance(data, dict):
            return []
        err = envelope_error(data)
        if err is not None or event.event == "error":
            err = err or BridgeError.of("api_error", str(data.get("msg") or data.get("message") or data))
            return self._fail(err.status, err.kind, err.message)
        self.id = self.id or _str(data.get("id")) or event.id
        text = data.get("text") if isinstance(data.get("text"), str) else ""
        if event.event == "finish":
            return self._start(data) + self._delta(self._beyond_streamed(text)) + self._finish()
        out = self._start(data) + self._delta(text)
        if data.get("finish_reason"):  # any non-empty value ends the answer (section 5); `finish` may follow
            self.ended = True
        return out

    def flush(self) -> list[ir.StreamEvent]:
        if self.finished:
            return []
        if not self.started:
            return self._fail(502, "api_error", "CodeGeeX closed the stream without an answer.")
        if not self.ended:  # no `finish` event: the answer was cut off
            return self._fail(502, "api_error", "The CodeGeeX stream ended before the answer was complete.")
        return self._finish()

    def _beyond_streamed(self, full: str) -> str:
        streamed = "".join(self.text)
        if full.startswith(streamed):
            return full[len(streamed):]
        return ""  # a final text that disagrees with the deltas already shown cannot be taken back

    def _start(self, data: Mapping[str, Any]) -> list[ir.StreamEvent]:
        if self.started:
            return []
        self.started = True
        return [ir.MessageStart(self.id, _str(data.get("model")), ir.Usage(input=estimate_tokens(self.req))),
                ir.BlockStart(0, ir.Text(""))]

    def _delta(self, text: str) -> list[ir.StreamEvent]:
        if not text:
            return []
        self.text.append(text)
        return [ir.BlockDelta(0, "text", text)]

    def _finish(self) -> list[ir.StreamEvent]:
        out = self._start({})
        self.finished = True
        usage = ir.Usage(input=estimate_tokens(self.req), output=output_tokens("".join(self.text)))
        return out + [ir.BlockStop(0), ir.MessageDelta("end_turn", usage), ir.MessageStop()]

    def _fail(self, status: int, kind: str, message: str) -> list[ir.StreamEvent]:
        out: list[ir.StreamEvent] = [ir.BlockStop(0)] if self.started else []
        self.finished = True
        return out + [ir.StreamError(status, kind, message)]


def parse_response(body: bytes) -> ir.ChatResponse:
    """`?stream=false`: a JSON object whose `text` is the whole answer (section 4); an error envelope
    with status 200 raises."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise TranslationError("CodeGeeX answered with a body that is not JSON.", kind="api_error",
                               status=502) from None
    if not isinstance(obj, dict):
        raise TranslationError("CodeGeeX answered with an unexpected JSON body.", kind="api_error",
                               status=502)
    err = envelope_error(obj)
    if err is not None:
        raise TranslationError(err.message, kind=err.kind, status=err.status)
    data = obj["data"] if isinstance(obj.get("data"), dict) and "text" not in obj else obj
    text = data.get("text")
    if not isinstance(text, str):
        raise TranslationError("CodeGeeX answered without a `text` field.", kind="api_error", status=502)
    usage = ir.Usage(output=output_tokens(text))
    return ir.ChatResponse(_str(data.get("id")) or "", _str(data.get("model")) or "", (ir.Text(text),),
                           "end_turn", usage=usage)


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> BridgeError:
    """Non-200 answers: `{"code","msg","data"}` [I] or plain text (bridges forward the body as text)."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        obj = None
    message = ""
    if isinstance(obj, dict):
        message = str(obj.get("msg") or obj.get("message") or obj.get("error") or "")
    message = message or body.decode("utf-8", "replace").strip()[:500] or f"CodeGeeX answered HTTP {status}."
    if status in (401, 403):  # the bridges treat both as a dead token (section 6)
        message = f"CodeGeeX rejected the code-token ({status}): {message}"
    kind = kind_for_status(status)
    return BridgeError.of(kind, message, status=status, retry_after=headers.get("retry-after") or None)


def envelope_error(obj: Mapping[str, Any]) -> BridgeError | None:
    """A `{"code": N, "msg": ...}` envelope with a failing code and no answer text; HTTP-like codes keep
    their status, others are upstream errors (500)."""
    code = obj.get("code")
    if not isinstance(code, int) or isinstance(code, bool) or code in OK_CODES:
        return None
    if isinstance(obj.get("text"), str):  # an answer that happens to carry a code
        return None
    status = code if 400 <= code <= 599 else 500
    message = str(obj.get("msg") or obj.get("message") or f"CodeGeeX error code {code}.")
    return BridgeError.of(kind_for_status(status), message, status=status)


def output_tokens(text: str) -> int:
    return max(1, (len(text.encode()) + 3) // 4)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None

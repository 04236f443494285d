"""ChatGPT conversation SSE (chatgpt-web.md 5) -> IR events.

Both formats feed one model of the turn: the v1 delta encoding (5.1) patches a document (patch.py),
the legacy format (5.3) sends the whole document each time. After every event the current message
is looked at: only assistant text meant for the user is shown, thoughts become reasoning, the rest
(system/user echoes, internal tools such as `bio`, commentary, reasoning recaps) is skipped (5.2).
Deltas are the growth of a message's text since the last event (chat2api's DeltaText); a text
rewritten in place cannot be taken back, so streaming goes on from the length already sent.

The stream ends with `data: [DONE]`; when that is missing, a turn that finished (end_turn, or a
`message_stream_complete` event) still ends well. Errors come in the document (`error`), as a
`{"detail": ...}` payload, or as a `failed` status, all with HTTP 200 (5.4, 9). The backend
reports no usage (7): it is estimated, about four bytes a token."""

from __future__ import annotations

import json
from typing import Any

import orjson

from translators import ir
from translators.dialects.anthropic_messages.tokens import estimate_tokens
from translators.errors import BridgeError
from translators.providers.chatgpt_web import errors
from translators.providers.chatgpt_web.patch import Document
from translators.providers.chatgpt_web.request import flatten
from translators.sse import SSEEvent
from translators.transforms.prompt_request import rewrite_history

TEXT_TYPES = ("text", "multimodal_text")
SHOWN_MESSAGE_TYPES = (None, "next", "continue", "variant")
FINISH = {"stop": "end_turn", "max_tokens": "max_tokens", "interrupted": "end_turn"}
MESSAGE_SEPARATOR = "\n\n"  # between two visible messages of one turn


def message_kind(msg: dict[str, Any]) -> str | None:
    """"text", "thinking" or None (skipped), by 5.2's rules."""
    author = msg.get("author") if isinstance(msg.get("author"), dict) else {}
    content = msg.get("content") if isinstance(msg.get("content"), dict) else {}
    meta = msg.get("metadata") if isinstance(msg.get("metadata"), dict) else {}
    if author.get("role") != "assistant" or msg.get("recipient", "all") not in (None, "all"):
        return None
    if meta.get("message_type") not in SHOWN_MESSAGE_TYPES:
        return None
    if meta.get("is_visually_hidden_from_conversation"):
        return None
    ctype, channel = content.get("content_type"), msg.get("channel")
    if ctype == "thoughts":
        return "thinking"
    if ctype not in TEXT_TYPES or channel not in (None, "final", "analysis"):
        return None
    return "thinking" if channel == "analysis" else "text"  # aurora reads `analysis` as thinking


def message_text(msg: dict[str, Any]) -> str:
    """The text parts (image pointers skipped), or `content.text`; thoughts' summaries and content."""
    content = msg.get("content") if isinstance(msg.get("content"), dict) else {}
    if content.get("content_type") == "thoughts":
        thoughts = content.get("thoughts") if isinstance(content.get("thoughts"), list) else []
        return "\n\n".join(t for t in map(_thought, thoughts) if t)
    parts = content.get("parts")
    if isinstance(parts, list):
        return "".join(p for p in parts if isinstance(p, str))
    return content["text"] if isinstance(content.get("text"), str) else ""


def _thought(thought: Any) -> str:
    """A thought's summary (its title, which comes first) then its content as it grows."""
    if not isinstance(thought, dict):
        return ""
    return "\n".join(t for t in (thought.get("summary"), thought.get("content")) if isinstance(t, str) and t)


class _Message:
    __slots__ = ("sent", "skip")

    def __init__(self, skip: bool) -> None:
        self.sent, self.skip = 0, skip  # characters of its text already streamed


class ChatGPTStreamDecoder:
    def __init__(self, req: ir.ChatRequest) -> None:
        self.req = req
        self.doc = Document()
        self.messages: dict[Any, _Message] = {}
        self.history = history_texts(req)
        self.started = self.done = self.complete = self.handoff = False
        self.open: tuple[str, int] | None = None  # (delta kind, IR block index)
        self.next_index = 0
        self.text_owner: Any = None  # the message whose text the open text block shows
        self.finish: str | None = None
        self.model: str | None = None
        self.output_bytes = 0

    # ---- events ----

    def feed(self, event: SSEEvent) -> list[ir.StreamEvent]:
        data = event.data.strip()  # data lines carry trailing spaces (5)
        if self.done or not data or event.event == "delta_encoding":
            return []
        if data == "[DONE]":
            return self._end()
        out: list[ir.StreamEvent] = []
        for obj in payloads(data):
            if obj is _BROKEN:
                return self._fail(_broken("ChatGPT sent a malformed stream event."), out)
            err = self._payload(obj, out) if isinstance(obj, dict) else None
            if err is not None:
                return self._fail(err, out)
        return out

    def flush(self) -> list[ir.StreamEvent]:
        """The stream ended without [DONE]: fine when the turn was complete (5.1, 5.3)."""
        if self.done:
            return []
        if self.complete:
            return self._end()
        if self.handoff:
            reason = ("ChatGPT handed the rest of the answer off to a WebSocket (stream_handoff), which the "
                      "bridge does not follow.")
        elif self.started:
            reason = "ChatGPT's stream ended before the answer was finished."
        else:
            reason = "ChatGPT closed the stream without an answer."
        return self._fail(_broken(reason), [])

    def _payload(self, obj: dict[str, Any], out: list[ir.StreamEvent]) -> BridgeError | None:
        kind = obj.get("type")
        if isinstance(kind, str) and "v" not in obj and "message" not in obj:
            self._typed(kind, obj)
            return None
        if "v" in obj or "o" in obj or "p" in obj:  # a v1 delta (5.1 b)
            self.doc.apply(obj)
            doc = self.doc.value
        else:  # a whole document (5.3), or a bare error
            doc = obj
        if not isinstance(doc, dict):
            return None
        err = errors.from_stream(doc)
        if err is not None:
            return err
        msg = doc.get("message")
        return self._message(msg, out) if isinstance(msg, dict) else None

    def _typed(self, kind: str, obj: dict[str, Any]) -> None:
        """5.1 (a): only the end of the turn and the WebSocket handoff matter; the rest is metadata."""
        if kind == "message_stream_complete":
            self.complete = True
        elif kind == "stream_handoff":
            self.handoff = True
        elif kind == "server_ste_metadata" and isinstance(obj.get("metadata"), dict):
            slug = obj["metadata"].get("model_slug")
            self.model = self.model or (slug if isinstance(slug, str) else None)

    # ---- the current message ----

    def _message(self, msg: dict[str, Any], out: list[ir.StreamEvent]) -> BridgeError | None:
        key = msg.get("id") or ("added", self.doc.added)
        kind = message_kind(msg)
        state = self.messages.get(key)
        if state is None:
            state = self.messages[key] = _Message(self._is_echo(msg, kind))
        status = msg.get("status")
        if status == "failed" and (msg.get("author") or {}).get("role") != "user":
            return _broken("ChatGPT reported the answer as failed.")
        if kind is None or state.skip:
            return None
        full = message_text(msg)
        # what was streamed cannot be taken back: a text rewritten in place goes on from the length sent
        new = full[state.sent:]
        state.sent = max(state.sent, len(full))
        if new:
            self._emit(kind, key, new, msg, out)
        if kind == "text" and status == "finished_successfully":
            self._finished(msg)
        return None

    def _is_echo(self, msg: dict[str, Any], kind: str | None) -> bool:
        """A history assistant message sent back whole (5.2, basketikun's rule)."""
        if kind != "text" or msg.get("status") != "finished_successfully":
            return False
        text = message_text(msg)
        return bool(text) and text in self.history

    def _finished(self, msg: dict[str, Any]) -> None:
        meta = msg.get("metadata") if isinstance(msg.get("metadata"), dict) else {}
        details = meta.get("finish_details") if isinstance(meta.get("finish_details"), dict) else {}
        self.finish = details.get("type") if isinstance(details.get("type"), str) else self.finish
        if msg.get("end_turn") is True:
            self.complete = True

    def _emit(self, kind: str, key: Any, text: str, msg: dict[str, Any], out: list[ir.StreamEvent]) -> None:
        self._start(msg, out)
        if kind == "text" and self.text_owner not in (None, key):
            text = MESSAGE_SEPARATOR + text  # a second visible message of the same turn
        if self.open is None or self.open[0] != kind:
            self._close(out)
            self.open = (kind, self.next_index)
            self.next_index += 1
            out.append(ir.BlockStart(self.open[1], ir.Thinking("") if kind == "thinking" else ir.Text("")))
        if kind == "text":
            self.text_owner = key
        self.output_bytes += len(text.encode())
        out.append(ir.BlockDelta(self.open[1], kind, text))  # type: ignore[arg-type]

    def _start(self, msg: dict[str, Any], out: list[ir.StreamEvent]) -> None:
        if not self.started:
            self.started = True
            meta = msg.get("metadata") if isinstance(msg.get("metadata"), dict) else {}
            slug = meta.get("model_slug")
            self.model = slug if isinstance(slug, str) else self.model
            out.append(ir.MessageStart(None, self.model))

    def _close(self, out: list[ir.StreamEvent]) -> None:
        if self.open is not None:
            out.append(ir.BlockStop(self.open[1]))
            self.open = None

    # ---- the end ----

    def _end(self) -> list[ir.StreamEvent]:
        out: list[ir.StreamEvent] = []
        if not self.started:
            self.started = True
            out.append(ir.MessageStart(None, self.model))
        self._close(out)
        self.done = True
        usage = ir.Usage(input=estimate_tokens(self.req), output=max(1, (self.output_bytes + 3) // 4))
        stop: ir.StopReason = FINISH.get(self.finish or "stop", "end_turn")  # type: ignore[assignment]
        return out + [ir.MessageDelta(stop, usage), ir.MessageStop()]

    def _fail(self, err: BridgeError, out: list[ir.StreamEvent]) -> list[ir.StreamEvent]:
        self._close(out)
        self.done = True
        return out + [ir.StreamError(err.status, err.kind, err.message)]


_BROKEN = object()


def payloads(data: str) -> list[Any]:
    """The JSON values of one data line: usually one, sometimes several concatenated (aurora's
    SplitDataPayloads); _BROKEN for what does not parse."""
    try:
        return [orjson.loads(data)]
    except orjson.JSONDecodeError:
        pass
    decoder, out, i = json.JSONDecoder(), [], 0
    while i < len(data):
        try:
            value, i = decoder.raw_decode(data, i)
        except ValueError:
            return out + [_BROKEN]
        out.append(value)
        while i < len(data) and data[i].isspace():
            i += 1
    return out


def history_texts(req: ir.ChatRequest) -> frozenset[str]:
    """The assistant turns as sent (tool calls rewritten as markup, as the gateway sends them)."""
    messages = rewrite_history(req.messages)
    return frozenset(t for t in (flatten(m.content) for m in messages if m.role == "assistant") if t)


def _broken(message: str) -> BridgeError:
    return BridgeError.of("api_error", message, status=502)

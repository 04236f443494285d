"""chat.qwen.ai SSE (qwen.md A4) -> IR events.

`phase: "think"` (or `thinking_summary`, text in `extra`) is reasoning, `phase: "answer"` the text;
other phases (web_search, image_gen, built-in tools) carry no answer text (A7.6). The stream ends
with `status: "finished"` on the answer and the connection closing, without `[DONE]` (A7.5)."""

from __future__ import annotations

from typing import Any

import orjson

from translators import ir
from translators.errors import BridgeError
from translators.providers.qwen.errors import from_object
from translators.sse import SSEEvent

THINK_PHASES = ("think", "thinking_summary")
ANSWER_PHASES = (None, "answer")  # no phase at all when output_schema was not honoured (A7.3)


class Increments:
    """Text deltas from chunks that are incremental (v2 with incremental_output, A2.2) or cumulative
    (each repeats all text so far: v1, Part C). A chunk that starts with all text so far and is longer
    switches to cumulative; a finishing chunk that repeats the whole text adds nothing."""

    __slots__ = ("text", "cumulative")

    def __init__(self) -> None:
        self.text, self.cumulative = "", False

    def add(self, chunk: str, final: bool = False) -> str:
        prev = self.text
        if prev and chunk.startswith(prev) and (self.cumulative or final or len(chunk) > len(prev)):
            self.cumulative = self.cumulative or len(chunk) > len(prev)
            new = chunk[len(prev):]
        elif self.cumulative and prev.startswith(chunk):  # a shorter repeat: nothing new
            new = ""
        else:
            new = chunk
        self.text += new
        return new


class QwenStreamDecoder:
    def __init__(self) -> None:
        self.started = self.answered = self.done = False
        self.next_index = 0
        self.open: tuple[str, int] | None = None  # (delta kind, IR block index)
        self.texts = {"thinking": Increments(), "text": Increments()}
        self.usage: ir.Usage | None = None

    def feed(self, event: SSEEvent) -> list[ir.StreamEvent]:
        data = event.data.strip()  # the first line ends with a space before its newline (A4)
        if self.done or not data:
            return []
        if data == "[DONE]":  # not sent by chat.qwen.ai, tolerated (A4)
            return self.flush()
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            return self._fail(_broken("Qwen sent a malformed stream chunk."))
        err = from_object(obj)
        if err is not None:
            return self._fail(err)
        if not isinstance(obj, dict):
            return []
        out: list[ir.StreamEvent] = []
        created = obj.get("response.created")
        if isinstance(created, dict):
            self._start(created.get("response_id"), out)
        choices = obj.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return out  # response.created, response.info keep-alives, unknown objects (A4)
        self._start(obj.get("response_id"), out)
        if isinstance(obj.get("usage"), dict):  # cumulative: the last one wins (A4, A7.7)
            self.usage = parse_usage(obj["usage"])
        delta = choices[0].get("delta")
        if isinstance(delta, dict):
            self._delta(delta, out)
        return out

    def flush(self) -> list[ir.StreamEvent]:
        if self.done:
            return []
        if not self.started:
            return self._fail(_broken("Qwen closed the stream without an answer."))
        if not self.answered:
            return self._fail(_broken("Qwen's stream ended before the answer was finished."))
        out: list[ir.StreamEvent] = []
        self._close(out)
        self.done = True
        return out + [ir.MessageDelta("end_turn", self.usage), ir.MessageStop()]

    def _start(self, response_id: Any, out: list[ir.StreamEvent]) -> None:
        if not self.started:
            self.started = True
            out.append(ir.MessageStart(response_id if isinstance(response_id, str) else None, None))

    def _delta(self, delta: dict[str, Any], out: list[ir.StreamEvent]) -> None:
        phase, final = delta.get("phase"), delta.get("status") == "finished"
        if phase in THINK_PHASES:
            text = delta.get("content") if phase == "think" else summary_text(delta.get("extra"))
            self._text("thinking", text, final, out)
        elif phase in ANSWER_PHASES and delta.get("role", "assistant") == "assistant":
            self._text("text", delta.get("content"), final, out)
            self.answered = self.answered or final
        kind = "thinking" if phase in THINK_PHASES else "text" if phase in ANSWER_PHASES else None
        if final and self.open is not None and self.open[0] == kind:  # that phase is over
            self._close(out)

    def _text(self, kind: str, text: Any, final: bool, out: list[ir.StreamEvent]) -> None:
        if not isinstance(text, str) or not text:
            return
        new = self.texts[kind].add(text, final)
        if not new:
            return
        if self.open is None or self.open[0] != kind:
            self._close(out)
            self.open = (kind, self.next_index)
            self.next_index += 1
            out.append(ir.BlockStart(self.open[1], ir.Thinking("") if kind == "thinking" else ir.Text("")))
        out.append(ir.BlockDelta(self.open[1], kind, new))  # type: ignore[arg-type]

    def _close(self, out: list[ir.StreamEvent]) -> None:
        if self.open is not None:
            out.append(ir.BlockStop(self.open[1]))
            self.open = None

    def _fail(self, err: BridgeError) -> list[ir.StreamEvent]:
        out: list[ir.StreamEvent] = []
        self._close(out)
        self.done = True
        return out + [ir.StreamError(err.status, err.kind, err.message)]


def _broken(message: str) -> BridgeError:
    return BridgeError.of("api_error", message, status=502)


def summary_text(extra: Any) -> str:
    """`thinking_format: "summary"` puts the reasoning in extra.summary_thought.content[] (A2.2, A4)."""
    thought = extra.get("summary_thought") if isinstance(extra, dict) else None
    parts = thought.get("content") if isinstance(thought, dict) else None
    return "\n".join(p for p in parts if isinstance(p, str)) if isinstance(parts, list) else ""


def parse_usage(u: dict[str, Any]) -> ir.Usage:
    """Qwen's names (input_tokens/output_tokens), not OpenAI's (A7.7); OpenAI's accepted as well."""
    out_details = _dict(u.get("output_tokens_details") or u.get("completion_tokens_details"))
    in_details = _dict(u.get("prompt_tokens_details") or u.get("input_tokens_details"))
    return ir.Usage(input=_int(u.get("input_tokens", u.get("prompt_tokens"))),
                    output=_int(u.get("output_tokens", u.get("completion_tokens"))),
                    cache_read=_int(in_details.get("cached_tokens")),
                    reasoning=_int(out_details.get("reasoning_tokens")))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

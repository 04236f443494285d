"""Chat Completions streams: upstream chunks -> IR events (decoder), IR events -> client chunks (encoder).

Only choice 0 is translated across dialects (other dialects have one answer per request); same-dialect
traffic with n > 1 takes the identity path and is never decoded."""

from __future__ import annotations

from typing import Any

import orjson

from translators import ir
from translators.dialects.openai_chat.errors import error_object
from translators.dialects.openai_chat.response import chat_id
from translators.dialects.openai_chat.usage import FINISH_TO_STOP
from translators.dialects.openai_chat.usage import finish_reason
from translators.dialects.openai_chat.usage import parse_usage
from translators.dialects.openai_chat.usage import render_usage
from translators.errors import kind_for_status
from translators.sse import SSEEvent

DONE = b"data: [DONE]\n\n"


class ChatStreamDecoder:
    """Chat chunks -> IR. A block is closed when another kind of block starts (IR blocks never overlap)."""

    def __init__(self) -> None:
        self.started = False
        self.finished = False
        self.next_index = 0
        self.open: tuple[str, Any, int] | None = None  # (kind, key, ir index): key = tool index for tools
        self.tool_blocks: dict[int, int] = {}  # chat tool index -> IR block index
        self.stop: ir.StopReason | None = None
        self.usage: ir.Usage | None = None
        self.saw_tool = False
        self.stopped: set[int] = set()  # blocks already closed: a late tool delta must not close twice

    def feed(self, event: SSEEvent) -> list[ir.StreamEvent]:
        if self.finished:
            return []
        if event.data.startswith("[DONE]"):
            return self._finish()
        try:
            chunk = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            return self._fail(502, "api_error", "The upstream sent a malformed stream chunk.")
        if not isinstance(chunk, dict):
            return []
        if chunk.get("error"):
            err = chunk["error"] if isinstance(chunk["error"], dict) else {"message": str(chunk["error"])}
            status = err.get("status") if isinstance(err.get("status"), int) else 500
            return self._fail(status, kind_for_status(status), str(err.get("message") or "upstream error"))
        out: list[ir.StreamEvent] = []
        if not self.started:
            self.started = True
            out.append(ir.MessageStart(chunk.get("id"), chunk.get("model")))
        if chunk.get("usage"):
            self.usage = parse_usage(chunk["usage"])
        for choice in chunk.get("choices") or ():
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                self._choice(choice, out)
        return out

    def flush(self) -> list[ir.StreamEvent]:
        if self.finished:
            return []
        if not self.started:
            return self._fail(502, "api_error", "The upstream closed the stream without an answer.")
        if self.stop is None:  # no finish_reason and no [DONE]: cut off, not finished
            return self._fail(502, "api_error", "The upstream stream ended before the answer was complete.")
        return self._finish()

    def _choice(self, choice: dict[str, Any], out: list[ir.StreamEvent]) -> None:
        delta = choice.get("delta") or {}
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            self._delta("thinking", None, lambda: ir.Thinking(""), reasoning, out)
        content = delta.get("content")
        if isinstance(content, str) and content:
            self._delta("text", None, lambda: ir.Text(""), content, out)
        refusal = delta.get("refusal")
        if isinstance(refusal, str) and refusal:
            self._delta("refusal", None, lambda: ir.Text("", {"refusal": True}), refusal, out)
        for pos, tc in enumerate(delta.get("tool_calls") or ()):
            if isinstance(tc, dict):
                self._tool_delta(tc, pos, out)
        fc = delta.get("function_call")
        if isinstance(fc, dict):
            self._tool_delta({"index": 0, "id": "call_legacy" if fc.get("name") else None, "function": fc}, 0, out)
        if choice.get("finish_reason"):
            self.stop = FINISH_TO_STOP.get(choice["finish_reason"], "end_turn")

    def _tool_delta(self, tc: dict[str, Any], pos: int, out: list[ir.StreamEvent]) -> None:
        # `index` is missing from some servers (Gemini's compat endpoint): a new id means a new call
        key = tc.get("index")
        if not isinstance(key, int):
            key = len(self.tool_blocks) if tc.get("id") else max(self.tool_blocks, default=pos)
        custom = tc.get("type") == "custom"
        fn = tc.get("custom" if custom else "function") or {}
        if key not in self.tool_blocks:
            self.saw_tool = True
            block = ir.ToolUse(tc.get("id") or f"call_{key}", fn.get("name", ""), "",
                               "custom" if custom else "function")
            self._open("tool", key, block, out)
            self.tool_blocks[key] = self.open[2]  # type: ignore[index]
        elif self.open is None or self.open[1] != key:
            self._open("tool", key, None, out, index=self.tool_blocks[key])
        args = fn.get("input" if custom else "arguments")
        if isinstance(args, str) and args:
            out.append(ir.BlockDelta(self.tool_blocks[key], "tool_args", args))

    def _delta(self, kind: str, key: Any, make: Any, value: str, out: list[ir.StreamEvent]) -> None:
        if self.open is None or self.open[0] != kind:
            self._open(kind, key, make(), out)
        out.append(ir.BlockDelta(self.open[2], "text" if kind == "refusal" else kind, value))  # type: ignore[index]

    def _open(self, kind: str, key: Any, block: Any, out: list[ir.StreamEvent], index: int | None = None) -> None:
        self._close(out)
        if index is None:
            index, self.next_index = self.next_index, self.next_index + 1
            out.append(ir.BlockStart(index, block))
        self.open = (kind, key, index)

    def _close(self, out: list[ir.StreamEvent]) -> None:
        if self.open is not None:
            if self.open[2] not in self.stopped:
                out.append(ir.BlockStop(self.open[2]))
                self.stopped.add(self.open[2])
            self.open = None

    def _finish(self) -> list[ir.StreamEvent]:
        out: list[ir.StreamEvent] = []
        self._close(out)
        self.finished = True
        stop = "tool_use" if self.saw_tool and self.stop in (None, "end_turn") else (self.stop or "end_turn")
        out += [ir.MessageDelta(stop, self.usage), ir.MessageStop()]
        return out

    def _fail(self, status: int, kind: str, message: str) -> list[ir.StreamEvent]:
        out: list[ir.StreamEvent] = []
        self._close(out)
        self.finished = True
        out.append(ir.StreamError(status, kind, message))
        return out


class ChatStreamEncoder:
    """IR events -> Chat chunks (openai-chat.md 4.3/4.4): role first, tool calls with `index` and
    id/type/name in their first delta, one finish chunk, usage chunk if asked, then [DONE]."""

    def __init__(self, req: ir.ChatRequest, ids: ir.Ids) -> None:
        self.req, self.ids = req, ids
        self.legacy = bool(req.extra.get("_legacy_functions"))
        self.id: str | None = None
        self.created = ids.now()
        self.tools: dict[int, int] = {}  # IR block index -> chat tool index
        self.custom: set[int] = set()
        self.usage = ir.Usage()
        self.stop: ir.StopReason | None = None
        self.role_sent = self.finish_sent = self.done = False

    def feed(self, ev: ir.StreamEvent) -> list[bytes]:
        if self.done:
            return []
        if isinstance(ev, ir.BlockDelta):
            return self._block_delta(ev)
        if isinstance(ev, ir.MessageStart):
            self.id = chat_id(ev.id or "", self.ids)
            self.usage = self.usage.merged(ev.usage)
            return self._role()
        if isinstance(ev, ir.BlockStart) and isinstance(ev.block, ir.ToolUse):
            return self._tool_start(ev.index, ev.block)
        if isinstance(ev, ir.MessageDelta):
            self.usage = self.usage.merged(ev.usage)
            self.stop = ev.stop_reason or self.stop
            return []
        if isinstance(ev, ir.MessageStop):
            return self.flush()
        if isinstance(ev, ir.StreamError):
            from translators.errors import BridgeError  # local: keeps the hot path's imports small

            self.done = True
            err = BridgeError.of(ev.type if ev.type in _KINDS else "api_error", ev.message, status=ev.status)
            return [b"data: " + orjson.dumps(error_object(err)) + b"\n\n", DONE]
        return []

    def flush(self) -> list[bytes]:
        if self.done:
            return []
        out = self._role()
        if not self.finish_sent:
            stop = "tool_use" if self.tools and self.stop in (None, "end_turn") else self.stop
            out.append(self._chunk({}, finish_reason(stop, self.legacy)))
            self.finish_sent = True
        if self.req.want_usage:
            out.append(self._frame({"choices": [], "usage": render_usage(self.usage)}))
        out.append(DONE)
        self.done = True
        return out

    def _role(self) -> list[bytes]:
        if self.role_sent:
            return []
        self.role_sent = True
        return [self._chunk({"role": "assistant", "content": "", "refusal": None})]

    def _block_delta(self, ev: ir.BlockDelta) -> list[bytes]:
        out = self._role()
        if ev.kind == "text":
            out.append(self._chunk({"content": ev.value}))
        elif ev.kind == "thinking":
            out.append(self._chunk({"reasoning_content": ev.value}))
        elif ev.kind == "tool_args" and ev.index in self.tools:
            n = self.tools[ev.index]
            if self.legacy:
                out.append(self._chunk({"function_call": {"arguments": ev.value}}))
            elif ev.index in self.custom:
                out.append(self._chunk({"tool_calls": [{"index": n, "custom": {"input": ev.value}}]}))
            else:
                out.append(self._chunk({"tool_calls": [{"index": n, "function": {"arguments": ev.value}}]}))
        return out

    def _tool_start(self, index: int, block: ir.ToolUse) -> list[bytes]:
        n = self.tools[index] = len(self.tools)
        out = self._role()
        if self.legacy:
            if n == 0:  # the legacy shape carries one call only
                out.append(self._chunk({"function_call": {"name": block.name, "arguments": ""}}))
            else:
                del self.tools[index]
            return out
        if block.kind == "custom":
            self.custom.add(index)
            call = {"index": n, "id": block.id, "type": "custom", "custom": {"name": block.name, "input": ""}}
        else:
            call = {"index": n, "id": block.id, "type": "function",
                    "function": {"name": block.name, "arguments": ""}}
        out.append(self._chunk({"tool_calls": [call]}))
        return out

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return self._frame({"choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

    def _frame(self, body: dict[str, Any]) -> bytes:
        if self.id is None:
            self.id = self.ids.new("chatcmpl-")
        obj = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
               "model": self.req.model, **body}
        if self.req.want_usage and "usage" not in obj:
            obj["usage"] = None
        return b"data: " + orjson.dumps(obj) + b"\n\n"


_KINDS = frozenset({"invalid_request", "authentication", "permission", "not_found", "request_too_large",
                    "rate_limit", "api_error", "upstream_unreachable", "overloaded", "timeout"})

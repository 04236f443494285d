"""Emulated api.openai.com Chat Completions (openai-chat.md sections 3-6).

POST /v1/chat/completions (also /chat/completions), GET /v1/models (also /models).
"""

from __future__ import annotations

from typing import Any
from typing import Iterator

from .httpserver import Request
from .httpserver import Response
from .openai_common import OpenAIProtocol
from .script import Decision
from .script import ToolCall
from .script import decide
from .script import split_fragments
from .turns import chat_turn
from .wire import SSE_DONE
from .wire import SSE_HEADERS
from .wire import effort_requested
from .wire import estimate_tokens
from .wire import hex_id
from .wire import json_response
from .wire import new_id
from .wire import now
from .wire import output_tokens
from .wire import pieces
from .wire import reasoning_text
from .wire import sse_data

FINGERPRINT = "fp_emulated01"


def chat_usage(prompt_tokens: int, completion_tokens: int, reasoning_tokens: int = 0) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _call_head(call: ToolCall, call_id: str) -> dict[str, Any]:
    """A tool call as in `message.tool_calls`, payload left out (filled by the caller)."""
    if call.freeform:
        return {"id": call_id, "type": "custom", "custom": {"name": call.name, "input": ""}}
    return {"id": call_id, "type": "function", "function": {"name": call.name, "arguments": ""}}


def _with_payload(call: ToolCall, head: dict[str, Any], payload: str) -> dict[str, Any]:
    key, field = ("custom", "input") if call.freeform else ("function", "arguments")
    return {**head, key: {**head[key], field: payload}}


class OpenAIChat(OpenAIProtocol):
    name = "openai-chat"

    def __init__(self, key: str) -> None:
        super().__init__(key)
        for path in ("/v1/chat/completions", "/chat/completions"):
            self.routes[("POST", path)] = self.completions

    def completions(self, req: Request) -> Response:
        body = self.check_request(req, ("messages",))
        if isinstance(body, Response):
            return body
        if not isinstance(body["messages"], list) or not body["messages"]:
            return self.error(400, "Invalid 'messages': expected a non-empty array.", param="messages")
        decision = decide(chat_turn(body))
        wants_reasoning = effort_requested(body.get("reasoning_effort")) or effort_requested(
            body.get("reasoning")
        )
        reasoning = reasoning_text(decision) if wants_reasoning else ""
        answer = _Answer(
            model=str(body["model"]),
            decision=decision,
            reasoning=reasoning,
            call_ids=[new_id("call_") for _ in decision.calls],
            usage=chat_usage(
                estimate_tokens(req.body),
                output_tokens(decision, reasoning),
                estimate_tokens(reasoning) if reasoning else 0,
            ),
        )
        headers = {
            "x-request-id": hex_id("req_"),
            "openai-processing-ms": "1",
            "openai-version": "2020-10-01",
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return Response(200, {**SSE_HEADERS, **headers}, list(answer.chunks(include_usage)))
        return json_response(200, answer.completion(), headers, pretty=True)


class _Answer:
    """One scripted answer rendered as a chat.completion or as its chunk stream."""

    def __init__(
        self, model: str, decision: Decision, reasoning: str, call_ids: list[str], usage: dict[str, Any]
    ) -> None:
        self.id = new_id("chatcmpl-", 29)
        self.created = now()
        self.model, self.decision, self.reasoning = model, decision, reasoning
        self.call_ids, self.usage = call_ids, usage
        self.finish_reason = "tool_calls" if decision.calls else "stop"

    def completion(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": self.decision.text,
            "refusal": None,
            "annotations": [],
        }
        if self.reasoning:
            message["reasoning_content"] = self.reasoning
        if self.decision.calls:
            message["tool_calls"] = [
                _with_payload(c, _call_head(c, i), c.payload)
                for c, i in zip(self.decision.calls, self.call_ids)
            ]
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": self.finish_reason}
            ],
            "usage": self.usage,
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }

    def deltas(self) -> Iterator[dict[str, Any]]:
        """The choice deltas in order; the first one carries the role (section 4.3 rule 1)."""
        first: dict[str, Any] = {
            "role": "assistant",
            "content": None if self.decision.calls else "",
            "refusal": None,
        }
        if self.reasoning:
            first["reasoning_content"] = ""
            yield first
            first = {}
            for piece in pieces(self.reasoning):
                yield {"reasoning_content": piece}
        if self.decision.text is not None:
            if first:
                yield first
            for piece in pieces(self.decision.text):
                yield {"content": piece}
            return
        for index, (call, call_id) in enumerate(zip(self.decision.calls, self.call_ids)):
            # The first call's head rides in the role chunk, as OpenAI does for tool turns.
            yield {**first, "tool_calls": [{"index": index, **_call_head(call, call_id)}]}
            first = {}
            key, field = ("custom", "input") if call.freeform else ("function", "arguments")
            for frag in split_fragments(call.payload):
                yield {"tool_calls": [{"index": index, key: {field: frag}}]}

    def chunks(self, include_usage: bool) -> Iterator[bytes]:
        base = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }
        extra = {"usage": None} if include_usage else {}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return sse_data({**base, "choices": [choice], **extra})

        for delta in self.deltas():
            yield chunk(delta)
        yield chunk({}, self.finish_reason)
        if include_usage:
            yield sse_data({**base, "choices": [], "usage": self.usage})
        yield SSE_DONE

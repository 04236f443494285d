"""Emulated api.openai.com Responses API (openai-responses.md sections 3-4).

POST /v1/responses (also /responses), GET /v1/models (also /models). Streams carry the
full event sequence with `sequence_number`, and `response.completed` carries the complete
output, which the openai-agents SDK reads its tool calls from.
"""

from __future__ import annotations

from typing import Any
from typing import Iterator

from .httpserver import Request
from .httpserver import Response
from .openai_common import OpenAIProtocol
from .script import ToolCall
from .script import decide
from .script import split_fragments
from .turns import responses_turn
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
from .wire import sse_event


class OpenAIResponses(OpenAIProtocol):
    name = "openai-responses"
    garbage_event = "response.created"

    def __init__(self, key: str) -> None:
        super().__init__(key)
        for path in ("/v1/responses", "/responses"):
            self.routes[("POST", path)] = self.create

    def create(self, req: Request) -> Response:
        body = self.check_request(req, ())
        if isinstance(body, Response):
            return body
        answer = _Answer(body, estimate_tokens(req.body))
        headers = {
            "x-request-id": hex_id("req_"),
            "openai-processing-ms": "1",
            "openai-version": "2020-10-01",
        }
        if body.get("stream"):
            return Response(200, {**SSE_HEADERS, **headers}, list(answer.events()))
        return json_response(200, answer.response("completed"), headers, pretty=True)


class _Answer:
    """One scripted answer as a Response object and as its event stream."""

    def __init__(self, body: dict[str, Any], input_tokens: int) -> None:
        self.body = body
        self.id = hex_id("resp_", 24)
        self.created_at = now()
        decision = decide(responses_turn(body))
        reasoning = body.get("reasoning") or {}
        self.reasoning = reasoning_text(decision) if effort_requested(reasoning) else ""
        self.encrypted = "reasoning.encrypted_content" in (body.get("include") or [])
        out_tokens = output_tokens(decision, self.reasoning)
        self.usage = {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": out_tokens,
            "output_tokens_details": {
                "reasoning_tokens": estimate_tokens(self.reasoning) if self.reasoning else 0
            },
            "total_tokens": input_tokens + out_tokens,
        }
        self.items: list[dict[str, Any]] = []
        if self.reasoning:
            self.items.append(self._reasoning_item())
        if decision.text is not None:
            self.items.append(
                {
                    "id": hex_id("msg_", 24),
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [self._text_part(decision.text)],
                }
            )
        for call in decision.calls:
            self.items.append(self._call_item(call))

    def _reasoning_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": hex_id("rs_", 24),
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": self.reasoning}],
        }
        if self.encrypted:
            item["encrypted_content"] = "gAAAAAEmulated" + hex_id("", 32)
        return item

    @staticmethod
    def _text_part(text: str) -> dict[str, Any]:
        return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}

    @staticmethod
    def _call_item(call: ToolCall) -> dict[str, Any]:
        if call.freeform:
            return {
                "id": hex_id("ctc_", 24),
                "type": "custom_tool_call",
                "status": "completed",
                "call_id": new_id("call_"),
                "name": call.name,
                "input": call.payload,
            }
        return {
            "id": hex_id("fc_", 24),
            "type": "function_call",
            "status": "completed",
            "call_id": new_id("call_"),
            "name": call.name,
            "arguments": call.payload,
        }

    def response(self, status: str) -> dict[str, Any]:
        b = self.body
        done = status == "completed"
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": b.get("instructions"),
            "max_output_tokens": b.get("max_output_tokens"),
            "max_tool_calls": None,
            "model": b["model"],
            "output": self.items if done else [],
            "parallel_tool_calls": b.get("parallel_tool_calls", True),
            "previous_response_id": b.get("previous_response_id"),
            "reasoning": {
                "effort": (b.get("reasoning") or {}).get("effort"),
                "summary": (b.get("reasoning") or {}).get("summary"),
            },
            "service_tier": "default",
            "store": b.get("store", True),
            "temperature": b.get("temperature", 1.0),
            "text": b.get("text") or {"format": {"type": "text"}},
            "tool_choice": b.get("tool_choice", "auto"),
            "tools": b.get("tools") or [],
            "top_p": b.get("top_p", 1.0),
            "truncation": b.get("truncation") or "disabled",
            "usage": self.usage if done else None,
            "user": None,
            "metadata": b.get("metadata") or {},
        }

    def events(self) -> Iterator[bytes]:
        seq = 0

        def event(kind: str, **fields: Any) -> bytes:
            nonlocal seq
            data = {"type": kind, "sequence_number": seq, **fields}
            seq += 1
            return sse_event(kind, data)

        yield event("response.created", response=self.response("in_progress"))
        yield event("response.in_progress", response=self.response("in_progress"))
        for index, item in enumerate(self.items):
            for kind, fields in _item_events(index, item):
                yield event(kind, **fields)
        yield event("response.completed", response=self.response("completed"))


def _item_events(index: int, item: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The events of one output item, from output_item.added to output_item.done."""
    item_id, kind = item["id"], item["type"]
    at = {"item_id": item_id, "output_index": index}
    if kind == "reasoning":
        yield (
            "response.output_item.added",
            {"output_index": index, "item": {"id": item_id, "type": kind, "summary": []}},
        )
        text = item["summary"][0]["text"]
        part = {"type": "summary_text", "text": ""}
        yield "response.reasoning_summary_part.added", {**at, "summary_index": 0, "part": part}
        for piece in pieces(text):
            yield "response.reasoning_summary_text.delta", {**at, "summary_index": 0, "delta": piece}
        yield "response.reasoning_summary_text.done", {**at, "summary_index": 0, "text": text}
        yield (
            "response.reasoning_summary_part.done",
            {**at, "summary_index": 0, "part": {**part, "text": text}},
        )
    elif kind == "message":
        yield (
            "response.output_item.added",
            {"output_index": index, "item": {**item, "status": "in_progress", "content": []}},
        )
        part = item["content"][0]
        text = part["text"]
        yield "response.content_part.added", {**at, "content_index": 0, "part": {**part, "text": ""}}
        for piece in pieces(text):
            yield "response.output_text.delta", {**at, "content_index": 0, "delta": piece, "logprobs": []}
        yield "response.output_text.done", {**at, "content_index": 0, "text": text, "logprobs": []}
        yield "response.content_part.done", {**at, "content_index": 0, "part": part}
    else:
        field, prefix = (
            ("input", "custom_tool_call_input")
            if kind == "custom_tool_call"
            else ("arguments", "function_call_arguments")
        )
        yield (
            "response.output_item.added",
            {"output_index": index, "item": {**item, "status": "in_progress", field: ""}},
        )
        for frag in split_fragments(item[field]):
            yield f"response.{prefix}.delta", {**at, "delta": frag}
        done = {**at, field: item[field]}
        if kind == "function_call":
            done["name"] = item["name"]
        yield f"response.{prefix}.done", done
    yield "response.output_item.done", {"output_index": index, "item": item}

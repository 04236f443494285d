"""Responses non-stream answers (openai-responses.md 3) and errors (4.5, openai-chat.md 5)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai.types.responses import Response

from translators import ir
from translators.dialects.openai_responses import CODEC
from translators.dialects.openai_responses.wire import ENVELOPE
from translators.errors import BridgeError
from translators.errors import TranslationError


class SeqIds(ir.Ids):
    """rs_1, msg_1, fc_1, msg_2 ...: one counter per prefix, like the note's examples."""

    def __init__(self, now: int = 1753400000) -> None:
        super().__init__(now)
        self.counts: dict[str, int] = {}

    def new(self, prefix: str) -> str:
        self.counts[prefix] = self.counts.get(prefix, 0) + 1
        return f"{prefix}{self.counts[prefix]}"


NOTE_RESPONSE: dict[str, Any] = {  # section 3, abridged to what the IR carries
    "id": "resp_68a1f0c2d4e8",
    "object": "response",
    "created_at": 1753400000,
    "status": "completed",
    "model": "gpt-5-codex",
    "output": [
        {
            "id": "rs_68a1f0c3",
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "**Inspecting files**"}],
            "encrypted_content": "gAAAAABo...",
        },
        {
            "id": "msg_68a1f0c4",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": "I will list the files.", "annotations": [], "logprobs": []}
            ],
        },
        {
            "id": "fc_68a1f0c5",
            "type": "function_call",
            "status": "completed",
            "call_id": "call_Ab12",
            "name": "shell",
            "arguments": '{"command":["ls"]}',
        },
        {"id": "ws_1", "type": "web_search_call", "status": "completed"},
    ],
    "usage": {
        "input_tokens": 1834,
        "input_tokens_details": {"cached_tokens": 1536},
        "output_tokens": 96,
        "output_tokens_details": {"reasoning_tokens": 64},
        "total_tokens": 1930,
    },
}


def test_parse_response() -> None:
    resp = CODEC.parse_response(NOTE_RESPONSE)
    assert resp == ir.ChatResponse(
        "resp_68a1f0c2d4e8",
        "gpt-5-codex",
        (
            ir.Thinking(
                "**Inspecting files**", "gAAAAABo...", "openai", extra={"item": {"id": "rs_68a1f0c3"}}
            ),
            ir.Text("I will list the files."),
            ir.ToolUse("call_Ab12", "shell", '{"command":["ls"]}'),
        ),
        stop_reason="tool_use",
        usage=ir.Usage(input=1834, output=96, cache_read=1536, reasoning=64),
    )


def test_failed_or_error_bodies_raise() -> None:
    """A failed response or an error object sent with status 200 is an error for the client."""
    with pytest.raises(TranslationError, match="overloaded"):
        CODEC.parse_response({"id": "r", "status": "failed", "error": {"message": "overloaded"}, "output": []})
    with pytest.raises(TranslationError, match="quota"):
        CODEC.parse_response({"error": {"message": "quota exceeded", "type": "insufficient_quota"}})


@pytest.mark.parametrize(
    "status,details,stop",
    [
        ("incomplete", {"reason": "max_output_tokens"}, "max_tokens"),
        ("incomplete", {"reason": "content_filter"}, "content_filter"),
        ("completed", None, "end_turn"),
    ],
)
def test_parse_status(status: str, details: Any, stop: str) -> None:
    body = {
        "id": "r",
        "model": "m",
        "status": status,
        "incomplete_details": details,
        "usage": None,
        "output": [{"type": "message", "content": [{"type": "refusal", "refusal": "no"}]}],
    }
    resp = CODEC.parse_response(body)
    assert resp.stop_reason == stop and resp.usage == ir.Usage()
    assert resp.content == (ir.Text("no", extra={"type": "refusal"}),)


def _req(**body: Any) -> ir.ChatRequest:
    return CODEC.parse_request({"model": "gpt-5", "input": "hi", **body})


def test_render_response_round_trips_note_example() -> None:
    resp = CODEC.parse_response(NOTE_RESPONSE)
    req = _req(
        instructions="You are a coding agent.",
        reasoning={"effort": "medium", "summary": "auto"},
        store=False,
        parallel_tool_calls=False,
        text={"verbosity": "medium"},
        prompt_cache_key="k",
    )
    out = CODEC.render_response(resp, req, SeqIds())
    expected = {k: v for k, v in NOTE_RESPONSE.items()}
    expected["output"] = NOTE_RESPONSE["output"][:3]
    expected["output"][1] = {**expected["output"][1], "id": "msg_1"}
    expected["output"][2] = {**expected["output"][2], "id": "fc_1"}
    expected["usage"] = {
        **NOTE_RESPONSE["usage"],
        "input_tokens_details": {"cached_tokens": 1536, "cache_write_tokens": 0},
    }
    assert out == {
        **expected,
        "id": "resp_1",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": "You are a coding agent.",
        "max_output_tokens": None,
        "parallel_tool_calls": False,
        "previous_response_id": None,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": False,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "user": None,
        "metadata": {},
        "prompt_cache_key": "k",
    }
    Response.model_validate(out)  # the official SDK's type accepts it


def test_render_response_from_foreign_upstream() -> None:
    resp = ir.ChatResponse(
        "msg_01",
        "claude-x",
        (
            ir.Thinking("think", signature="EqQB", origin="anthropic"),
            ir.RedactedThinking("zzz", origin="anthropic"),
            ir.Text("partial"),
            ir.ToolUse("toolu_1", "apply_patch", "*** Begin", kind="custom"),
        ),
        stop_reason="max_tokens",
        usage=ir.Usage(input=10, output=5, cache_read=4, cache_write=2),
    )
    tools = [{"type": "custom", "name": "apply_patch"}, {"type": "function", "name": "f", "parameters": {}}]
    out = CODEC.render_response(resp, _req(tools=tools, tool_choice="required", temperature=0.5), SeqIds(7))
    assert out["status"] == "incomplete" and out["incomplete_details"] == {"reason": "max_output_tokens"}
    assert out["created_at"] == 7 and out["model"] == "claude-x" and out["temperature"] == 0.5
    r1, r2, msg, call = out["output"]
    assert r1 == {
        "id": "rs_1",
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "think"}],
        "encrypted_content": ENVELOPE + '{"o":"anthropic","s":"EqQB"}',
    }
    assert r2["summary"] == [] and r2["encrypted_content"] == ENVELOPE + '{"o":"anthropic","r":"zzz"}'
    assert msg["status"] == "completed"
    assert call == {
        "id": "ctc_1",
        "type": "custom_tool_call",
        "status": "incomplete",
        "call_id": "toolu_1",
        "name": "apply_patch",
        "input": "*** Begin",
    }
    assert out["usage"]["input_tokens_details"] == {"cached_tokens": 4, "cache_write_tokens": 2}
    assert out["tools"] == [tools[0], {**tools[1], "strict": False}] and out["tool_choice"] == "required"
    Response.model_validate(out)
    # the client replays those items: the signed Anthropic blocks come back intact
    replay = CODEC.parse_request({"model": "m", "input": out["output"]})
    think, redacted = replay.messages[0].content[:2]
    assert isinstance(think, ir.Thinking) and isinstance(redacted, ir.RedactedThinking)
    assert (think.text, think.signature, think.origin) == ("think", "EqQB", "anthropic")
    assert (redacted.data, redacted.origin) == ("zzz", "anthropic")


@pytest.mark.parametrize(
    "stop,status,details",
    [
        ("end_turn", "completed", None),
        ("tool_use", "completed", None),
        ("stop_sequence", "completed", None),
        ("content_filter", "incomplete", {"reason": "content_filter"}),
        ("refusal", "incomplete", {"reason": "content_filter"}),
        ("error", "failed", None),
    ],
)
def test_render_status(stop: ir.StopReason, status: str, details: Any) -> None:
    out = CODEC.render_response(
        ir.ChatResponse("x", "m", (ir.Text("a"),), stop_reason=stop), _req(), SeqIds()
    )
    assert (out["status"], out["incomplete_details"]) == (status, details)
    if status == "failed":
        assert out["error"]["code"] == "server_error"
    Response.model_validate(out)


# ---- errors ----


@pytest.mark.parametrize(
    "err,status,body",
    [
        (
            BridgeError.of("invalid_request", "bad", param="input"),
            400,
            {"message": "bad", "type": "invalid_request_error", "param": "input", "code": None},
        ),
        (
            BridgeError.of("invalid_request", "Your input exceeds the context window of this model."),
            400,
            {
                "message": "Your input exceeds the context window of this model.",
                "type": "invalid_request_error",
                "param": None,
                "code": "context_length_exceeded",
            },
        ),
        (
            BridgeError.of("authentication", "no key"),
            401,
            {"message": "no key", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"},
        ),
        (
            BridgeError.of("rate_limit", "slow"),
            429,
            {"message": "slow", "type": "requests", "param": None, "code": "rate_limit_exceeded"},
        ),
        (
            BridgeError.of("overloaded", "busy", status=529),
            503,
            {"message": "busy", "type": "server_error", "param": None, "code": "overloaded"},
        ),
        (
            BridgeError.of("not_found", "no model", code="model_not_found"),
            404,
            {
                "message": "no model",
                "type": "invalid_request_error",
                "param": None,
                "code": "model_not_found",
            },
        ),
    ],
)
def test_render_error(err: BridgeError, status: int, body: dict[str, Any]) -> None:
    assert CODEC.render_error(err) == (status, {"error": body})


def test_render_stream_error_is_an_error_event() -> None:
    from openai.types.responses import ResponseErrorEvent

    frame = CODEC.render_stream_error(BridgeError.of("rate_limit", "Rate limit reached, try again in 2s."))
    head, data = frame.split(b"\n", 1)
    assert head == b"event: error" and data.endswith(b"\n\n") and data.startswith(b"data: ")
    obj = orjson.loads(data[6:])
    assert obj == {
        "type": "error",
        "sequence_number": 0,
        "code": "rate_limit_exceeded",
        "message": "Rate limit reached, try again in 2s.",
        "param": None,
    }
    ResponseErrorEvent.model_validate(obj)


@pytest.mark.parametrize(
    "status,body,kind,message,code,param",
    [
        (
            400,
            b'{"error":{"message":"Bad","type":"invalid_request_error","param":"input","code":"invalid_value"}}',
            "invalid_request",
            "Bad",
            "invalid_value",
            "input",
        ),
        (
            429,
            b'{"error":{"message":"quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}',
            "rate_limit",
            "quota",
            "insufficient_quota",
            None,
        ),
        (500, b"<html>oops</html>", "api_error", "<html>oops</html>", None, None),
        (503, b"", "overloaded", "The upstream returned HTTP 503.", None, None),
        (404, b'{"error":"no such model"}', "not_found", "no such model", None, None),
        (401, b'{"message":"bad key"}', "authentication", "bad key", None, None),
    ],
)
def test_parse_error(
    status: int, body: bytes, kind: str, message: str, code: str | None, param: str | None
) -> None:
    err = CODEC.parse_error(status, body)
    assert (err.kind, err.status, err.message, err.code, err.param) == (kind, status, message, code, param)


def test_render_response_unwraps_freeform_calls() -> None:
    req = _req(tools=[{"type": "custom", "name": "apply_patch"}])
    resp = ir.ChatResponse(
        "x", "m", (ir.ToolUse("toolu_1", "apply_patch", '{"input":"*** Begin"}'),), "tool_use"
    )
    item = CODEC.render_response(resp, req, SeqIds())["output"][0]
    assert (item["type"], item["input"]) == ("custom_tool_call", "*** Begin")

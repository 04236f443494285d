"""Anthropic Messages answers (non-streaming) both ways, and errors both ways."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from anthropic.types import ErrorResponse
from anthropic.types import Message

from translators import ir
from translators.dialects.anthropic_messages import CODEC
from translators.errors import BridgeError
from translators.errors import TranslationError

REQ = ir.ChatRequest("claude-alias", (ir.Message("user", (ir.Text("hi"),)),), max_output_tokens=100)

NOTE_MESSAGE: dict[str, Any] = {  # anthropic-messages.md section 4
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "thinking", "thinking": "User wants the listing.", "signature": "EqQBCkgIARAB..."},
        {"type": "text", "text": "I'll list the files."},
        {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "Bash",
         "input": {"command": "ls -la"}},
    ],
    "stop_reason": "tool_use", "stop_sequence": None,
    "usage": {"input_tokens": 2095, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 18230,
              "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
              "output_tokens": 503, "service_tier": "standard"},
}


def test_parse_note_message() -> None:
    resp = CODEC.parse_response(NOTE_MESSAGE)
    assert resp.id == "msg_01XFDUDYJgAACzvnptvVoYEL" and resp.model == "claude-sonnet-4-5-20250929"
    assert resp.content == (
        ir.Thinking("User wants the listing.", signature="EqQBCkgIARAB...", origin="anthropic"),
        ir.Text("I'll list the files."),
        ir.ToolUse("toolu_01A09q90qw90lq917835lq9", "Bash", '{"command":"ls -la"}'))
    assert resp.stop_reason == "tool_use" and resp.stop_sequence is None
    assert resp.usage == ir.Usage(input=2095 + 18230, output=503, cache_read=18230)


def test_round_trip_note_message() -> None:
    resp = CODEC.parse_response(NOTE_MESSAGE)
    out = CODEC.render_response(resp, REQ, ir.Ids(0))
    usage = {k: v for k, v in NOTE_MESSAGE["usage"].items() if k not in ("cache_creation", "service_tier")}
    expected = {**NOTE_MESSAGE, "model": "claude-alias", "usage": usage}
    assert out == expected
    Message.model_validate(out)


def test_render_foreign_answer() -> None:
    resp = ir.ChatResponse(
        id="chatcmpl-9", model="gpt-x",
        content=(ir.Thinking("why", signature="gAAA", origin="openai"), ir.Thinking(""), ir.Thinking("free"),
                 ir.Text(""), ir.Text("Hi."), ir.ToolUse("call:1", "f", '{"a":1}'), ir.ToolUse("", "g", ""),
                 ir.ToolUse("call_3", "apply_patch", "*** Begin", kind="custom"),
                 ir.ToolUse("c4", "h", "[1]"), ir.Image(url="https://x")),
        stop_reason="end_turn",
        usage=ir.Usage(input=100, output=20, cache_read=30, cache_write=10, reasoning=5))
    out = CODEC.render_response(resp, REQ, ir.Ids(0, "s"))
    assert out["id"] == "msg_s0001" and out["stop_reason"] == "tool_use"  # decided by the content
    assert out["content"] == [
        {"type": "thinking", "thinking": "why", "signature": "~bridge:openai~gAAA"},
        {"type": "thinking", "thinking": "free", "signature": ""},
        {"type": "text", "text": "Hi."},
        {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}},
        {"type": "tool_use", "id": "toolu_s0002", "name": "g", "input": {}},
        {"type": "tool_use", "id": "call_3", "name": "apply_patch", "input": {"input": "*** Begin"}},
        {"type": "tool_use", "id": "c4", "name": "h", "input": {"input": [1]}}]
    assert out["usage"] == {"input_tokens": 60, "cache_creation_input_tokens": 10,
                            "cache_read_input_tokens": 30, "output_tokens": 20}
    Message.model_validate(out)
    # what the client replays comes back with its origin
    replay = CODEC.parse_request({"model": "m", "max_tokens": 9, "messages": [
        {"role": "user", "content": "q"}, {"role": "assistant", "content": out["content"][:2]}]})
    assert replay.messages[1].content == (ir.Thinking("why", signature="gAAA", origin="openai"),
                                          ir.Thinking("free"))


@pytest.mark.parametrize("ir_stop,wire", [
    ("end_turn", "end_turn"), ("max_tokens", "max_tokens"), ("stop_sequence", "stop_sequence"),
    ("tool_use", "tool_use"), ("pause_turn", "pause_turn"), ("refusal", "refusal"),
    ("content_filter", "refusal"), ("error", "end_turn"),
])
def test_stop_reasons(ir_stop: ir.StopReason, wire: str) -> None:
    resp = ir.ChatResponse("msg_1", "m", (ir.Text("x"),), stop_reason=ir_stop,
                           stop_sequence="END" if wire == "stop_sequence" else None)
    out = CODEC.render_response(resp, REQ, ir.Ids(0))
    assert out["stop_reason"] == wire and out["stop_sequence"] == ("END" if wire == "stop_sequence" else None)
    parsed = CODEC.parse_response({**out, "stop_reason": wire})
    assert parsed.stop_reason == (ir_stop if ir_stop not in ("content_filter", "error") else wire)


def test_parse_lenient_and_server_blocks() -> None:
    body = {"id": "msg_2", "type": "message", "role": "assistant", "model": "m",
            "stop_reason": "model_context_window_exceeded",
            "content": [{"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search",
                         "input": {"query": "q"}},
                        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                        {"type": "text", "text": "found",
                         "citations": [{"type": "web_search_result_location"}]}],
            "usage": {"input_tokens": 5, "output_tokens": 2, "output_tokens_details": {"thinking_tokens": 1}},
            "container": {"id": "c"}}
    resp = CODEC.parse_response(body)
    assert resp.stop_reason == "max_tokens" and resp.extra == {"container": {"id": "c"}}
    assert resp.usage == ir.Usage(input=5, output=2, reasoning=1)
    out = CODEC.render_response(resp, REQ, ir.Ids(0))
    assert out["content"] == body["content"]  # server blocks and citations reach an Anthropic client intact


def test_parse_response_errors() -> None:
    with pytest.raises(TranslationError) as e:
        CODEC.parse_response({"type": "error",
                              "error": {"type": "overloaded_error", "message": "Overloaded"}})
    assert e.value.error.kind == "overloaded" and e.value.error.message == "Overloaded"
    with pytest.raises(TranslationError) as e:
        CODEC.parse_response({"id": "msg_1", "content": "oops"})
    assert e.value.error.kind == "api_error"


# ---- errors ----


@pytest.mark.parametrize("kind,status,wire_type", [
    ("invalid_request", 400, "invalid_request_error"), ("authentication", 401, "authentication_error"),
    ("permission", 403, "permission_error"), ("not_found", 404, "not_found_error"),
    ("request_too_large", 413, "request_too_large"), ("rate_limit", 429, "rate_limit_error"),
    ("api_error", 500, "api_error"), ("upstream_unreachable", 502, "api_error"),
    ("overloaded", 529, "overloaded_error"), ("timeout", 504, "timeout_error"),
])
def test_render_error(kind: str, status: int, wire_type: str) -> None:
    got_status, body = CODEC.render_error(BridgeError.of(kind, "msg"))
    assert got_status == status and body == {"type": "error", "error": {"type": wire_type, "message": "msg"}}
    if wire_type != "request_too_large":  # the note's 413 type, which the SDK's union does not list
        ErrorResponse.model_validate(body)
    frame = CODEC.render_stream_error(BridgeError.of(kind, "msg"))
    assert frame == b"event: error\ndata: " + orjson.dumps(body) + b"\n\n"


def test_render_context_overflow_keeps_anthropic_wording() -> None:
    openai = ("This model's maximum context length is 128000 tokens. "
              "However, your messages resulted in 130567 tokens.")
    _, body = CODEC.render_error(BridgeError.of("invalid_request", openai, code="context_length_exceeded"))
    assert body["error"]["message"] == "prompt is too long: 130567 tokens > 128000 maximum"
    native = "prompt is too long: 215692 tokens > 200000 maximum"
    assert CODEC.render_error(BridgeError.of("invalid_request", native, code="context_length_exceeded"))[1][
        "error"]["message"] == native
    assert CODEC.render_error(BridgeError.of("permission", "pay", code="billing_error"))[0] == 402


def err(typ: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": typ, "message": message}}


@pytest.mark.parametrize("status,body,kind,code", [
    (400, {**err("invalid_request_error", "max_tokens: Field required"), "request_id": "req_1"},
     "invalid_request", None),
    (400, err("invalid_request_error", "prompt is too long: 215692 tokens > 200000 maximum"),
     "invalid_request", "context_length_exceeded"),
    (401, err("authentication_error", "invalid x-api-key"),
     "authentication", None),
    (402, err("billing_error", "credit"), "permission", "billing_error"),
    (403, err("permission_error", "no"), "permission", None),
    (404, err("not_found_error", "model"), "not_found", None),
    (413, err("request_too_large", "big"), "request_too_large", None),
    (429, err("rate_limit_error", "slow"), "rate_limit", None),
    (500, err("api_error", "oops"), "api_error", None),
    (504, err("timeout_error", "late"), "timeout", None),
    (529, err("overloaded_error", "Overloaded"), "overloaded", None),
    (529, {"error": "weird"}, "overloaded", None),
    (418, err("brand_new_error", "?"), "invalid_request", None),
])
def test_parse_error(status: int, body: Any, kind: str, code: str | None) -> None:
    err = CODEC.parse_error(status, orjson.dumps(body))
    assert (err.kind, err.status, err.code, err.retry_after) == (kind, status, code, None)
    if isinstance(body.get("error"), dict):
        assert err.message == body["error"]["message"]


def test_parse_error_not_json() -> None:
    err = CODEC.parse_error(502, b"<html>Bad Gateway</html>")
    assert err.kind == "upstream_unreachable" and err.message == "<html>Bad Gateway</html>"
    assert CODEC.parse_error(503, b"").message == "Upstream returned HTTP 503."

"""Gemini Code Assist codec, answer side: SSE streams from the protocol notes cut at every byte,
unary answers, in-band errors and Google error bodies (429 RetryInfo -> Retry-After)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from translators import ir
from translators.accumulate import Accumulator
from translators.errors import TranslationError
from translators.providers.gemini_code_assist import CODEC
from translators.providers.gemini_code_assist.callids import split_call_id
from translators.providers.gemini_code_assist.errors import duration_seconds
from translators.sse import SSEParser

REQ = ir.ChatRequest(model="gemini-2.5-pro", messages=(), stream=True)


def frame(obj: Any, crlf: bool = True) -> bytes:
    eol = b"\r\n" if crlf else b"\n"
    return b"data: " + json.dumps(obj, separators=(",", ": ")).encode() + eol + eol


def envelope(parts: list[dict[str, Any]] | None, finish: str | None = None,
             usage: dict[str, Any] | None = None, rid: str = "Zq3xT8bLmR2-hYcP4vKwNq1") -> dict[str, Any]:
    cand: dict[str, Any] = {}
    if parts is not None:
        cand["content"] = {"role": "model", "parts": parts}
    if finish:
        cand["finishReason"] = finish
    resp = {"candidates": [cand], "usageMetadata": usage or {"trafficType": "PROVISIONED_THROUGHPUT"},
            "modelVersion": "gemini-2.5-pro", "createTime": "2025-08-09T07:12:30.102311Z", "responseId": rid}
    return {"response": resp, "traceId": "a70f3e5d1c9b2846", "metadata": {}}


FINAL_USAGE = {"promptTokenCount": 98, "candidatesTokenCount": 16, "totalTokenCount": 150,
               "trafficType": "PROVISIONED_THROUGHPUT", "thoughtsTokenCount": 36}
# gemini-code-assist.md 5: thought chunk, then a whole function call with its signature, STOP.
PLAN = "**Planning the lookup**\n\nThe user wants Paris weather; I'll call get_weather."
CALL_STREAM = frame(envelope([{"text": PLAN, "thought": True}])) + \
    frame(envelope([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                     "thoughtSignature": "CiQBcsjafG0v8Q0h..."}], "STOP", FINAL_USAGE))
# The text answer after the tool result (second request of the note), with U+2028 inside the JSON.
TEXT_STREAM = frame(envelope([{"text": "It's 18 °C"}], rid="Wd7uQ2fHs9LkPeRm3TbV8cA")) + \
    frame(envelope([{"text": " and cloudy\u2028in Paris right now."}], "STOP",
                   {"promptTokenCount": 112, "candidatesTokenCount": 14, "totalTokenCount": 126},
                   rid="Wd7uQ2fHs9LkPeRm3TbV8cA"))


def decode(raw: bytes, cuts: tuple[int, ...] = ()) -> list[ir.StreamEvent]:
    parser, dec = SSEParser(), CODEC.stream_decoder(REQ)
    out: list[ir.StreamEvent] = []
    bounds = [0, *cuts, len(raw)]
    for a, b in zip(bounds, bounds[1:]):
        for sse in parser.feed(raw[a:b]):
            out += dec.feed(sse)
    for sse in parser.flush():
        out += dec.feed(sse)
    return out + dec.flush()


def result(events: list[ir.StreamEvent]) -> ir.ChatResponse:
    acc = Accumulator()
    for ev in events:
        acc.feed(ev)
    return acc.result()


@pytest.mark.parametrize("raw", [CALL_STREAM, TEXT_STREAM, CALL_STREAM.replace(b"\r\n", b"\n")],
                         ids=["call", "text", "lf"])
def test_every_byte_cut_gives_the_same_events(raw: bytes) -> None:
    whole = decode(raw)
    for i in range(len(raw) + 1):
        assert decode(raw, (i,)) == whole, i
    for i in range(0, len(raw), 7):  # and three pieces
        assert decode(raw, (i, min(len(raw), i + 5))) == whole


def test_call_stream() -> None:
    resp = result(decode(CALL_STREAM))
    thinking, call = resp.content
    assert isinstance(thinking, ir.Thinking) and thinking.origin == "gemini" and thinking.text == PLAN
    assert isinstance(call, ir.ToolUse) and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris"}
    assert split_call_id(call.id) == (None, "CiQBcsjafG0v8Q0h...")
    assert call.id.startswith("call_Zq3xT8bLmR2hYcP4vKwNq1_0")
    assert resp.stop_reason == "tool_use" and resp.model == "gemini-2.5-pro"
    assert resp.id == "Zq3xT8bLmR2-hYcP4vKwNq1"
    assert resp.usage == ir.Usage(input=98, output=52, reasoning=36)


def test_text_stream_is_incremental_and_keeps_u2028() -> None:
    events = decode(TEXT_STREAM)
    deltas = [e.value for e in events if isinstance(e, ir.BlockDelta)]
    assert deltas == ["It's 18 °C", " and cloudy\u2028in Paris right now."]
    resp = result(events)
    assert resp.content == (ir.Text("It's 18 °C and cloudy\u2028in Paris right now."),)
    assert resp.stop_reason == "end_turn" and resp.usage.input == 112 and resp.usage.output == 14


def test_parallel_calls_get_distinct_ids_and_only_first_is_signed() -> None:
    raw = frame(envelope([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                           "thoughtSignature": "S1"},
                          {"functionCall": {"name": "get_weather", "args": {"city": "Tokyo"}}}],
                         "STOP", FINAL_USAGE))
    calls = [b for b in result(decode(raw)).content if isinstance(b, ir.ToolUse)]
    assert len({c.id for c in calls}) == 2
    assert [split_call_id(c.id)[1] for c in calls] == ["S1", None]


def test_signature_on_empty_final_part_and_on_text() -> None:
    """4.2 rule 6: kept with the part it came with, as an empty thinking block before it."""
    raw = frame(envelope([{"text": "Hi", "thoughtSignature": "T1"}])) + \
        frame(envelope([{"text": " there"}])) + \
        frame(envelope([{"text": "", "thoughtSignature": "END"}], "STOP", FINAL_USAGE))
    content = result(decode(raw)).content
    assert content == (ir.Thinking("", "T1", "gemini"), ir.Text("Hi there"), ir.Thinking("", "END", "gemini"))


def test_thought_signature_on_thought_part() -> None:
    raw = frame(envelope([{"text": "Think", "thought": True, "thoughtSignature": "TS"}, {"text": "Answer"}],
                         "STOP", FINAL_USAGE))
    assert result(decode(raw)).content == (ir.Thinking("Think", "TS", "gemini"), ir.Text("Answer"))


def test_each_thought_signature_gets_its_own_block() -> None:
    raw = frame(envelope([{"text": "A", "thought": True, "thoughtSignature": "S1"}])) + \
        frame(envelope([{"text": "B", "thought": True, "thoughtSignature": "S2"}], "STOP"))
    assert result(decode(raw)).content == (ir.Thinking("A", "S1", "gemini"), ir.Thinking("B", "S2", "gemini"))


def test_gemini_call_id_is_kept() -> None:
    raw = frame(envelope([{"functionCall": {"id": "fc1", "name": "f", "args": {}}}], "STOP", FINAL_USAGE))
    call = result(decode(raw)).content[0]
    assert isinstance(call, ir.ToolUse) and split_call_id(call.id) == ("fc1", None)


def test_freeform_call_is_unwrapped() -> None:
    req = ir.ChatRequest(model="m", messages=(), tools=(ir.Tool("apply_patch", kind="custom"),))
    dec = CODEC.stream_decoder(req)
    parser = SSEParser()
    raw = frame(envelope([{"functionCall": {"name": "apply_patch", "args": {"input": "*** Begin Patch"}}}],
                         "STOP"))
    events = [e for s in parser.feed(raw) for e in dec.feed(s)] + dec.flush()
    call = result(events).content[0]
    assert isinstance(call, ir.ToolUse) and call.kind == "custom" and call.arguments == "*** Begin Patch"


def test_final_chunk_without_content_and_empty_parts() -> None:
    raw = frame(envelope([{"text": "ok"}])) + frame(envelope([]))
    raw += frame(envelope(None, "MAX_TOKENS", FINAL_USAGE))
    resp = result(decode(raw))
    assert resp.content == (ir.Text("ok"),) and resp.stop_reason == "max_tokens"


@pytest.mark.parametrize("reason,stop", [("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
                                         ("MALFORMED_FUNCTION_CALL", "end_turn"), ("OTHER", "end_turn")])
def test_finish_reasons(reason: str, stop: str) -> None:
    assert result(decode(frame(envelope([{"text": "x"}], reason)))).stop_reason == stop


def test_blocked_prompt() -> None:
    raw = frame({"response": {"promptFeedback": {"blockReason": "SAFETY"},
                              "usageMetadata": {"promptTokenCount": 5}, "responseId": "r"}, "traceId": "t"})
    resp = result(decode(raw))
    assert resp.content == () and resp.stop_reason == "content_filter"


def test_cut_off_stream_without_finish_reason_is_an_error() -> None:
    events = decode(frame(envelope([{"text": "partial"}])))
    assert isinstance(events[-1], ir.StreamError) and events[-1].status == 502
    assert isinstance(events[-2], ir.BlockStop)  # the open block is closed first


def test_empty_stream_is_an_error() -> None:
    events = decode(b"")
    assert len(events) == 1 and isinstance(events[0], ir.StreamError)


def test_error_event_with_status_200() -> None:
    err = {"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).",
                     "status": "RESOURCE_EXHAUSTED"}}
    events = decode(frame(envelope([{"text": "a"}])) + frame(err))
    assert events[-1] == ir.StreamError(429, "rate_limit", "Resource has been exhausted (e.g. check quota).")
    assert not any(isinstance(e, ir.MessageStop) for e in events)


def test_bare_json_error_body_under_event_stream() -> None:
    """A 200 `text/event-stream` whose body is plain Google error JSON: its message reaches the client."""
    from translators.dialects.openai_chat import CODEC as CHAT
    from translators.pipeline import StreamPipeline

    body = json.dumps({"error": {"code": 429, "message": "Quota exceeded for quota metric.",
                                 "status": "RESOURCE_EXHAUSTED"}}, indent=2).encode()
    for cut in range(0, len(body) + 1, 7):
        pipe = StreamPipeline(CODEC.stream_decoder(REQ), CHAT.stream_encoder(REQ, ir.Ids(1)))
        out = b"".join(pipe.feed(body[:cut]) + pipe.feed(body[cut:]) + pipe.flush())
        assert b"Quota exceeded for quota metric." in out and out.endswith(b"data: [DONE]\n\n"), cut


def test_garbage_is_an_error() -> None:
    events = decode(b"data: {this is not json\r\n\r\n")
    assert isinstance(events[-1], ir.StreamError) and events[-1].status == 502


def test_json_array_form() -> None:
    """5: without alt=sse the whole stream is one JSON array of envelopes."""
    body = json.dumps([envelope([{"text": "a"}]), envelope([{"text": "b"}], "STOP", FINAL_USAGE)]).encode()
    assert CODEC.parse_response(body).content == (ir.Text("ab"),)


# ---------------------------------------------------------------- unary answers


def test_unary_answer_from_the_note() -> None:
    thought = "**Checking the tool result**\n\nThe tool says 18°C and cloudy."
    body = json.dumps({"response": {
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": thought, "thought": True}, {"text": "It's 18 °C and cloudy in Paris right now."}]},
            "finishReason": "STOP", "avgLogprobs": -0.41}],
        "usageMetadata": {"promptTokenCount": 112, "candidatesTokenCount": 14, "totalTokenCount": 170,
                          "thoughtsTokenCount": 44, "cachedContentTokenCount": 10},
        "modelVersion": "gemini-2.5-pro", "responseId": "Wd7uQ2fHs9LkPeRm3TbV8cA"},
        "traceId": "4e1c9a07b2d35f68"}, indent=2).encode()
    resp = CODEC.parse_response(body)
    assert resp.content[0] == ir.Thinking(thought, None, "gemini")
    assert resp.content[1] == ir.Text("It's 18 °C and cloudy in Paris right now.")
    assert resp.usage == ir.Usage(input=112, output=58, cache_read=10, reasoning=44)
    assert resp.stop_reason == "end_turn" and resp.id == "Wd7uQ2fHs9LkPeRm3TbV8cA"


def test_unary_without_response_and_with_data_prefix() -> None:
    assert CODEC.parse_response(b'{"traceId": "x"}').content == ()
    body = b"data: " + json.dumps(envelope([{"text": "hi"}], "STOP")).encode()
    assert CODEC.parse_response(body).content == (ir.Text("hi"),)


def test_unary_error_with_status_200_raises() -> None:
    with pytest.raises(TranslationError) as e:
        CODEC.parse_response(b'{"error": {"code": 500, "message": "Internal error encountered.", '
                             b'"status": "INTERNAL"}}')
    assert e.value.error.status == 502 and e.value.error.message == "Internal error encountered."


# ---------------------------------------------------------------- errors (6)

RPC = "type.googleapis.com/google.rpc."
QUOTA_429 = {"error": {
    "code": 429, "message": "You have exhausted your capacity on this model. Your quota will reset after 0s.",
    "status": "RESOURCE_EXHAUSTED", "details": [
        {"@type": RPC + "ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED", "domain": "cloudcode-pa.googleapis.com",
         "metadata": {"uiMessage": "true", "model": "gemini-2.5-pro", "quotaResetDelay": "539.477544ms"}},
        {"@type": RPC + "RetryInfo", "retryDelay": "17.2s"}]}}


def test_429_retry_info_becomes_retry_after() -> None:
    err = CODEC.parse_error(429, {}, json.dumps(QUOTA_429).encode())
    assert err.kind == "rate_limit" and err.status == 429 and err.retry_after == "18"
    assert err.code == "RATE_LIMIT_EXCEEDED" and err.message.startswith("You have exhausted")


def test_429_fallbacks() -> None:
    no_retry_info = {"error": {**QUOTA_429["error"], "details": QUOTA_429["error"]["details"][:1]}}
    assert CODEC.parse_error(429, {}, json.dumps(no_retry_info).encode()).retry_after == "1"
    daily = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                       "message": "Your quota will reset after 19h14m47s."}}
    assert CODEC.parse_error(429, {}, json.dumps(daily).encode()).retry_after == str(19 * 3600 + 14 * 60 + 47)
    assert CODEC.parse_error(429, {}, b'{"error": {"code": 429, "message": "slow down"}}').retry_after is None


def test_array_wrapped_error_with_stray_comma() -> None:
    body = b'[{"error": {"code": 403, "message": "Forbidden.", "status": "PERMISSION_DENIED", "details": [' \
           b'{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "VALIDATION_REQUIRED", ' \
           b'"domain": "cloudcode-pa.googleapis.com",\n ,"metadata": {}}]}}]'
    err = CODEC.parse_error(403, {}, body)
    assert err.kind == "permission" and err.message == "Forbidden." and err.code == "VALIDATION_REQUIRED"


def test_stringified_nested_error() -> None:
    inner = json.dumps({"error": {"code": 400, "message": 'Unknown name "const"',
                                  "status": "INVALID_ARGUMENT"}})
    err = CODEC.parse_error(400, {}, json.dumps({"error": {"code": 400, "message": inner}}).encode())
    assert err.message == 'Unknown name "const"' and err.kind == "invalid_request"


@pytest.mark.parametrize("status,kind,out", [(401, "authentication", 401), (404, "not_found", 404),
                                             (500, "api_error", 502), (503, "overloaded", 503),
                                             (504, "timeout", 504), (499, "api_error", 502)])
def test_status_mapping(status: int, kind: str, out: int) -> None:
    err = CODEC.parse_error(status, {}, b'{"error": {"code": %d, "message": "m"}}' % status)
    assert (err.kind, err.status) == (kind, out)


def test_context_overflow_code_and_non_json_body() -> None:
    message = "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."
    err = CODEC.parse_error(400, {}, json.dumps({"error": {"code": 400, "message": message}}).encode())
    assert err.code == "context_length_exceeded"
    assert CODEC.parse_error(502, {}, b"<html>bad gateway</html>").message == "<html>bad gateway</html>"


@pytest.mark.parametrize("text,seconds", [("17s", 17), ("0.539477544s", 0.539477544),
                                          ("539.477544ms", 0.539477544), ("19h14m47s", 69287), ("1m", 60)])
def test_durations(text: str, seconds: float) -> None:
    assert duration_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["soon", "", "17", "5 s"])
def test_unreadable_durations(text: str) -> None:
    assert duration_seconds(text) is None


def test_models() -> None:
    assert "gemini-2.5-pro" in CODEC.models({}) and CODEC.models({"models": ["x"]}) == ["x"]

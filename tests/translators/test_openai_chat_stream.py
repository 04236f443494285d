"""Chat Completions streams: the notes' byte-exact examples decoded with input cut at every byte,
and the encoder's output checked against the dialect's grammar."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from translators import ir
from translators.dialects.openai_chat import CODEC
from translators.pipeline import StreamPipeline
from translators.sse import SSEParser

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openai_chat"
REQ = ir.ChatRequest(model="client-model", messages=(ir.Message("user", (ir.Text("hi"),)),), stream=True,
                     want_usage=True)


def decode(data: bytes, cuts: list[int]) -> list[ir.StreamEvent]:
    parser, dec, out, last = SSEParser(), CODEC.stream_decoder(REQ), [], 0
    for c in cuts + [len(data)]:
        for sse in parser.feed(data[last:c]):
            out += dec.feed(sse)
        last = c
    for sse in parser.flush():
        out += dec.feed(sse)
    return out + dec.flush()


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.sse").read_bytes()


def test_text_stream_events() -> None:
    events = decode(fixture("text_usage"), [])
    assert events == [
        ir.MessageStart("chatcmpl-1", "gpt-4.1"),
        ir.BlockStart(0, ir.Text("")), ir.BlockDelta(0, "text", "Hello"), ir.BlockDelta(0, "text", " there!"),
        ir.BlockStop(0),
        ir.MessageDelta("end_turn", ir.Usage(input=12, output=3)), ir.MessageStop()]


def test_parallel_tool_stream_events() -> None:
    events = decode(fixture("parallel_tools"), [])
    starts = [e.block for e in events if isinstance(e, ir.BlockStart)]
    assert starts == [ir.ToolUse("call_7Qm1", "get_weather", ""), ir.ToolUse("call_8Rn2", "get_time", "")]
    args = {i: "".join(e.value for e in events if isinstance(e, ir.BlockDelta) and e.index == i) for i in (0, 1)}
    assert args == {0: '{"city":"Paris"}', 1: '{"tz":"Europe/Paris"}'}
    assert events[-2] == ir.MessageDelta("tool_use", None)


def test_reasoning_stream_events() -> None:
    events = decode(fixture("reasoning"), [])
    assert events[1] == ir.BlockStart(0, ir.Thinking(""))
    assert ir.BlockDelta(0, "thinking", "The user asks") in events
    assert ir.BlockDelta(1, "text", "Answer: 4") in events
    delta = events[-2]
    assert isinstance(delta, ir.MessageDelta) and delta.usage == ir.Usage(input=10, output=60, reasoning=52)


@pytest.mark.parametrize("name", ["text_usage", "parallel_tools", "reasoning"])
def test_cut_at_every_byte(name: str) -> None:
    data = fixture(name)
    whole = decode(data, [])
    for cut in range(1, len(data)):
        assert decode(data, [cut]) == whole, f"cut at {cut}"


def frames(chunks: list[bytes]) -> list[dict | str]:
    out: list[dict | str] = []
    for frame in b"".join(chunks).split(b"\n\n")[:-1]:
        assert frame.startswith(b"data: ") and b"\n" not in frame
        payload = frame[6:]
        out.append("[DONE]" if payload == b"[DONE]" else orjson.loads(payload))
    return out


def test_round_trip_through_pipeline_keeps_grammar() -> None:
    pipe = StreamPipeline(CODEC.stream_decoder(REQ), CODEC.stream_encoder(REQ, ir.Ids(1700000000)))
    data = fixture("parallel_tools")
    out = [c for i in range(0, len(data), 7) for c in pipe.feed(data[i:i + 7])] + pipe.flush()
    got = frames(out)
    assert got[-1] == "[DONE]"
    chunks = [g for g in got if isinstance(g, dict)]
    assert len({c["id"] for c in chunks}) == 1 and all(c["model"] == "client-model" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    calls = [tc for c in chunks for ch in c["choices"] for tc in ch["delta"].get("tool_calls", [])]
    firsts = [tc for tc in calls if "id" in tc]
    assert [(t["index"], t["type"], t["function"]["name"]) for t in firsts] == [
        (0, "function", "get_weather"), (1, "function", "get_time")]
    assert all("index" in tc for tc in calls)
    finishes = [ch["finish_reason"] for c in chunks for ch in c["choices"] if ch["finish_reason"]]
    assert finishes == ["tool_calls"]
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["total_tokens"] == 0
    assert all(c["usage"] is None for c in chunks[:-1])
    assert pipe.usage == ir.Usage()


def test_encoder_without_include_usage_has_no_usage_key() -> None:
    req = ir.ChatRequest(model="m", messages=(), stream=True)
    enc = CODEC.stream_encoder(req, ir.Ids(1))
    out = enc.feed(ir.MessageStart("x", "m")) + enc.feed(ir.BlockDelta(0, "text", "a")) + enc.flush()
    got = frames(out)
    assert all("usage" not in g for g in got if isinstance(g, dict))
    assert got[-2]["choices"][0]["finish_reason"] == "stop" and got[-1] == "[DONE]"


def test_stream_error_is_in_band_error_then_done() -> None:
    enc = CODEC.stream_encoder(REQ, ir.Ids(1))
    out = enc.feed(ir.MessageStart("x", "m")) + enc.feed(ir.StreamError(429, "rate_limit", "slow down"))
    got = frames(out)
    assert got[-2] == {"error": {"message": "slow down", "type": "requests", "param": None,
                                 "code": "rate_limit_exceeded"}}
    assert got[-1] == "[DONE]" and enc.flush() == []


def test_upstream_error_chunk_becomes_stream_error() -> None:
    events = decode(b'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n', [])
    assert events == [ir.StreamError(500, "api_error", "overloaded")]


def test_truncated_upstream_ends_in_error() -> None:
    data = fixture("text_usage")
    for end in (data.index(b'" there!'), data.index(b"data: ", data.index(b'" there!'))):
        events = decode(data[:end], [])
        assert events[-1] == ir.StreamError(502, "api_error", events[-1].message), end  # type: ignore[union-attr]
        assert events[-2] == ir.BlockStop(0)


def test_missing_done_after_finish_is_a_clean_end() -> None:
    data = fixture("text_usage")
    events = decode(data[: data.index(b"data: [DONE]")], [])
    assert events[-1] == ir.MessageStop()


def test_empty_upstream_is_an_error() -> None:
    assert isinstance(decode(b"", [])[-1], ir.StreamError)


def test_legacy_function_call_stream() -> None:
    req = ir.ChatRequest(model="m", messages=(), stream=True, extra={"_legacy_functions": True})
    enc = CODEC.stream_encoder(req, ir.Ids(1))
    out = enc.feed(ir.MessageStart("x", "m")) + enc.feed(ir.BlockStart(0, ir.ToolUse("c1", "f", "")))
    out += enc.feed(ir.BlockDelta(0, "tool_args", '{"a":')) + enc.feed(ir.BlockDelta(0, "tool_args", "1}"))
    out += enc.feed(ir.MessageDelta("tool_use")) + enc.flush()
    got = [g for g in frames(out) if isinstance(g, dict)]
    assert got[1]["choices"][0]["delta"] == {"function_call": {"name": "f", "arguments": ""}}
    assert got[-1]["choices"][0]["finish_reason"] == "function_call"


def test_response_round_trip() -> None:
    body = {"id": "chatcmpl-9", "object": "chat.completion", "created": 1, "model": "up",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": None, "reasoning_content": "think",
                "tool_calls": [{"id": "call_1", "type": "function",
                                "function": {"name": "f", "arguments": "{\"a\":1}"}}]}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 2},
                      "completion_tokens_details": {"reasoning_tokens": 3}}}
    resp = CODEC.parse_response(body)
    assert resp.stop_reason == "tool_use"  # forced-function quirk: "stop" with tool_calls
    assert resp.usage == ir.Usage(input=5, output=7, cache_read=2, reasoning=3)
    out = CODEC.render_response(resp, REQ, ir.Ids(42))
    msg = out["choices"][0]["message"]
    assert out["model"] == "client-model" and out["created"] == 42 and out["id"] == "chatcmpl-9"
    assert msg["content"] is None and msg["reasoning_content"] == "think"
    assert msg["tool_calls"][0]["function"] == {"name": "f", "arguments": "{\"a\":1}"}
    assert out["choices"][0]["finish_reason"] == "tool_calls"
    assert out["usage"]["prompt_tokens_details"]["cached_tokens"] == 2


def test_parse_error_bodies() -> None:
    err = CODEC.parse_error(429, b'{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded"}}')
    assert (err.kind, err.status, err.code, err.message) == ("rate_limit", 429, "rate_limit_exceeded", "Rate limit")
    html = CODEC.parse_error(502, b"<html>bad gateway</html>")
    assert html.status == 502 and "bad gateway" in html.message


def test_bare_json_error_under_event_stream_keeps_its_message() -> None:
    """Copilot and Gemini may answer an error as plain JSON under text/event-stream."""
    data = b'\n{"error": {"message": "quota exceeded for this seat", "type": "server_error"}}\n'
    for cut in range(len(data) + 1):
        pipe = StreamPipeline(CODEC.stream_decoder(REQ), CODEC.stream_encoder(REQ, ir.Ids(1)))
        out = pipe.feed(data[:cut]) + pipe.feed(data[cut:]) + pipe.flush()
        got = frames(out)
        assert got[-2]["error"]["message"] == "quota exceeded for this seat", cut
        assert got[-1] == "[DONE]"


def test_sse_after_leading_blank_lines_is_not_taken_for_json() -> None:
    data = b"\n\n" + fixture("text_usage")
    pipe = StreamPipeline(CODEC.stream_decoder(REQ), CODEC.stream_encoder(REQ, ir.Ids(1)))
    got = frames(pipe.feed(data[:3]) + pipe.feed(data[3:]) + pipe.flush())
    assert got[-1] == "[DONE]" and not any(isinstance(g, dict) and "error" in g for g in got)

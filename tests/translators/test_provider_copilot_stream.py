"""CAPI answers (github-copilot.md 3.2-3.4, 4, 5, 8) decoded with the input cut at every byte: the
note's stream examples A, B and C verbatim, CRLF framing, no [DONE], in-band errors with status 200,
Claude's tool calls in another choice with indexes from 1; the API recognised from the first event;
whole answers of every shape."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from translators import ir
from translators.accumulate import Accumulator
from translators.errors import TranslationError
from translators.providers.copilot import CODEC
from translators.providers.copilot.request import ORIGIN
from translators.providers.copilot.stream import CopilotChatDecoder
from translators.sse import SSEParser

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REQ = ir.ChatRequest(model="copilot/m", messages=(ir.Message("user", (ir.Text("hi"),)),), stream=True)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def decode(data: bytes, cuts: list[int] | None = None) -> list[ir.StreamEvent]:
    parser, dec, out, last = SSEParser(), CODEC.stream_decoder(REQ), [], 0
    for c in (cuts or []) + [len(data)]:
        for sse in parser.feed(data[last:c]):
            out += dec.feed(sse)
        last = c
    for sse in parser.flush():
        out += dec.feed(sse)
    return out + dec.flush()


def every_cut(data: bytes) -> list[ir.StreamEvent]:
    whole = decode(data)
    for i in range(1, len(data)):
        assert decode(data, [i]) == whole, i
    assert decode(data, list(range(1, len(data)))) == whole
    return whole


def result(events: list[ir.StreamEvent]) -> ir.ChatResponse:
    acc = Accumulator()
    for ev in events:
        acc.feed(ev)
    return acc.result()


def chunk(obj: dict) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def test_example_a_gpt_text_preamble_and_trailing_usage() -> None:
    events = every_cut(fixture("copilot/gpt_text_usage.sse"))
    assert events[0] == ir.MessageStart("chatcmpl-BhyjslTwN48eOEj3LT3jsieMDRgRl", "gpt-4.1-2025-04-14")
    resp = result(events)
    assert resp.content == (ir.Text("Hello there!"),) and resp.stop_reason == "end_turn"
    assert (resp.usage.input, resp.usage.output) == (12, 3)


def test_example_b_gpt_tool_call() -> None:
    resp = result(every_cut(fixture("copilot/gpt_tool_call.sse")))
    call = ir.ToolUse("call_bNK0HIaqlEFyZK6wEz8bXDXJ", "read_file", '{"path":"src/main.py"}')
    assert resp.content == (call,)
    assert resp.stop_reason == "tool_use"


def test_example_c_claude_reasoning_opaque_tool_index_from_1_usage_on_finish() -> None:
    resp = result(every_cut(fixture("copilot/claude_reasoning_tool.sse")))
    thinking, text, tool = resp.content
    assert thinking == ir.Thinking("The user wants the weather in Paris; I should call get_weather.",
                                   "EqQBCkYIBxgCKkCx1m...base64...==", ORIGIN)
    assert text == ir.Text("I'll check the weather.")
    assert tool == ir.ToolUse("toolu_vrtx_01AbCdEf", "get_weather", '{"city": "Paris"}')
    assert resp.stop_reason == "tool_use" and (resp.usage.input, resp.usage.output) == (1180, 58)


def test_crlf_framing_and_missing_done() -> None:
    data = fixture("copilot/gpt_text_usage.sse").replace(b"data: [DONE]\n\n", b"").replace(b"\n", b"\r\n")
    resp = result(every_cut(data))
    assert resp.content == (ir.Text("Hello there!"),) and resp.usage.output == 3


def test_cut_off_stream_is_an_error() -> None:
    data = b"".join(fixture("copilot/gpt_text_usage.sse").split(b"\n\n")[:3]) + b"\n\n"
    assert isinstance(decode(data)[-1], ir.StreamError)


def test_in_band_error_with_status_200() -> None:
    events = every_cut(b'data: {"choices":null,"error":{"code":429,"message":"Sorry, you have been '
                       b'rate-limited."}}\n\n')
    err = events[-1]
    assert isinstance(err, ir.StreamError) and err.status == 429 and err.type == "rate_limit"
    assert "rate-limited" in err.message


def test_bare_json_error_as_a_200_stream_body_is_still_an_error() -> None:
    """3.3: the SSE parser drops lines that are not SSE fields, so the message is lost, not the failure."""
    err = every_cut(b'{"error":{"message":"Sorry","code":"rate_limited"}}')[-1]
    assert isinstance(err, ir.StreamError) and err.status == 502


def test_finish_reason_error_and_malformed_chunk() -> None:
    events = decode(chunk({"id": "x", "choices": [{"index": 0, "delta": {"content": "a"}}]})
                    + chunk({"id": "x", "choices": [{"index": 0, "delta": {}, "finish_reason": "error"}]}))
    assert isinstance(events[-1], ir.StreamError) and events[-1].status == 502
    assert isinstance(decode(b"data: {not json\n\n")[-1], ir.StreamError)


def test_choices_in_several_indexes_are_merged_and_renumbered() -> None:
    """Claude: text on choice 0, two tool calls on choice 1 numbered from 1 (quirk 7); a choices:null
    event with copilot_references before anything is skipped (quirk 4)."""
    data = b"".join([
        chunk({"choices": None, "copilot_references": [{"type": "x"}], "id": ""}),
        chunk({"id": "m1", "model": "", "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": "Ok."}}]}),
        chunk({"id": "m1", "choices": [{"index": 0, "finish_reason": "stop", "delta": {}}]}),
        chunk({"id": "m1", "choices": [{"index": 1, "delta": {"tool_calls": [
            {"index": 1, "id": "toolu_1", "type": "function",
             "function": {"name": "a", "arguments": ""}}]}}]}),
        chunk({"id": "m1", "choices": [{"index": 1, "delta": {"tool_calls": [
            {"index": 1, "function": {"arguments": "{\"x\":1}"}}]}}]}),
        chunk({"id": "m1", "choices": [{"index": 1, "delta": {"tool_calls": [
            {"index": 2, "id": "toolu_2", "type": "function",
             "function": {"name": "b", "arguments": "{}"}}]}}]}),
        chunk({"id": "m1", "choices": [{"index": 1, "finish_reason": "tool_calls", "delta": {}}],
               "usage": {"prompt_tokens": 5, "completion_tokens": 7}}),
        b"data: [DONE]\n\n"])
    events = every_cut(data)
    assert events[0] == ir.MessageStart("m1", None)
    resp = result(events)
    assert resp.content == (ir.Text("Ok."), ir.ToolUse("toolu_1", "a", '{"x":1}'),
                            ir.ToolUse("toolu_2", "b", "{}"))
    assert resp.stop_reason == "tool_use" and resp.usage.output == 7


def test_same_index_with_new_ids_are_separate_calls() -> None:
    dec = CopilotChatDecoder()
    calls = [{"index": 0, "id": f"c{i}", "function": {"name": "f", "arguments": "{}"}} for i in range(2)]
    assert [dec._renumbered(0, c)["index"] for c in calls] == [0, 1]
    assert dec._renumbered(0, {"index": 0, "function": {"arguments": "x"}})["index"] == 1  # by position


def test_opaque_without_reasoning_text_is_a_signed_empty_thinking_block() -> None:
    data = chunk({"id": "m", "choices": [{"index": 0, "delta": {"reasoning_opaque": "sig"}}]}) + chunk(
        {"id": "m", "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": "stop"}]})
    assert result(every_cut(data)).content == (ir.Thinking("", "sig", ORIGIN), ir.Text("hi"))


# ---------------------------------------------------------------- the other two APIs, recognised


@pytest.mark.parametrize("name,dialect", [("anthropic_messages/text_tool.sse", "anthropic-messages"),
                                          ("anthropic_messages/thinking.sse", "anthropic-messages"),
                                          ("openai_responses/reasoning_call.sse", "openai-responses"),
                                          ("openai_responses/text.sse", "openai-responses"),
                                          ("openai_responses/error.sse", "openai-responses")])
def test_messages_and_responses_streams_use_their_dialect_decoder(name: str, dialect: str) -> None:
    from translators.registry import codec

    data = fixture(name)
    parser, own = SSEParser(), codec(dialect).stream_decoder(REQ)
    expected = [e for sse in parser.feed(data) + parser.flush() for e in own.feed(sse)] + own.flush()
    assert decode(data) == expected and decode(data, list(range(1, len(data), 7))) == expected


def test_anthropic_error_event_first() -> None:
    data = (b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
            b'"message":"Overloaded"}}\n\n')
    err = decode(data)[-1]
    assert isinstance(err, ir.StreamError) and err.message == "Overloaded"


def test_empty_stream_is_an_error() -> None:
    assert isinstance(decode(b"")[-1], ir.StreamError)


# ---------------------------------------------------------------- whole answers (3.2)


def test_captured_gpt_tool_call_without_object_created_with_padding() -> None:
    body = {"choices": [{"finish_reason": "tool_calls", "index": 0, "content_filter_results": {}, "message": {
        "padding": "abcdefghijklmnopqrstuvwxyz", "role": "assistant", "tool_calls": [
            {"function": {"arguments": "{\"location\":\"Tokyo\"}", "name": "get_weather"},
             "id": "call_xMrquKCGiAdJpthTnrQNbVpq", "type": "function"}]}}],
        "id": "chatcmpl-DEqoxtV6YeiL5d6QdvqUFV5KDoM0n", "model": "gpt-4o-2024-11-20",
        "usage": {"completion_tokens": 15, "prompt_tokens": 57, "prompt_tokens_details": {"cached_tokens": 0},
                  "total_tokens": 72}, "system_fingerprint": "fp_569604b1f8"}
    resp = CODEC.parse_response(orjson.dumps(body))
    call = ir.ToolUse("call_xMrquKCGiAdJpthTnrQNbVpq", "get_weather", '{"location":"Tokyo"}')
    assert resp.content == (call,)
    assert resp.stop_reason == "tool_use" and resp.usage.input == 57 and resp.model == "gpt-4o-2024-11-20"


def test_claude_choices_merged_with_reasoning() -> None:
    body = {"id": "msg_bdrk_01Q9x7", "model": "claude-sonnet-4.5", "created": 1761229000, "choices": [
        {"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": "I'll check the weather.", "reasoning_text": "Think.",
            "reasoning_opaque": "op"}},
        {"index": 1, "finish_reason": "tool_calls", "message": {"role": "assistant", "tool_calls": [
            {"id": "toolu_vrtx_01AbCdEf", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
        "usage": {"prompt_tokens": 1180, "completion_tokens": 61, "total_tokens": 1241}}
    resp = CODEC.parse_response(orjson.dumps(body))
    assert resp.content == (ir.Thinking("Think.", "op", ORIGIN), ir.Text("I'll check the weather."),
                            ir.ToolUse("toolu_vrtx_01AbCdEf", "get_weather", '{"city":"Paris"}'))
    assert resp.stop_reason == "tool_use"


@pytest.mark.parametrize("body,kind,status", [
    (b'{"error":{"message":"quota","code":"quota_exceeded"}}', "rate_limit", 429),
    (b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', "overloaded", 503),
    (b"<html><body>Unicorn!</body></html>", "api_error", 502),
])
def test_errors_with_status_200(body: bytes, kind: str, status: int) -> None:
    with pytest.raises(TranslationError) as e:
        CODEC.parse_response(body)
    assert (e.value.error.kind, e.value.error.status) == (kind, status)


def test_whole_messages_and_responses_and_sse_bodies() -> None:
    msg = {"id": "msg_bdrk_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-20250514",
           "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn",
           "usage": {"input_tokens": 3, "output_tokens": 1}}
    assert CODEC.parse_response(orjson.dumps(msg)).content == (ir.Text("Hi"),)
    resp = {"id": "n7xZSUJ0K4i3gd0nTRGY", "object": "response", "created_at": 1, "status": "completed",
            "model": "gpt-5.1", "output_text": None, "output": [{"id": "TnQbtzrRsnlbeeOo", "type": "message",
            "role": "assistant", "status": "completed", "content": [{"type": "output_text", "text": "Yo"}]}],
            "usage": {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18}}
    assert CODEC.parse_response(orjson.dumps(resp)).content[0].text == "Yo"
    assert CODEC.parse_response(fixture("copilot/gpt_text_usage.sse")).content == (ir.Text("Hello there!"),)

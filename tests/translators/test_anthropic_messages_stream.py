"""Anthropic Messages streams: the note's byte-exact examples decoded with input cut at every byte, the
encoder's frames compared byte for byte and validated by the official SDK (types, accumulator, client)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import orjson
import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import RawMessageStreamEvent
from pydantic import TypeAdapter

from translators import ir
from translators.dialects.anthropic_messages import CODEC
from translators.dialects.anthropic_messages import estimate_tokens
from translators.dialects.anthropic_messages import ping_frame
from translators.pipeline import StreamPipeline
from translators.sse import SSEParser

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "anthropic_messages"
MODEL = "claude-sonnet-4-5-20250929"
REQ = ir.ChatRequest(MODEL, (ir.Message("user", (ir.Text("What is the weather in Paris?"),)),),
                     max_output_tokens=1024, stream=True, want_usage=True)
EVENT = TypeAdapter(RawMessageStreamEvent)
PING = b'event: ping\ndata: {"type":"ping"}\n\n'


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.sse").read_bytes()


def decode(data: bytes, cuts: list[int]) -> list[ir.StreamEvent]:
    parser, dec, out, last = SSEParser(), CODEC.stream_decoder(REQ), [], 0
    for c in cuts + [len(data)]:
        for sse in parser.feed(data[last:c]):
            out += dec.feed(sse)
        last = c
    for sse in parser.flush():
        out += dec.feed(sse)
    return out + dec.flush()


def encode(events: list[ir.StreamEvent], req: ir.ChatRequest = REQ, flush: bool = True) -> bytes:
    enc = CODEC.stream_encoder(req, ir.Ids(0, "t"))
    out = [f for ev in events for f in enc.feed(ev)]
    return b"".join(out + (enc.flush() if flush else []))


def frames(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(event name, JSON data) of each frame; every frame has an event line matching its type (5.1)."""
    out = []
    for sse in SSEParser().feed(data):
        obj = orjson.loads(sse.data)
        assert sse.event == obj["type"]
        out.append((sse.event, obj))
    return out


def accumulate(data: bytes) -> Any:
    """The SDK's own typed events and accumulator over our frames: strict grammar checks."""
    snapshot, bufs = None, {}
    names = []
    for name, obj in frames(data):
        names.append(name)
        if name == "ping":
            continue
        event = EVENT.validate_python(obj)
        snapshot = accumulate_event(event=event, current_snapshot=snapshot, json_bufs=bufs)
    assert names[0] == "message_start" and names.count("message_start") == 1
    assert names[-2:] == ["message_delta", "message_stop"] and names.count("message_stop") == 1
    _check_block_order(frames(data))
    return snapshot


def _check_block_order(fs: list[tuple[str, dict[str, Any]]]) -> None:
    """Indices 0, 1, 2... in order; every block stopped before the next starts (5.1)."""
    open_index, next_index = None, 0
    for name, obj in fs:
        if name == "content_block_start":
            assert open_index is None and obj["index"] == next_index
            open_index, next_index = obj["index"], next_index + 1
        elif name == "content_block_delta":
            assert obj["index"] == open_index
        elif name == "content_block_stop":
            assert obj["index"] == open_index
            open_index = None
        elif name in ("message_delta", "message_stop"):
            assert open_index is None


# ---- decoder ----

TEXT_TOOL_EVENTS: list[ir.StreamEvent] = [
    ir.MessageStart("msg_014p7gG3wDgGV9EUtLvnow3U", MODEL, ir.Usage(input=472, output=2)),
    ir.BlockStart(0, ir.Text("")),
    ir.BlockDelta(0, "text", "Let me check"), ir.BlockDelta(0, "text", " the weather."), ir.BlockStop(0),
    ir.BlockStart(1, ir.ToolUse("toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather", "")),
    ir.BlockDelta(1, "tool_args", ""), ir.BlockDelta(1, "tool_args", '{"location":'),
    ir.BlockDelta(1, "tool_args", ' "Paris"}'), ir.BlockStop(1),
    ir.MessageDelta("tool_use", ir.Usage(input=472, output=89)),
    ir.MessageStop(),
]

THINKING_EVENTS: list[ir.StreamEvent] = [
    ir.MessageStart("msg_01ThinkXYZ", MODEL, ir.Usage(input=120, output=4)),
    ir.BlockStart(0, ir.Thinking("", origin="anthropic")),
    ir.BlockDelta(0, "thinking", "Let me work out 27 * 453."),
    ir.BlockDelta(0, "thinking", " 27*453 = 12231."),
    ir.BlockDelta(0, "signature", "EqQBCkgIARABGAIiQL2vbkP7..."), ir.BlockStop(0),
    ir.BlockStart(1, ir.Text("")), ir.BlockDelta(1, "text", "27 x 453 = 12,231"), ir.BlockStop(1),
    ir.MessageDelta("end_turn", ir.Usage(input=120, output=78)),
    ir.MessageStop(),
]

PING_ERROR_EVENTS: list[ir.StreamEvent] = [ir.StreamError(529, "overloaded", "Overloaded")]

CASES = [("text_tool", TEXT_TOOL_EVENTS), ("thinking", THINKING_EVENTS), ("ping_error", PING_ERROR_EVENTS)]


@pytest.mark.parametrize("name,expected", CASES, ids=[c[0] for c in CASES])
def test_decode_note_examples(name: str, expected: list[ir.StreamEvent]) -> None:
    assert decode(fixture(name), []) == expected


@pytest.mark.parametrize("name,expected", CASES, ids=[c[0] for c in CASES])
def test_decode_cut_at_every_byte(name: str, expected: list[ir.StreamEvent]) -> None:
    data = fixture(name)
    for cut in range(len(data) + 1):
        assert decode(data, [cut]) == expected, cut
    assert decode(data, list(range(1, len(data)))) == expected  # one byte at a time


def test_decode_crlf_framing() -> None:
    data = fixture("text_tool").replace(b"\n", b"\r\n")
    assert decode(data, list(range(1, len(data), 7))) == TEXT_TOOL_EVENTS


def test_decode_truncated_and_empty_streams() -> None:
    data = fixture("text_tool")
    cut = data.index(b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}")
    events = decode(data[:cut], [])
    assert events[-3:] == [ir.BlockStop(1), ir.MessageDelta(None, ir.Usage(input=472, output=2)),
                           ir.MessageStop()]
    no_stop = data[:data.index(b"event: message_stop")]
    assert decode(no_stop, [])[-2:] == TEXT_TOOL_EVENTS[-2:]
    empty = decode(b"", [])
    assert len(empty) == 1 and isinstance(empty[0], ir.StreamError) and empty[0].status == 502
    bad = decode(b"event: message_start\ndata: {not json\n\n", [])
    assert isinstance(bad[0], ir.StreamError) and len(bad) == 1


def test_decode_server_tools_whole_input_and_usage_merge() -> None:
    lines = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "model": "m", "usage": {"input_tokens": 10, "cache_read_input_tokens": 90,
                                                   "cache_creation_input_tokens": 5, "output_tokens": 1}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {
            "type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "input_json_delta", "partial_json": '{"query":"x"}'}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
            "type": "tool_use", "id": "toolu_9", "name": "f", "input": {"a": 1}}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {
            "type": "redacted_thinking", "data": "EmRed"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 2}),
        ("message_delta", {"type": "message_delta", "usage": {"output_tokens": 7},
                           "delta": {"stop_reason": "stop_sequence", "stop_sequence": "Z"}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    data = b"".join(b"event: %s\ndata: %s\n\n" % (n.encode(), orjson.dumps(o)) for n, o in lines)
    events = decode(data, [])
    opaque_start = events[1]
    assert isinstance(opaque_start, ir.BlockStart) and isinstance(opaque_start.block, ir.Text)
    assert opaque_start.block.extra["anthropic_block"]["input"] == {"query": "x"}
    assert events[3:6] == [ir.BlockStart(1, ir.ToolUse("toolu_9", "f", "")),
                           ir.BlockDelta(1, "tool_args", '{"a":1}'), ir.BlockStop(1)]
    assert events[6] == ir.BlockStart(2, ir.RedactedThinking("EmRed", origin="anthropic"))
    usage = ir.Usage(input=105, output=7, cache_read=90, cache_write=5)
    assert events[-2] == ir.MessageDelta("stop_sequence", usage, stop_sequence="Z")
    # and through the encoder back to an Anthropic client, unchanged in substance
    msg = accumulate(encode(events))
    assert [b.type for b in msg.content] == ["server_tool_use", "tool_use", "redacted_thinking"]
    assert msg.content[1].input == {"a": 1} and msg.stop_sequence == "Z"
    assert msg.usage.input_tokens == 10 and msg.usage.cache_read_input_tokens == 90


# ---- encoder ----


def test_encode_text_tool_byte_exact() -> None:
    assert encode(TEXT_TOOL_EVENTS) == fixture("text_tool").replace(PING, b"")


def test_encode_thinking_byte_exact() -> None:
    expected = fixture("thinking").replace(
        b'"usage":{"output_tokens":78}',
        b'"usage":{"input_tokens":120,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":78}')
    assert encode(THINKING_EVENTS) == expected


def test_encode_stream_error_and_ping() -> None:
    data = encode(PING_ERROR_EVENTS)  # the note's frame, in compact JSON
    assert data == (b'event: error\ndata: {"type":"error",'
                    b'"error":{"type":"overloaded_error","message":"Overloaded"}}\n\n')
    died = ir.StreamError(500, "api_error", "upstream died")
    mid = encode(TEXT_TOOL_EVENTS[:3] + [died] + TEXT_TOOL_EVENTS[3:])
    names = [n for n, _ in frames(mid)]
    assert names[-1] == "error" and "message_stop" not in names  # nothing after the error (5.4)
    assert ping_frame() == PING and CODEC.ping_frame() == PING
    assert frames(ping_frame()) == [("ping", {"type": "ping"})]


def test_pipeline_anthropic_to_anthropic_at_every_cut() -> None:
    data = fixture("text_tool")
    expected = data.replace(PING, b"")
    for cut in range(0, len(data) + 1, 3):
        pipe = StreamPipeline(CODEC.stream_decoder(REQ), CODEC.stream_encoder(REQ, ir.Ids(0)))
        assert b"".join(pipe.feed(data[:cut]) + pipe.feed(data[cut:]) + pipe.flush()) == expected, cut


def chat_style_parallel_tools() -> list[ir.StreamEvent]:
    """What a Chat decoder emits for parallel calls whose fragments alternate: deltas for an index that
    already had its BlockStop, and gaps in the indices."""
    return [
        ir.MessageStart("chatcmpl-1", "gpt-x"),
        ir.BlockStart(0, ir.Thinking("")), ir.BlockDelta(0, "thinking", "Two cities."), ir.BlockStop(0),
        ir.BlockStart(1, ir.Text("")), ir.BlockStop(1),  # an empty text block: must not reach the client
        ir.BlockStart(3, ir.ToolUse("call_a", "get_weather", "")), ir.BlockDelta(3, "tool_args", '{"city":'),
        ir.BlockStop(3),
        ir.BlockStart(4, ir.ToolUse("call_b", "get_weather", "")),
        ir.BlockDelta(4, "tool_args", '{"city":"Rome"}'),
        ir.BlockStop(4),
        ir.BlockDelta(3, "tool_args", '"Paris"}'), ir.BlockStop(3),
        ir.BlockStart(5, ir.ToolUse("call_c", "apply_patch", "", kind="custom")),
        ir.BlockDelta(5, "tool_args", 'line "1"\n'), ir.BlockDelta(5, "tool_args", "é\\end"),
        ir.MessageDelta("end_turn", None),
        ir.MessageDelta(None, ir.Usage(input=300, output=40, cache_read=100)),
        ir.MessageStop(),
    ]


def test_encode_parallel_tools_reasoning_usage() -> None:
    data = encode(chat_style_parallel_tools())
    msg = accumulate(data)
    assert msg.id == "msg_t0001" and msg.model == MODEL and msg.stop_reason == "tool_use"
    assert [b.type for b in msg.content] == ["thinking", "tool_use", "tool_use", "tool_use"]
    assert msg.content[0].thinking == "Two cities." and msg.content[0].signature == ""
    assert [(b.id, b.input) for b in msg.content[1:]] == [
        ("call_a", {"city": "Paris"}), ("call_b", {"city": "Rome"}),
        ("call_c", {"input": 'line "1"\né\\end'})]
    start = frames(data)[0][1]["message"]["usage"]
    assert start == {"input_tokens": estimate_tokens(REQ), "cache_creation_input_tokens": 0,
                     "cache_read_input_tokens": 0, "output_tokens": 0}
    final = frames(data)[-2][1]
    assert final["usage"] == {"input_tokens": 200, "cache_creation_input_tokens": 0,
                              "cache_read_input_tokens": 100, "output_tokens": 40}
    assert [n for n, _ in frames(data)].count("message_delta") == 1


def test_encode_cuts_do_not_matter() -> None:
    """The encoder sees the same IR whatever the byte cuts upstream were: Chat fixture through a pipeline."""
    chat = pytest.importorskip("translators.dialects.openai_chat").CODEC
    data = (FIXTURES.parent / "openai_chat" / "parallel_tools.sse").read_bytes()
    outputs = set()
    for cut in range(0, len(data) + 1, 5):
        pipe = StreamPipeline(chat.stream_decoder(REQ), CODEC.stream_encoder(REQ, ir.Ids(0)))
        out = b"".join(pipe.feed(data[:cut]) + pipe.feed(data[cut:]) + pipe.flush())
        outputs.add(out)
    assert len(outputs) == 1
    msg = accumulate(outputs.pop())
    assert [b.type for b in msg.content] == ["tool_use", "tool_use"] and msg.stop_reason == "tool_use"


def test_encode_foreign_signature_is_marked() -> None:
    events = [ir.BlockStart(0, ir.Thinking("", origin="gemini")), ir.BlockDelta(0, "thinking", "t"),
              ir.BlockDelta(0, "signature", "sig1"), ir.BlockDelta(0, "signature", "more"), ir.BlockStop(0),
              ir.BlockStart(1, ir.RedactedThinking("red", origin="anthropic")), ir.BlockStop(1),
              ir.BlockStart(2, ir.Thinking("", signature="S", origin="anthropic")), ir.BlockStop(2)]
    msg = accumulate(encode(events))
    assert msg.content[0].signature == "more"  # the SDK keeps the last signature_delta
    sigs = [o["delta"]["signature"] for n, o in frames(encode(events)) if o.get("delta", {}).get("type") ==
            "signature_delta"]
    assert sigs == ["~bridge:gemini~sig1", "more", "S"]
    assert msg.content[1].type == "redacted_thinking" and msg.content[1].data == "red"
    assert msg.content[2].type == "thinking" and msg.content[2].thinking == ""  # display:"omitted" style


def test_encode_flush_and_idempotence() -> None:
    enc = CODEC.stream_encoder(REQ, ir.Ids(0))
    out = enc.feed(ir.BlockDelta(7, "text", "orphan delta"))  # no MessageStart, no BlockStart
    out += enc.flush()
    assert enc.flush() == [] and enc.feed(ir.MessageStop()) == []
    msg = accumulate(b"".join(out))
    assert msg.content[0].text == "orphan delta" and msg.stop_reason == "end_turn"
    empty = CODEC.stream_encoder(REQ, ir.Ids(0))
    names = [n for n, _ in frames(b"".join(empty.flush()))]
    assert names == ["message_start", "message_delta", "message_stop"]


def test_encode_late_usage_and_refusal() -> None:
    events = [ir.MessageStart("x", "m", ir.Usage(input=50)), ir.BlockStart(0, ir.Text("Sorry")),
              ir.BlockStop(0), ir.MessageDelta("content_filter", ir.Usage(output=3)), ir.MessageStop()]
    fs = frames(encode(events))
    assert fs[0][1]["message"]["usage"]["input_tokens"] == 50
    assert fs[-2][1]["delta"]["stop_reason"] == "refusal" and fs[-2][1]["usage"]["input_tokens"] == 50
    assert fs[1][1]["content_block"] == {"type": "text", "text": ""} and fs[2][1]["delta"]["text"] == "Sorry"


def sdk_client(body: bytes) -> anthropic.Anthropic:
    """The SDK over a mock transport answering `body` (the SDK's own HTTP package: httpx2 in 2.x builds)."""
    base: Any = anthropic._base_client
    http: Any = getattr(base, "httpx2", None) or base.httpx

    def handler(request: Any) -> Any:
        return http.Response(200, content=body, headers={"content-type": "text/event-stream"})

    return anthropic.Anthropic(api_key="k", base_url="http://bridge.test", max_retries=0,
                               http_client=http.Client(transport=http.MockTransport(handler)))


def test_official_sdk_client_reads_our_stream() -> None:
    client = sdk_client(encode(chat_style_parallel_tools(), ir.ChatRequest("claude-alias", REQ.messages)))
    with client.messages.stream(model="claude-alias", max_tokens=100,
                                messages=[{"role": "user", "content": "hi"}]) as stream:
        msg = stream.get_final_message()
    assert msg.model == "claude-alias" and [b.type for b in msg.content] == ["thinking"] + ["tool_use"] * 3
    assert msg.usage.output_tokens == 40


def test_official_sdk_client_raises_on_stream_error() -> None:
    client = sdk_client(encode(TEXT_TOOL_EVENTS[:3] + [ir.StreamError(529, "overloaded", "Overloaded")]))
    with pytest.raises(anthropic.APIStatusError) as e:
        messages: Any = [{"role": "user", "content": "hi"}]
        with client.messages.stream(model="m", max_tokens=10, messages=messages) as s:
            s.get_final_message()
    assert "Overloaded" in str(e.value)

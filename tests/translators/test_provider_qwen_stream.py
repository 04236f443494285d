"""Qwen's SSE (qwen.md A4/A5) decoded with the input cut at every byte: the note's examples (trailing
space on the first line, no [DONE]), CRLF framing, cumulative and repeated text, errors with 200."""

from __future__ import annotations

from pathlib import Path

import pytest

from translators import ir
from translators.accumulate import Accumulator
from translators.dialects.openai_chat import CODEC as CHAT
from translators.pipeline import StreamPipeline
from translators.providers.qwen import CODEC
from translators.providers.qwen.stream import Increments
from translators.sse import SSEParser
from translators.transforms.prompt_tools import PromptToolStream

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "qwen"
REQ = ir.ChatRequest(model="qwen/m", messages=(ir.Message("user", (ir.Text("hi"),)),), stream=True)
CREATED = b'data: {"response.created":{"chat_id": "c1", "parent_id": "p1", "response_id":"r1"}} \n\n'


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.sse").read_bytes()


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
    """The events, checked to be the same for every single cut and for byte-by-byte feeding."""
    whole = decode(data)
    for i in range(1, len(data)):
        assert decode(data, [i]) == whole, i
    assert decode(data, list(range(1, len(data)))) == whole
    return whole


def text_of(events: list[ir.StreamEvent], kind: str = "text") -> str:
    return "".join(e.value for e in events if isinstance(e, ir.BlockDelta) and e.kind == kind)


def chunk(content: str, phase: str = "answer", status: str = "typing") -> bytes:
    delta = f'{{"role": "assistant", "content": "{content}", "phase": "{phase}", "status": "{status}"}}'
    return f'data: {{"choices": [{{"delta": {delta}}}], "response_id": "r1"}}\n\n'.encode()


def test_note_example_1_plain_answer() -> None:
    events = every_cut(fixture("plain_answer"))
    assert events == [
        ir.MessageStart("d2c3b4a5-9687-4f1e-8d2c-3b4a59687f1e", None),
        ir.BlockStart(0, ir.Text("")),
        ir.BlockDelta(0, "text", "17"), ir.BlockDelta(0, "text", " × 19 = 323."),
        ir.BlockStop(0),
        ir.MessageDelta("end_turn", ir.Usage(input=27, output=9)), ir.MessageStop()]


def test_note_example_2_reasoning() -> None:
    events = every_cut(fixture("reasoning"))
    assert events[1] == ir.BlockStart(0, ir.Thinking(""))
    assert text_of(events, "thinking") == "The user asks for 17×19; 17×20−17 = 323."
    assert ir.BlockStop(0) in events and ir.BlockStart(1, ir.Text("")) in events
    assert text_of(events) == "323"
    assert events[-2] == ir.MessageDelta("end_turn", ir.Usage(input=30, output=18, reasoning=16))


def test_crlf_framing() -> None:
    assert every_cut(fixture("plain_answer").replace(b"\n", b"\r\n")) == decode(fixture("plain_answer"))


def test_done_is_tolerated() -> None:
    assert decode(fixture("plain_answer") + b"data: [DONE]\n\n") == decode(fixture("plain_answer"))


def test_cumulative_text_is_deduplicated() -> None:
    """Part C: without incremental output each chunk repeats the text so far."""
    data = CREATED + chunk("17") + chunk("17 × 19") + chunk("17 × 19 = 323.") + chunk("", status="finished")
    events = every_cut(data)
    assert text_of(events) == "17 × 19 = 323."
    assert len([e for e in events if isinstance(e, ir.BlockDelta)]) == 3


def test_repeated_final_text_adds_nothing() -> None:
    data = CREATED + chunk("Hello") + chunk(" there") + chunk("Hello there", status="finished")
    assert text_of(every_cut(data)) == "Hello there"


def test_incremental_repeats_are_kept() -> None:
    inc = Increments()
    assert [inc.add(c) for c in ("ha", "ha", "!")] == ["ha", "ha", "!"] and inc.text == "haha!"


def test_cumulative_shorter_repeat_adds_nothing() -> None:
    inc = Increments()
    assert [inc.add(c) for c in ("a", "ab", "abc", "ab")] == ["a", "b", "c", ""]


def test_thinking_summary_and_other_phases() -> None:
    summary = (b'data: {"choices": [{"delta": {"role": "assistant", "content": "", '
               b'"phase": "thinking_summary", "extra": {"summary_title": {"content": ["Calc"]}, '
               b'"summary_thought": {"content": ["19 is close to 20."]}}, "status": "typing"}}], '
               b'"response_id": "r1"}\n\n')
    search = (b'data: {"choices": [{"delta": {"role": "function", "content": "", "name": "web_search", '
              b'"extra": {"web_search_info": []}, "phase": "web_search", "status": "finished"}}], '
              b'"response_id": "r1"}\n\n')
    info = b'data: {"response.info": {"action": "keep_alive", "chat_id": "c1"}}\n\n'
    events = every_cut(CREATED + summary + search + info + chunk("323") + chunk("", status="finished"))
    assert text_of(events, "thinking") == "19 is close to 20." and text_of(events) == "323"


def test_no_phase_is_answer_text() -> None:
    """Without output_schema "phase" chunks carry no phase (A7.3): still the answer."""
    data = CREATED + (b'data: {"choices": [{"delta": {"role": "assistant", "content": "ok", '
                      b'"status": "typing"}}]}\n\n'
                      b'data: {"choices": [{"delta": {"role": "assistant", "content": "", '
                      b'"status": "finished"}}]}\n\n')
    events = every_cut(data)
    assert text_of(events) == "ok" and isinstance(events[-1], ir.MessageStop)


@pytest.mark.parametrize(("code", "status", "kind"), [
    ("Too_Many_Requests", 429, "rate_limit"), ("unauthorized", 401, "authentication"),
    ("ContextLengthExceeded", 400, "invalid_request"), ("SomethingElse", 502, "api_error")])
def test_error_event_with_status_200(code: str, status: int, kind: str) -> None:
    err = f'data: {{"error": {{"code": "{code}", "details": "bad thing"}}, "response_id": "r1"}}\n\n'.encode()
    events = every_cut(CREATED + chunk("partial") + err + chunk("never"))
    assert events[-2:] == [ir.BlockStop(0), ir.StreamError(status, kind, f"Qwen: bad thing ({code})")]
    assert text_of(events) == "partial"


def test_envelope_inside_the_stream() -> None:
    env = (b'data: {"success": false, "request_id": "x", "data": {"code": "RateLimited", "details": "limit", '
           b'"num": 4}}\n\n')
    assert decode(env) == [ir.StreamError(429, "rate_limit", "Qwen: limit (RateLimited)")]


def test_cut_before_finished_is_an_error() -> None:
    events = decode(CREATED + chunk("half"))
    assert isinstance(events[-1], ir.StreamError) and events[-1].status == 502
    assert decode(b"") == [ir.StreamError(502, "api_error", "Qwen closed the stream without an answer.")]


def test_malformed_chunk() -> None:
    events = decode(CREATED + b"data: {this is not json\n\n")
    assert isinstance(events[-1], ir.StreamError) and events[-1].status == 502


def test_non_stream_accumulation() -> None:
    """A client that asked for a whole answer: the stream accumulated (A3)."""
    acc = Accumulator()
    for ev in decode(fixture("reasoning")):
        acc.feed(ev)
    resp = acc.result()
    assert resp.content == (ir.Thinking("The user asks for 17×19; 17×20−17 = 323."), ir.Text("323"))
    assert resp.id == "r7..." and resp.usage.output == 18


def test_prompt_tool_markup_becomes_a_tool_call_for_chat_client() -> None:
    """The pipeline the gateway builds for a non-native-tools provider, Chat client."""
    tools = (ir.Tool("get_weather", None, {"type": "object", "properties": {"city": {"type": "string"}}}),)
    req = ir.ChatRequest(model="qwen/m", messages=REQ.messages, tools=tools, stream=True)
    ids = ir.Ids(1700000000, "t")
    markup = ('<Function_bridge_Start/>\\n<function_calls>\\n<function_call>\\n<tool>get_weather</tool>\\n'
              '<args_json><![CDATA[{\\"city\\":\\"Paris\\"}]]></args_json>\\n</function_call>\\n</function_calls>')
    data = CREATED + chunk(markup[:50]) + chunk(markup[50:]) + chunk("", status="finished")
    pipe = StreamPipeline(CODEC.stream_decoder(req), CHAT.stream_encoder(req, ids),
                          [PromptToolStream(req, ids)])
    out = b"".join(b for i in range(len(data)) for b in pipe.feed(data[i:i + 1])) + b"".join(pipe.flush())
    assert b'"name":"get_weather"' in out and b'{\\"city\\":\\"Paris\\"}' in out
    assert b'"finish_reason":"tool_calls"' in out and b"Function_bridge" not in out


def test_other_phase_finishing_leaves_the_answer_open() -> None:
    search = (b'data: {"choices": [{"delta": {"role": "function", "content": "", "name": "web_search", '
              b'"phase": "web_search", "status": "finished"}}]}\n\n')
    events = every_cut(CREATED + chunk("a") + search + chunk("b") + chunk("", status="finished"))
    assert [e for e in events if isinstance(e, ir.BlockStart)] == [ir.BlockStart(0, ir.Text(""))]
    assert text_of(events) == "ab"

"""ChatGPT's conversation SSE (chatgpt-web.md 5) decoded with the input cut at every byte: the note's
v1 (delta) and cumulative examples, CRLF framing, trailing spaces, missing [DONE], errors carried with
status 200, which messages are shown (5.2), and the v1 patch operations themselves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from translators import ir
from translators.accumulate import Accumulator
from translators.providers.chatgpt_web import CODEC
from translators.providers.chatgpt_web.patch import Document
from translators.providers.chatgpt_web.patch import pointer
from translators.sse import SSEParser
from translators.transforms.prompt_tools import PromptToolStream

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "chatgpt_web"
REQ = ir.ChatRequest(model="chatgpt/auto", messages=(ir.Message("user", (ir.Text("Name three primes."),)),),
                     stream=True)
DONE = b"data: [DONE]\n\n"


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.sse").read_bytes()


def decode(data: bytes, cuts: list[int] | None = None, req: ir.ChatRequest = REQ) -> list[ir.StreamEvent]:
    parser, dec, out, last = SSEParser(), CODEC.stream_decoder(req), [], 0
    for c in (cuts or []) + [len(data)]:
        for sse in parser.feed(data[last:c]):
            out += dec.feed(sse)
        last = c
    for sse in parser.flush():
        out += dec.feed(sse)
    return out + dec.flush()


def every_cut(data: bytes, req: ir.ChatRequest = REQ) -> list[ir.StreamEvent]:
    """The events, checked to be the same for every single cut and for byte-by-byte feeding."""
    whole = decode(data, req=req)
    for i in range(1, len(data)):
        assert decode(data, [i], req) == whole, i
    assert decode(data, list(range(1, len(data))), req) == whole
    return whole


def text_of(events: list[ir.StreamEvent], kind: str = "text") -> str:
    return "".join(e.value for e in events if isinstance(e, ir.BlockDelta) and e.kind == kind)


def delta(op: dict[str, Any], trailing: str = "") -> bytes:
    return f"event: delta\ndata: {json.dumps(op)}{trailing}\n\n".encode()


def data(obj: Any, trailing: str = "") -> bytes:
    return f"data: {json.dumps(obj)}{trailing}\n\n".encode()


def message(role: str = "assistant", parts: list[Any] | None = None, status: str = "in_progress",
            mid: str = "m1", **extra: Any) -> dict[str, Any]:
    content = extra.pop("content", {"content_type": "text", "parts": parts if parts is not None else [""]})
    msg = {"id": mid, "author": {"role": role, "name": None, "metadata": {}}, "content": content,
           "status": status, "end_turn": None, "metadata": {"message_type": "next", "model_slug": "gpt-5"},
           "recipient": "all", "channel": None}
    msg.update(extra)
    return {"message": msg, "conversation_id": "c1", "error": None}


def add(msg: dict[str, Any], c: int) -> bytes:
    return delta({"p": "", "o": "add", "v": msg, "c": c})


FINAL = {"p": "", "o": "patch", "v": [
    {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
    {"p": "/message/end_turn", "o": "replace", "v": True},
    {"p": "/message/metadata", "o": "append", "v": {"finish_details": {"type": "stop"}, "is_complete": True}}]}
ANSWER = (add(message(), 0) + delta({"p": "/message/content/parts/0", "o": "append", "v": "Hello"})
          + delta({"v": " there"}) + delta(FINAL))


# ---- the note's examples ----


def test_note_v1_example() -> None:
    events = every_cut(fixture("v1_three_primes"))
    assert events == [
        ir.MessageStart(None, "gpt-5-2"), ir.BlockStart(0, ir.Text("")),
        ir.BlockDelta(0, "text", "2, 3"), ir.BlockDelta(0, "text", ", and 5"), ir.BlockDelta(0, "text", "."),
        ir.BlockStop(0), ir.MessageDelta("end_turn", events[-2].usage), ir.MessageStop()]
    assert events[-2].usage.input > 0 and events[-2].usage.output > 0


def test_note_cumulative_example_with_trailing_spaces() -> None:
    raw = fixture("cumulative_three_primes")
    assert b"}    \n" in raw  # the capture's run of spaces after the JSON
    events = every_cut(raw)
    assert events[0] == ir.MessageStart(None, "gpt-4o-mini")
    assert [e.value for e in events if isinstance(e, ir.BlockDelta)] == ["2, 3", ", and 5."]
    assert isinstance(events[-2], ir.MessageDelta) and events[-2].stop_reason == "end_turn"


@pytest.mark.parametrize("name", ["v1_three_primes", "cumulative_three_primes"])
def test_crlf_framing(name: str) -> None:
    assert every_cut(fixture(name).replace(b"\n", b"\r\n")) == decode(fixture(name))


@pytest.mark.parametrize("name", ["v1_three_primes", "cumulative_three_primes"])
def test_missing_done_after_a_finished_turn(name: str) -> None:
    raw = fixture(name).replace(DONE, b"")
    assert text_of(every_cut(raw)) == "2, 3, and 5."
    assert isinstance(decode(raw)[-1], ir.MessageStop)


def test_whole_answer_from_the_note() -> None:
    resp = CODEC.parse_response(fixture("v1_three_primes"))
    assert resp.content == (ir.Text("2, 3, and 5."),) and resp.stop_reason == "end_turn"


# ---- ends and errors (5.4, 9) ----


def test_stream_cut_mid_answer_is_an_error() -> None:
    raw = add(message(), 0) + delta({"p": "/message/content/parts/0", "o": "append", "v": "Hel"})
    events = every_cut(raw)
    assert text_of(events) == "Hel" and isinstance(events[-1], ir.StreamError) and events[-1].status == 502
    assert "before the answer was finished" in events[-1].message
    assert "without an answer" in decode(b'event: delta_encoding\ndata: "v1"\n\n')[-1].message


def test_websocket_handoff_is_named() -> None:
    raw = add(message(), 0) + data({"type": "stream_handoff", "options": [
        {"type": "subscribe_ws_topic", "topic_id": "conversation-turn-1"}]})
    assert "WebSocket" in decode(raw)[-1].message


@pytest.mark.parametrize("raw,kind,status", [
    (data({"message": None, "conversation_id": "c1", "error": "Something went wrong."}), "api_error", 502),
    (add(message(), 0) + delta({"p": "/error", "o": "replace", "v": "Too many requests in 1 hour."}),
     "api_error", 502),
    (add(message(), 0) + delta({"p": "", "o": "patch", "v": [
        {"p": "/error_code", "o": "replace", "v": "rate_limit_exceeded"},
        {"p": "/error", "o": "replace", "v": {"message": "slow down"}}]}), "rate_limit", 429),
    (data({"detail": {"message": "Your authentication token has expired.", "code": "token_expired"}}),
     "authentication", 401),
    (add(message(), 0) + delta({"p": "/message/status", "o": "replace", "v": "failed"}), "api_error", 502),
    (b"data: {not json\n\n", "api_error", 502),
])
def test_errors_with_status_200(raw: bytes, kind: str, status: int) -> None:
    events = every_cut(raw + DONE)
    err = events[-1]
    assert isinstance(err, ir.StreamError) and (err.type, err.status) == (kind, status)
    assert not any(isinstance(e, ir.MessageStop) for e in events)


def test_error_patch_arriving_in_two_events() -> None:
    """`/error` set to an object, then `error_code`: the first event already ends the stream."""
    raw = add(message(), 0) + delta({"p": "/error", "o": "replace", "v": "It broke"})
    assert decode(raw)[-1] == ir.StreamError(502, "api_error", "ChatGPT: It broke")


# ---- what is shown (5.2) ----


def test_echoes_internal_tools_commentary_and_recaps_are_skipped() -> None:
    raw = b"".join([
        b'event: delta_encoding\ndata: "v1"\n\n',
        add(message("system", [""], "finished_successfully", "s0",
                    metadata={"is_visually_hidden_from_conversation": True}), 0),
        delta({"v": message("user", ["hi"], "finished_successfully", "u1"), "c": 1}),
        data({"type": "input_message", "input_message": {"id": "u1"}, "conversation_id": "c1"}),
        add(message(mid="b1", recipient="bio", content={"content_type": "code", "text": ""}), 2),
        delta({"p": "/message/content/text", "o": "append", "v": "remember this"}),
        add(message("tool", ["Model set context updated."], "finished_successfully", "t1", recipient="all"), 3),
        add(message(mid="k1", channel="commentary", parts=["Let me think aloud"]), 4),
        add(message(mid="r1", content={"content_type": "reasoning_recap", "content": "Thought for 5s"}), 5),
        add(message(mid="m1"), 6),
        delta({"p": "/message/content/parts/0", "o": "append", "v": "Visible"}),
        data({"type": "title_generation", "title": "T", "conversation_id": "c1"}),
        delta({"v": " answer"}, "   "),
        delta(FINAL), data({"type": "message_stream_complete", "conversation_id": "c1"}), DONE])
    assert text_of(every_cut(raw)) == "Visible answer"


def test_thoughts_become_reasoning() -> None:
    thoughts = {"content_type": "thoughts", "thoughts": []}
    raw = b"".join([
        add(message(mid="th", content=thoughts), 0),
        delta({"p": "/message/content/thoughts", "o": "append", "v": [{"summary": "Plan", "content": ""}]}),
        delta({"p": "/message/content/thoughts/0/content", "o": "append", "v": "step one"}),
        delta({"v": ", step two"}),
        delta({"p": "/message/status", "o": "replace", "v": "finished_successfully"}),
        add(message(mid="a1", channel="analysis", parts=["more thinking"]), 1),
        ANSWER.replace(b'"c": 0', b'"c": 2'), DONE])
    events = every_cut(raw)
    assert text_of(events, "thinking") == "Plan\nstep one, step two" + "more thinking"
    assert text_of(events) == "Hello there"
    starts = [e.block for e in events if isinstance(e, ir.BlockStart)]
    assert starts == [ir.Thinking(""), ir.Text("")]


def test_two_visible_messages_are_joined() -> None:
    first = add(message(mid="x1", parts=["First."], status="finished_successfully", end_turn=False), 0)
    raw = first + ANSWER.replace(b'"c": 0', b'"c": 1') + DONE
    assert text_of(every_cut(raw)) == "First.\n\nHello there"


def test_history_echo_is_skipped() -> None:
    req = ir.ChatRequest(model="m", messages=(
        ir.Message("user", (ir.Text("hi"),)), ir.Message("assistant", (ir.Text("Earlier answer."),)),
        ir.Message("user", (ir.Text("again"),))))
    echo = add(message(mid="old", parts=["Earlier answer."], status="finished_successfully"), 0)
    events = every_cut(echo + ANSWER.replace(b'"c": 0', b'"c": 1') + DONE, req)
    assert text_of(events) == "Hello there"


def test_cumulative_rewrite_and_max_tokens() -> None:
    """A text rewritten in place cannot be taken back: streaming goes on from the length already
    sent; `max_tokens` (5.1)."""
    snap = [message(parts=[t], mid="z") for t in ("Hello", "Hello wor", "Hallo", "Hallo world")]
    snap[-1]["message"].update(status="finished_successfully", end_turn=True,
                               metadata={"finish_details": {"type": "max_tokens"}})
    events = every_cut(b"".join(data(s, "  ") for s in snap) + DONE)
    assert text_of(events) == "Hello wor" + "ld" and events[-2].stop_reason == "max_tokens"


def test_several_json_values_on_one_data_line() -> None:
    line = json.dumps({"p": "/message/content/parts/0", "o": "append", "v": "a"}) + json.dumps({"v": "b"})
    raw = add(message(), 0) + b"event: delta\ndata: " + line.encode() + b"\n\n" + delta(FINAL) + DONE
    assert text_of(every_cut(raw)) == "ab"


def test_prompt_tool_markup_becomes_a_tool_call() -> None:
    tools = (ir.Tool("get_weather", None, {"type": "object", "properties": {"city": {"type": "string"}}}),)
    req = ir.ChatRequest(model="m", messages=REQ.messages, tools=tools, stream=True)
    markup = ('<Function_bridge_Start/>\n<function_calls>\n<function_call>\n<tool>get_weather</tool>\n'
              '<args_json><![CDATA[{"city":"Paris"}]]></args_json>\n</function_call>\n</function_calls>')
    raw = add(message(), 0) + b"".join(
        delta({"p": "/message/content/parts/0", "o": "append", "v": markup[i:i + 7]} if i == 0 else
              {"v": markup[i:i + 7]}) for i in range(0, len(markup), 7)) + delta(FINAL) + DONE
    tools_stream, acc = PromptToolStream(req, ir.Ids(1, "t")), Accumulator()
    events = decode(raw, req=req)
    for ev in [out for e in events for out in tools_stream.feed(e)] + tools_stream.flush():
        acc.feed(ev)
    resp = acc.result()
    assert resp.stop_reason == "tool_use" and resp.content[-1].name == "get_weather"
    assert json.loads(resp.content[-1].arguments) == {"city": "Paris"}


# ---- the patch operations (5.1 b) ----


def test_pointer() -> None:
    assert pointer("") == [] and pointer("/message/content/parts/0") == ["message", "content", "parts", "0"]
    assert pointer("/a~1b/c~0d") == ["a/b", "c~d"]


def test_document_operations() -> None:
    doc = Document()
    ops: list[dict[str, Any]] = [
        {"p": "", "o": "add", "v": {"message": {"content": {"parts": ["a"]}, "metadata": {"x": 1}}}},
        {"p": "/message/content/parts/0", "o": "append", "v": "b"},
        {"v": "c"},  # p and o of the previous operation
        {"p": "/message/content/parts/-", "o": "add", "v": "second"},
        {"p": "/message/content/parts/1", "o": "replace", "v": "2nd"},
        {"p": "/message/metadata", "o": "append", "v": {"y": 2}},
        {"p": "/message/new/deep", "o": "add", "v": True},  # objects created on the way
        {"p": "/message/list", "o": "append", "v": [1]}, {"v": [2, 3]},
        {"p": "/message/content/parts/0", "o": "truncate", "v": 2},
        {"o": "patch", "v": [{"p": "/message/status", "o": "replace", "v": "done"}, {"v": "again"},
                             {"p": "/message/x", "o": "remove"}]},
        {"p": "/message/new", "o": "remove"},
        {"p": "/message/content/parts/9", "o": "replace", "v": "ignored"},  # out of range
        {"p": "/message/content", "o": "explode", "v": 1},  # unknown op
        {"p": 5, "o": "add", "v": 1},
    ]
    for op in ops:
        doc.apply(op)
    assert doc.value == {"message": {"content": {"parts": ["ab", "2nd"]}, "metadata": {"x": 1, "y": 2},
                                     "list": [1, 2, 3], "status": "again"}}
    assert doc.added == 1
    doc.apply({"p": "", "o": "add", "v": {"message": {"id": 2}}, "c": 1})
    doc.apply({"v": {"message": {"id": 3}}, "c": 2})  # the short form of a root add
    assert doc.value == {"message": {"id": 3}} and doc.added == 3
    doc.apply({"p": "/message/content/parts/0", "o": "remove"})  # nothing there: no change
    assert doc.value == {"message": {"id": 3}}

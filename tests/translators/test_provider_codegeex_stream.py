"""CodeGeeX answers (codegeex.md 4-6, 8): the note's stream decoded with input cut at every byte, its
framing variants, the repeated final text, in-band and HTTP errors."""

from __future__ import annotations

import json

import pytest

from translators import ir
from translators.errors import TranslationError
from translators.providers.codegeex import CODEC
from translators.sse import SSEParser

REQ = ir.ChatRequest(model="codegeex/codegeex-4", messages=(ir.Message("user", (ir.Text("Go please"),)),),
                     stream=True)
MID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
PARTS = ["```go\n", "func Reverse(s string) string {\n", "\tr := []rune(s)\n\t// ...\n}\n```"]
FULL = "".join(PARTS)


def event(name: str, text: str, finish: str = "", eol: str = "\n", sep: str = "") -> bytes:
    data = json.dumps({"id": MID, "text": text, "finish_reason": finish, "model": "codegeex-4"})
    return f"event:{sep}{name}{eol}id:{sep}{MID}{eol}data:{sep}{data}{eol}{eol}".encode()


# section 5's realistic stream, byte for byte (`name:value`, LF)
NOTE_STREAM = b"".join(event("add", p) for p in PARTS) + event("finish", FULL, "stop")


def decode(data: bytes, cuts: list[int] = (), req: ir.ChatRequest = REQ) -> list[ir.StreamEvent]:
    parser, dec, out, last = SSEParser(), CODEC.stream_decoder(req), [], 0
    for c in [*cuts, len(data)]:
        for sse in parser.feed(data[last:c]):
            out += dec.feed(sse)
        last = c
    for sse in parser.flush():
        out += dec.feed(sse)
    return out + dec.flush()


def text_of(events: list[ir.StreamEvent]) -> str:
    return "".join(e.value for e in events if isinstance(e, ir.BlockDelta) and e.kind == "text")


def test_note_stream_events() -> None:
    events = decode(NOTE_STREAM)
    start, *rest = events
    assert isinstance(start, ir.MessageStart) and start.id == MID and start.model == "codegeex-4"
    assert start.usage is not None and start.usage.input > 0
    assert rest[0] == ir.BlockStart(0, ir.Text(""))
    assert rest[1:4] == [ir.BlockDelta(0, "text", p) for p in PARTS]  # finish adds nothing: no duplicate
    assert rest[4] == ir.BlockStop(0)
    delta = rest[5]
    assert isinstance(delta, ir.MessageDelta) and delta.stop_reason == "end_turn"
    assert delta.usage is not None and delta.usage.input > 0 and delta.usage.output > 0
    assert rest[6:] == [ir.MessageStop()]


@pytest.mark.parametrize("cut", range(1, len(NOTE_STREAM)))
def test_note_stream_cut_at_every_byte(cut: int) -> None:
    assert decode(NOTE_STREAM, [cut]) == decode(NOTE_STREAM)


CJK = ["你好，", "世界！", "这是代码。"]
CRLF_STREAM = (b"".join(event("add", p, eol="\r\n", sep=" ") for p in CJK)
               + event("finish", "".join(CJK), "stop", eol="\r\n", sep=" "))


@pytest.mark.parametrize("cut", range(1, len(CRLF_STREAM)))
def test_crlf_spaced_framing_and_multibyte_text_cut_at_every_byte(cut: int) -> None:
    """CRLF line ends, `name: value` with a space, a cut inside a UTF-8 character (section 5, quirk 8)."""
    events = decode(CRLF_STREAM, [cut])
    assert text_of(events) == "".join(CJK) and events[-1] == ir.MessageStop()


def test_many_events_in_one_chunk_and_one_byte_chunks() -> None:
    one_by_one = decode(NOTE_STREAM, list(range(1, len(NOTE_STREAM))))
    assert one_by_one == decode(NOTE_STREAM)


def test_finish_supplies_what_the_deltas_missed() -> None:
    events = decode(event("add", PARTS[0]) + event("finish", FULL, "stop"))
    assert text_of(events) == FULL
    assert [e.value for e in events if isinstance(e, ir.BlockDelta)] == [PARTS[0], FULL[len(PARTS[0]):]]


def test_finish_alone_is_the_answer() -> None:
    assert text_of(decode(event("finish", FULL, "stop"))) == FULL


def test_finish_that_disagrees_with_the_deltas_is_not_appended() -> None:
    events = decode(event("add", "Hello") + event("finish", "Bonjour", "stop"))
    assert text_of(events) == "Hello" and events[-1] == ir.MessageStop()


def test_processing_events_are_not_answer_text() -> None:
    head = b"event:processing\nid:" + MID.encode()
    processing = (head + b'\ndata:{"type":"keyword","data":["go","reverse"]}\n\n'
                  + head + b'\ndata:{"type":"crawl","data":{"[1]":{"status":"ok","url":"https://x",'
                  b'"title":"t"}}}\n\n')
    assert text_of(decode(processing + NOTE_STREAM)) == FULL


def test_add_with_finish_reason_ends_the_answer_without_finish_event() -> None:
    events = decode(event("add", "Hi") + event("add", " there", "stop"))
    assert text_of(events) == "Hi there" and isinstance(events[-2], ir.MessageDelta)


def test_stream_cut_before_finish_is_an_error() -> None:
    events = decode(event("add", "Hi") + event("add", " there"))
    assert text_of(events) == "Hi there"
    assert events[-2:] == [ir.BlockStop(0), ir.StreamError(502, "api_error", events[-1].message)]


def test_empty_stream_is_an_error() -> None:
    (err,) = decode(b"")
    assert isinstance(err, ir.StreamError) and err.status == 502


def test_error_envelope_in_the_stream() -> None:
    (err,) = decode(b'data:{"code":429,"msg":"request too frequent","data":null}\n\n')
    assert err == ir.StreamError(429, "rate_limit", "request too frequent")
    events = decode(event("add", "Hi") + b'event:error\ndata:{"code":10001,"msg":"internal"}\n\n')
    assert events[-1] == ir.StreamError(500, "api_error", "internal") and events[-2] == ir.BlockStop(0)


def test_garbage_data_is_an_error() -> None:
    (err,) = decode(b"event: add\ndata: {this is not json\n\nevent: add\ndata: <html>garbage</html>\n\n")
    assert isinstance(err, ir.StreamError) and err.status == 502


# ---- whole answers (`?stream=false`) and errors ----


def test_parse_response_note_example() -> None:
    body = json.dumps({"id": MID, "text": FULL, "finish_reason": "stop", "model": "codegeex-4"}).encode()
    resp = CODEC.parse_response(body)
    assert resp.id == MID and resp.model == "codegeex-4" and resp.content == (ir.Text(FULL),)
    assert resp.stop_reason == "end_turn" and resp.usage.output > 0


def test_parse_response_error_with_status_200() -> None:
    with pytest.raises(TranslationError) as e:
        CODEC.parse_response(b'{"code":500,"msg":"The server had an error","data":null}')
    assert e.value.error.status == 500 and e.value.error.kind == "api_error"
    assert e.value.error.message == "The server had an error"
    with pytest.raises(TranslationError) as e:
        CODEC.parse_response(b'{"code":401,"msg":"token invalid or expired","data":null}')
    assert e.value.error.kind == "authentication"


def test_parse_response_wrapped_in_data() -> None:
    resp = CODEC.parse_response(b'{"code":200,"msg":"ok","data":{"id":"x","text":"hi","model":"codegeex-4"}}')
    assert resp.content == (ir.Text("hi"),)


def test_parse_errors() -> None:
    body = b'{"code":429,"msg":"request too frequent","data":null}'
    err = CODEC.parse_error(429, {"retry-after": "7"}, body)
    assert (err.kind, err.status, err.message, err.retry_after) == ("rate_limit", 429, "request too frequent",
                                                                     "7")
    err = CODEC.parse_error(401, {}, b'{"code":401,"msg":"token invalid or expired","data":null}')
    assert err.kind == "authentication" and "token invalid or expired" in err.message
    err = CODEC.parse_error(502, {}, b"<html>Bad Gateway</html>")
    assert err.status == 502 and "Bad Gateway" in err.message
    assert CODEC.parse_error(503, {}, b"").message == "CodeGeeX answered HTTP 503."

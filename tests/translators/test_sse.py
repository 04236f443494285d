from __future__ import annotations

import pytest

from translators.sse import SSEEvent
from translators.sse import SSEParser
from translators.sse import encode

STREAM = (b'event: message_start\ndata: {"a":1}\n\n: keep-alive\n\ndata: line1\ndata: line2\n\n'
          b'data:nospace\r\n\r\nevent: x\r\ndata: {"b":"\xc3\xa9"}\r\n\r\ndata: [DONE]\n\n')
EXPECTED = [SSEEvent('{"a":1}', "message_start"), SSEEvent("line1\nline2"), SSEEvent("nospace"),
            SSEEvent('{"b":"é"}', "x"), SSEEvent("[DONE]")]


def parse_in_pieces(data: bytes, cuts: list[int]) -> list[SSEEvent]:
    p, out, last = SSEParser(), [], 0
    for c in cuts + [len(data)]:
        out += p.feed(data[last:c])
        last = c
    return out + p.flush()


def test_whole() -> None:
    assert parse_in_pieces(STREAM, []) == EXPECTED


@pytest.mark.parametrize("cut", range(1, len(STREAM)))
def test_cut_at_every_byte(cut: int) -> None:
    assert parse_in_pieces(STREAM, [cut]) == EXPECTED


def test_byte_by_byte() -> None:
    assert parse_in_pieces(STREAM, list(range(1, len(STREAM)))) == EXPECTED


def test_cr_only_line_endings() -> None:
    assert parse_in_pieces(b"data: a\r\rdata: b\r\r", [8]) == [SSEEvent("a"), SSEEvent("b")]


def test_final_event_without_blank_line() -> None:
    assert parse_in_pieces(b"data: tail", []) == [SSEEvent("tail")]


def test_encode() -> None:
    assert encode('{"x":1}') == b'data: {"x":1}\n\n'
    assert encode("{}", "ping") == b"event: ping\ndata: {}\n\n"

"""The identity relay: bytes unchanged and whole events, whatever the cuts; garbage ends the stream."""

from __future__ import annotations

import pytest

from addons.streaming import Relay

STREAM = (b'data: {"a":1}\n\ndata: {"b":"\xc3\xa9"}\n\nevent: x\ndata: {"c":3}\n\ndata: [DONE]\n\n')


def relay_all(data: bytes, cut: int) -> list[bytes]:
    r = Relay(lambda reason: b"ERR:" + reason.encode() + b"\n\n")
    return r(data[:cut]) + r(data[cut:]) + r(b"")


@pytest.mark.parametrize("cut", range(1, len(STREAM)))
def test_bytes_unchanged_at_every_cut(cut: int) -> None:
    out = relay_all(STREAM, cut)
    assert b"".join(out) == STREAM and b"" not in out
    assert all(chunk.endswith(b"\n\n") for chunk in out), "only whole events are released"


@pytest.mark.parametrize("cut", [5, 20, 40])
def test_garbage_ends_with_error(cut: int) -> None:
    data = b'data: {"a":1}\n\nevent: y\ndata: {not json</html>\n\ndata: {"later":1}\n\n'
    out = b"".join(relay_all(data, cut))
    assert out == b'data: {"a":1}\n\nERR:the upstream sent a malformed event\n\n'


USAGE_CHUNK = b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3}}'
ASKED = (b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null}\n\n'
         b'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}\n\n')


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_a_usage_chunk_the_client_did_not_ask_for_is_read_not_relayed(eol: bytes) -> None:
    data = (ASKED + USAGE_CHUNK + b"\n\n" + b"data: [DONE]\n\n").replace(b"\n", eol)
    for cut in range(1, len(data)):
        r = Relay(lambda reason: b"ERR\n\n", hide_usage=True)
        out = r(data[:cut]) + r(data[cut:]) + r(b"")
        assert b"".join(out) == (ASKED + b"data: [DONE]\n\n").replace(b"\n", eol), cut
        assert b"" not in out
        assert r.usage_last == USAGE_CHUNK[6:], "what accounting reads"


def test_a_usage_chunk_the_client_asked_for_is_relayed() -> None:
    data = ASKED + USAGE_CHUNK + b"\n\ndata: [DONE]\n\n"
    assert b"".join(relay_all(data, 30)) == data

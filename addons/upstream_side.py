"""What the response side of a flow needs from its upstream, whatever kind it is: a dialect codec
(OpenAI, Anthropic) or a provider codec with a wire format of its own. Also turns a buffered SSE
body into one answer, for a client that asked for a whole answer from an upstream that streams."""

from __future__ import annotations

from typing import Any
from typing import Mapping
from typing import Sequence

from translators import ir
from translators.accumulate import decode_stream_body
from translators.codec import StreamDecoder
from translators.errors import BridgeError
from translators.jsonutil import load_object
from translators.pipeline import StreamTransform
from translators.registry import codec


class DialectUpstream:
    """A dialect codec seen from the upstream side."""

    __slots__ = ("codec",)

    def __init__(self, dialect: str) -> None:
        self.codec = codec(dialect)

    def stream_decoder(self, req: ir.ChatRequest) -> StreamDecoder:
        return self.codec.stream_decoder(req)

    def parse_response(self, body: bytes) -> ir.ChatResponse:
        return self.codec.parse_response(load_object(body, "upstream answer"))

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> BridgeError:
        return self.codec.parse_error(status, body)


def decode_whole_stream(upstream: Any, req: ir.ChatRequest, body: bytes,
                        transforms: Sequence[StreamTransform]) -> ir.ChatResponse:
    return decode_stream_body(upstream.stream_decoder(req), body, transforms)

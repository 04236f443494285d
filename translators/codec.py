"""The contract every dialect codec fulfils, and the per-flow stream pipeline built from codecs.

A codec is a stateless module-level object; decoders and encoders belong to one flow each.
Client side: parse_request, render_response, stream_encoder, render_error, render_stream_error.
Upstream side: render_request, parse_response, stream_decoder, parse_error."""

from __future__ import annotations

from typing import Any
from typing import Protocol

from translators import ir
from translators.errors import BridgeError
from translators.sse import SSEEvent


class StreamDecoder(Protocol):
    """Upstream wire events -> IR stream events."""

    def feed(self, event: SSEEvent) -> list[ir.StreamEvent]: ...

    def flush(self) -> list[ir.StreamEvent]:
        """The upstream stream ended: synthesise whatever terminal events are missing."""
        ...


class StreamEncoder(Protocol):
    """IR stream events -> client wire bytes (whole SSE frames)."""

    def feed(self, event: ir.StreamEvent) -> list[bytes]: ...

    def flush(self) -> list[bytes]:
        """End of stream: emit the terminal frames (`[DONE]`, `message_stop`, `response.completed`)
        if they were not emitted yet. Idempotent."""
        ...


class Codec(Protocol):
    dialect: ir.Dialect

    def parse_request(self, body: dict[str, Any]) -> ir.ChatRequest: ...

    def render_request(self, req: ir.ChatRequest, model: str) -> dict[str, Any]: ...

    def parse_response(self, body: dict[str, Any]) -> ir.ChatResponse: ...

    def render_response(self, resp: ir.ChatResponse, req: ir.ChatRequest, ids: ir.Ids) -> dict[str, Any]: ...

    def stream_decoder(self, req: ir.ChatRequest) -> StreamDecoder: ...

    def stream_encoder(self, req: ir.ChatRequest, ids: ir.Ids) -> StreamEncoder: ...

    def render_error(self, err: BridgeError) -> tuple[int, dict[str, Any]]: ...

    def render_stream_error(self, err: BridgeError) -> bytes: ...

    def parse_error(self, status: int, body: bytes) -> BridgeError: ...

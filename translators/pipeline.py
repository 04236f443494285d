"""StreamPipeline: upstream bytes -> SSE events -> IR events -> client bytes, for one flow.

The only object the shell's stream callable talks to. Never returns b"" (mid-stream that would end
an HTTP/1.1 chunked body); [] means "nothing to send yet"."""

from __future__ import annotations

from typing import Protocol
from typing import Sequence

from translators import ir
from translators.codec import StreamDecoder
from translators.codec import StreamEncoder
from translators.errors import BridgeError
from translators.sse import SSEError
from translators.sse import SSEParser


class StreamTransform(Protocol):
    """IR events -> IR events (e.g. tool calls parsed out of prompt-tool text)."""

    def feed(self, event: ir.StreamEvent) -> list[ir.StreamEvent]: ...

    def flush(self) -> list[ir.StreamEvent]: ...


class StreamPipeline:
    def __init__(self, decoder: StreamDecoder, encoder: StreamEncoder,
                 transforms: Sequence[StreamTransform] = ()) -> None:
        self.parser = SSEParser()
        self.decoder, self.encoder = decoder, encoder
        self.transforms = tuple(transforms)
        self.usage = ir.Usage()
        self.ended = False

    def feed(self, data: bytes) -> list[bytes]:
        try:
            events = self.parser.feed(data)
        except SSEError as e:
            return self.fail(BridgeError.of("api_error", str(e), status=502))
        out: list[bytes] = []
        for sse in events:
            for ev in self.decoder.feed(sse):
                out += self._encode(ev)
        return out

    def flush(self) -> list[bytes]:
        """The upstream body ended: drain, let the decoder close what is open, end the client stream."""
        out: list[bytes] = []
        for sse in self.parser.flush():
            for ev in self.decoder.feed(sse):
                out += self._encode(ev)
        for ev in self.decoder.flush():
            out += self._encode(ev)
        for i, t in enumerate(self.transforms):
            for ev in t.flush():
                out += self._encode(ev, start=i + 1)
        out += self.encoder.flush()
        self.ended = True
        return out

    def fail(self, err: BridgeError) -> list[bytes]:
        out = self._encode(ir.StreamError(err.status, err.kind, err.message)) + self.encoder.flush()
        self.ended = True
        return out

    def _encode(self, ev: ir.StreamEvent, start: int = 0) -> list[bytes]:
        events = [ev]
        for t in self.transforms[start:]:
            events = [out for e in events for out in t.feed(e)]
        chunks: list[bytes] = []
        for e in events:
            if isinstance(e, (ir.MessageDelta, ir.MessageStart)) and e.usage is not None:
                self.usage = self.usage.merged(e.usage)
            chunks += self.encoder.feed(e)
        return chunks

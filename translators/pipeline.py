"""StreamPipeline: upstream bytes -> SSE events -> IR events -> client bytes, for one flow.

The only object the shell's stream callable talks to. Never returns b"" (mid-stream that would end
an HTTP/1.1 chunked body); [] means "nothing to send yet"."""

from __future__ import annotations

from translators import ir
from translators.codec import StreamDecoder
from translators.codec import StreamEncoder
from translators.errors import BridgeError
from translators.sse import SSEError
from translators.sse import SSEParser


class StreamPipeline:
    def __init__(self, decoder: StreamDecoder, encoder: StreamEncoder) -> None:
        self.parser = SSEParser()
        self.decoder, self.encoder = decoder, encoder
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
        out += self.encoder.flush()
        self.ended = True
        return out

    def fail(self, err: BridgeError) -> list[bytes]:
        out = self._encode(ir.StreamError(err.status, err.kind, err.message)) + self.encoder.flush()
        self.ended = True
        return out

    def _encode(self, ev: ir.StreamEvent) -> list[bytes]:
        if isinstance(ev, (ir.MessageDelta, ir.MessageStart)) and ev.usage is not None:
            self.usage = self.usage.merged(ev.usage)
        return self.encoder.feed(ev)

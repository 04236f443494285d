"""StreamPipeline: upstream bytes -> SSE events -> IR events -> client bytes, for one flow.

The only object the shell's stream callable talks to. Never returns b"" (mid-stream that would end
an HTTP/1.1 chunked body); [] means "nothing to send yet".

Some upstreams (Copilot, Gemini) answer an error as a bare JSON body under `text/event-stream`.
SSE would drop its lines as unknown fields: a body whose first byte is `{` is kept whole instead and
handed to the decoder as one event at the end, so the upstream's message reaches the client."""

from __future__ import annotations

from typing import Protocol
from typing import Sequence

from translators import ir
from translators.codec import StreamDecoder
from translators.codec import StreamEncoder
from translators.errors import BridgeError
from translators.sse import SSEError
from translators.sse import SSEEvent
from translators.sse import SSEParser

BARE_JSON_LIMIT = 1024 * 1024  # an error body; beyond this it is not one


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
        self.failed = False  # an error event reached the client (usage accounting counts it)
        self._sniffed = False  # the body's first non-blank byte has been seen
        self._bare: bytearray | None = None  # a bare JSON body, kept whole

    def feed(self, data: bytes) -> list[bytes]:
        if not self._sniffed or self._bare is not None:
            data = self._sniff(data)
            if not data:
                return []
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
        if self._bare is not None:
            for ev in self.decoder.feed(SSEEvent(self._bare.decode("utf-8", "replace"))):
                out += self._encode(ev)
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

    def _sniff(self, data: bytes) -> bytes:
        """What of `data` goes to the SSE parser; a bare JSON body is kept back (up to its limit)."""
        if self._bare is not None:
            self._bare += data
            if len(self._bare) <= BARE_JSON_LIMIT:
                return b""
            data, self._bare = bytes(self._bare), None  # too big for an error: parse it as SSE after all
            return data
        head = data.lstrip()
        if head:
            self._sniffed = True
            if head[:1] == b"{":
                self._bare = bytearray(data)
                return b""
        return data

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
            elif isinstance(e, ir.StreamError):
                self.failed = True
            chunks += self.encoder.feed(e)
        return chunks

"""IR stream events -> one ChatResponse (for a client that asked for a whole answer from an upstream
that only streams)."""

from __future__ import annotations

from typing import Callable
from typing import Iterable
from typing import Sequence

from translators import ir
from translators.codec import StreamDecoder
from translators.errors import BridgeError
from translators.errors import TranslationError
from translators.pipeline import StreamTransform
from translators.sse import SSEEvent
from translators.sse import SSEParser


class Accumulator:
    def __init__(self) -> None:
        self.id, self.model = "", ""
        self.blocks: dict[int, ir.Block] = {}
        self.parts: dict[int, list[str]] = {}
        self.signatures: dict[int, list[str]] = {}
        self.stop: ir.StopReason = "end_turn"
        self.stop_sequence: str | None = None
        self.usage = ir.Usage()
        self.error: ir.StreamError | None = None

    def feed(self, ev: ir.StreamEvent) -> None:
        if isinstance(ev, ir.MessageStart):
            self.id, self.model = ev.id or self.id, ev.model or self.model
            self.usage = self.usage.merged(ev.usage)
        elif isinstance(ev, ir.BlockStart):
            self.blocks[ev.index] = ev.block
            self.parts[ev.index] = []
        elif isinstance(ev, ir.BlockDelta):
            target = self.signatures if ev.kind == "signature" else self.parts
            target.setdefault(ev.index, []).append(ev.value)
        elif isinstance(ev, ir.MessageDelta):
            self.stop = ev.stop_reason or self.stop
            self.stop_sequence = ev.stop_sequence or self.stop_sequence
            self.usage = self.usage.merged(ev.usage)
        elif isinstance(ev, ir.StreamError):
            self.error = ev

    def result(self) -> ir.ChatResponse:
        if self.error is not None:
            raise TranslationError(self.error.message, kind=self.error.type, status=self.error.status)
        content = tuple(self._block(i) for i in sorted(self.blocks))
        return ir.ChatResponse(self.id, self.model, content, self.stop, self.stop_sequence, self.usage)

    def _block(self, i: int) -> ir.Block:
        b, text = self.blocks[i], "".join(self.parts.get(i, ()))
        if isinstance(b, ir.Text):
            return ir.Text(text, b.extra)
        if isinstance(b, ir.Thinking):
            return ir.Thinking(text, "".join(self.signatures.get(i, ())) or b.signature, b.origin, b.extra)
        if isinstance(b, ir.ToolUse):
            return ir.ToolUse(b.id, b.name, text, b.kind, b.extra)
        return b


def accumulate(decoder: StreamDecoder, sse_events: Iterable[SSEEvent],
               transforms: Sequence[StreamTransform] = ()) -> Accumulator:
    """SSE events of one answer, decoded to the end, in an Accumulator (its error, if any, not raised)."""
    acc = Accumulator()
    events = [ev for sse in sse_events for ev in decoder.feed(sse)] + decoder.flush()
    for t in transforms:
        events = [out for ev in events for out in t.feed(ev)] + t.flush()
    for ev in events:
        acc.feed(ev)
    return acc


def decode_stream_body(decoder: StreamDecoder, body: bytes,
                       transforms: Sequence[StreamTransform] = ()) -> ir.ChatResponse:
    """A whole SSE body (buffered, or served under another content type) -> one answer."""
    parser = SSEParser()
    return accumulate(decoder, parser.feed(body) + parser.flush(), transforms).result()


def stream_or_error(body: bytes, decoder: Callable[[], StreamDecoder], starts: tuple[bytes, ...],
                    error_from_body: Callable[[bytes], BridgeError | None], who: str) -> ir.ChatResponse:
    """A 200 answer from an upstream that always streams, not labelled as a stream: the stream itself
    (served under another content type), or an error carried with status 200."""
    if body.lstrip().startswith(starts):
        return decode_stream_body(decoder(), body)
    err = error_from_body(body)
    if err is not None:
        raise TranslationError.of(err)
    raise TranslationError(f"{who} answered with something that is neither a stream nor an error.",
                           kind="api_error", status=502)

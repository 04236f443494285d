"""The values the bridge puts in flow.response.stream: upstream chunk in, client chunks out.

Both record when the upstream last sent something, for the idle watchdog."""

from __future__ import annotations

import logging
import time
from typing import Callable

import orjson

from translators.errors import BridgeError
from translators.pipeline import StreamPipeline

logger = logging.getLogger(__name__)


class Relay:
    """Identity path: the upstream's events relayed unchanged, whole events at a time, each `data:`
    line checked to be JSON (or `[DONE]`). Garbage ends the client's stream with its
    dialect's error event instead of reaching it."""

    __slots__ = ("last", "pending", "done", "error_tail", "ended", "capture", "usage_first", "usage_last",
                 "hide_usage")

    MAX_PENDING = 16 * 1024 * 1024

    def __init__(self, error_tail: Callable[[str], bytes], hide_usage: bool = False) -> None:
        self.last = time.monotonic()
        self.pending = b""
        self.done = self.ended = False
        self.error_tail = error_tail
        # The bridge asked for a usage chunk the client did not (Chat Completions' include_usage): read, not relayed.
        self.hide_usage = hide_usage
        # The first and last events that mention usage (Anthropic splits it over two): for accounting.
        self.usage_first = self.usage_last = b""
        self.capture: Capture | None = None  # set by addons.inspection when bodies are kept

    def __call__(self, data: bytes) -> list[bytes]:
        out = self._relay(data)
        if self.capture is not None:
            self.capture.keep(data, out, 0.0)
        return out

    def _relay(self, data: bytes) -> list[bytes]:
        self.last = time.monotonic()
        if self.done:
            return []
        if not data:  # end of body: whatever is left (an event without its blank line)
            self.ended = True
            rest, self.pending = self.pending, b""
            return self._checked(rest) if rest else []
        buf = self.pending + data if self.pending else data
        cut = max(_end_after(buf, b"\n\n"), _end_after(buf, b"\r\n\r\n"))
        self.pending = buf[cut:]
        if len(self.pending) > self.MAX_PENDING:
            return self._fail(b"", "an event exceeds the size limit")
        return self._checked(buf[:cut]) if cut else []

    def _checked(self, ready: bytes) -> list[bytes]:
        start, hidden = 0, -1
        for line in ready.split(b"\n"):
            if line.startswith(b"data:"):
                payload = line[5:].strip()
                obj = _json(payload) if payload and payload != b"[DONE]" else None
                if obj is _MALFORMED:
                    good = _end_after(ready[:start], b"\n\n")
                    return self._fail(ready[:good], "the upstream sent a malformed event")
                if b'"usage"' in payload:
                    self.usage_first, self.usage_last = self.usage_first or payload, payload
                    if self.hide_usage and isinstance(obj, dict) and not obj.get("choices") and obj.get("usage"):
                        hidden = start
            start += len(line) + 1
        if hidden >= 0:
            ready = _without_event(ready, hidden)
        return [ready] if ready else []

    def _fail(self, good: bytes, reason: str) -> list[bytes]:
        self.done = True
        tail = self.error_tail(reason)
        return [good, tail] if good else [tail]


_MALFORMED = object()


def _json(payload: bytes) -> object:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return _MALFORMED


def _without_event(ready: bytes, at: int) -> bytes:
    """`ready` (whole events) without the event that has a line starting at offset `at`."""
    start = max(_end_after(ready[:at], b"\n\n"), _end_after(ready[:at], b"\r\n\r\n"))
    ends = [i for i in (ready.find(b"\n\n", at), ready.find(b"\r\n\r\n", at)) if i >= 0]
    if not ends:
        return ready[:start]
    end = min(ends)
    return ready[:start] + ready[end + (4 if ready.startswith(b"\r\n\r\n", end) else 2):]


def _end_after(buf: bytes, sep: bytes) -> int:
    """Offset just past the last `sep` in buf, 0 when there is none."""
    i = buf.rfind(sep)
    return i + len(sep) if i >= 0 else 0


class StreamAdapter:
    """Translation path: mitmproxy calls this once per received chunk and once with b"" at the end."""

    __slots__ = ("pipeline", "flow_id", "last", "ended", "capture")

    def __init__(self, pipeline: StreamPipeline, flow_id: str) -> None:
        self.pipeline, self.flow_id = pipeline, flow_id
        self.last = time.monotonic()
        self.ended = False
        self.capture: Capture | None = None  # set by addons.inspection when bodies are kept

    def __call__(self, data: bytes) -> list[bytes]:
        self.last = time.monotonic()
        self.ended = self.ended or not data
        # Never return b"": mid-stream it becomes an empty chunk, i.e. the end of an HTTP/1.1 body.
        try:
            out = self.pipeline.feed(data) if data else self.pipeline.flush()
        except Exception:  # raised here, mitmproxy would log a crash and drop the chunk silently
            logger.exception("stream translation failed for flow %s", self.flow_id)
            out = self.pipeline.fail(BridgeError.of("api_error", "The bridge failed to translate the stream."))
        if self.capture is not None:
            self.capture.keep(data, out, time.monotonic() - self.last)
        return out


class Capture:
    """The first `cap` bytes of what the upstream sent and of what the client got, for inspection, and
    the time spent translating chunks. Only a bounded append per chunk: this runs on the hot path."""

    __slots__ = ("cap", "upstream", "client", "upstream_bytes", "client_bytes", "busy")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.upstream, self.client = bytearray(), bytearray()
        self.upstream_bytes = self.client_bytes = 0  # totals, to tell a cut capture from a whole one
        self.busy = 0.0

    def keep(self, data: bytes, out: list[bytes], busy: float) -> None:
        self.busy += busy
        self.upstream_bytes += len(data)
        if len(self.upstream) < self.cap:
            self.upstream += data[:self.cap - len(self.upstream)]
        for chunk in out:
            self.client_bytes += len(chunk)
            if len(self.client) < self.cap:
                self.client += chunk[:self.cap - len(self.client)]

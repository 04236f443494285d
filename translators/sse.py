"""Incremental server-sent-events parsing and encoding (WHATWG rules), sans I/O.

SSEParser.feed(bytes) may be called with any cut of the stream; it returns the events completed so
far and keeps the rest. CR, LF and CRLF all end lines (some upstreams frame with CRLF)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_BUFFER = 16 * 1024 * 1024  # an event larger than this is a broken upstream, not a big answer


@dataclass(frozen=True, slots=True)
class SSEEvent:
    data: str
    event: str | None = None
    id: str | None = None


class SSEError(ValueError):
    pass


class SSEParser:
    __slots__ = ("_buf", "_data", "_event", "_id", "_has_data", "_pending_cr")

    def __init__(self) -> None:
        self._buf = b""
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._has_data = False
        self._pending_cr = False  # a CR ended the last chunk: a following LF belongs to it

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._pending_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._pending_cr = False
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            if buf.endswith(b"\r"):
                self._pending_cr = True
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        if len(self._buf) > MAX_BUFFER:
            raise SSEError("server-sent event line exceeds the size limit")
        out: list[SSEEvent] = []
        for line in lines:
            ev = self._line(line)
            if ev is not None:
                out.append(ev)
        return out

    def flush(self) -> list[SSEEvent]:
        """End of stream: a final event without its blank line still counts (lenient, as httpx-sse)."""
        out = self.feed(b"\n") if self._buf else []
        ev = self._line(b"")
        if ev is not None:
            out.append(ev)
        return out

    def _line(self, line: bytes) -> SSEEvent | None:
        if not line:
            if not self._has_data and self._event is None:
                return None
            ev = SSEEvent("\n".join(self._data), self._event, self._id)
            self._data, self._event, self._has_data = [], None, False
            return ev
        if line[0] == 0x3A:  # ":" comment, e.g. keep-alive
            return None
        name, sep, value = line.partition(b":")
        if sep and value.startswith(b" "):
            value = value[1:]
        text = value.decode("utf-8", "replace")
        if name == b"data":
            self._data.append(text)
            self._has_data = True
        elif name == b"event":
            self._event = text
        elif name == b"id":
            self._id = text
        return None


def encode(data: str | bytes, event: str | None = None) -> bytes:
    """One SSE frame. `data` must not contain newlines (compact JSON never does)."""
    body = data.encode() if isinstance(data, str) else data
    if event is None:
        return b"data: " + body + b"\n\n"
    return b"event: " + event.encode() + b"\ndata: " + body + b"\n\n"

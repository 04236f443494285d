"""What a client receives when the upstream side fails at the HTTP level, instead of mitmproxy's own
reaction (an HTML 502 page before the response started; a silently cut body after).

mitmproxy reports a failed upstream connection or a broken-off stream to the client after the
`error` hook, through `Http1Server.send(ResponseProtocolError)`; no hook can change what it writes.
The bridge registers, in the `error` hook, what it wants written for that request: a whole answer
(JSON in the client's dialect) when nothing was sent yet, or a tail (the dialect's in-stream error
event) to end a chunked stream that already started. This small wrapper around Http1Server.send
writes it. Only requests registered here are affected."""

from __future__ import annotations

from collections import OrderedDict

from mitmproxy import http
from mitmproxy.connection import ConnectionState
from mitmproxy.net.http import http1
from mitmproxy.proxy import commands
from mitmproxy.proxy.layers.http import _http1
from mitmproxy.proxy.layers.http._events import ResponseProtocolError

MAX_PENDING = 1024  # registrations never consumed (HTTP/2 clients) are dropped oldest first
_pending: OrderedDict[int, tuple[http.Request, bytes, bool]] = OrderedDict()  # id -> (request, bytes, is_tail)
_installed = False


def register(request: http.Request, response: http.Response) -> None:
    """Before the response started: write this answer instead of mitmproxy's HTML page."""
    response.headers["connection"] = "close"
    _remember(request, http1.assemble_response(response), False)


def register_tail(request: http.Request, tail: bytes) -> None:
    """After a chunked response started: end it with these bytes instead of cutting it."""
    _remember(request, tail, True)


def _remember(request: http.Request, data: bytes, tail: bool) -> None:
    _pending[id(request)] = (request, data, tail)
    while len(_pending) > MAX_PENDING:
        _pending.popitem(last=False)


def _chunked(response: http.Response) -> bool:
    return "chunked" in response.headers.get("transfer-encoding", "").lower()


def install() -> None:
    global _installed
    if _installed:
        return
    original = _http1.Http1Server.send

    def send(self: _http1.Http1Server, event):  # type: ignore[no-untyped-def]
        if isinstance(event, ResponseProtocolError) and self.request is not None:
            entry = _pending.pop(id(self.request), None)
            if entry is not None and entry[0] is self.request and self.conn.state & ConnectionState.CAN_WRITE:
                _, data, tail = entry
                if not tail and self.response is None:
                    yield commands.SendData(self.conn, data)
                    yield commands.CloseConnection(self.conn)
                    return
                if tail and self.response is not None and _chunked(self.response):
                    yield commands.SendData(self.conn, b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
                    yield commands.CloseConnection(self.conn)
                    return
        yield from original(self, event)

    _http1.Http1Server.send = send  # type: ignore[method-assign]
    _installed = True

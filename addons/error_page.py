"""Replaces mitmproxy's HTML error page for bridge flows whose upstream could not be reached.

mitmproxy answers a failed upstream connection itself, after the `error` hook, with an HTML 502
built by `_http1.make_error_response`; no hook can replace it. The bridge registers the answer it
wants (JSON in the client's dialect) for that request in the `error` hook, and this small wrapper
around Http1Server.send writes it instead. Only requests registered here are affected."""

from __future__ import annotations

from collections import OrderedDict

from mitmproxy import http
from mitmproxy.connection import ConnectionState
from mitmproxy.net.http import http1
from mitmproxy.proxy import commands
from mitmproxy.proxy.layers.http import _http1
from mitmproxy.proxy.layers.http._events import ResponseProtocolError

MAX_PENDING = 1024  # registrations never consumed (HTTP/2 clients) are dropped oldest first
_pending: OrderedDict[int, tuple[http.Request, bytes]] = OrderedDict()
_installed = False


def register(request: http.Request, response: http.Response) -> None:
    response.headers["connection"] = "close"
    _pending[id(request)] = (request, http1.assemble_response(response))
    while len(_pending) > MAX_PENDING:
        _pending.popitem(last=False)


def install() -> None:
    global _installed
    if _installed:
        return
    original = _http1.Http1Server.send

    def send(self: _http1.Http1Server, event):  # type: ignore[no-untyped-def]
        if isinstance(event, ResponseProtocolError) and self.response is None and self.request is not None:
            entry = _pending.pop(id(self.request), None)
            if entry is not None and entry[0] is self.request:
                if self.conn.state & ConnectionState.CAN_WRITE:
                    yield commands.SendData(self.conn, entry[1])
                    yield commands.CloseConnection(self.conn)
                return
        yield from original(self, event)

    _http1.Http1Server.send = send  # type: ignore[method-assign]
    _installed = True

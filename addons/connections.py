"""Acting on a flow's connections from outside the proxy's own event flow (the idle watchdog).

flow.kill() is only noticed by mitmproxy at its next hook, and a stalled stream has none; closing
the server connection makes the HTTP layer see the upstream go away at once, which runs the
`error` hook (where the bridge ends the client's stream properly). Keep-alive pings are written
straight to the client as whole chunks: the stream callables only ever release whole SSE events,
so between two calls the client's stream always stands at an event boundary."""

from __future__ import annotations

import logging
import socket
from typing import Any

from mitmproxy import ctx
from mitmproxy import http

logger = logging.getLogger(__name__)


def _handler(flow: http.HTTPFlow) -> Any:
    proxyserver = ctx.master.addons.get("proxyserver")
    return getattr(proxyserver, "connections", {}).get(flow.client_conn.id) if proxyserver else None


def close_upstream(flow: http.HTTPFlow) -> bool:
    handler = _handler(flow)
    if handler is None or flow.server_conn not in handler.transports:
        return False
    handler.close_connection(flow.server_conn)
    return True


def ping_client(flow: http.HTTPFlow, event: bytes) -> bool:
    """Write one SSE event as a chunk of the client's chunked HTTP/1.1 response."""
    response = flow.response
    if response is None or "chunked" not in response.headers.get("transfer-encoding", ""):
        return False
    handler = _handler(flow)
    io = handler.transports.get(flow.client_conn) if handler is not None else None
    if io is None or io.writer is None or io.writer.is_closing():
        return False
    io.writer.write(b"%x\r\n%s\r\n" % (len(event), event))
    return True


BACKLOG = 4096


def raise_listen_backlog() -> int:
    """mitmproxy listens with asyncio's default backlog of 100: a burst of new clients (500 agents
    starting at once) overflows it and the kernel drops their handshakes, which clients see as
    reset connections. listen() again on the same socket raises the queue. Returns the sockets done."""
    proxyserver = ctx.master.addons.get("proxyserver")
    instances = getattr(getattr(proxyserver, "servers", None), "_instances", {})
    done = 0
    for instance in instances.values():
        for server in getattr(instance, "_servers", ()):
            for sock in getattr(server, "sockets", ()) or ():
                if sock.type != socket.SOCK_STREAM:
                    continue
                dup = socket.fromfd(sock.fileno(), sock.family, sock.type)
                try:
                    dup.listen(BACKLOG)
                    done += 1
                finally:
                    dup.close()
    return done

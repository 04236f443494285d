"""Closing a flow's upstream connection from outside the proxy's own event flow.

flow.kill() is only noticed by mitmproxy at its next hook, and a stalled stream has none; closing
the server connection makes the HTTP layer see the upstream go away at once, which runs the
`error` hook (where the bridge ends the client's stream properly)."""

from __future__ import annotations

import logging

from mitmproxy import ctx
from mitmproxy import http

logger = logging.getLogger(__name__)


def close_upstream(flow: http.HTTPFlow) -> bool:
    proxyserver = ctx.master.addons.get("proxyserver")
    handler = getattr(proxyserver, "connections", {}).get(flow.client_conn.id) if proxyserver else None
    if handler is None or flow.server_conn not in handler.transports:
        return False
    handler.close_connection(flow.server_conn)
    return True

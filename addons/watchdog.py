"""The idle watchdog: keep-alive pings to streaming clients while the upstream is silent, and
giving up an upstream silent for longer than idle_timeout_seconds (closing its connection ends the
client's answer through the error hook, with an error in its dialect)."""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from addons.connections import close_upstream
from addons.connections import ping_client
from addons.flowstate import FlowState
from addons.settings import BridgeConfig

PINGS = {"anthropic-messages": b'event: ping\ndata: {"type": "ping"}\n\n'}
COMMENT = b": keep-alive\n\n"  # an SSE comment: every other dialect's clients skip it


async def watch(flows: dict[str, FlowState], settings: Callable[[], BridgeConfig | None]) -> None:
    while True:
        await asyncio.sleep(1.0)
        cfg = settings()
        if cfg is not None:
            tick(list(flows.values()), time.monotonic(), cfg.idle_timeout_seconds, cfg.ping_seconds)


def tick(states: list[FlowState], now: float, limit: float, every: float) -> None:
    for st in states:
        last = st.relay.last if st.relay is not None else st.started
        if st.flow is None or st.idle:
            continue
        if now - last > limit:
            st.idle = True
            if not close_upstream(st.flow) and st.flow.killable:
                st.flow.kill()
        elif st.relay is not None and not st.relay.ended and now - max(last, st.pinged) > every:
            st.pinged = now
            ping_client(st.flow, PINGS.get(st.endpoint.dialect, COMMENT))

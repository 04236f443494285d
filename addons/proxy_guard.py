"""Refusing to run as an open proxy, and noticing when the config file changes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Awaitable
from typing import Callable
from typing import Sequence

from mitmproxy import exceptions
from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.proxy.mode_specs import RegularMode
from mitmproxy.proxy.mode_specs import Socks5Mode
from mitmproxy.proxy.mode_specs import UpstreamMode

FORWARD_MODES = (RegularMode, UpstreamMode, Socks5Mode)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def refuse_open_proxy(modes: Sequence[str], listen_host: str, proxyauth: str | None) -> None:
    """A forward (interception) proxy on a public interface without proxy auth would relay anyone's
    traffic, and the bridge's accounts with it: refuse to run."""
    for spec in modes:
        mode = ProxyMode.parse(spec)
        host = mode.custom_listen_host or listen_host
        if isinstance(mode, FORWARD_MODES) and host not in LOOPBACK and not proxyauth:
            raise exceptions.OptionsError(
                f"refusing to run an open proxy: mode {spec!r} listens on {host or 'every interface'} "
                "without proxy authentication; set --proxyauth, or listen on 127.0.0.1")


def _mtime(path: str) -> float | None:
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return None


async def watch_file(path: str, on_change: Callable[[], Awaitable[None] | None]) -> None:
    """Calls on_change whenever the file's modification time changes (checked every second)."""
    seen = _mtime(path)
    while True:
        await asyncio.sleep(1.0)
        now = _mtime(path)
        if now != seen:
            seen = now
            result = on_change()
            if result is not None:
                await result

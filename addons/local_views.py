"""What the bridge answers itself for operators and logins: provider pages under /auth/ and the
account views (secrets masked)."""

from __future__ import annotations

import time
from typing import Any

from mitmproxy import http

from addons.masking import mask
from addons.pool import Pool
from addons.pool import status as pool_status
from addons.providers.base import Page
from addons.providers.base import Runtime
from addons.settings import BridgeConfig
from translators.errors import TranslationError


async def page(flow: http.HTTPFlow, runtimes: dict[str, Runtime]) -> http.Response:
    """A provider's local page (e.g. /auth/device); `?provider=` picks one when several serve it.
    A page that polls or links back keeps `?key=` in its own URLs (the page gets it in `query`)."""
    path, wanted = flow.request.path.split("?", 1)[0], flow.request.query.get("provider")
    for name, runtime in runtimes.items():
        handler = runtime.pages().get(path)
        if handler is not None and wanted in (None, name):
            answer = await handler(Page(flow.request.method, path, dict(flow.request.query.items()),
                                        flow.request.get_content(strict=False) or b""))
            if "key" in flow.request.query:  # what mitmweb shows and saves keeps no secret
                flow.request.query["key"] = mask(flow.request.query["key"])
            return http.Response.make(answer.status, answer.body, {"content-type": answer.content_type,
                                                                   "cache-control": "no-store"})
    raise TranslationError(f"No provider serves {path}.", kind="not_found", code="unknown_url")


def pools_view(pools: dict[str, Pool]) -> dict[str, Any]:
    return {"providers": pool_status(pools, time.monotonic())}


def acc_tokens(pools: dict[str, Pool], cfg: BridgeConfig) -> dict[str, Any]:
    """chat2api's account view: ChatGPT accounts when configured, else every pool; masked."""
    status = pool_status(pools, time.monotonic())
    chosen = {n: p for n, p in status.items() if cfg.providers[n].type == "chatgpt"} or status
    accounts = [a for p in chosen.values() for a in p["accounts"]]
    return {"count": len(accounts), "usable": sum(a["usable"] for a in accounts), "accounts": accounts}

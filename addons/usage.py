"""Usage accounting per client key, provider, account and model."""

from __future__ import annotations

from typing import Any

from mitmproxy import http


class UsageMeter:
    async def record(self, flow: http.HTTPFlow, st: Any) -> None:
        return None

    async def report(self) -> dict[str, Any]:
        return {"rows": [], "days": []}

    async def metrics(self) -> http.Response:
        return http.Response.make(200, b"", {"content-type": "text/plain; version=0.0.4"})

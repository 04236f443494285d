"""What mitmweb shows of a bridged flow: the client's request, the upstream's, and a summary."""

from __future__ import annotations

from typing import Any

from mitmproxy import http


def annotate(flow: http.HTTPFlow, st: Any) -> None:
    return None

"""The "LLM stream" content view for mitmweb / mitmproxy 12: a request or answer of the three
dialects, whole or streamed, as readable messages (role, text, tool calls, usage).

On a bridged flow it tells the whole story of the side shown: for the request, the client's original
request and the translated upstream request; for the answer, the bridge's summary, the raw upstream
answer and what the client got (from what addons.inspection kept in flow.metadata).

The bridge registers it; for saved flows alone: `mitmweb -r flows.mitm -s addons/contentview.py`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mitmproxy import contentviews
from mitmproxy import http
from mitmproxy.contentviews import Contentview
from mitmproxy.contentviews import Metadata

_root = str(Path(__file__).resolve().parent.parent)
if _root not in sys.path:  # loaded as a script (-s), mitmproxy adds only this file's folder
    sys.path.insert(0, _root)

from addons import contentview_render  # noqa: E402

SUMMARY = "bridge"
CLIENT_REQUEST = "bridge_client_request"
UPSTREAM_ANSWER = "bridge_upstream_answer"
TOKENS = ("input", "output", "cache_read", "cache_write", "reasoning")


class LLMStreamView(Contentview):
    @property
    def name(self) -> str:
        return "LLM stream"

    def render_priority(self, data: bytes, metadata: Metadata) -> float:
        if not data:
            return -1
        if _bridged(metadata) is not None:
            return 2  # above JSON's 1: a bridged flow opens on this view
        if contentview_render.is_sse(data, metadata.content_type) and _dialect_of(metadata) is not None:
            return 1.5
        return -1

    def prettify(self, data: bytes, metadata: Metadata) -> str:
        bridged = _bridged(metadata)
        is_request = isinstance(metadata.http_message, http.Request)
        if bridged is None:
            return contentview_render.render(data, _dialect_of(metadata), metadata.content_type)
        summary = bridged.get(SUMMARY) or {}
        client = (summary.get("client") or {}).get("dialect")
        upstream = (summary.get("upstream") or {}).get("dialect")
        if is_request:
            sections = [_kept("Client's request, as the client sent it", bridged.get(CLIENT_REQUEST)),
                        _section(f"Upstream request ({upstream or 'provider format'}), as sent upstream",
                                 contentview_render.render(data, upstream, metadata.content_type))]
        else:
            upstream_answer = bridged.get(UPSTREAM_ANSWER)
            sections = [_section("Bridge", _summary_text(summary)),
                        _kept("Upstream answer", upstream_answer),
                        _section(f"Client's answer ({client})",
                                 contentview_render.render(data, client, metadata.content_type)),
                        _section("Upstream answer, raw bytes", str(upstream_answer["body"]))
                        if upstream_answer and upstream_answer.get("body") else ""]
        return "\n\n".join(s for s in sections if s)


def _bridged(metadata: Metadata) -> dict[str, Any] | None:
    flow = metadata.flow
    meta = getattr(flow, "metadata", None)
    return meta if isinstance(meta, dict) and SUMMARY in meta else None


def _dialect_of(metadata: Metadata) -> str | None:
    req = getattr(metadata.flow, "request", None)
    return contentview_render.dialect_of_path(req.path) if isinstance(req, http.Request) else None


def _section(title: str, text: str) -> str:
    return f"━━ {title} ━━\n{text}"


def _kept(title: str, kept: dict[str, Any] | None) -> str:
    if not kept:
        return ""
    body = str(kept.get("body") or "").encode()
    size = f"{kept.get('bytes')} bytes" + (f", first {kept.get('kept')} kept" if kept.get("kept") != kept.get(
        "bytes") else "")
    text = f"{kept.get('line', '')}  ({size})\n" + contentview_render.render(body, kept.get("dialect"))
    return _section(f"{title} ({kept.get('dialect') or 'provider format'})", text)


def _summary_text(s: dict[str, Any]) -> str:
    client, upstream = s.get("client") or {}, s.get("upstream") or {}
    lines = [
        f"client:   {client.get('endpoint')} ({client.get('dialect')}), model {client.get('model')}"
        + (", streaming" if client.get("stream") else ""),
        f"provider: {s.get('provider')} ({s.get('provider_type')}), account {s.get('account')}",
        f"upstream: {upstream.get('dialect') or 'provider format'}, model {upstream.get('model')}, "
        f"{upstream.get('url')}" + (" (same dialect, relayed as is)" if s.get("identity") else ""),
        f"attempts: {', '.join(s.get('attempts') or []) or '-'}",
        f"status:   {s.get('status') if s.get('status') is not None else 'error: ' + str(s.get('error'))}",
    ]
    if s.get("tokens"):
        lines.append("tokens:   " + ", ".join(f"{k} {s['tokens'][k]}" for k in TOKENS if s["tokens"].get(k)))
    lat = s.get("latency_ms") or {}
    if lat:
        lines.append(f"latency:  bridge +{lat.get('added')} ms (request {lat.get('request')} ms, response "
                     f"{lat.get('response')} ms), upstream first byte {lat.get('upstream_ttfb')} ms, "
                     f"total {lat.get('total')} ms")
    return "\n".join(lines)


def load(loader: Any) -> None:
    """Loaded as a script of its own (-s addons/contentview.py): register the view."""
    contentviews.add(LLMStreamView())

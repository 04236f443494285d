"""What mitmweb shows of a bridged flow: the client's request, the upstream's, and a summary.

`flow.request` becomes the upstream request and `flow.response` what the client got, so the rest is
kept on the side: the client's original request (`Record.of`, in Gateway._bridge), the raw upstream
answer (`keep_upstream_answer` for buffered ones, the stream's Capture for streamed ones), and at the
end of the flow (`annotate`) a summary in `flow.metadata["bridge"]` and a one-line `flow.comment`.
Bodies are capped by the `bridge_capture_bytes` option (0 keeps none)."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from mitmproxy import contentviews
from mitmproxy import ctx
from mitmproxy import http

from addons.contentview import CLIENT_REQUEST
from addons.contentview import SUMMARY
from addons.contentview import TOKENS
from addons.contentview import UPSTREAM_ANSWER
from addons.contentview import LLMStreamView
from addons.masking import SECRET_MARKS
from addons.masking import is_secret_header
from addons.masking import mask
from addons.masking import mask_headers
from addons.streaming import Capture
from addons.streaming import Relay
from addons.streaming import StreamAdapter
from addons.usage import tokens_of
from translators import ir

logger = logging.getLogger(__name__)

DEFAULT_CAPTURE = 256 * 1024
REQUEST_CAP = 64 * 1024  # the client's request: enough to read it, not a copy of every upload
_cap = DEFAULT_CAPTURE  # bridge_capture_bytes, kept here so the hot path reads no option


@dataclass(slots=True)
class Message:
    """A message the flow no longer holds: start line or status, headers, body (capped). Only
    references are taken while the flow runs; decoding and masking wait for the end (`state`)."""

    line: str
    fields: tuple[tuple[bytes, bytes], ...]  # the raw header list (immutable in mitmproxy)
    body: bytes
    size: int  # of the whole body
    timestamp_start: float | None = None

    @classmethod
    def of(cls, line: str, msg: http.Message, cap: int) -> Message:
        encoded = "content-encoding" in msg.headers
        body = (msg.get_content(strict=False) if encoded else msg.raw_content) or b""
        return cls(line, msg.headers.fields, body[:cap], len(body), msg.timestamp_start)

    def state(self, dialect: str | None) -> dict[str, Any]:
        headers = http.Headers(self.fields)
        mask_headers(headers)
        return {"line": self.line, "dialect": dialect, "bytes": self.size, "kept": len(self.body),
                "headers": [(k.decode("latin-1"), v.decode("utf-8", "replace")) for k, v in headers.fields],
                "body": mask_fields(self.body.decode("utf-8", "replace"))}


# A JSON string field with a credential-like name (ChatGPT's stream carries a `"token": "eyJ..."`): found from
# the marks' occurrences (str.find), since a regex over a whole stream costs milliseconds per flow.
_KEY = re.compile(r'"([A-Za-z0-9_.-]{1,64})"\s*:\s*"((?:[^"\\]|\\.){8,})"')


def mask_fields(text: str) -> str:
    """Kept bodies as mitmweb and saved flows show them: credential-like JSON string fields masked."""
    low, values = text.lower(), []
    for mark in SECRET_MARKS:
        at = low.find(mark)
        while at >= 0:
            start = text.rfind('"', max(0, at - 64), at)  # the opening quote of the name holding the mark
            m = _KEY.match(text, start) if start >= 0 else None
            if m is not None and m.start(2) > at and is_secret_header(m.group(1)):
                values.append(m.span(2))
            at = low.find(mark, at + 1)
    out, last = [], 0
    for begin, end in sorted(set(values)):
        if begin >= last:
            out += [text[last:begin], mask(text[begin:end])]
            last = end
    return "".join(out) + text[last:] if out else text


@dataclass(slots=True)
class Record:
    """Kept for inspection while the flow is bridged."""

    client: Message
    received: float  # the client's request was in (wall clock, as mitmproxy's timestamps)
    forwarded: float = 0.0  # the upstream request was ready to leave
    answer: Message | None = None  # a buffered upstream answer, before the client's replaced it
    answered: float = 0.0

    @classmethod
    def of(cls, req: http.Request) -> Record:
        """The client's request as it came, before the bridge rewrites it into the upstream's."""
        line = f"{req.method} {req.path}"
        return cls(Message.of(line, req, min(_cap, REQUEST_CAP)), req.timestamp_end or time.time())


def keep_upstream_answer(st: Any, resp: http.Response) -> None:
    """A buffered upstream answer, about to be translated into (or replaced by) the client's."""
    record = getattr(st, "record", None)
    if record is not None and not resp.stream:
        record.answer = Message.of(f"{resp.status_code} {resp.reason}", resp, _cap)
        record.answered = time.time()


class Inspection:
    """The option, the content view, and the capture of streamed bodies."""

    def load(self, loader: Any) -> None:
        loader.add_option("bridge_capture_bytes", int, DEFAULT_CAPTURE,
                          "Bytes kept, for inspection, of each body a bridged flow would otherwise not show: "
                          "the client's request, the raw upstream answer and the client's streamed answer. "
                          "0 keeps none.")
        contentviews.add(LLMStreamView())

    def configure(self, updated: set[str]) -> None:
        global _cap
        if "bridge_capture_bytes" in updated:
            _cap = max(0, ctx.options.bridge_capture_bytes)

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        """Runs after the gateway's: its relay is in place when the answer streams."""
        stream = flow.response.stream if flow.response is not None else None
        if _cap and isinstance(stream, (Relay, StreamAdapter)):
            stream.capture = Capture(_cap)


def annotate(flow: http.HTTPFlow, st: Any) -> None:
    """The flow is over: its summary into flow.metadata["bridge"], one line of it into flow.comment."""
    try:
        _annotate(flow, st)
    except Exception:  # inspection must never break the flow it describes
        logger.exception("could not annotate flow %s", flow.id)


def _annotate(flow: http.HTTPFlow, st: Any) -> None:
    record: Record | None = getattr(st, "record", None)
    capture: Capture | None = getattr(st.relay, "capture", None) if st.relay is not None else None
    resp = flow.response
    client_dialect, up_dialect = st.endpoint.dialect, upstream_dialect(st)
    if capture is not None and resp is not None and resp.raw_content is None:
        resp.raw_content = bytes(capture.client)  # streamed: what the client got (its first bytes)
    if record is not None:
        flow.metadata[CLIENT_REQUEST] = record.client.state(client_dialect)
    if capture is not None:
        line = f"{resp.status_code} {resp.reason}" if resp is not None else "stream"
        answer = Message(line, (), bytes(capture.upstream), capture.upstream_bytes)
        flow.metadata[UPSTREAM_ANSWER] = answer.state(up_dialect)
    elif record is not None and record.answer is not None:
        flow.metadata[UPSTREAM_ANSWER] = record.answer.state(up_dialect)
    summary = {
        "client": {"dialect": client_dialect, "endpoint": st.endpoint.name, "stream": st.stream,
                   "model": (st.body or {}).get("model")},
        "provider": st.route.provider_name,
        "provider_type": st.route.provider.type,
        "upstream": {"dialect": up_dialect, "model": st.route.upstream_model,
                     "url": flow.request.url.split("?", 1)[0]},
        "identity": st.identity,
        "account": st.account.label if st.account is not None else None,
        "attempts": [a.label for a in st.tried] or ([st.account.label] if st.account is not None else []),
        "status": resp.status_code if resp is not None else None,
        "error": flow.error.msg if flow.error is not None else None,
        "tokens": _tokens(flow, st),
        "latency_ms": _latency(flow, st, record, capture),
    }
    if capture is not None:
        summary["captured"] = {"upstream_bytes": capture.upstream_bytes, "client_bytes": capture.client_bytes,
                               "kept_bytes": capture.cap}
    flow.metadata[SUMMARY] = summary
    flow.comment = comment(summary)


def upstream_dialect(st: Any) -> str | None:
    """The upstream's wire dialect (a provider plug-in's own format has none)."""
    codec = getattr(st.upstream, "codec", None)
    return getattr(codec, "dialect", None)


def _tokens(flow: http.HTTPFlow, st: Any) -> dict[str, int] | None:
    """The tokens accounted for the flow (addons.usage), None when the answer reported none."""
    usage = tokens_of(flow, st)
    return {name: getattr(usage, name) for name in TOKENS} if usage != ir.Usage() else None


def _latency(flow: http.HTTPFlow, st: Any, record: Record | None,
             capture: Capture | None) -> dict[str, float | None]:
    """The bridge's own time (request side: reading, routing and translating the request; response
    side: translating the answer) apart from the upstream's time to its first byte."""
    if record is None or not record.forwarded:
        return {}
    resp = flow.response
    request = record.forwarded - record.received
    upstream_start = record.answer.timestamp_start if record.answer is not None else (
        resp.timestamp_start if resp is not None else None)
    if capture is not None:
        response: float | None = capture.busy
    elif record.answer is not None and resp is not None:  # buffered: until the client's answer was made
        response = max(0.0, resp.timestamp_start - record.answered) if resp.timestamp_start else 0.0
    else:
        response = None
    end = resp.timestamp_end if resp is not None and resp.timestamp_end else time.time()
    out = {
        "request": request,
        "response": response,
        "added": request + (response or 0.0),
        "upstream_ttfb": upstream_start - record.forwarded if upstream_start else None,
        "total": end - record.received,
    }
    return {k: round(v * 1000, 2) if v is not None else None for k, v in out.items()}


def comment(summary: dict[str, Any]) -> str:
    """One line for mitmweb's flow list."""
    client, upstream = summary["client"], summary["upstream"]
    target = f"{summary['provider']}/{upstream['model']}" if upstream.get("model") else summary["provider"]
    parts = [" ".join(p for p in (client["endpoint"], client.get("model"), "→", target) if p)]
    if summary["account"]:
        attempts = len(summary["attempts"])
        parts.append(f"{summary['account']}" + (f" ({attempts} attempts)" if attempts > 1 else ""))
    parts.append(str(summary["status"]) if summary["status"] is not None else f"error: {summary['error']}")
    if summary["tokens"]:
        parts.append(f"{summary['tokens']['input']}→{summary['tokens']['output']} tok")
    added = summary["latency_ms"].get("added")
    if added is not None:
        parts.append(f"+{added:.1f} ms")
    return " · ".join(parts)

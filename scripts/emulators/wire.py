"""Small wire helpers shared by every protocol module: JSON, SSE framing, ids, usage."""

from __future__ import annotations

import json
import secrets
import string
import time
from typing import Any

from .httpserver import Response
from .script import Decision
from .script import split_text

SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}
SSE_DONE = b"data: [DONE]\n\n"

_ALNUM = string.ascii_letters + string.digits


def dumps(obj: Any) -> bytes:
    """Compact JSON, the way upstreams put it on `data:` lines."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def sse_data(obj: Any) -> bytes:
    """A `data:`-only event (OpenAI Chat Completions)."""
    return b"data: " + dumps(obj) + b"\n\n"


def sse_event(name: str, obj: Any) -> bytes:
    """An `event:` + `data:` event (Anthropic Messages, OpenAI Responses)."""
    return b"event: " + name.encode() + b"\ndata: " + dumps(obj) + b"\n\n"


def json_response(
    status: int, obj: Any, headers: dict[str, str] | None = None, pretty: bool = False
) -> Response:
    body = json.dumps(obj, ensure_ascii=False, indent=2).encode() if pretty else dumps(obj)
    return Response(status, {"content-type": "application/json", **(headers or {})}, body)


def new_id(prefix: str, length: int = 24) -> str:
    """A fresh, realistic-looking id (`chatcmpl-...`, `msg_...`, `call_...`)."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def hex_id(prefix: str, nbytes: int = 16) -> str:
    return prefix + secrets.token_hex(nbytes)


def now() -> int:
    return int(time.time())


def estimate_tokens(text: str | bytes) -> int:
    """Token estimate used for all usage numbers: never zero."""
    return len(text) // 4 + 1


def output_tokens(decision: Decision, reasoning: str = "") -> int:
    produced = decision.text if decision.text is not None else "".join(c.payload for c in decision.calls)
    return estimate_tokens(produced) + (estimate_tokens(reasoning) if reasoning else 0)


def reasoning_text(decision: Decision) -> str:
    """The short reasoning part emitted when a request asks for reasoning."""
    if decision.calls:
        names = ", ".join(c.name for c in decision.calls)
        return f"The script says to call {names}. Calling it now."
    return "The script says to answer with text. Writing the answer now."


def pieces(text: str) -> list[str]:
    return split_text(text)


def effort_requested(value: Any) -> bool:
    """True for a reasoning effort that asks for reasoning (`none`/null do not).
    Accepts a flat string or a `{effort: ...}` object (LiteLLM, OpenRouter shapes)."""
    if isinstance(value, dict):
        value = value.get("effort")
    return isinstance(value, str) and value.lower() not in ("", "none")

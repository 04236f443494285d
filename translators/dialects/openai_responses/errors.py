"""Errors in the Responses dialect.

Before the first byte: HTTP status + the Chat-style body {"error": {message, type, param, code}}
(openai-responses.md 4.5, openai-chat.md 5). In the stream: an `error` event (4.5); the stream encoder
itself reports failures it is fed as `response.failed`, which is what Codex classifies."""

from __future__ import annotations

from translators.dialects.openai_chat.errors import parse_error
from translators.dialects.openai_chat.errors import render_error
from translators.dialects.openai_responses.wire import code_for
from translators.errors import BridgeError
from translators.jsonutil import dumps
from translators.sse import encode


def render_stream_error(err: BridgeError) -> bytes:
    # Stateless: no sequence to continue, so 0 (the encoder's response.failed carries the real one).
    body = {"type": "error", "sequence_number": 0, "code": err.code or code_for(err.kind, err.message),
            "message": err.message, "param": err.param}
    return encode(dumps(body), event="error")


__all__ = ["parse_error", "render_error", "render_stream_error"]

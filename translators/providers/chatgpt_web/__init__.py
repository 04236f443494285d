"""ChatGPT web: the private backend behind chatgpt.com (chatgpt-web.md) as a provider codec.

Each conversation needs fresh sentinel tokens and a proof of work (3), and on `/f/conversation`
three prepare calls (3.7): the runtime (addons/providers/chatgpt_web.py) makes those calls with the
builders of request.py and sentinel.py, and passes the results in ctx (`sentinel`, `conduit_token`).
The backend has no client tool calling (12.8): native_tools is False and the gateway describes the
tools in the prompt (translators.transforms.prompt_tools), as chat2api does (10.3)."""

from __future__ import annotations

from typing import Any
from typing import Mapping

import orjson

from translators import ir
from translators.accumulate import decode_stream_body
from translators.accumulate import stream_or_error
from translators.errors import TranslationError
from translators.providers.base import ModuleCodec
from translators.providers.chatgpt_web import errors
from translators.providers.chatgpt_web import request
from translators.providers.chatgpt_web.request import BASE_URL
from translators.providers.chatgpt_web.stream import ChatGPTStreamDecoder

__all__ = ["BASE_URL", "CODEC", "MODELS", "check"]

# Web slugs (4 field notes), listed when the model list cannot be fetched.
MODELS = ["auto", "gpt-5", "gpt-5-thinking", "gpt-5-instant", "gpt-4o", "gpt-4o-mini", "o3"]


def parse_answer(body: bytes) -> ir.ChatResponse:
    """A 200 answer that is not text/event-stream: a `{"detail": ...}` error (9: token errors once
    came with 200), or SSE served under another content type (the backend always streams, 5)."""
    return stream_or_error(body, lambda: ChatGPTStreamDecoder(ir.ChatRequest(model="", messages=())),
                           (b"data:", b"event:"), errors.from_body, "ChatGPT")


CODEC: Any = ModuleCodec("chatgpt", False, request.build, ChatGPTStreamDecoder, parse_answer, errors.parse_error,
                         default_models=MODELS)


def decode_sse(body: bytes, req: ir.ChatRequest | None = None) -> ir.ChatResponse:
    return decode_stream_body(ChatGPTStreamDecoder(req or ir.ChatRequest(model="", messages=())), body)




def check(status: int, headers: Mapping[str, str], body: bytes, what: str) -> Any:
    """A JSON answer of a side call (sentinel, prepare, models) -> its object, or the error it is,
    named after the step that failed (chat2api: `sentinel prepare failed: status=...`, 3.2)."""
    if status >= 300:
        err = errors.parse_error(status, headers, body)
        raise TranslationError(f"{what} failed (HTTP {status}): {err.message}", kind=err.kind, code=err.code,
                               status=err.status, retry_after=err.retry_after)
    err = errors.from_body(body)
    if err is not None:
        raise TranslationError.of(err)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise TranslationError(f"ChatGPT's {what} answer is not JSON: {body[:200]!r}", kind="api_error",
                               status=502) from None

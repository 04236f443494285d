"""Qwen: the chat.qwen.ai web API v2 (qwen.md Part A) as a provider codec.

Each completion needs a chat created beforehand (A2.1): the runtime (addons/providers/qwen.py)
creates it and passes `chat_id` in ctx. The web API has no client tool calling (A4, A8), so
native_tools is False and the gateway describes tools in the prompt (translators.transforms)."""

from __future__ import annotations

from typing import Any
from typing import Mapping

from translators import ir
from translators.accumulate import stream_or_error
from translators.errors import TranslationError
from translators.jsonutil import loads
from translators.providers.base import ModuleCodec
from translators.providers.qwen import errors
from translators.providers.qwen import request
from translators.providers.qwen.request import BASE_URL
from translators.providers.qwen.stream import QwenStreamDecoder

__all__ = ["BASE_URL", "CODEC", "MODELS", "parse_models", "parse_new_chat", "parse_signin"]

# Ids seen on chat.qwen.ai over time (A6), listed when the model list cannot be fetched.
MODELS = ["qwen3-max-preview", "qwen3-235b-a22b", "qwen3-coder-plus", "qwen3-30b-a3b", "qwen-max-latest",
          "qwen-plus-2025-09-11", "qwq-32b", "qwen2.5-72b-instruct", "qwen3.5-plus"]


def parse_answer(body: bytes) -> ir.ChatResponse:
    """A 200 answer that is not text/event-stream: an error envelope or WAF page (A5), or SSE
    served under another content type (the endpoint always streams, A7.9)."""
    return stream_or_error(body, QwenStreamDecoder, (b"data:",), errors.from_body, "Qwen")


CODEC: Any = ModuleCodec("qwen", False, request.build, lambda req: QwenStreamDecoder(), parse_answer,
                         errors.parse_error, default_models=MODELS)




def check(status: int, headers: Mapping[str, str], body: bytes) -> Any:
    """A JSON answer of the API's side calls (new chat, models, sign-in) -> its object, or the error."""
    err = errors.parse_error(status, headers, body) if status >= 300 else errors.from_body(body)
    if err is not None:
        raise TranslationError.of(err)
    return loads(body, "Qwen answer")


def parse_new_chat(status: int, headers: Mapping[str, str], body: bytes) -> str:
    """`{"success": true, "data": {"id": "<chat id>"}}` (A2.1) -> the chat id."""
    obj = check(status, headers, body)
    data = obj.get("data") if isinstance(obj, dict) else None
    chat_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(chat_id, str) or not chat_id:
        raise TranslationError("Qwen did not return a chat id.", kind="api_error", status=502)
    return chat_id


def parse_models(body: bytes) -> list[str]:
    """`/api/models` (`{"data": [...]}`) or `/api/v2/models/` (`{"data": {"data": [...]}}`), A6:
    the ids of the models that can chat (chat_type t2t, when the model says)."""
    obj = loads(body, "Qwen model list")
    data = obj.get("data") if isinstance(obj, dict) else None
    if isinstance(data, dict):
        data = data.get("data")
    out = []
    for m in data if isinstance(data, list) else ():
        if not isinstance(m, dict) or not isinstance(m.get("id"), str):
            continue
        meta = (m.get("info") or {}).get("meta") if isinstance(m.get("info"), dict) else None
        types = meta.get("chat_type") if isinstance(meta, dict) else None
        if not isinstance(types, list) or "t2t" in types:
            out.append(m["id"])
    return out


def parse_signin(status: int, headers: Mapping[str, str], body: bytes) -> str:
    """The sign-in answer (A1.2) -> the JWT."""
    obj = check(status, headers, body)
    found = obj.get("token") if isinstance(obj, dict) else None
    if not isinstance(found, str) and isinstance(obj, dict) and isinstance(obj.get("data"), dict):
        found = obj["data"].get("token")
    if not isinstance(found, str) or not found:
        raise TranslationError("Qwen's sign-in answer carries no token.", kind="authentication")
    return found

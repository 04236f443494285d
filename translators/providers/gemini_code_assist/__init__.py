"""Gemini CLI's backend, Google Code Assist (`cloudcode-pa.googleapis.com/v1internal`), as a provider
codec: Gemini generateContent requests in the Code Assist envelope, native function calling.
Spec: shared/protocols/upstreams/gemini-code-assist.md and dialects/gemini.md.
The I/O half (OAuth refresh, project discovery) is addons/providers/gemini_code_assist.py."""

from __future__ import annotations

from typing import Any
from typing import Mapping

from translators import ir
from translators.providers.base import ModuleCodec
from translators.providers.gemini_code_assist import errors
from translators.providers.gemini_code_assist import request
from translators.providers.gemini_code_assist import stream

# gemini-code-assist.md 7: no model-list call; gemini-cli's static set.
MODELS = ("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-3-pro-preview",
          "gemini-3-flash-preview")


def configured_models(options: Mapping[str, Any]) -> list[str]:
    configured = options.get("models")
    return [str(m) for m in configured] if isinstance(configured, list) else list(MODELS)


_NO_REQUEST = ir.ChatRequest(model="", messages=())  # parse_response gets no request: no freeform tools known

CODEC = ModuleCodec("gemini", True, request.build, stream.GeminiStreamDecoder,
                    lambda body: stream.parse_response(_NO_REQUEST, body), errors.parse_error,
                    models_from_options=configured_models)

"""GitHub Copilot's chat backend ("CAPI", github-copilot.md) as a provider codec.

CAPI speaks three APIs: OpenAI chat completions, OpenAI Responses and Anthropic Messages, each model
listing the ones it accepts in `/models` (2). build() picks the API (models.choose_endpoint), renders
the body with that dialect's own codec and adds Copilot's edits and editor headers (request.py); the
answer is decoded by recognising the API from its first event (stream.py), so one stateless CODEC
serves every request. The runtime (addons/providers/copilot) supplies in ctx: `copilot_token`,
`api_base` (endpoints.api), `models` (id -> ModelInfo from /models), `request_id`, `interaction_id`
and the provider's options (editor_version, plugin_version, integration_id, api_version, headers,
anthropic_beta, messages_api)."""

from __future__ import annotations

from typing import Any
from typing import Mapping

from translators import ir
from translators.providers.base import ModuleCodec
from translators.providers.base import UpstreamCall
from translators.providers.copilot import auth
from translators.providers.copilot import errors
from translators.providers.copilot import models
from translators.providers.copilot import request
from translators.providers.copilot.models import MODELS
from translators.providers.copilot.models import ModelInfo
from translators.providers.copilot.models import parse_models
from translators.providers.copilot.stream import CopilotStreamDecoder
from translators.providers.copilot.stream import parse_response

__all__ = ["CODEC", "MODELS", "ModelInfo", "auth", "errors", "models", "models_call", "parse_models",
           "request"]


CODEC: Any = ModuleCodec("copilot", True, request.build, CopilotStreamDecoder, parse_response, errors.parse_error,
                         default_models=MODELS)


def models_call(ctx: Mapping[str, Any]) -> UpstreamCall:
    """`GET {base}/models` with the chat headers (7)."""
    req = ir.ChatRequest(model="", messages=())
    t = request.Target("", models.CHAT, None)
    hdrs = request.headers(ctx, req, t, ir.Ids(0))
    hdrs["accept"] = "application/json"
    return UpstreamCall(request.api_base(ctx) + "/models", b"", hdrs, method="GET", streams=False)

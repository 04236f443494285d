"""CodeGPT agents (shared/protocols/upstreams/codegpt.md): `POST /api/v1/chat/completions` for one agent.

Model routing: `codegpt/<agent id>` asks that agent; `codegpt/default` the account's `agent_id`.
No native tools (codegpt.md 8.6): the shell applies translators.transforms.prompt_tools."""

from __future__ import annotations

from typing import Any
from typing import Mapping

from translators.providers.base import ModuleCodec
from translators.providers.base import UpstreamCall
from translators.providers.codegpt import answer
from translators.providers.codegpt import request
from translators.providers.codegpt.request import DEFAULT_BASE_URL
from translators.providers.codegpt.request import DEFAULT_MODEL

__all__ = ["CODEC", "DEFAULT_BASE_URL", "DEFAULT_MODEL"]


def configured_models(options: Mapping[str, Any]) -> list[str]:
    """Without a listing: `default` when an agent is configured, and that agent's id."""
    agent = options.get("agent_id")
    return [DEFAULT_MODEL, str(agent)] if agent else []


class CodeGPTCodec(ModuleCodec):
    __slots__ = ()

    # the agent listing, for the runtime's model discovery (codegpt.md 7)
    @staticmethod
    def agents_call(ctx: Mapping[str, Any]) -> UpstreamCall:
        return request.agents_call(ctx)

    @staticmethod
    def parse_agents(body: bytes) -> list[str]:
        return request.parse_agents(body)


CODEC = CodeGPTCodec("codegpt", False, lambda req, model, ctx, ids: request.build(req, model, ctx),
                     answer.CodeGPTStreamDecoder, answer.parse_response, answer.parse_error,
                     models_from_options=configured_models)

"""CodeGPT agents (shared/protocols/upstreams/codegpt.md): `POST /api/v1/chat/completions` for one agent.

Model routing: `codegpt/<agent id>` asks that agent; `codegpt/default` the account's `agent_id`.
No native tools (codegpt.md 8.6): the shell applies translators.transforms.prompt_tools."""

from __future__ import annotations

from typing import Any
from typing import Mapping

from translators import ir
from translators.codec import StreamDecoder
from translators.errors import BridgeError
from translators.providers.base import UpstreamCall
from translators.providers.codegpt import answer
from translators.providers.codegpt import request
from translators.providers.codegpt.request import DEFAULT_BASE_URL
from translators.providers.codegpt.request import DEFAULT_MODEL

__all__ = ["CODEC", "DEFAULT_BASE_URL", "DEFAULT_MODEL"]


class CodeGPTCodec:
    name = "codegpt"
    native_tools = False

    def build(self, req: ir.ChatRequest, model: str, ctx: Mapping[str, Any], ids: ir.Ids) -> UpstreamCall:
        return request.build(req, model, ctx)

    def stream_decoder(self, req: ir.ChatRequest) -> StreamDecoder:
        return answer.CodeGPTStreamDecoder(req)

    def parse_response(self, body: bytes) -> ir.ChatResponse:
        return answer.parse_response(body)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> BridgeError:
        return answer.parse_error(status, headers, body)

    def models(self, options: Mapping[str, Any]) -> list[str]:
        """Without a listing: `default` when an agent is configured, and that agent's id."""
        agent = options.get("agent_id")
        return [DEFAULT_MODEL, str(agent)] if agent else []

    # the agent listing, for the runtime's model discovery (codegpt.md 7)
    def agents_call(self, ctx: Mapping[str, Any]) -> UpstreamCall:
        return request.agents_call(ctx)

    def parse_agents(self, body: bytes) -> list[str]:
        return request.parse_agents(body)


CODEC = CodeGPTCodec()

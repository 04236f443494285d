"""The Anthropic Messages codec object (translators/codec.py's Codec) and its count_tokens extras."""

from __future__ import annotations

from typing import Any

from translators import ir
from translators.dialects.anthropic_messages import errors
from translators.dialects.anthropic_messages import request
from translators.dialects.anthropic_messages import request_render
from translators.dialects.anthropic_messages import response
from translators.dialects.anthropic_messages import tokens
from translators.dialects.anthropic_messages.blocks import DIALECT
from translators.dialects.anthropic_messages.stream_decode import AnthropicStreamDecoder
from translators.dialects.anthropic_messages.stream_encode import AnthropicStreamEncoder
from translators.dialects.anthropic_messages.stream_encode import ping_frame
from translators.errors import BridgeError


class AnthropicMessagesCodec:
    dialect: ir.Dialect = DIALECT

    # client side
    def parse_request(self, body: dict[str, Any]) -> ir.ChatRequest:
        return request.parse_request(body)

    def render_response(self, resp: ir.ChatResponse, req: ir.ChatRequest, ids: ir.Ids) -> dict[str, Any]:
        return response.render_response(resp, req, ids)

    def stream_encoder(self, req: ir.ChatRequest, ids: ir.Ids) -> AnthropicStreamEncoder:
        return AnthropicStreamEncoder(req, ids)

    def render_error(self, err: BridgeError) -> tuple[int, dict[str, Any]]:
        return errors.render_error(err)

    def render_stream_error(self, err: BridgeError) -> bytes:
        return errors.render_stream_error(err)

    # upstream side
    def render_request(self, req: ir.ChatRequest, model: str) -> dict[str, Any]:
        return request_render.render_request(req, model)

    def parse_response(self, body: dict[str, Any]) -> ir.ChatResponse:
        return response.parse_response(body)

    def stream_decoder(self, req: ir.ChatRequest) -> AnthropicStreamDecoder:
        return AnthropicStreamDecoder(req)

    def parse_error(self, status: int, body: bytes) -> BridgeError:
        return errors.parse_error(status, body)

    # /v1/messages/count_tokens and keep-alive
    def parse_count_tokens(self, body: dict[str, Any]) -> ir.ChatRequest:
        return request.parse_count_tokens(body)

    def estimate_tokens(self, req: ir.ChatRequest) -> int:
        return tokens.estimate_tokens(req)

    def render_count_tokens(self, n: int) -> dict[str, Any]:
        return tokens.render_count_tokens(n)

    def ping_frame(self) -> bytes:
        return ping_frame()


CODEC = AnthropicMessagesCodec()

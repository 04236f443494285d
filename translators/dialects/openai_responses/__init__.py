"""OpenAI Responses API codec (`POST /v1/responses`), client and upstream side.

Spec: ../shared/protocols/dialects/openai-responses.md; cross-dialect rules: conversions.md.
Pure translation: no I/O, no clock (ids and time come from `ir.Ids`)."""

from __future__ import annotations

from typing import Any

from translators import ir
from translators.dialects.openai_responses import errors
from translators.dialects.openai_responses.decoder import ResponsesStreamDecoder
from translators.dialects.openai_responses.render import render_request
from translators.dialects.openai_responses.request import parse_request
from translators.dialects.openai_responses.response import parse_response
from translators.dialects.openai_responses.response import render_response
from translators.dialects.openai_responses.stream import ResponsesStreamEncoder
from translators.dialects.openai_responses.wire import DIALECT
from translators.errors import BridgeError

__all__ = ["CODEC", "ResponsesCodec", "ResponsesStreamDecoder", "ResponsesStreamEncoder"]


class ResponsesCodec:
    """Stateless; one module-level instance (`CODEC`)."""

    dialect: ir.Dialect = DIALECT

    def parse_request(self, body: dict[str, Any]) -> ir.ChatRequest:
        return parse_request(body)

    def render_request(self, req: ir.ChatRequest, model: str) -> dict[str, Any]:
        return render_request(req, model)

    def parse_response(self, body: dict[str, Any]) -> ir.ChatResponse:
        return parse_response(body)

    def render_response(self, resp: ir.ChatResponse, req: ir.ChatRequest, ids: ir.Ids) -> dict[str, Any]:
        return render_response(resp, req, ids)

    def stream_decoder(self, req: ir.ChatRequest) -> ResponsesStreamDecoder:
        return ResponsesStreamDecoder(req)

    def stream_encoder(self, req: ir.ChatRequest, ids: ir.Ids) -> ResponsesStreamEncoder:
        return ResponsesStreamEncoder(req, ids)

    def render_error(self, err: BridgeError) -> tuple[int, dict[str, Any]]:
        return errors.render_error(err)

    def render_stream_error(self, err: BridgeError) -> bytes:
        return errors.render_stream_error(err)

    def parse_error(self, status: int, body: bytes) -> BridgeError:
        return errors.parse_error(status, body)


CODEC = ResponsesCodec()

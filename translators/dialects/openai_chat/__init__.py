"""OpenAI Chat Completions codec (openai-chat.md)."""

from __future__ import annotations

from typing import Any

from translators import ir
from translators.dialects.openai_chat.errors import parse_error
from translators.dialects.openai_chat.errors import render_error
from translators.dialects.openai_chat.errors import render_stream_error
from translators.dialects.openai_chat.request import parse_request
from translators.dialects.openai_chat.request import render_request
from translators.dialects.openai_chat.response import parse_response
from translators.dialects.openai_chat.response import render_response
from translators.dialects.openai_chat.stream import ChatStreamDecoder
from translators.dialects.openai_chat.stream import ChatStreamEncoder


class _ChatCodec:
    dialect: ir.Dialect = "openai-chat"
    parse_request = staticmethod(parse_request)
    render_request = staticmethod(render_request)
    parse_response = staticmethod(parse_response)
    render_response = staticmethod(render_response)
    render_error = staticmethod(render_error)
    render_stream_error = staticmethod(render_stream_error)
    parse_error = staticmethod(parse_error)

    @staticmethod
    def stream_decoder(req: ir.ChatRequest) -> ChatStreamDecoder:
        return ChatStreamDecoder()

    @staticmethod
    def stream_encoder(req: ir.ChatRequest, ids: ir.Ids) -> ChatStreamEncoder:
        return ChatStreamEncoder(req, ids)


CODEC: Any = _ChatCodec()

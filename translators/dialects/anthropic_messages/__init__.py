"""Anthropic Messages (`POST /v1/messages`, `/v1/messages/count_tokens`): the codec and its extras."""

from translators.dialects.anthropic_messages.codec import CODEC
from translators.dialects.anthropic_messages.codec import AnthropicMessagesCodec
from translators.dialects.anthropic_messages.request import parse_count_tokens
from translators.dialects.anthropic_messages.stream_encode import ping_frame
from translators.dialects.anthropic_messages.tokens import estimate_tokens
from translators.dialects.anthropic_messages.tokens import render_count_tokens

__all__ = ["CODEC", "AnthropicMessagesCodec", "estimate_tokens", "parse_count_tokens", "ping_frame",
           "render_count_tokens"]

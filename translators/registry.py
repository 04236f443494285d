"""Codecs by dialect, imported on first use."""

from __future__ import annotations

import importlib
from functools import cache

from translators.codec import Codec

MODULES = {
    "openai-chat": "translators.dialects.openai_chat",
    "openai-responses": "translators.dialects.openai_responses",
    "anthropic-messages": "translators.dialects.anthropic_messages",
}


@cache
def codec(dialect: str) -> Codec:
    return importlib.import_module(MODULES[dialect]).CODEC  # type: ignore[no-any-return]

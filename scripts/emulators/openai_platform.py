"""api.openai.com as a whole: Chat Completions and Responses on one port (the `openai`
protocol), as the pass-through provider sees it."""

from __future__ import annotations

from .openai_chat import OpenAIChat
from .openai_responses import OpenAIResponses


class OpenAIPlatform(OpenAIChat, OpenAIResponses):
    # Both parents register their routes through the cooperative __init__ chain.
    name = "openai"
    garbage_event = None  # data-only garbage: the same bytes whichever endpoint was called

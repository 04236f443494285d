"""CodeGeeX (Zhipu's coding assistant, codegeex.cn): the chat backend of its IDE plugins
(shared/protocols/upstreams/codegeex.md).

Credential: the `code-token` header (the account's `api_key`), no refresh. One prompt plus paired
history per request; answers stream as `add` deltas and a `finish` event repeating the whole answer.
No native tools: the shell describes them in the prompt (translators.transforms.prompt_tools)."""

from __future__ import annotations

from typing import Any

from translators.providers.base import ModuleCodec
from translators.providers.codegeex import request
from translators.providers.codegeex import response
from translators.providers.codegeex.request import CHAT_PATH
from translators.providers.codegeex.request import DEFAULT_BASE_URL
from translators.providers.codegeex.request import MODELS_PATH

__all__ = ["CODEC", "CHAT_PATH", "DEFAULT_BASE_URL", "MODELS", "MODELS_PATH", "model_ids"]

# Section 7: `codegeex-4` (Lite) and `codegeex-chat-pro` (Pro) from the IDE client [S]; the Claude ids
# are hard-coded by two bridges [T] (availability depends on the account).
MODELS = ("codegeex-4", "codegeex-chat-pro", "claude-sonnet-4", "claude-3-7-sonnet")


def model_ids(listing: Any) -> list[str]:
    """`options[].id` of the model listing (section 7); [] for anything else."""
    options = listing.get("options") if isinstance(listing, dict) else None
    if not isinstance(options, list):
        return []
    return [o["id"] for o in options if isinstance(o, dict) and isinstance(o.get("id"), str) and o["id"]]


CODEC = ModuleCodec("codegeex", False, request.build, response.CodeGeeXStreamDecoder, response.parse_response,
                    response.parse_error, default_models=MODELS)

"""CodeGeeX (Zhipu's coding assistant, codegeex.cn): the chat backend of its IDE plugins
(shared/protocols/upstreams/codegeex.md).

Credential: the `code-token` header (the account's `api_key`), no refresh. One prompt plus paired
history per request; answers stream as `add` deltas and a `finish` event repeating the whole answer.
No native tools: the shell describes them in the prompt (translators.transforms.prompt_tools)."""

from __future__ import annotations

from typing import Any
from typing import Mapping

from translators import ir
from translators.codec import StreamDecoder
from translators.errors import BridgeError
from translators.providers.base import UpstreamCall
from translators.providers.codegeex import request
from translators.providers.codegeex import response
from translators.providers.codegeex.request import CHAT_PATH
from translators.providers.codegeex.request import DEFAULT_BASE_URL
from translators.providers.codegeex.request import MODELS_PATH

__all__ = ["CODEC", "CHAT_PATH", "DEFAULT_BASE_URL", "MODELS", "MODELS_PATH", "model_ids"]

# Section 7: `codegeex-4` (Lite) and `codegeex-chat-pro` (Pro) from the IDE client [S]; the Claude ids
# are hard-coded by two bridges [T] (availability depends on the account).
MODELS = ("codegeex-4", "codegeex-chat-pro", "claude-sonnet-4", "claude-3-7-sonnet")


class CodeGeeXCodec:
    name = "codegeex"
    native_tools = False

    def build(self, req: ir.ChatRequest, model: str, ctx: Mapping[str, Any], ids: ir.Ids) -> UpstreamCall:
        return request.build(req, model, ctx, ids)

    def stream_decoder(self, req: ir.ChatRequest) -> StreamDecoder:
        return response.CodeGeeXStreamDecoder(req)

    def parse_response(self, body: bytes) -> ir.ChatResponse:
        return response.parse_response(body)

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> BridgeError:
        return response.parse_error(status, headers, body)

    def models(self, options: Mapping[str, Any]) -> list[str]:
        return list(MODELS)


def model_ids(listing: Any) -> list[str]:
    """`options[].id` of the model listing (section 7); [] for anything else."""
    options = listing.get("options") if isinstance(listing, dict) else None
    if not isinstance(options, list):
        return []
    return [o["id"] for o in options if isinstance(o, dict) and isinstance(o.get("id"), str) and o["id"]]


CODEC = CodeGeeXCodec()

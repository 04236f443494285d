"""Wire shapes shared by the Responses request, response and stream modules (openai-responses.md).

Builders for output items and usage, stop-reason <-> status mapping, error codes, and the
`encrypted_content` envelope that carries non-OpenAI thinking signatures. Pure: no I/O."""

from __future__ import annotations

from typing import Any
from typing import Mapping

import orjson

from translators import ir
from translators.dialects.common import is_context_overflow
from translators.errors import KIND_STATUS
from translators.errors import TranslationError
from translators.jsonutil import dumps_str

DIALECT: ir.Dialect = "openai-responses"

# Bridge envelope for signatures minted by other providers (Anthropic thinking, redacted thinking).
# OpenAI's own encrypted_content is Fernet text ("gAAAA..."), so the prefix cannot collide. A Responses
# client replays it untouched and the next turn restores the signed block (LiteLLM does the same,
# openai-responses.md 2.1, conversions.md 7.2).
ENVELOPE = "llm-bridge.v1:"
OPENAI = "openai"

# ---- thinking signatures <-> encrypted_content ----


def encrypted_for(block: ir.Thinking | ir.RedactedThinking, signature: str | None = None) -> str | None:
    """The encrypted_content for a thinking block: OpenAI's own verbatim, others in the envelope."""
    if isinstance(block, ir.RedactedThinking):
        return ENVELOPE + dumps_str({"o": block.origin, "r": block.data})
    sig = signature if signature is not None else block.signature
    if not sig:
        return None
    if block.origin == OPENAI:
        return sig
    return ENVELOPE + dumps_str({"o": block.origin, "s": sig})


def decode_encrypted(enc: str | None, param: str) -> tuple[str | None, str | None, str | None]:
    """encrypted_content -> (origin, signature, redacted data)."""
    if enc is None or not enc.startswith(ENVELOPE):
        return OPENAI, enc, None
    try:
        obj = orjson.loads(enc[len(ENVELOPE):])
    except orjson.JSONDecodeError:
        raise TranslationError(f"Invalid '{param}': corrupt bridge envelope.", param=param) from None
    if not isinstance(obj, dict) or not isinstance(obj.get("o"), (str, type(None))):
        raise TranslationError(f"Invalid '{param}': corrupt bridge envelope.", param=param)
    sig, red = obj.get("s"), obj.get("r")
    return obj["o"], sig if isinstance(sig, str) else None, red if isinstance(red, str) else None


def item_meta(block: ir.Block) -> Mapping[str, Any]:
    """Item-level wire fields (id, status, ...) our parser kept on the block that opened an item."""
    meta = block.extra.get("item")
    return meta if isinstance(meta, Mapping) else ir.EMPTY


# ---- output items (openai-responses.md 3 and 4.3/4.4: key order as the real API sends them) ----


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def refusal_part(text: str) -> dict[str, Any]:
    return {"type": "refusal", "refusal": text}


def is_refusal(block: ir.Text) -> bool:
    return block.extra.get("type") == "refusal"


def message_item(item_id: str, status: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": item_id, "type": "message", "status": status, "content": content, "role": "assistant"}


def reasoning_item(item_id: str, text: str, encrypted: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {"id": item_id, "type": "reasoning",
                            "summary": [{"type": "summary_text", "text": text}] if text else []}
    if encrypted is not None:
        item["encrypted_content"] = encrypted
    return item


def call_item(item_id: str, block: ir.ToolUse, status: str, arguments: str) -> dict[str, Any]:
    if block.kind == "custom":
        return {"id": item_id, "type": "custom_tool_call", "status": status, "call_id": block.id,
                "name": block.name, "input": arguments}
    return {"id": item_id, "type": "function_call", "status": status, "arguments": arguments,
            "call_id": block.id, "name": block.name}


ID_PREFIX = {"message": "msg_", "reasoning": "rs_", "function": "fc_", "custom": "ctc_"}


def new_item_id(block: ir.Block, ids: ir.Ids) -> str:
    """A fresh item id; an OpenAI reasoning item keeps OpenAI's id, because its encrypted_content is
    bound to it ("Encrypted content item_id did not match", openai-responses.md 2.1)."""
    if isinstance(block, ir.Thinking) and block.origin == OPENAI:
        rid = item_meta(block).get("id")
        if isinstance(rid, str) and rid:
            return rid
    if isinstance(block, (ir.Thinking, ir.RedactedThinking)):
        return ids.new(ID_PREFIX["reasoning"])
    if isinstance(block, ir.ToolUse):
        return ids.new(ID_PREFIX[block.kind])
    return ids.new(ID_PREFIX["message"])


# ---- usage (openai-responses.md 3: both *_details objects always present, integers) ----


def usage_obj(u: ir.Usage) -> dict[str, Any]:
    return {"input_tokens": u.input,
            "input_tokens_details": {"cached_tokens": u.cache_read, "cache_write_tokens": u.cache_write},
            "output_tokens": u.output,
            "output_tokens_details": {"reasoning_tokens": u.reasoning},
            "total_tokens": u.input + u.output}


def parse_usage(obj: Any) -> ir.Usage | None:
    if not isinstance(obj, dict):
        return None
    ind, outd = _dict(obj.get("input_tokens_details")), _dict(obj.get("output_tokens_details"))
    return ir.Usage(input=_int(obj.get("input_tokens")), output=_int(obj.get("output_tokens")),
                    cache_read=_int(ind.get("cached_tokens")),
                    cache_write=_int(ind.get("cache_write_tokens")),
                    reasoning=_int(outd.get("reasoning_tokens")))


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _int(v: Any) -> int:
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


# ---- stop reasons <-> status (conversions.md 8) ----


def status_for(stop: ir.StopReason | None) -> tuple[str, dict[str, Any] | None]:
    if stop == "max_tokens":
        return "incomplete", {"reason": "max_output_tokens"}
    if stop in ("content_filter", "refusal"):
        return "incomplete", {"reason": "content_filter"}
    if stop == "pause_turn":
        return "incomplete", {"reason": None}
    if stop == "error":
        return "failed", None
    return "completed", None


def stop_for(status: Any, details: Any, saw_tool: bool) -> ir.StopReason:
    if status == "incomplete":
        reason = details.get("reason") if isinstance(details, dict) else None
        return "content_filter" if reason == "content_filter" else "max_tokens"
    if status in ("failed", "cancelled"):
        return "error"
    return "tool_use" if saw_tool else "end_turn"


# ---- error codes (openai-responses.md 3 `error.code`, 5.1 Codex classification) ----

RESPONSE_CODES = frozenset({"server_error", "rate_limit_exceeded", "invalid_prompt",
                            "context_length_exceeded", "insufficient_quota", "usage_not_included",
                            "vector_store_timeout"})
_CODE_FOR_KIND = {"rate_limit": "rate_limit_exceeded", "invalid_request": "invalid_prompt",
                  "request_too_large": "context_length_exceeded"}
_KIND_FOR_CODE = {"rate_limit_exceeded": "rate_limit", "insufficient_quota": "rate_limit",
                  "context_length_exceeded": "invalid_request", "invalid_prompt": "invalid_request",
                  "usage_not_included": "permission", "server_error": "api_error"}


def code_for(kind_or_code: str | None, message: str) -> str:
    """A Responses error code for a neutral kind (or an OpenAI code passed through)."""
    if is_context_overflow(message) or kind_or_code == "context_length_exceeded":
        return "context_length_exceeded"  # agents compact on exactly this code (conversions.md 12)
    if kind_or_code in RESPONSE_CODES:
        return kind_or_code
    return _CODE_FOR_KIND.get(kind_or_code or "", "server_error")


def kind_for_code(code: Any) -> str:
    kind = _KIND_FOR_CODE.get(code) if isinstance(code, str) else None
    if kind is None and isinstance(code, str) and code.startswith(("invalid_", "image_")):
        return "invalid_request"
    return kind or "api_error"


def status_for_kind(kind: str) -> int:
    return KIND_STATUS.get(kind, 500)

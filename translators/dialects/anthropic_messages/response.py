"""Non-streaming answers both ways, plus the stop-reason and usage mappings the streams share
(anthropic-messages.md 4; conversions.md 8, 9)."""

from __future__ import annotations

from typing import Any

from translators import ir
from translators.dialects.anthropic_messages.blocks import OPAQUE
from translators.dialects.anthropic_messages.blocks import encode_signature
from translators.dialects.anthropic_messages.blocks import parse_content
from translators.dialects.anthropic_messages.blocks import safe_id
from translators.dialects.anthropic_messages.blocks import tool_input
from translators.dialects.anthropic_messages.errors import KIND_OF_TYPE
from translators.dialects.common import require
from translators.dialects.common import rest
from translators.errors import TranslationError

STOP_FROM_WIRE: dict[str, ir.StopReason] = {
    "end_turn": "end_turn", "max_tokens": "max_tokens", "stop_sequence": "stop_sequence",
    "tool_use": "tool_use", "pause_turn": "pause_turn", "refusal": "refusal",
    "model_context_window_exceeded": "max_tokens",
}
_STOP_TO_WIRE = {"content_filter": "refusal", "error": "end_turn"}
_USAGE_KEYS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
_KNOWN = frozenset({"id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"})


# ---- shared mappings ----


def as_dict(v: Any) -> dict[str, Any]:
    """Lenient reading of upstream output: a missing or mistyped object reads as empty."""
    return v if isinstance(v, dict) else {}


def as_str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def stop_to_wire(reason: ir.StopReason | None, saw_tool: bool) -> str:
    """IR stop reason -> Anthropic; `tool_use` whenever a tool call was emitted (conversions.md 8)."""
    if saw_tool and reason in (None, "end_turn", "error"):
        return "tool_use"
    return _STOP_TO_WIRE.get(reason or "end_turn", reason or "end_turn")


def usage_to_wire(u: ir.Usage) -> dict[str, int]:
    """Anthropic's input_tokens excludes cached tokens (section 4; conversions.md 9)."""
    return {"input_tokens": max(u.input - u.cache_read - u.cache_write, 0),
            "cache_creation_input_tokens": u.cache_write, "cache_read_input_tokens": u.cache_read,
            "output_tokens": u.output}


def merge_wire_usage(into: dict[str, int], usage: Any) -> dict[str, int]:
    """Anthropic usage fields present in `usage` override earlier ones (streams report in parts, 5.2)."""
    if not isinstance(usage, dict):
        return into
    present = {k: v for k in _USAGE_KEYS if isinstance(v := usage.get(k), int) and not isinstance(v, bool)}
    return {**into, **present}


def usage_from_wire(raw: dict[str, int], details: Any = None) -> ir.Usage:
    cache_read = raw.get("cache_read_input_tokens", 0)
    cache_write = raw.get("cache_creation_input_tokens", 0)
    thinking = details.get("thinking_tokens") if isinstance(details, dict) else None
    return ir.Usage(input=raw.get("input_tokens", 0) + cache_read + cache_write,
                    output=raw.get("output_tokens", 0), cache_read=cache_read, cache_write=cache_write,
                    reasoning=thinking if isinstance(thinking, int) else 0)


def out_block(b: ir.Block, ids: ir.Ids) -> dict[str, Any] | None:
    """One answer block for an Anthropic client; None for what an answer cannot hold."""
    if isinstance(b, ir.Text):
        if OPAQUE in b.extra:
            return b.extra[OPAQUE]
        citations = {"citations": b.extra["citations"]} if "citations" in b.extra else {}
        return {"type": "text", "text": b.text, **citations} if b.text else None
    if isinstance(b, ir.Thinking):
        if not b.text and not b.signature:
            return None
        return {"type": "thinking", "thinking": b.text, "signature": encode_signature(b.signature, b.origin)}
    if isinstance(b, ir.RedactedThinking):
        return {"type": "redacted_thinking", "data": encode_signature(b.data, b.origin)}
    if isinstance(b, ir.ToolUse):
        return {"type": "tool_use", "id": safe_id(b.id) or ids.new("toolu_"), "name": b.name,
                "input": tool_input(b)}
    return None


def message_id(upstream_id: str | None, ids: ir.Ids) -> str:
    return upstream_id if upstream_id and upstream_id.startswith("msg_") else ids.new("msg_")


# ---- client side ----


def render_response(resp: ir.ChatResponse, req: ir.ChatRequest, ids: ir.Ids) -> dict[str, Any]:
    msg_id = message_id(resp.id, ids)
    content = [w for w in (out_block(b, ids) for b in resp.content) if w is not None]
    saw_tool = any(isinstance(b, ir.ToolUse) for b in resp.content)
    return {
        "id": msg_id, "type": "message", "role": "assistant",
        "model": req.model or resp.model, "content": content,
        "stop_reason": stop_to_wire(resp.stop_reason, saw_tool), "stop_sequence": resp.stop_sequence,
        "usage": usage_to_wire(resp.usage),
    }


# ---- upstream side ----


def parse_response(body: dict[str, Any]) -> ir.ChatResponse:
    if body.get("type") == "error":
        err = as_dict(body.get("error"))
        kind = KIND_OF_TYPE.get(str(err.get("type")), "api_error")
        raise TranslationError(str(err.get("message") or "Upstream error"), kind=kind)
    try:
        return _parse(body)
    except TranslationError as e:  # a malformed upstream answer is the upstream's fault, not the client's
        raise TranslationError(f"Malformed upstream answer: {e}", kind="api_error") from None


def _parse(body: dict[str, Any]) -> ir.ChatResponse:
    usage = as_dict(body.get("usage"))
    stop = body.get("stop_reason")
    seq = body.get("stop_sequence")
    return ir.ChatResponse(
        id=as_str(body.get("id")) or "",
        model=as_str(body.get("model")) or "",
        content=parse_content(require(body, "content", list), "content"),
        stop_reason=STOP_FROM_WIRE.get(stop, "end_turn") if isinstance(stop, str) else "end_turn",
        stop_sequence=seq if isinstance(seq, str) else None,
        usage=usage_from_wire(merge_wire_usage({}, usage), usage.get("output_tokens_details")),
        extra=rest(body, _KNOWN),
    )

"""Responses response object <-> IR ChatResponse (openai-responses.md 3).

`response_object` builds the full object the real API returns, echoing the request's parameters; the
stream encoder embeds the same object in its lifecycle events."""

from __future__ import annotations

from typing import Any

from translators import ir
from translators.dialects.common import freeform_names
from translators.dialects.common import optional
from translators.dialects.common import require
from translators.dialects.common import unwrap_freeform
from translators.dialects.openai_responses.render import render_format
from translators.dialects.openai_responses.render import render_reasoning
from translators.dialects.openai_responses.render import render_tool_choice
from translators.dialects.openai_responses.render import render_tools
from translators.dialects.openai_responses.render import system_text
from translators.dialects.openai_responses.wire import DIALECT
from translators.dialects.openai_responses.wire import call_item
from translators.dialects.openai_responses.wire import code_for
from translators.dialects.openai_responses.wire import decode_encrypted
from translators.dialects.openai_responses.wire import encrypted_for
from translators.dialects.openai_responses.wire import is_refusal
from translators.dialects.openai_responses.wire import message_item
from translators.dialects.openai_responses.wire import new_item_id
from translators.dialects.openai_responses.wire import parse_usage
from translators.dialects.openai_responses.wire import reasoning_item
from translators.dialects.openai_responses.wire import refusal_part
from translators.dialects.openai_responses.wire import status_for
from translators.dialects.openai_responses.wire import stop_for
from translators.dialects.openai_responses.wire import text_part
from translators.dialects.openai_responses.wire import usage_obj
from translators.errors import TranslationError

# Request fields without an IR slot that the real API echoes when they were sent.
_ECHO_EXTRA = ("max_tool_calls", "prompt_cache_key", "prompt_cache_retention", "safety_identifier",
               "service_tier", "top_logprobs", "conversation")

# ---- parse (upstream side) ----


def parse_response(body: dict[str, Any]) -> ir.ChatResponse:
    if not isinstance(body, dict):
        raise TranslationError("The upstream response must be a JSON object.", kind="api_error")
    error = body.get("error")
    if error and "output" not in body:  # an error object sent with status 200
        message = error.get("message") if isinstance(error, dict) else str(error)
        raise TranslationError(str(message or "The upstream reported an error."), kind="api_error", status=502)
    if body.get("status") == "failed":
        message = error.get("message") if isinstance(error, dict) else None
        raise TranslationError(str(message or "The upstream response failed."), kind="api_error", status=502)
    output = optional(body, "output", list) or []
    content = tuple(b for i, item in enumerate(output) for b in output_blocks(item, f"output[{i}]"))
    saw_tool = any(isinstance(b, ir.ToolUse) for b in content)
    return ir.ChatResponse(
        id=optional(body, "id", str) or "",
        model=optional(body, "model", str) or "",
        content=content,
        stop_reason=stop_for(body.get("status"), body.get("incomplete_details"), saw_tool),
        usage=parse_usage(body.get("usage")) or ir.Usage(),
    )


def output_blocks(item: Any, where: str) -> list[ir.Block]:
    """One output item -> IR blocks; built-in tool items (web_search_call, ...) have no IR form."""
    if not isinstance(item, dict):
        return []
    typ = item.get("type")
    if typ == "message":
        return [_part_block(p) for p in item.get("content") or () if isinstance(p, dict)
                and p.get("type") in ("output_text", "refusal")]
    if typ == "reasoning":
        return [reasoning_block(item, where)]
    if typ in ("function_call", "custom_tool_call"):
        custom = typ == "custom_tool_call"
        return [ir.ToolUse(require(item, "call_id", str, f"{where}."),
                           require(item, "name", str, f"{where}."),
                           optional(item, "input" if custom else "arguments", str, f"{where}.") or "",
                           kind="custom" if custom else "function")]
    return []


def _part_block(part: dict[str, Any]) -> ir.Text:
    if part["type"] == "refusal":
        return ir.Text(str(part.get("refusal") or ""), extra={"type": "refusal"})
    return ir.Text(str(part.get("text") or ""))


def reasoning_block(item: dict[str, Any], where: str) -> ir.Thinking | ir.RedactedThinking:
    texts = [s.get("text") for s in item.get("summary") or () if isinstance(s, dict)]
    if not any(texts):
        texts = [c.get("text") for c in item.get("content") or () if isinstance(c, dict)]
    text = "\n\n".join(t for t in texts if isinstance(t, str))
    origin, sig, redacted = decode_encrypted(optional(item, "encrypted_content", str, f"{where}."),
                                             f"{where}.encrypted_content")
    # Keep OpenAI's item id: its encrypted_content is bound to it (openai-responses.md 2.1).
    extra = {"item": {"id": item["id"]}} if isinstance(item.get("id"), str) else ir.EMPTY
    if redacted is not None:
        return ir.RedactedThinking(redacted, origin=origin, extra=extra)
    return ir.Thinking(text, signature=sig, origin=origin, extra=extra)


# ---- render (client side) ----


def render_response(resp: ir.ChatResponse, req: ir.ChatRequest, ids: ir.Ids) -> dict[str, Any]:
    status, details = status_for(resp.stop_reason)
    freeform = freeform_names(req.tools)
    output = [item for item in (output_item(b, ids, freeform) for b in resp.content) if item is not None]
    if status == "incomplete" and output and "status" in output[-1]:
        output[-1]["status"] = "incomplete"  # the item the cut-off happened in (4.5)
    error = None
    if status == "failed":
        msg = "The upstream provider failed."
        error = {"code": code_for("api_error", msg), "message": msg}
    return response_object(req, resp_id=ids.new("resp_"), created_at=ids.now(), model=resp.model or req.model,
                           status=status, output=output, usage=usage_obj(resp.usage), error=error,
                           incomplete=details)


def output_item(block: ir.Block, ids: ir.Ids,
                freeform: frozenset[str] = frozenset()) -> dict[str, Any] | None:
    if isinstance(block, ir.Text):
        part = refusal_part(block.text) if is_refusal(block) else text_part(block.text)
        return message_item(new_item_id(block, ids), "completed", [part])
    if isinstance(block, (ir.Thinking, ir.RedactedThinking)):
        text = block.text if isinstance(block, ir.Thinking) else ""
        return reasoning_item(new_item_id(block, ids), text, encrypted_for(block))
    if isinstance(block, ir.ToolUse):
        if block.kind == "function" and block.name in freeform:  # wrapped freeform call (conversions.md 3.8)
            block = ir.ToolUse(block.id, block.name, unwrap_freeform(block.arguments), "custom", block.extra)
        return call_item(new_item_id(block, ids), block, "completed", block.arguments)
    return None  # images, documents and tool results are not model output


def response_object(req: ir.ChatRequest, *, resp_id: str, created_at: int, model: str, status: str,
                    output: list[dict[str, Any]], usage: dict[str, Any] | None,
                    error: dict[str, Any] | None = None,
                    incomplete: dict[str, Any] | None = None) -> dict[str, Any]:
    """The response object with the request's parameters echoed, in the real API's key order (4.3)."""
    same = req.extra_from == DIALECT
    extra = req.extra if same else ir.EMPTY
    obj: dict[str, Any] = {
        "id": resp_id, "object": "response", "created_at": created_at, "status": status,
        "background": False, "error": error, "incomplete_details": incomplete,
        "instructions": system_text(req.system) if req.system else None,
        "max_output_tokens": req.max_output_tokens, "model": model, "output": output,
        "parallel_tool_calls": req.parallel_tool_calls if req.parallel_tool_calls is not None else True,
        "previous_response_id": req.previous_response_id,
        "reasoning": _reasoning_echo(req.reasoning, same),
        "store": extra.get("store", True) if isinstance(extra.get("store", True), bool) else True,
        "temperature": _num(req.sampling.temperature), "text": _text_echo(req, extra),
        "tool_choice": render_tool_choice(req.tool_choice, req.tools) or extra.get("tool_choice") or "auto",
        "tools": render_tools(req.tools, True), "top_p": _num(req.sampling.top_p),
        "truncation": extra.get("truncation") or "disabled", "usage": usage, "user": req.user,
        "metadata": dict(req.metadata) if req.metadata is not None else {},
    }
    for key in _ECHO_EXTRA:
        if key in extra:
            obj[key] = extra[key]
    return obj


def _num(v: float | None) -> float:
    return float(v) if v is not None else 1.0


def _reasoning_echo(r: ir.Reasoning | None, same: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"effort": None, "summary": None}
    if r is not None:
        out.update(render_reasoning(r, same))
    return out


def _text_echo(req: ir.ChatRequest, extra: Any) -> dict[str, Any]:
    fmt = render_format(req.response_format) if req.response_format is not None else {"type": "text"}
    text = extra.get("text")
    return {"format": fmt, **(text if isinstance(text, dict) else {})}

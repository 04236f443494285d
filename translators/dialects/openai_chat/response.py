"""Non-streaming Chat Completions answers: upstream body -> IR and IR -> client body."""

from __future__ import annotations

from typing import Any

from translators import ir
from translators.dialects.openai_chat.usage import FINISH_TO_STOP
from translators.dialects.openai_chat.usage import finish_reason
from translators.dialects.openai_chat.usage import parse_usage
from translators.dialects.openai_chat.usage import render_usage
from translators.errors import TranslationError


def parse_response(body: dict[str, Any]) -> ir.ChatResponse:
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise TranslationError("The upstream answer has no choices.", kind="api_error")
    choice = choices[0]
    msg = choice.get("message") or {}
    blocks: list[ir.Block] = []
    reasoning = msg.get("reasoning_content") or msg.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        blocks.append(ir.Thinking(reasoning))
    if isinstance(msg.get("content"), str) and msg["content"]:
        blocks.append(ir.Text(msg["content"]))
    if isinstance(msg.get("refusal"), str) and msg["refusal"]:
        blocks.append(ir.Text(msg["refusal"], {"refusal": True}))
    for tc in msg.get("tool_calls") or ():
        blocks.append(_tool_use(tc))
    fc = msg.get("function_call")
    if isinstance(fc, dict):
        blocks.append(ir.ToolUse(f"call_{body.get('id', 'legacy')}", fc.get("name", ""), fc.get("arguments", "")))
    stop = FINISH_TO_STOP.get(choice.get("finish_reason") or "stop", "end_turn")
    if any(isinstance(b, ir.ToolUse) for b in blocks):
        stop = "tool_use"  # OpenAI says "stop" when a named function was forced (openai-chat.md 3)
    extra = {k: body[k] for k in ("system_fingerprint", "service_tier") if body.get(k) is not None}
    return ir.ChatResponse(str(body.get("id") or ""), str(body.get("model") or ""), tuple(blocks), stop,
                           usage=parse_usage(body.get("usage")) or ir.Usage(), extra=extra)


def _tool_use(tc: dict[str, Any]) -> ir.ToolUse:
    if tc.get("type") == "custom":
        c = tc.get("custom") or {}
        return ir.ToolUse(tc.get("id", ""), c.get("name", ""), c.get("input", ""), "custom")
    f = tc.get("function") or {}
    return ir.ToolUse(tc.get("id", ""), f.get("name", ""), f.get("arguments") or "")


def chat_id(resp_id: str, ids: ir.Ids) -> str:
    return resp_id if resp_id.startswith("chatcmpl") else ids.new("chatcmpl-")


def render_response(resp: ir.ChatResponse, req: ir.ChatRequest, ids: ir.Ids) -> dict[str, Any]:
    legacy = bool(req.extra.get("_legacy_functions"))
    text = "".join(b.text for b in resp.content if isinstance(b, ir.Text) and not b.extra.get("refusal"))
    refusal = "".join(b.text for b in resp.content if isinstance(b, ir.Text) and b.extra.get("refusal"))
    calls = [b for b in resp.content if isinstance(b, ir.ToolUse)]
    message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None,
                               "refusal": refusal or None, "annotations": []}
    thinking = "".join(b.text for b in resp.content if isinstance(b, ir.Thinking))
    if thinking:
        message["reasoning_content"] = thinking
    if calls and legacy:
        message["function_call"] = {"name": calls[0].name, "arguments": calls[0].arguments}
    elif calls:
        message["tool_calls"] = [_render_call(c) for c in calls]
    out: dict[str, Any] = {
        "id": chat_id(resp.id, ids),
        "object": "chat.completion",
        "created": ids.now(),
        "model": req.model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": finish_reason(resp.stop_reason if not calls else "tool_use", legacy)}],
        "usage": render_usage(resp.usage),
    }
    out.update(resp.extra if isinstance(resp.extra, dict) else {})
    return out


def _render_call(c: ir.ToolUse) -> dict[str, Any]:
    if c.kind == "custom":
        return {"id": c.id, "type": "custom", "custom": {"name": c.name, "input": c.arguments}}
    return {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments or "{}"}}

"""IR conversation -> Gemini `contents` + `systemInstruction` (gemini-code-assist.md 3, 8, 9).

- system/developer messages, wherever they are, join `systemInstruction` (8.9);
- tool results become `functionResponse` parts named after their call, found by id in the
  history (Gemini matches by name, 8.4), with `{"output": text}` / `{"error": text}` as gemini-cli
  sends them (3, notes);
- thought text is not replayed (8.7), but Gemini signatures are: a call's rides in its id
  (callids.py), a signature from a thinking block goes on the next part of the turn;
- the first functionCall of each model turn in the current tool loop must carry a signature
  (8.6): when the history lost it (another provider, a client that drops it) the documented
  sentinel stands in;
- consecutive turns of one role are merged, and the conversation starts and ends with a user turn
  (8.10)."""

from __future__ import annotations

from typing import Any
from typing import Iterable

import orjson

from translators import ir
from translators.dialects.common import FREEFORM_KEY
from translators.dialects.common import sniff_image_type
from translators.errors import TranslationError
from translators.providers.gemini_code_assist.callids import split_call_id

ORIGIN = "gemini"  # ir.Thinking.origin of signatures this provider issued
SKIP_SIGNATURE = "skip_thought_signature_validator"  # gemini.md 5: accepted in place of a lost signature
CONTINUE_TEXT = "Continue."  # the user turn added where Gemini needs one (8.10)

Part = dict[str, Any]
Content = dict[str, Any]


def system_instruction(req: ir.ChatRequest) -> Content | None:
    texts = [b.text for b in req.system if isinstance(b, ir.Text) and b.text]
    for m in req.messages:
        if m.role in ("system", "developer"):
            texts += [b.text for b in m.content if isinstance(b, ir.Text) and b.text]
    return {"role": "user", "parts": [{"text": "\n\n".join(texts)}]} if texts else None


def contents(req: ir.ChatRequest) -> list[Content]:
    names = {b.id: b.name for m in req.messages if m.role == "assistant" for b in m.content
             if isinstance(b, ir.ToolUse)}
    out: list[Content] = []
    for m in req.messages:
        if m.role in ("system", "developer"):
            continue
        role = "model" if m.role == "assistant" else "user"
        parts = model_parts(m.content) if role == "model" else user_parts(m.content, names)
        if not parts:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["parts"] += parts
        else:
            out.append({"role": role, "parts": parts})
    if not out or out[0]["role"] != "user":
        out.insert(0, {"role": "user", "parts": [{"text": CONTINUE_TEXT}]})
    if out[-1]["role"] != "user":
        out.append({"role": "user", "parts": [{"text": CONTINUE_TEXT}]})
    _sign_current_loop(out)
    return out


def model_parts(blocks: Iterable[ir.Block]) -> list[Part]:
    parts: list[Part] = []
    pending: str | None = None  # a Gemini signature from a thinking block, for the next part
    for b in blocks:
        part: Part | None = None
        if isinstance(b, ir.Thinking):
            if b.origin == ORIGIN and b.signature:
                if pending:
                    parts.append({"text": "", "thoughtSignature": pending})
                pending = b.signature
            continue
        if isinstance(b, ir.Text) and b.text:
            part = {"text": b.text}
        elif isinstance(b, ir.ToolUse):
            part = function_call(b)
        if part is None:
            continue
        if pending and "thoughtSignature" not in part:
            part["thoughtSignature"] = pending
        elif pending:
            parts.append({"text": "", "thoughtSignature": pending})
        pending = None
        parts.append(part)
    if pending:
        parts.append({"text": "", "thoughtSignature": pending})
    return parts


def function_call(b: ir.ToolUse) -> Part:
    gemini_id, signature = split_call_id(b.id)
    call: dict[str, Any] = {"name": b.name, "args": call_args(b)}
    if gemini_id:
        call = {"id": gemini_id, **call}
    part: Part = {"functionCall": call}
    if signature:
        part["thoughtSignature"] = signature
    return part


def call_args(b: ir.ToolUse) -> dict[str, Any]:
    """`args` must be an object: a freeform call's raw input and unparsable JSON are wrapped."""
    if b.kind == "custom":
        return {FREEFORM_KEY: b.arguments}
    try:
        args = orjson.loads(b.arguments or "{}")
    except orjson.JSONDecodeError:
        return {FREEFORM_KEY: b.arguments}
    return args if isinstance(args, dict) else {FREEFORM_KEY: args}


def user_parts(blocks: Iterable[ir.Block], names: dict[str, str]) -> list[Part]:
    parts: list[Part] = []
    for b in blocks:
        if isinstance(b, ir.ToolResult):
            parts += function_response(b, names)
        else:
            parts += media_parts(b)
    return parts


def function_response(b: ir.ToolResult, names: dict[str, str]) -> list[Part]:
    name = b.name or names.get(b.tool_use_id)
    if not name:
        raise TranslationError(f"Tool result for unknown tool call id '{b.tool_use_id}': the assistant turn "
                               "with that call must be in the history.", param="messages")
    text = "\n".join(x.text for x in b.content if isinstance(x, ir.Text))
    resp: dict[str, Any] = {"name": name, "response": {"error" if b.is_error else "output": text}}
    gemini_id, _ = split_call_id(b.tool_use_id)
    if gemini_id:
        resp = {"id": gemini_id, **resp}
    extra = [p for x in b.content if not isinstance(x, ir.Text) for p in media_parts(x)]
    return [{"functionResponse": resp}, *extra]


def media_parts(b: ir.Block) -> list[Part]:
    """User content. Remote URLs are named in text: Code Assist cannot fetch them (9, request table)."""
    if isinstance(b, ir.Text):
        return [{"text": b.text}] if b.text else []
    if isinstance(b, ir.Image):
        if b.data is not None:
            mime = b.media_type or sniff_image_type(b.data) or "image/png"
            return [{"inlineData": {"mimeType": mime, "data": b.data}}]
        return [{"text": f"[image: {b.url}]"}] if b.url else []
    if isinstance(b, ir.Document):
        if b.data is not None:
            return [{"inlineData": {"mimeType": b.media_type or "application/pdf", "data": b.data}}]
        if b.text is not None:
            return [{"text": b.text}]
        ref = b.url or b.file_id
        return [{"text": f"[file: {b.filename or ref}]"}] if ref else []
    if isinstance(b, ir.Audio):
        return [{"inlineData": {"mimeType": f"audio/{b.format}", "data": b.data}}]
    return []


def _sign_current_loop(out: list[Content]) -> None:
    """Model turns since the last real user message (the current tool loop) must sign their first call."""
    for content in reversed(out):
        if content["role"] == "user":
            if not any("functionResponse" in p for p in content["parts"]):
                return
            continue
        first = next((p for p in content["parts"] if "functionCall" in p), None)
        if first is not None and not first.get("thoughtSignature"):
            first["thoughtSignature"] = SKIP_SIGNATURE

"""Responses `input` items -> IR messages (openai-responses.md 2.1, conversions.md 3).

Grouping: consecutive model-side items (assistant message, reasoning, function_call, custom_tool_call)
become ONE assistant message; consecutive tool outputs become one user message of ToolResult blocks;
every user/system/developer message item is its own message.
Item-level wire fields (id, status, ...) are kept so a Responses upstream gets them back: in
`Message.extra` for user/system/developer items, in `extra["item"]` of the block that opened the item
otherwise. Items the IR cannot express (item_reference, web_search_call, ...) ride along in the
`_before` list of the next item (or `ChatRequest.extra["_after"]` at the end)."""

from __future__ import annotations

from typing import Any

from translators import ir
from translators.dialects.common import image_from_url
from translators.dialects.common import optional
from translators.dialects.common import parse_data_url
from translators.dialects.common import require
from translators.dialects.common import rest
from translators.dialects.openai_responses.wire import decode_encrypted
from translators.errors import TranslationError

ROLES = ("user", "assistant", "system", "developer")
_MODEL_SIDE = frozenset({"reasoning", "function_call", "custom_tool_call"})
_OUTPUTS = {"function_call_output": "function", "custom_tool_call_output": "custom"}
# The part type a role uses by default; any other part type is remembered in Text.extra["type"].
_DEFAULT_TEXT_PART = {"assistant": "output_text"}


class _Builder:
    def __init__(self) -> None:
        self.messages: list[ir.Message] = []
        self.group: str | None = None  # "assistant" | "tool" while merging model-side items / outputs
        self.blocks: list[ir.Block] = []
        self.pending: list[Any] = []  # unknown items waiting for the next item
        self.calls: dict[str, str] = {}  # call_id -> tool name, to name ToolResults (Gemini needs it)

    def close(self) -> None:
        if self.group is not None and self.blocks:
            self.messages.append(ir.Message("assistant" if self.group == "assistant" else "user",
                                            tuple(self.blocks)))
        self.group, self.blocks = None, []

    def add(self, group: str, block: ir.Block) -> None:
        if self.group != group:
            self.close()
            self.group = group
        self.blocks.append(block)

    def meta(self, item: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
        """The item's leftover wire fields, plus the unknown items that preceded it."""
        meta = rest(item, known)
        if self.pending:
            meta["_before"], self.pending = self.pending, []
        return meta


def parse_input(value: Any) -> tuple[tuple[ir.Message, ...], list[Any]]:
    """`input` -> (messages, unknown items left at the end)."""
    if value is None:
        return (), []
    if isinstance(value, str):
        return (ir.Message("user", (ir.Text(value),)),), []
    if not isinstance(value, list):
        raise TranslationError("Invalid type for 'input': expected a string or an array.", param="input")
    b = _Builder()
    for i, item in enumerate(value):
        _item(b, item, f"input[{i}]")
    b.close()
    return tuple(b.messages), b.pending


def _item(b: _Builder, item: Any, where: str) -> None:
    if not isinstance(item, dict):
        raise TranslationError(f"Invalid type for '{where}': expected an object.", param=where)
    typ = optional(item, "type", str, f"{where}.")
    if typ is None and "role" in item:
        typ = "message"  # the "easy" message form omits `type` (2.1)
    if typ == "message":
        _message(b, item, where)
    elif typ in _MODEL_SIDE:
        b.add("assistant", _reasoning(b, item, where) if typ == "reasoning" else _call(b, item, typ, where))
    elif typ in _OUTPUTS:
        b.add("tool", _output(b, item, _OUTPUTS[typ], where))
    else:
        b.pending.append(item)  # item_reference, built-in tool calls, compaction...: same-dialect only


def _message(b: _Builder, item: dict[str, Any], where: str) -> None:
    role = require(item, "role", str, f"{where}.")
    if role not in ROLES:
        raise TranslationError(f"Invalid value for '{where}.role': {role!r}.", param=f"{where}.role")
    blocks = content_blocks(item.get("content"), role, f"{where}.content")
    known = frozenset({"type", "role", "content"})
    if role != "assistant":
        b.close()
        b.messages.append(ir.Message(role, blocks, extra=b.meta(item, known)))
        return
    if not blocks:
        return  # nothing to say; pending unknown items stay queued for the next item
    # The first part carries the item's own fields: they also mark where the item starts.
    first = blocks[0]
    assert isinstance(first, ir.Text)  # assistant content parses to text parts only
    b.add("assistant", ir.Text(first.text, extra={**first.extra, "item": b.meta(item, known)}))
    for blk in blocks[1:]:
        b.add("assistant", blk)


def content_blocks(content: Any, role: str, where: str) -> tuple[ir.Block, ...]:
    if isinstance(content, str):
        return (ir.Text(content),)
    if content is None:
        raise _missing(where)
    if not isinstance(content, list):
        raise TranslationError(f"Invalid type for '{where}'.", param=where)
    return tuple(_part(p, role, f"{where}[{j}]") for j, p in enumerate(content))


def _part(part: Any, role: str, where: str) -> ir.Block:
    if not isinstance(part, dict):
        raise TranslationError(f"Invalid type for '{where}': expected an object.", param=where)
    typ = require(part, "type", str, f"{where}.")
    if typ in ("input_text", "output_text", "refusal"):
        key = "refusal" if typ == "refusal" else "text"
        extra = rest(part, frozenset({"type", key}))
        if typ != _DEFAULT_TEXT_PART.get(role, "input_text"):
            extra["type"] = typ
        return ir.Text(require(part, key, str, f"{where}."), extra=extra)
    if role == "assistant":  # model output replayed: text or refusal only (2.1)
        raise TranslationError(f"Unsupported content part type {typ!r} in an assistant message.",
                               param=f"{where}.type")
    if typ == "input_image":
        return _image(part, where)
    if typ == "input_file":
        return _file(part, where)
    if typ == "input_audio":
        audio = require(part, "input_audio", dict, f"{where}.")
        return ir.Audio(require(audio, "data", str, f"{where}.input_audio."),
                        require(audio, "format", str, f"{where}.input_audio."))
    raise TranslationError(f"Unsupported content part type {typ!r}.", param=f"{where}.type")


def _image(part: dict[str, Any], where: str) -> ir.Image:
    detail = optional(part, "detail", str, f"{where}.")
    url = optional(part, "image_url", str, f"{where}.")
    extra = rest(part, frozenset({"type", "image_url", "detail"}))
    if url is not None:
        img = image_from_url(url, detail)
        return ir.Image(img.media_type, img.data, img.url, detail, extra)
    if optional(part, "file_id", str, f"{where}.") is None:
        raise _missing(f"{where}.image_url")
    return ir.Image(detail=detail, extra=extra)  # file_id stays in extra: only OpenAI can resolve it


def _file(part: dict[str, Any], where: str) -> ir.Document:
    data = optional(part, "file_data", str, f"{where}.")
    parsed = parse_data_url(data) if data is not None else None
    media_type, payload = parsed if parsed else (None, data)
    doc = ir.Document(media_type=media_type, data=payload, url=optional(part, "file_url", str, f"{where}."),
                      file_id=optional(part, "file_id", str, f"{where}."),
                      filename=optional(part, "filename", str, f"{where}."),
                      extra=rest(part, frozenset({"type", "file_data", "file_url", "file_id", "filename"})))
    if doc.data is None and doc.url is None and doc.file_id is None:
        raise _missing(f"{where}.file_data")
    return doc


def _reasoning(b: _Builder, item: dict[str, Any], where: str) -> ir.Thinking | ir.RedactedThinking:
    summary = optional(item, "summary", list, f"{where}.") or []
    texts = [_summary_text(s, f"{where}.summary[{k}]") for k, s in enumerate(summary)]
    raw = [str(c["text"]) for c in optional(item, "content", list, f"{where}.") or ()
           if isinstance(c, dict) and isinstance(c.get("text"), str)]
    text = "\n\n".join(texts) if texts else "\n\n".join(raw)  # raw CoT only when there is no summary
    enc = optional(item, "encrypted_content", str, f"{where}.")
    origin, sig, redacted = decode_encrypted(enc, f"{where}.encrypted_content")
    meta = b.meta(item, frozenset({"type", "summary", "encrypted_content"}))
    if summary != ([{"type": "summary_text", "text": text}] if text else []):
        meta["summary"] = summary  # not rebuildable from the joined text: keep it verbatim
    extra = {"item": meta} if meta else ir.EMPTY
    if redacted is not None:
        return ir.RedactedThinking(redacted, origin=origin, extra=extra)
    return ir.Thinking(text, signature=sig, origin=origin, extra=extra)


def _summary_text(s: Any, where: str) -> str:
    if not isinstance(s, dict):
        raise TranslationError(f"Invalid type for '{where}': expected an object.", param=where)
    return require(s, "text", str, f"{where}.")


def _call(b: _Builder, item: dict[str, Any], typ: str, where: str) -> ir.ToolUse:
    call_id = require(item, "call_id", str, f"{where}.")
    name = require(item, "name", str, f"{where}.")
    custom = typ == "custom_tool_call"
    args = require(item, "input" if custom else "arguments", str, f"{where}.")
    b.calls[call_id] = name
    meta = b.meta(item, frozenset({"type", "call_id", "name", "input" if custom else "arguments"}))
    return ir.ToolUse(call_id, name, args, kind="custom" if custom else "function",
                      extra={"item": meta} if meta else ir.EMPTY)


def _output(b: _Builder, item: dict[str, Any], kind: str, where: str) -> ir.ToolResult:
    call_id = require(item, "call_id", str, f"{where}.")
    out = item.get("output")
    if isinstance(out, str):
        content: tuple[ir.Block, ...] = (ir.Text(out),) if out else ()
    else:
        content = content_blocks(out, "user", f"{where}.output")
    meta = b.meta(item, frozenset({"type", "call_id", "output"}))
    return ir.ToolResult(call_id, content, name=b.calls.get(call_id),
                         kind="custom" if kind == "custom" else "function",
                         extra={"item": meta} if meta else ir.EMPTY)


def _missing(param: str) -> TranslationError:
    return TranslationError(f"Missing required parameter: '{param}'.", param=param)

"""IR ChatRequest -> Responses request body, for a Responses-speaking upstream (OpenAI /v1/responses).

Wire fields kept in `extra` are sent back only when the request came from a Responses client
(`extra_from`); a foreign request gets exactly what the IR carries."""

from __future__ import annotations

from typing import Any
from typing import Iterable

from translators import ir
from translators.dialects.common import budget_to_effort
from translators.dialects.common import builtin_tool_type
from translators.dialects.common import data_url
from translators.dialects.common import image_url
from translators.dialects.openai_responses.wire import DIALECT
from translators.dialects.openai_responses.wire import OPENAI
from translators.dialects.openai_responses.wire import item_meta

MIN_OUTPUT_TOKENS = 16  # OpenAI rejects a smaller max_output_tokens (openai-responses.md 2)
ENCRYPTED = "reasoning.encrypted_content"


def render_request(req: ir.ChatRequest, model: str) -> dict[str, Any]:
    same = req.extra_from == DIALECT
    stored = _stored(req, same)
    body: dict[str, Any] = {"model": model}
    if req.system:
        body["instructions"] = system_text(req.system)
    after = list(req.extra.get("_after", ())) if same else []  # unknown items that ended the input
    body["input"] = render_input(req.messages, same, stored) + after
    tools = render_tools(req.tools, same)
    if tools:
        body["tools"] = tools
    choice = render_tool_choice(req.tool_choice, req.tools)
    if choice is not None:
        body["tool_choice"] = choice
    _optional(body, req)
    text = render_text(req, same)
    if text:
        body["text"] = text
    if not stored:
        body["store"] = False
    if wants_reasoning(req.reasoning):  # signatures round-trip through the client (conversions.md 7.1)
        body["include"] = _include(req.extra.get("include") if same else None)
    body["stream"] = req.stream
    if same:
        for key, val in req.extra.items():
            if key not in body and not key.startswith("_"):
                body[key] = val
    return body


def _stored(req: ir.ChatRequest, same: bool) -> bool:
    """Whether OpenAI is to keep the response: a Responses client's explicit choice; otherwise not when
    reasoning must be replayable without server state (openai-responses.md 5.1, conversions.md 7.1),
    nor for a foreign client, which never asked OpenAI to keep its data."""
    store = req.extra.get("store") if same else None
    if isinstance(store, bool):
        return store
    return same and not wants_reasoning(req.reasoning)


def _optional(body: dict[str, Any], req: ir.ChatRequest) -> None:
    if req.parallel_tool_calls is not None:
        body["parallel_tool_calls"] = req.parallel_tool_calls
    if req.max_output_tokens is not None:
        body["max_output_tokens"] = max(req.max_output_tokens, MIN_OUTPUT_TOKENS)
    if req.sampling.temperature is not None:
        body["temperature"] = req.sampling.temperature
    if req.sampling.top_p is not None:
        body["top_p"] = req.sampling.top_p
    if req.reasoning is not None:
        body["reasoning"] = render_reasoning(req.reasoning, req.extra_from == DIALECT)
    if req.metadata is not None and all(isinstance(v, str) for v in req.metadata.values()):
        body["metadata"] = dict(req.metadata)  # Responses metadata is a string map
    if req.user is not None:
        body["user"] = req.user
    if req.previous_response_id is not None:
        body["previous_response_id"] = req.previous_response_id


def _include(client: Any) -> list[Any]:
    inc = list(client) if isinstance(client, list) else []
    return inc if ENCRYPTED in inc else inc + [ENCRYPTED]


def system_text(blocks: Iterable[ir.Block]) -> str:
    return "\n\n".join(b.text for b in blocks if isinstance(b, ir.Text))


def wants_reasoning(r: ir.Reasoning | None) -> bool:
    return r is not None and r.mode != "disabled" and r.effort != "none"


# ---- messages -> input items ----


def render_input(messages: Iterable[ir.Message], same: bool, stored: bool = False) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for msg in messages:
        if msg.role == "assistant":
            _assistant(items, msg, same, stored)
        else:
            _user_side(items, msg, same)
    return items


def _meta(items: list[dict[str, Any]], meta: Any, same: bool) -> dict[str, Any]:
    """Item-level fields to merge into the next item; emits the unknown items that preceded it."""
    if not same or not meta:
        return {}
    meta = dict(meta)
    items.extend(meta.pop("_before", ()))
    return meta


def _user_side(items: list[dict[str, Any]], msg: ir.Message, same: bool) -> None:
    parts: list[dict[str, Any]] = []
    meta = _meta(items, msg.extra, same)
    for blk in msg.content:
        if isinstance(blk, ir.ToolResult):
            _flush_parts(items, msg.role, parts, meta)
            parts, meta = [], {}
            items.append(_tool_output(items, blk, same))
        else:
            part = input_part(blk, same)
            if part is not None:
                parts.append(part)
    _flush_parts(items, msg.role, parts, meta)


def _flush_parts(items: list[dict[str, Any]], role: str, parts: list[dict[str, Any]],
                 meta: dict[str, Any]) -> None:
    if parts:
        items.append({"type": "message", "role": role, "content": parts, **meta})


def input_part(blk: ir.Block, same: bool) -> dict[str, Any] | None:
    extra = dict(blk.extra) if same else {}
    if isinstance(blk, ir.Text):
        typ = extra.pop("type", "input_text")
        return {"type": typ, ("refusal" if typ == "refusal" else "text"): blk.text, **extra}
    if isinstance(blk, ir.Image):
        return _image_part(blk, extra)
    if isinstance(blk, ir.Document):
        return _file_part(blk, extra)
    if isinstance(blk, ir.Audio):
        return {"type": "input_audio", "input_audio": {"data": blk.data, "format": blk.format}}
    return None  # thinking and tool calls have no place in user content


def _image_part(img: ir.Image, extra: dict[str, Any]) -> dict[str, Any] | None:
    part: dict[str, Any] = {"type": "input_image"}
    if img.data is not None or img.url is not None:
        part["image_url"] = image_url(img)
    elif "file_id" not in extra:
        return None
    if img.detail is not None:
        part["detail"] = img.detail
    return {**part, **extra}


def _file_part(doc: ir.Document, extra: dict[str, Any]) -> dict[str, Any] | None:
    if doc.data is None and doc.url is None and doc.file_id is None:
        return {"type": "input_text", "text": doc.text} if doc.text is not None else None
    part: dict[str, Any] = {"type": "input_file"}
    if doc.data is not None:
        part["file_data"] = data_url(doc.media_type, doc.data) if doc.media_type else doc.data
    if doc.url is not None:
        part["file_url"] = doc.url
    if doc.file_id is not None:
        part["file_id"] = doc.file_id
    if doc.filename is not None:
        part["filename"] = doc.filename
    return {**part, **extra}


def _tool_output(items: list[dict[str, Any]], res: ir.ToolResult, same: bool) -> dict[str, Any]:
    meta = _meta(items, item_meta(res), same)
    typ = "custom_tool_call_output" if res.kind == "custom" else "function_call_output"
    return {"type": typ, "call_id": res.tool_use_id, "output": _output_value(res.content, same), **meta}


def _output_value(content: tuple[ir.Block, ...], same: bool) -> str | list[dict[str, Any]]:
    if not content:
        return ""
    if len(content) == 1 and isinstance(content[0], ir.Text) and not (same and content[0].extra):
        return content[0].text
    return [p for p in (input_part(b, same) for b in content) if p is not None]


def _assistant(items: list[dict[str, Any]], msg: ir.Message, same: bool, stored: bool) -> None:
    message: dict[str, Any] | None = None  # the assistant message item text parts are appended to
    for blk in msg.content:
        if isinstance(blk, ir.Text):
            message = _assistant_text(items, message, blk, same)
            continue
        message = None
        if isinstance(blk, ir.Thinking) and _replayable(blk, same and stored):
            items.append(_reasoning_input(items, blk, same))
        elif isinstance(blk, ir.ToolUse):
            items.append(_call_input(items, blk, same))


def _assistant_text(items: list[dict[str, Any]], message: dict[str, Any] | None, blk: ir.Text,
                    same: bool) -> dict[str, Any] | None:
    extra = dict(blk.extra) if same else {}
    starts_item = "item" in extra
    meta = _meta(items, extra.pop("item", None), same)
    if not blk.text and not same:
        return message  # never send empty text parts (conversions.md 13.4)
    typ = extra.pop("type", "output_text")
    part = {"type": typ, "refusal": blk.text} if typ == "refusal" else {"type": typ, "text": blk.text}
    if typ == "output_text" and not same:
        part["annotations"] = []
    part.update(extra)
    if message is None or starts_item:
        message = {"type": "message", "role": "assistant", "content": [], **meta}
        items.append(message)
    message["content"].append(part)
    return message


def _replayable(blk: ir.Thinking, by_id: bool) -> bool:
    """Only OpenAI's own reasoning can go back to OpenAI (others' signatures are invalid there), and
    without encrypted_content only by id into a stored conversation."""
    return blk.origin == OPENAI and (blk.signature is not None or by_id)


def _reasoning_input(items: list[dict[str, Any]], blk: ir.Thinking, same: bool) -> dict[str, Any]:
    # The item id goes back only from a Responses client: it is then OpenAI's own id (our encoder
    # reuses it), and a different id would break encrypted_content (openai-responses.md 2.1).
    meta = _meta(items, item_meta(blk), same)
    item: dict[str, Any] = {"type": "reasoning",
                            "summary": [{"type": "summary_text", "text": blk.text}] if blk.text else []}
    if blk.signature is not None:
        item["encrypted_content"] = blk.signature
    item.update(meta)
    return item


def _call_input(items: list[dict[str, Any]], blk: ir.ToolUse, same: bool) -> dict[str, Any]:
    meta = _meta(items, item_meta(blk), same)
    if blk.kind == "custom":
        return {"type": "custom_tool_call", "call_id": blk.id, "name": blk.name, "input": blk.arguments,
                **meta}
    return {"type": "function_call", "call_id": blk.id, "name": blk.name, "arguments": blk.arguments, **meta}


# ---- tools, tool_choice, reasoning, text (also echoed in the response object) ----


def render_tools(tools: Iterable[ir.Tool], same: bool) -> list[dict[str, Any]]:
    return [t for t in (render_tool(tool, same) for tool in tools) if t is not None]


def render_tool(tool: ir.Tool, same: bool) -> dict[str, Any] | None:
    if builtin_tool_type(tool) is not None:
        return dict(tool.extra) if same else None  # built-in tools of another dialect cannot run here
    out: dict[str, Any] = {"type": tool.kind, "name": tool.name}
    if tool.description is not None:
        out["description"] = tool.description
    if tool.kind == "custom":
        if tool.format is not None:
            out["format"] = dict(tool.format)
    else:
        out["parameters"] = dict(tool.parameters) if tool.parameters is not None else \
            {"type": "object", "properties": {}}
        # Responses defaults to strict; lenient unless asked (conversions.md 4).
        out["strict"] = tool.strict if tool.strict is not None else False
    if same:
        out.update(tool.extra)
    return out


def render_tool_choice(tc: ir.ToolChoice | None, tools: Iterable[ir.Tool]) -> str | dict[str, Any] | None:
    if tc is None:
        return None
    by_name = {t.name: t for t in tools}
    if tc.allowed is not None:
        mode = tc.mode if tc.mode in ("auto", "required") else "auto"
        return {"type": "allowed_tools", "mode": mode, "tools": [_tool_ref(n, by_name) for n in tc.allowed]}
    if tc.mode == "tool":
        return _tool_ref(tc.name or "", by_name)
    return tc.mode


def _tool_ref(name: str, by_name: dict[str, ir.Tool]) -> dict[str, Any]:
    tool = by_name.get(name)
    builtin = builtin_tool_type(tool) if tool is not None else None
    if builtin is not None:
        return {"type": builtin}
    return {"type": tool.kind if tool is not None else "function", "name": name}


def render_reasoning(r: ir.Reasoning, same: bool) -> dict[str, Any]:
    effort = r.effort
    if effort is None and r.mode == "disabled":
        effort = "none"
    elif effort is None and r.budget is not None:
        effort = budget_to_effort(r.budget)
    out: dict[str, Any] = {}
    if effort is not None:
        out["effort"] = effort
    # Foreign clients want to see the reasoning: ask for summaries (conversions.md 7.1).
    summary = r.summary or (None if same or effort == "none" else "auto")
    if summary is not None:
        out["summary"] = summary
    if same:
        out.update(r.extra)
    return out


def render_format(rf: ir.ResponseFormat) -> dict[str, Any]:
    if rf.type != "json_schema":
        return {"type": rf.type}
    out: dict[str, Any] = {"type": "json_schema", "name": rf.name or "response",
                           "schema": dict(rf.schema) if rf.schema is not None else {}}
    if rf.strict is not None:
        out["strict"] = rf.strict
    if rf.description is not None:
        out["description"] = rf.description
    return out


def render_text(req: ir.ChatRequest, same: bool) -> dict[str, Any]:
    text = req.extra.get("text") if same else None
    out: dict[str, Any] = dict(text) if isinstance(text, dict) else {}
    if req.response_format is not None:
        out["format"] = render_format(req.response_format)
    return out

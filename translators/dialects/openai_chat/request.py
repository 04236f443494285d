"""Chat Completions requests: client body -> IR (parse) and IR -> upstream body (render).

Legacy `functions`/`function_call` are lifted to tools; `_legacy_functions` in extra tells the
response side to answer in the legacy shape again (openai-chat.md 2.3)."""

from __future__ import annotations

from typing import Any

from translators import ir
from translators.dialects.common import budget_to_effort
from translators.dialects.common import image_from_url
from translators.dialects.common import image_url
from translators.dialects.common import join_text
from translators.dialects.common import optional
from translators.dialects.common import parse_data_url
from translators.dialects.common import require
from translators.dialects.common import rest
from translators.errors import TranslationError
from translators.jsonutil import dumps_str

DIALECT: ir.Dialect = "openai-chat"

KNOWN = frozenset({
    "model", "messages", "tools", "tool_choice", "functions", "function_call", "parallel_tool_calls",
    "max_tokens", "max_completion_tokens", "temperature", "top_p", "presence_penalty", "frequency_penalty",
    "seed", "stop", "n", "stream", "stream_options", "reasoning_effort", "reasoning", "response_format",
    "metadata", "user",
})
MESSAGE_KNOWN = frozenset({
    "role", "content", "name", "tool_calls", "function_call", "tool_call_id", "reasoning_content",
    "reasoning", "thinking_blocks", "refusal",
})
TEXT_PART_TYPES = ("text", "input_text", "output_text")


# ---------------------------------------------------------------- parse (client -> IR)

def parse_request(body: dict[str, Any]) -> ir.ChatRequest:
    model = require(body, "model", str)
    messages = require(body, "messages", list)
    if not messages:
        raise TranslationError("'messages' must contain at least one message.", param="messages")
    legacy = body.get("functions") is not None or body.get("function_call") is not None
    system, msgs = _split_system(_parse_messages(messages))
    extra = rest(body, KNOWN)
    if legacy:
        extra["_legacy_functions"] = True
    if body.get("max_completion_tokens") is not None:
        extra["_max_field"] = "max_completion_tokens"
    stream = bool(optional(body, "stream", bool))
    stream_options = optional(body, "stream_options", dict) or {}
    return ir.ChatRequest(
        model=model,
        messages=msgs,
        system=system,
        tools=_parse_tools(body),
        tool_choice=_parse_tool_choice(body.get("tool_choice", body.get("function_call"))),
        parallel_tool_calls=optional(body, "parallel_tool_calls", bool),
        max_output_tokens=_max_tokens(body),
        sampling=ir.Sampling(
            temperature=optional(body, "temperature", (int, float)),
            top_p=optional(body, "top_p", (int, float)),
            presence_penalty=optional(body, "presence_penalty", (int, float)),
            frequency_penalty=optional(body, "frequency_penalty", (int, float)),
            seed=optional(body, "seed", int),
        ),
        stop=_parse_stop(body.get("stop")),
        n=optional(body, "n", int),
        stream=stream,
        want_usage=stream and bool(stream_options.get("include_usage")),
        reasoning=_parse_reasoning(body),
        response_format=_parse_response_format(optional(body, "response_format", dict)),
        metadata=optional(body, "metadata", dict),
        user=optional(body, "user", str),
        extra=extra,
        extra_from=DIALECT,
    )


def _max_tokens(body: dict[str, Any]) -> int | None:
    value = optional(body, "max_completion_tokens", int)
    if value is None:
        value = optional(body, "max_tokens", int)
    if value is not None and value < 1:
        raise TranslationError("max_tokens must be at least 1.", param="max_tokens")
    return value


def _parse_stop(stop: Any) -> tuple[str, ...]:
    if stop is None:
        return ()
    if isinstance(stop, str):
        return (stop,)
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        return tuple(stop)
    raise TranslationError("'stop' must be a string or a list of strings.", param="stop")


def _parse_reasoning(body: dict[str, Any]) -> ir.Reasoning | None:
    effort = body.get("reasoning_effort")
    if effort is None and isinstance(body.get("reasoning"), dict):
        effort = body["reasoning"]  # OpenRouter-style object on Chat
    if effort is None:
        return None
    if isinstance(effort, dict):  # LiteLLM sends {effort, summary}
        return ir.Reasoning(effort=effort.get("effort"), summary=effort.get("summary"))
    if not isinstance(effort, str):
        raise TranslationError("'reasoning_effort' must be a string.", param="reasoning_effort")
    if effort == "none":
        return ir.Reasoning(effort="none", mode="disabled")
    return ir.Reasoning(effort=effort)


def _parse_response_format(rf: dict[str, Any] | None) -> ir.ResponseFormat | None:
    if rf is None:
        return None
    kind = rf.get("type")
    if kind == "json_schema":
        js = rf.get("json_schema") or {}
        if not isinstance(js, dict):
            raise TranslationError("'response_format.json_schema' must be an object.",
                                   param="response_format.json_schema")
        return ir.ResponseFormat("json_schema", js.get("name"), js.get("schema"), js.get("strict"),
                                 js.get("description"))
    if kind in ("text", "json_object"):
        return ir.ResponseFormat(kind)
    raise TranslationError(f"Invalid value for 'response_format.type': {kind!r}.", param="response_format.type")


def _parse_tools(body: dict[str, Any]) -> tuple[ir.Tool, ...]:
    tools: list[ir.Tool] = []
    for i, t in enumerate(optional(body, "tools", list) or ()):
        where = f"tools[{i}]"
        if not isinstance(t, dict):
            raise TranslationError(f"'{where}' must be an object.", param=where)
        kind = t.get("type", "function")
        if kind == "function":
            tools.append(_function_tool(require(t, "function", dict, f"{where}."), f"{where}.function.",
                                        rest(t, frozenset({"type", "function"}))))
        elif kind == "custom":
            c = require(t, "custom", dict, f"{where}.")
            tools.append(ir.Tool(require(c, "name", str, f"{where}.custom."), c.get("description"),
                                 kind="custom", format=c.get("format")))
        else:
            tools.append(ir.Tool(t.get("name") or kind, extra={"type": kind, **t}))
    for i, f in enumerate(optional(body, "functions", list) or ()):
        if not isinstance(f, dict):
            raise TranslationError(f"'functions[{i}]' must be an object.", param=f"functions[{i}]")
        tools.append(_function_tool(f, f"functions[{i}].", {}))
    return tuple(tools)


def _function_tool(f: dict[str, Any], where: str, extra: dict[str, Any]) -> ir.Tool:
    params = optional(f, "parameters", dict, where)
    return ir.Tool(require(f, "name", str, where), f.get("description"), params, strict=f.get("strict"),
                   extra=extra)


def _parse_tool_choice(tc: Any) -> ir.ToolChoice | None:
    if tc is None:
        return None
    if isinstance(tc, str):
        if tc not in ("auto", "none", "required"):
            raise TranslationError(f"Invalid value for 'tool_choice': {tc!r}.", param="tool_choice")
        return ir.ToolChoice(tc)  # type: ignore[arg-type]
    if not isinstance(tc, dict):
        raise TranslationError("'tool_choice' must be a string or an object.", param="tool_choice")
    kind = tc.get("type")
    if kind == "allowed_tools":
        allowed = tc.get("allowed_tools") or {}
        names = tuple(_choice_name(t) for t in allowed.get("tools", ()))
        return ir.ToolChoice(allowed.get("mode", "auto"), allowed=names)
    return ir.ToolChoice("tool", name=_choice_name(tc))


def _choice_name(tc: dict[str, Any]) -> str:
    # {"type":"function","function":{"name"}} | {"type":"custom","custom":{"name"}} | legacy {"name"}
    inner = tc.get(tc.get("type", ""), tc) if isinstance(tc.get(tc.get("type", "")), dict) else tc
    name = inner.get("name")
    if not isinstance(name, str):
        raise TranslationError("'tool_choice' names no tool.", param="tool_choice")
    return name


def _parse_messages(messages: list[Any]) -> list[ir.Message]:
    out: list[ir.Message] = []
    legacy_calls: list[tuple[str, str]] = []  # (name, id) of legacy function_calls not yet answered
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise TranslationError(f"'{where}' must be an object.", param=where)
        role = require(m, "role", str, f"{where}.")
        if role in ("system", "developer", "user"):
            out.append(ir.Message(role, _parse_content(m.get("content"), where), m.get("name"),
                                  rest(m, MESSAGE_KNOWN)))
        elif role == "assistant":
            out.append(_parse_assistant(m, where, legacy_calls, len(out)))
        elif role in ("tool", "function"):
            _append_tool_result(out, _parse_tool_message(m, where, role, legacy_calls))
        else:
            raise TranslationError(f"Invalid value for '{where}.role': {role!r}.", param=f"{where}.role")
    return out


def _parse_content(content: Any, where: str) -> tuple[ir.Block, ...]:
    if content is None:
        return ()
    if isinstance(content, str):
        return (ir.Text(content),) if content else ()
    if not isinstance(content, list):
        raise TranslationError(f"'{where}.content' must be a string or an array.", param=f"{where}.content")
    return tuple(_parse_part(p, f"{where}.content[{j}]") for j, p in enumerate(content))


def _parse_part(p: Any, where: str) -> ir.Block:
    if not isinstance(p, dict):
        raise TranslationError(f"'{where}' must be an object.", param=where)
    kind = p.get("type")
    extra = rest(p, frozenset({"type", "text", "image_url", "input_audio", "file", "refusal"}))
    if kind in TEXT_PART_TYPES:
        return ir.Text(require(p, "text", str, f"{where}."), extra)
    if kind == "refusal":
        return ir.Text(p.get("refusal") or "", {**extra, "refusal": True})
    if kind == "image_url":
        iu = p.get("image_url")
        iu = {"url": iu} if isinstance(iu, str) else iu
        if not isinstance(iu, dict) or not isinstance(iu.get("url"), str):
            raise TranslationError(f"'{where}.image_url.url' is required.", param=f"{where}.image_url.url")
        img = image_from_url(iu["url"], iu.get("detail"))
        return ir.Image(img.media_type, img.data, img.url, img.detail, extra)
    if kind == "input_audio":
        a = require(p, "input_audio", dict, f"{where}.")
        return ir.Audio(a.get("data", ""), a.get("format", "wav"), extra)
    if kind == "file":
        f = require(p, "file", dict, f"{where}.")
        parsed = parse_data_url(f.get("file_data") or "")
        if parsed:
            return ir.Document(parsed[0], parsed[1], filename=f.get("filename"), extra=extra)
        return ir.Document(file_id=f.get("file_id"), filename=f.get("filename"), extra=extra)
    raise TranslationError(f"Invalid content part type {kind!r} in '{where}'.", param=f"{where}.type")


def _parse_assistant(m: dict[str, Any], where: str, legacy_calls: list[tuple[str, str]], n: int) -> ir.Message:
    blocks: list[ir.Block] = []
    for tb in m.get("thinking_blocks") or ():
        if isinstance(tb, dict) and tb.get("type") == "redacted_thinking":
            blocks.append(ir.RedactedThinking(tb.get("data", ""), "anthropic"))
        elif isinstance(tb, dict):
            blocks.append(ir.Thinking(tb.get("thinking", ""), tb.get("signature"), "anthropic"))
    reasoning = m.get("reasoning_content") or m.get("reasoning")
    if isinstance(reasoning, str) and reasoning and not blocks:
        blocks.append(ir.Thinking(reasoning))
    blocks.extend(_parse_content(m.get("content"), where))
    if isinstance(m.get("refusal"), str) and m["refusal"]:
        blocks.append(ir.Text(m["refusal"], {"refusal": True}))
    for j, tc in enumerate(m.get("tool_calls") or ()):
        blocks.append(_parse_tool_call(tc, f"{where}.tool_calls[{j}]"))
    fc = m.get("function_call")
    if isinstance(fc, dict):
        call_id = f"call_legacy_{n}"
        legacy_calls.append((fc.get("name", ""), call_id))
        blocks.append(ir.ToolUse(call_id, fc.get("name", ""), fc.get("arguments") or "{}"))
    return ir.Message("assistant", tuple(blocks), m.get("name"), rest(m, MESSAGE_KNOWN))


def _parse_tool_call(tc: Any, where: str) -> ir.ToolUse:
    if not isinstance(tc, dict):
        raise TranslationError(f"'{where}' must be an object.", param=where)
    call_id = require(tc, "id", str, f"{where}.")
    extra = rest(tc, frozenset({"id", "type", "function", "custom", "index"}))
    if tc.get("type") == "custom":
        c = require(tc, "custom", dict, f"{where}.")
        return ir.ToolUse(call_id, c.get("name", ""), c.get("input", ""), "custom", extra)
    f = require(tc, "function", dict, f"{where}.")
    args = f.get("arguments")
    if not isinstance(args, str):  # some clients send an object; the wire type is a JSON string
        args = dumps_str(args if args is not None else {})
    return ir.ToolUse(call_id, require(f, "name", str, f"{where}.function."), args, "function", extra)


def _parse_tool_message(m: dict[str, Any], where: str, role: str,
                        legacy_calls: list[tuple[str, str]]) -> ir.ToolResult:
    content = _parse_content(m.get("content"), where)
    if role == "tool":
        return ir.ToolResult(require(m, "tool_call_id", str, f"{where}."), content)
    name = m.get("name", "")
    match = next((c for c in legacy_calls if c[0] == name), None)
    if match is None:
        raise TranslationError(f"'{where}' answers no preceding function_call.", param=where)
    legacy_calls.remove(match)
    return ir.ToolResult(match[1], content, name=name)


def _append_tool_result(out: list[ir.Message], result: ir.ToolResult) -> None:
    """Consecutive tool messages become one user message of tool results."""
    last = out[-1] if out else None
    if last and last.role == "user" and last.content and all(isinstance(b, ir.ToolResult) for b in last.content):
        out[-1] = ir.Message("user", last.content + (result,))
    else:
        out.append(ir.Message("user", (result,)))


def _split_system(msgs: list[ir.Message]) -> tuple[tuple[ir.Block, ...], tuple[ir.Message, ...]]:
    """Leading system/developer messages become the IR system prompt; later ones stay in place."""
    i = 0
    while i < len(msgs) and msgs[i].role in ("system", "developer"):
        i += 1
    if i == 1 and msgs[0].role == "developer":
        return (), tuple(msgs)  # keep a lone developer message's role for same-dialect upstreams
    system = tuple(b for m in msgs[:i] for b in m.content)
    return system, tuple(msgs[i:])


# ---------------------------------------------------------------- render (IR -> upstream)

def render_request(req: ir.ChatRequest, model: str) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": _render_messages(req)}
    if req.extra_from == DIALECT:
        body.update({k: v for k, v in req.extra.items() if not k.startswith("_")})
    tools = [_render_tool(t) for t in req.tools if t.kind == "custom" or "type" not in t.extra]
    if tools:
        body["tools"] = tools
        if req.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = req.parallel_tool_calls
    if req.tool_choice is not None and (tools or req.tool_choice.mode == "none"):
        body["tool_choice"] = _render_tool_choice(req.tool_choice, req.tools)
    if req.max_output_tokens is not None:
        body[req.extra.get("_max_field", "max_tokens")] = req.max_output_tokens
    s = req.sampling
    for key in ("temperature", "top_p", "presence_penalty", "frequency_penalty", "seed"):
        if getattr(s, key) is not None:
            body[key] = getattr(s, key)
    if req.stop:
        body["stop"] = list(req.stop)
    if req.n is not None:
        body["n"] = req.n
    if req.reasoning is not None and (req.reasoning.mode != "disabled" or req.reasoning.effort == "none"):
        body["reasoning_effort"] = req.reasoning.effort or budget_to_effort(req.reasoning.budget)
    if req.response_format is not None:
        body["response_format"] = _render_response_format(req.response_format)
    if req.metadata is not None and req.extra_from == DIALECT:
        body["metadata"] = req.metadata
    if req.user is not None:
        body["user"] = req.user
    if req.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}  # always: the bridge accounts usage
    return body


def _render_messages(req: ir.ChatRequest) -> list[dict[str, Any]]:
    same = req.extra_from == DIALECT  # part-level extras of other dialects mean nothing to Chat upstreams
    out: list[dict[str, Any]] = []
    if req.system:
        out.append({"role": "system", "content": _render_parts(req.system, True, same)})
    for m in req.messages:
        if m.role == "assistant":
            out.append(_render_assistant(m))
            continue
        results = [b for b in m.content if isinstance(b, ir.ToolResult)]
        others = tuple(b for b in m.content if not isinstance(b, ir.ToolResult))
        for r in results:
            out.append({"role": "tool", "tool_call_id": r.tool_use_id,
                        "content": _tool_result_text(r)})
        moved = tuple(b for r in results for b in r.content if not isinstance(b, ir.Text))
        if others or moved:  # tool messages carry text only: images move to a user message
            msg: dict[str, Any] = {"role": m.role if m.role != "assistant" else "user",
                                   "content": _render_parts(others + moved, m.role != "user", same)}
            if m.name:
                msg["name"] = m.name
            out.append(msg)
    return out


def _tool_result_text(r: ir.ToolResult) -> str:
    text = join_text(r.content)
    return f"Error: {text}" if r.is_error and not text.startswith("Error") else text


def _render_parts(blocks: tuple[ir.Block, ...], text_only: bool, same: bool) -> str | list[dict[str, Any]]:
    if text_only or all(isinstance(b, ir.Text) and not (same and b.extra) for b in blocks):
        return join_text(blocks)
    return [p for p in (_render_part(b, same) for b in blocks) if p is not None]


def _render_part(b: ir.Block, same: bool) -> dict[str, Any] | None:
    if isinstance(b, ir.Text):
        kept = {k: v for k, v in b.extra.items() if k != "refusal"} if same else {}
        return {"type": "text", "text": b.text, **kept}
    if isinstance(b, ir.Image):
        iu: dict[str, Any] = {"url": image_url(b)}
        if b.detail:
            iu["detail"] = b.detail
        return {"type": "image_url", "image_url": iu}
    if isinstance(b, ir.Audio):
        return {"type": "input_audio", "input_audio": {"data": b.data, "format": b.format}}
    if isinstance(b, ir.Document):
        return _render_document(b)
    return None  # thinking in a user turn has no Chat form


def _render_document(b: ir.Document) -> dict[str, Any]:
    if b.text is not None:
        return {"type": "text", "text": b.text}
    f: dict[str, Any] = {}
    if b.data is not None:
        f["file_data"] = f"data:{b.media_type or 'application/pdf'};base64,{b.data}"
    elif b.file_id:
        f["file_id"] = b.file_id
    elif b.url:
        return {"type": "text", "text": b.url}
    if b.filename:
        f["filename"] = b.filename
    return {"type": "file", "file": f}


def _render_assistant(m: ir.Message) -> dict[str, Any]:
    text = "".join(b.text for b in m.content if isinstance(b, ir.Text))
    calls = [_render_tool_call(b) for b in m.content if isinstance(b, ir.ToolUse)]
    msg: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    if calls:
        msg["tool_calls"] = calls
    return msg


def _render_tool_call(b: ir.ToolUse) -> dict[str, Any]:
    if b.kind == "custom":
        return {"id": b.id, "type": "custom", "custom": {"name": b.name, "input": b.arguments}}
    return {"id": b.id, "type": "function", "function": {"name": b.name, "arguments": b.arguments or "{}"}}


def _render_tool(t: ir.Tool) -> dict[str, Any]:
    if t.kind == "custom":
        custom: dict[str, Any] = {"name": t.name}
        if t.description:
            custom["description"] = t.description
        if t.format:
            custom["format"] = t.format
        return {"type": "custom", "custom": custom}
    fn: dict[str, Any] = {"name": t.name}
    if t.description:
        fn["description"] = t.description
    fn["parameters"] = t.parameters if t.parameters is not None else {"type": "object", "properties": {}}
    if t.strict is not None:
        fn["strict"] = t.strict
    return {"type": "function", "function": fn}


def _render_tool_choice(tc: ir.ToolChoice, tools: tuple[ir.Tool, ...]) -> Any:
    if tc.allowed is not None:
        return {"type": "allowed_tools", "allowed_tools": {
            "mode": "required" if tc.mode == "required" else "auto",
            "tools": [{"type": "function", "function": {"name": n}} for n in tc.allowed]}}
    if tc.mode != "tool":
        return tc.mode
    custom = any(t.name == tc.name and t.kind == "custom" for t in tools)
    kind = "custom" if custom else "function"
    return {"type": kind, kind: {"name": tc.name}}


def _render_response_format(rf: ir.ResponseFormat) -> dict[str, Any]:
    if rf.type != "json_schema":
        return {"type": rf.type}
    js: dict[str, Any] = {"name": rf.name or "response", "schema": rf.schema or {}}
    if rf.strict is not None:
        js["strict"] = rf.strict
    if rf.description:
        js["description"] = rf.description
    return {"type": "json_schema", "json_schema": js}

"""LLM API bodies as readable text: requests and answers of the three dialects, whole (JSON) or
streamed (SSE), read with the project's own codecs. Bodies of other formats (a provider plug-in's
wire format) are listed event by event. Used by the "LLM stream" content view; never on the hot
path."""

from __future__ import annotations

from typing import Any

import orjson

from addons.endpoints import POST_PATHS
from translators import ir
from translators.accumulate import accumulate
from translators.registry import codec
from translators.sse import SSEEvent
from translators.sse import SSEParser

# The model-call endpoints the bridge knows, matched as path suffixes (any host, with or without /v1).
DIALECT_OF_PATH = {path: ep.dialect for path, ep in POST_PATHS.items() if ep.name != "count_tokens"}
NO_REQUEST = ir.ChatRequest(model="", messages=())  # decoders only consult the request for tool kinds
FIELDS = (b"data:", b"event:", b"id:", b"retry:")
TEXT_CAP = 4000  # one block shown in full up to this many characters


def dialect_of_path(path: str) -> str | None:
    p = path.split("?", 1)[0].rstrip("/")
    for suffix, dialect in DIALECT_OF_PATH.items():
        if p.endswith(suffix):
            return dialect
    return None


def is_sse(data: bytes, content_type: str | None = None) -> bool:
    if content_type and content_type.startswith("text/event-stream"):
        return True
    head = data.lstrip()[:6]
    # a capture may be cut inside its first field name ("eve")
    return bool(head) and (head.startswith(b":") or any(f.startswith(head) or head.startswith(f) for f in FIELDS))


def events(data: bytes) -> list[SSEEvent]:
    """The complete events of a body, which may be cut anywhere (a capped capture): a last event
    without its blank line counts only when its data is whole."""
    parser = SSEParser()
    out = parser.feed(data)
    out += [ev for ev in parser.flush() if _whole(ev.data)]
    return out


def _whole(data: str) -> bool:
    if data.strip() == "[DONE]":
        return True
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return True


def sniff_stream(evs: list[SSEEvent]) -> str | None:
    """The dialect of a stream, from its first typed events."""
    for ev in evs[:8]:
        obj = _json(ev.data)
        typ = str(obj.get("type") or ev.event or "") if isinstance(obj, dict) else str(ev.event or "")
        if typ.startswith("response."):
            return "openai-responses"
        if typ in ("message_start", "content_block_start", "content_block_delta", "ping", "message_delta"):
            return "anthropic-messages"
        if isinstance(obj, dict) and (obj.get("object") == "chat.completion.chunk" or "choices" in obj):
            return "openai-chat"
    return None


def sniff_json(obj: dict[str, Any]) -> tuple[str | None, str]:
    """(dialect, "request" | "answer" | "error") of a JSON body."""
    if "error" in obj or obj.get("type") == "error":
        return None, "error"
    if "messages" in obj:
        return ("anthropic-messages" if "max_tokens" in obj and "system" in obj or _has_blocks(obj)
                else "openai-chat"), "request"
    if "input" in obj or "instructions" in obj:
        return "openai-responses", "request"
    if obj.get("object") == "chat.completion" or "choices" in obj:
        return "openai-chat", "answer"
    if obj.get("object") == "response" or "output" in obj:
        return "openai-responses", "answer"
    if obj.get("type") == "message":
        return "anthropic-messages", "answer"
    return None, "answer"


def _has_blocks(obj: dict[str, Any]) -> bool:
    """Anthropic content blocks: tool_use / tool_result types that Chat messages never carry."""
    for m in obj.get("messages") or ():
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, list) and any(isinstance(b, dict) and b.get("type") in ("tool_use", "tool_result")
                                             for b in content):
            return True
    return False


def decode_stream(evs: list[SSEEvent], dialect: str) -> tuple[ir.ChatResponse, ir.StreamError | None]:
    """A stream's answer so far, and the error it ended with, if any."""
    acc = accumulate(codec(dialect).stream_decoder(NO_REQUEST), evs)
    error, acc.error = acc.error, None
    return acc.result(), error


def render(data: bytes, dialect: str | None = None, content_type: str | None = None) -> str:
    """A request or an answer, whole or streamed, as readable text."""
    if not data:
        return "(empty body)"
    if is_sse(data, content_type):
        return render_stream(data, dialect)
    obj = _json(data.decode("utf-8", "replace"))
    if not isinstance(obj, dict):
        return data.decode("utf-8", "replace")
    sniffed, kind = sniff_json(obj)
    if kind == "error":
        return "error: " + orjson.dumps(obj.get("error", obj)).decode()
    if sniffed is None:  # not a chat request or answer (embeddings, token counts...): plain JSON
        return orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode()
    dialect = dialect or sniffed
    try:
        if kind == "request":
            return render_request(codec(dialect).parse_request(obj), dialect)
        return render_answer(codec(dialect).parse_response(obj), dialect)
    except Exception as e:  # not quite this dialect: show it as JSON
        return f"({dialect} {kind}, not readable: {e})\n" + orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode()


def render_stream(data: bytes, dialect: str | None = None) -> str:
    evs = events(data)
    dialect = sniff_stream(evs) or dialect
    head = f"stream: {len(evs)} events"
    if dialect is None:
        return head + "\n" + "\n".join(f"{ev.event or 'data'}: {ev.data}" for ev in evs)
    resp, error = decode_stream(evs, dialect)
    text = render_answer(resp, dialect, head)
    if error is not None:
        text += f"\nerror {error.status} {error.type}: {error.message}"
    return text


def render_request(req: ir.ChatRequest, dialect: str) -> str:
    lines = [f"{dialect} request · model {req.model}" + (" · stream" if req.stream else "")
             + (f" · max tokens {req.max_output_tokens}" if req.max_output_tokens else "")]
    for tool in req.tools:
        params = ", ".join((tool.parameters or {}).get("properties", {}) or ())
        lines.append(f"tool {tool.name}({params})" + (f": {tool.description}" if tool.description else ""))
    if req.system:
        lines.append(f"[system] {_blocks(req.system)}")
    for m in req.messages:
        lines.append(f"[{m.role}] {_blocks(m.content)}")
    return "\n".join(lines)


def render_answer(resp: ir.ChatResponse, dialect: str, head: str = "") -> str:
    title = " · ".join(p for p in (f"{dialect} answer", head, resp.model and f"model {resp.model}",
                                   resp.id and f"id {resp.id}") if p)
    u = resp.usage
    tokens = "tokens: not reported" if u == ir.Usage() else f"tokens: input {u.input} · output {u.output}" + (
        f" · cache read {u.cache_read}" if u.cache_read else "") + (
        f" · cache write {u.cache_write}" if u.cache_write else "") + (
        f" · reasoning {u.reasoning}" if u.reasoning else "")
    return "\n".join([title, f"[assistant] {_blocks(resp.content)}", f"stop: {resp.stop_reason}", tokens])


def _blocks(blocks: tuple[ir.Block, ...]) -> str:
    return "\n  ".join(_block(b) for b in blocks) or "(no content)"


def _block(b: ir.Block) -> str:
    if isinstance(b, ir.Text):
        return _cut(b.text)
    if isinstance(b, ir.Thinking):
        return f"(thinking) {_cut(b.text)}"
    if isinstance(b, ir.ToolUse):
        return f"→ tool call {b.name} [{b.id}] {_cut(b.arguments)}"
    if isinstance(b, ir.ToolResult):
        return f"← tool result [{b.tool_use_id}]" + (" (error)" if b.is_error else "") + f" {_blocks(b.content)}"
    if isinstance(b, ir.Image):
        return f"(image {b.media_type or b.url or ''})"
    if isinstance(b, ir.Document):
        return f"(document {b.filename or b.media_type or ''})"
    return f"({type(b).__name__})"


def _cut(text: str) -> str:
    return text if len(text) <= TEXT_CAP else text[:TEXT_CAP] + f"… ({len(text)} characters)"


def _json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None

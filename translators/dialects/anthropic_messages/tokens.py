"""A local estimate for /v1/messages/count_tokens and for message_start when the upstream reports input
usage late (anthropic-messages.md 5.2, 7; conversions.md 11: count system, tools and messages)."""

from __future__ import annotations

from typing import Any

import orjson

from translators import ir

IMAGE_TOKENS = 1600  # Anthropic's cost of a full-size (~1.15 MP) image
PDF_BYTES_PER_TOKEN = 25  # rough: a ~50 kB page costs ~2,000 tokens (text + page image)
TOOLS_OVERHEAD = 346  # Anthropic's tool-use system prompt (conversions.md 11)
MESSAGE_OVERHEAD = 4


def estimate_tokens(req: ir.ChatRequest) -> int:
    """About one token per four bytes of UTF-8 text (close for English and code, ~1 per CJK char)."""
    total = _blocks(req.system)
    for m in req.messages:
        total += MESSAGE_OVERHEAD + _blocks(m.content)
    if req.tools:
        total += TOOLS_OVERHEAD + sum(_tool(t) for t in req.tools)
    return max(total, 1)


def render_count_tokens(n: int) -> dict[str, Any]:
    return {"input_tokens": n}


def _text(s: str | None) -> int:
    return (len(s.encode()) + 3) // 4 if s else 0


def _blocks(blocks: tuple[ir.Block, ...]) -> int:
    return sum(_block(b) for b in blocks)


def _block(b: ir.Block) -> int:
    if isinstance(b, ir.Text):
        return _text(b.text)
    if isinstance(b, ir.Thinking):
        return _text(b.text)
    if isinstance(b, ir.ToolUse):
        return _text(b.name) + _text(b.arguments) + 8
    if isinstance(b, ir.ToolResult):
        return _blocks(b.content) + 8
    if isinstance(b, ir.Image):
        return IMAGE_TOKENS
    if isinstance(b, ir.Document):
        return _document(b)
    return 0  # redacted thinking and audio: not counted by Anthropic / not accepted


def _document(d: ir.Document) -> int:
    if d.text is not None:
        return _text(d.text)
    if d.data is not None:
        return max(len(d.data) * 3 // 4 // PDF_BYTES_PER_TOKEN, IMAGE_TOKENS)
    return IMAGE_TOKENS  # URL or file id: size unknown


def _tool(t: ir.Tool) -> int:
    return _text(t.name) + _text(t.description) + _schema(t.parameters or t.extra) + 8


def _schema(schema: Any) -> int:
    try:
        return (len(orjson.dumps(schema, default=repr)) + 3) // 4 if schema else 0
    except (orjson.JSONEncodeError, TypeError):
        return (len(repr(schema)) + 3) // 4

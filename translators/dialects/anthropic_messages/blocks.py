"""Content blocks: Anthropic wire <-> IR (anthropic-messages.md 3.3), shared by requests and answers."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from typing import Callable
from typing import Mapping

import orjson

from translators import ir
from translators.dialects.common import optional
from translators.dialects.common import parse_data_url
from translators.dialects.common import require
from translators.dialects.common import rest
from translators.dialects.common import sniff_image_type
from translators.errors import TranslationError

DIALECT: ir.Dialect = "anthropic-messages"
ORIGIN = "anthropic"

# Blocks the IR has no type for (server_tool_use, web_search_tool_result, search_result, tool_reference...)
# travel as an empty ir.Text holding the raw block under this key; only this codec renders them back.
OPAQUE = "anthropic_block"

# Thinking signatures minted by another provider are wrapped so that, when Claude Code replays them, we
# know their origin (conversions.md 7.2: never send a foreign signature to Anthropic).
_SIG_MARK = "~bridge:"

_ID_BAD = re.compile(r"[^A-Za-z0-9_-]")

Parsed = Callable[[dict[str, Any], str], ir.Block]


# ---- wire -> IR ----


def parse_content(content: Any, where: str) -> tuple[ir.Block, ...]:
    """A `content` value: string (one text block) or array of blocks. `where` names the field."""
    if isinstance(content, str):
        return (ir.Text(content),)
    if not isinstance(content, list):
        raise TranslationError(f"Invalid type for '{where}'.", param=where)
    return tuple(parse_block(b, f"{where}.{i}") for i, b in enumerate(content))


def parse_block(block: Any, where: str) -> ir.Block:
    if not isinstance(block, dict):
        raise TranslationError(f"Invalid type for '{where}'.", param=where)
    parser = _PARSERS.get(require(block, "type", str, f"{where}."))
    return parser(block, f"{where}.") if parser else opaque(block)


def opaque(block: dict[str, Any]) -> ir.Text:
    """Other dialects see the block's own text, if it has any (search_result content), else nothing."""
    inner = block.get("content")
    text = "\n".join(c["text"] for c in inner if isinstance(c, dict) and isinstance(c.get("text"), str)) \
        if isinstance(inner, list) else ""
    return ir.Text(text, extra={OPAQUE: block})


def _text(b: dict[str, Any], w: str) -> ir.Block:
    return ir.Text(require(b, "text", str, w), extra=rest(b, frozenset({"type", "text"})))


def _image(b: dict[str, Any], w: str) -> ir.Block:
    src = require(b, "source", dict, w)
    kind = require(src, "type", str, f"{w}source.")
    extra = rest(b, frozenset({"type", "source"}))
    if kind == "base64":
        return ir.Image(media_type=optional(src, "media_type", str, f"{w}source."),
                        data=require(src, "data", str, f"{w}source."), extra=extra)
    if kind == "url":
        return ir.Image(url=require(src, "url", str, f"{w}source."), extra=extra)
    return ir.Image(extra={**extra, "source": src})  # file source: only Anthropic can use it


def _document(b: dict[str, Any], w: str) -> ir.Block:
    src = require(b, "source", dict, w)
    kind = require(src, "type", str, f"{w}source.")
    ws = f"{w}source."
    doc: dict[str, Any] = {"filename": optional(b, "title", str, w),
                           "extra": rest(b, frozenset({"type", "source", "title"}))}
    media = optional(src, "media_type", str, ws)
    if kind == "base64":
        return ir.Document(media_type=media, data=require(src, "data", str, ws), **doc)
    if kind == "text":
        return ir.Document(media_type=media, text=require(src, "data", str, ws), **doc)
    if kind == "url":
        return ir.Document(url=require(src, "url", str, ws), **doc)
    if kind == "file":
        return ir.Document(file_id=require(src, "file_id", str, ws), **doc)
    # "content" source (pre-chunked text): others get the text, Anthropic the original source.
    chunks = parse_content(src.get("content") or [], f"{ws}content")
    text = "\n".join(c.text for c in chunks if isinstance(c, ir.Text))
    return ir.Document(text=text, filename=doc["filename"], extra={**doc["extra"], "source": src})


def _tool_use(b: dict[str, Any], w: str) -> ir.Block:
    args = optional(b, "input", dict, w)
    try:
        arguments = orjson.dumps(args or {}).decode()
    except (orjson.JSONEncodeError, TypeError):  # e.g. an integer beyond 64 bits from a lenient JSON parser
        raise TranslationError(f"Invalid value for '{w}input'.", param=f"{w}input") from None
    return ir.ToolUse(id=require(b, "id", str, w), name=require(b, "name", str, w), arguments=arguments,
                      extra=rest(b, frozenset({"type", "id", "name", "input"})))


def _tool_result(b: dict[str, Any], w: str) -> ir.Block:
    raw = b.get("content")
    content = () if raw is None else parse_content(raw, f"{w}content")
    return ir.ToolResult(tool_use_id=require(b, "tool_use_id", str, w), content=content,
                         is_error=bool(optional(b, "is_error", bool, w)),
                         extra=rest(b, frozenset({"type", "tool_use_id", "content", "is_error"})))


def _thinking(b: dict[str, Any], w: str) -> ir.Block:
    sig, origin = decode_signature(optional(b, "signature", str, w))
    return ir.Thinking(require(b, "thinking", str, w), signature=sig, origin=origin,
                       extra=rest(b, frozenset({"type", "thinking", "signature"})))


def _redacted(b: dict[str, Any], w: str) -> ir.Block:
    data, origin = decode_signature(require(b, "data", str, w))
    return ir.RedactedThinking(data or "", origin=origin, extra=rest(b, frozenset({"type", "data"})))


_PARSERS: dict[str, Parsed] = {
    "text": _text, "image": _image, "document": _document, "tool_use": _tool_use,
    "tool_result": _tool_result, "thinking": _thinking, "redacted_thinking": _redacted,
}


def decode_signature(sig: str | None) -> tuple[str | None, str | None]:
    """Wire signature -> (signature, origin); an empty signature means none (section 5.3)."""
    if not sig:
        return None, None
    if sig.startswith(_SIG_MARK):
        origin, _, inner = sig[len(_SIG_MARK):].partition("~")
        return inner or None, origin or None
    return sig, ORIGIN


def encode_signature(sig: str | None, origin: str | None) -> str:
    if not sig:
        return ""
    return sig if origin in (None, ORIGIN) else f"{_SIG_MARK}{origin}~{sig}"


# ---- IR -> wire ----


def safe_id(tool_id: str) -> str:
    """Anthropic tool ids must match ^[a-zA-Z0-9_-]+$ (section 3.3); foreign ids are sanitised."""
    return _ID_BAD.sub("_", tool_id)


def tool_input(tu: ir.ToolUse) -> dict[str, Any]:
    """`input` must be an object: {} when empty; raw freeform input (or unparsable JSON) as {"input": raw}."""
    if tu.kind == "custom":
        return {"input": tu.arguments}
    if not tu.arguments.strip():
        return {}
    try:
        value = orjson.loads(tu.arguments)
    except orjson.JSONDecodeError:
        return {"input": tu.arguments}
    return value if isinstance(value, dict) else {"input": value}


def kept_extra(extra: Mapping[str, Any], same: bool) -> dict[str, Any]:
    """Extra wire fields to send: all of them to a same-dialect peer, else only cache hints (section 3.4)."""
    if same:
        return {k: v for k, v in extra.items() if k != OPAQUE}
    return {"cache_control": extra["cache_control"]} if "cache_control" in extra else {}


def render_image(img: ir.Image, same: bool) -> dict[str, Any] | None:
    extra = kept_extra(img.extra, same)
    source = extra.pop("source", None)
    if img.data is not None:
        source = {"type": "base64", "media_type": sniff_image_type(img.data) or img.media_type or "image/png",
                  "data": img.data}
    elif img.url:
        parsed = parse_data_url(img.url)
        source = {"type": "url", "url": img.url}
        if parsed:
            media, data = parsed
            source = {"type": "base64", "media_type": sniff_image_type(data) or media, "data": data}
    return {"type": "image", "source": source, **extra} if source else None


def render_document(doc: ir.Document, same: bool) -> dict[str, Any] | None:
    extra = kept_extra(doc.extra, same)
    source = extra.pop("source", None) or _doc_source(doc)
    if source is None:
        return None
    out: dict[str, Any] = {"type": "document", "source": source}
    if doc.filename:
        out["title"] = doc.filename
    return {**out, **extra}


def _doc_source(doc: ir.Document) -> dict[str, Any] | None:
    media = doc.media_type
    if doc.data is not None and media and media.startswith("text/"):
        text = _b64_text(doc.data)  # Anthropic's base64 source takes PDFs only; text goes as text
        if text is not None:
            return {"type": "text", "media_type": "text/plain", "data": text}
    if doc.data is not None:
        return {"type": "base64", "media_type": media or "application/pdf", "data": doc.data}
    if doc.text is not None:
        return {"type": "text", "media_type": media or "text/plain", "data": doc.text}
    if doc.url:
        parsed = parse_data_url(doc.url)
        if parsed:
            return {"type": "base64", "media_type": parsed[0], "data": parsed[1]}
        return {"type": "url", "url": doc.url}
    return {"type": "file", "file_id": doc.file_id} if doc.file_id else None


def _b64_text(data: str) -> str | None:
    try:
        return base64.b64decode(data).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def render_tool_use(tu: ir.ToolUse, same: bool) -> dict[str, Any]:
    return {"type": "tool_use", "id": safe_id(tu.id), "name": tu.name, "input": tool_input(tu),
            **kept_extra(tu.extra, same)}

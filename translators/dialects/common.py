"""Small pieces several codecs share: data URLs, text joining, reasoning effort <-> budget."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from typing import Iterable

import orjson

from translators import ir
from translators.errors import TranslationError

# Anthropic's thinking budget and OpenAI's effort scale, mapped both ways (conversions.md 7.1).
EFFORT_BUDGET = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576, "xhigh": 32768, "max": 32768}


def effort_to_budget(effort: str | None) -> int:
    return EFFORT_BUDGET.get(effort or "medium", 8192)


def budget_to_effort(budget: int | None) -> str:
    if budget is None:
        return "medium"
    if budget <= 1024:
        return "minimal"
    if budget <= 4096:
        return "low"
    if budget <= 16384:
        return "medium"
    return "high"


def parse_data_url(url: str) -> tuple[str, str] | None:
    """`data:<mime>;base64,<payload>` -> (mime, payload); None for any other URL."""
    if not url.startswith("data:"):
        return None
    head, sep, payload = url[5:].partition(",")
    if not sep or not head.endswith(";base64"):
        return None
    return head[: -len(";base64")] or "application/octet-stream", payload


def data_url(media_type: str | None, data: str) -> str:
    return f"data:{media_type or 'application/octet-stream'};base64,{data}"


def image_from_url(url: str, detail: str | None = None) -> ir.Image:
    parsed = parse_data_url(url)
    if parsed:
        return ir.Image(media_type=parsed[0], data=parsed[1], detail=detail)
    return ir.Image(url=url, detail=detail)


def image_url(img: ir.Image) -> str:
    return data_url(img.media_type, img.data) if img.data is not None else (img.url or "")


def join_text(blocks: Iterable[ir.Block], sep: str = "\n") -> str:
    return sep.join(b.text for b in blocks if isinstance(b, ir.Text))


def require(obj: dict[str, Any], key: str, typ: type | tuple[type, ...], where: str = "") -> Any:
    """obj[key] checked for presence and type, else a 400 naming the parameter."""
    name = f"{where}{key}"
    _object(obj, where)
    if key not in obj or obj[key] is None:
        raise TranslationError(f"Missing required parameter: '{name}'.", param=name)
    val = obj[key]
    if not isinstance(val, typ) or (typ is int and isinstance(val, bool)):
        raise TranslationError(f"Invalid type for '{name}'.", param=name)
    return val


def optional(obj: dict[str, Any], key: str, typ: type | tuple[type, ...], where: str = "") -> Any:
    """obj[key] if present and not null, type-checked; None otherwise."""
    _object(obj, where)
    val = obj.get(key)
    if val is None:
        return None
    if not isinstance(val, typ) or (isinstance(val, bool) and bool not in _as_tuple(typ)):
        raise TranslationError(f"Invalid type for '{where}{key}'.", param=f"{where}{key}")
    return val


def _object(obj: Any, where: str) -> None:
    if not isinstance(obj, dict):
        name = where.rstrip(".") or "body"
        raise TranslationError(f"'{name}' must be an object.", param=name)


def _as_tuple(typ: type | tuple[type, ...]) -> tuple[type, ...]:
    return typ if isinstance(typ, tuple) else (typ,)


def rest(obj: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """The fields of a wire object the IR has no slot for."""
    return {k: v for k, v in obj.items() if k not in known and v is not None}


# Magic bytes of the image formats Anthropic accepts (conversions.md 2: trust the bytes, not the MIME).
_IMAGE_MAGIC = ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"))


def sniff_image_type(data: str) -> str | None:
    """The media type the first bytes of base64 image data show, None when not recognised."""
    try:
        head = base64.b64decode(data[:24], validate=False)
    except (binascii.Error, ValueError):
        return None
    for magic, media_type in _IMAGE_MAGIC:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


# Phrases upstreams use for a prompt that does not fit (OpenAI, Anthropic, Gemini); conversions.md 12:
# the client dialect's canonical overflow code must survive translation, since agents compact on it.
_OVERFLOW_HINTS = ("context_length_exceeded", "context window", "context length", "maximum context",
                   "prompt is too long", "input token count")


def is_context_overflow(message: str) -> bool:
    low = message.lower()
    return any(h in low for h in _OVERFLOW_HINTS)


def builtin_tool_type(tool: ir.Tool) -> str | None:
    """The provider-defined type of a built-in tool (Responses `web_search`, ...), kept in
    `Tool.extra["type"]` by the codec that parsed it; None for function and custom tools.
    Other dialects cannot run such tools and drop them."""
    typ = tool.extra.get("type")
    return typ if isinstance(typ, str) else None


# A freeform (custom) tool offered to an upstream without freeform tools is a function tool taking
# {"input": "<raw>"} (conversions.md 3.8, LiteLLM custom_tools.py); its calls are unwrapped on the way back.
FREEFORM_KEY = "input"


def unwrap_freeform(arguments: str) -> str:
    """The raw input inside a wrapped freeform call's JSON arguments (the arguments as they are if not)."""
    try:
        obj = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return arguments
    if isinstance(obj, dict) and isinstance(obj.get(FREEFORM_KEY), str):
        return str(obj[FREEFORM_KEY])
    return arguments


def freeform_names(tools: Iterable[ir.Tool]) -> frozenset[str]:
    """Names of the client's freeform tools that no function tool shares (their calls may come back
    wrapped from an upstream that has no freeform tools)."""
    tools = tuple(tools)
    functions = {t.name for t in tools if t.kind == "function"}
    return frozenset(t.name for t in tools if t.kind == "custom" and t.name not in functions)

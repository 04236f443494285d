"""Token usage of an answer the bridge relayed unchanged (identity path): read from the upstream's own
JSON, a whole answer or the stream events that carry usage, with the dialect's own usage parsers."""

from __future__ import annotations

from typing import Any
from typing import Iterable

import orjson

from translators import ir
from translators.dialects.anthropic_messages.response import merge_wire_usage
from translators.dialects.anthropic_messages.response import usage_from_wire
from translators.dialects.openai_chat.usage import parse_usage as chat_usage
from translators.dialects.openai_responses.wire import parse_usage as responses_usage


def usage_of(dialect: str, payloads: Iterable[bytes]) -> ir.Usage:
    """`payloads`: a whole JSON answer, or the `data:` of the stream events that mention usage, in order.
    Unreadable payloads count for nothing: accounting never fails an answer."""
    objs = [o for o in map(_object, payloads) if o is not None]
    if dialect == "anthropic-messages":
        wire: dict[str, int] = {}
        for o in objs:  # message_start carries the input side, message_delta the output
            wire = merge_wire_usage(wire, _dict(o.get("message")).get("usage") or o.get("usage"))
        return usage_from_wire(wire)
    usage = ir.Usage()
    for o in objs:
        if dialect == "openai-responses":
            found = responses_usage(o.get("usage") or _dict(o.get("response")).get("usage"))
        else:
            found = chat_usage(o.get("usage"))
        usage = usage.merged(found)
    return usage


def _object(payload: bytes) -> dict[str, Any] | None:
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}

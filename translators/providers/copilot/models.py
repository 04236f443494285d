"""Copilot's model catalogue: `/models` entries (github-copilot.md 7), client model names -> Copilot
ids (9), and which of Copilot's three APIs serves a model (2, 10.5)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Iterable
from typing import Mapping

from translators import ir

CHAT, RESPONSES, MESSAGES = "/chat/completions", "/responses", "/v1/messages"
DIALECT_OF: dict[str, ir.Dialect] = {CHAT: "openai-chat", RESPONSES: "openai-responses",
                                     MESSAGES: "anthropic-messages"}
ENDPOINT_OF = {d: e for e, d in DIALECT_OF.items()}

# Listed when /models cannot be fetched (no login yet): ids of the 2026 capture (9).
MODELS = ["gpt-4.1", "gpt-4o", "gpt-5-mini", "gpt-5.1-codex", "claude-sonnet-4.5", "claude-sonnet-4",
          "claude-opus-4.6", "claude-haiku-4.5", "gemini-2.5-pro"]
# Client names with no rule to derive them (9: Opus 4.1's id, older Claude ids); the provider's own
# model_map is applied before this (by the router), and wins.
BUILTIN_MAP = {"claude-opus-4.1": "claude-opus-41"}
FAMILY_DEFAULT = {"sonnet": "claude-sonnet-4.5", "opus": "claude-opus-4.6", "haiku": "claude-haiku-4.5"}

_LEVEL = re.compile(r"\((?:minimal|low|medium|high|xhigh|max|none)\)$")  # `claude-opus-4.6(medium)`
_DOTTED = re.compile(r"^claude-([a-z]+)-(\d+)-(\d{1,2})(?:-\d{8,})?((?:-fast|-1m)*)$")
_DATED = re.compile(r"^claude-([a-z]+)-(\d+)-\d{8,}$")
_OLD = re.compile(r"^claude-(\d)-(\d)-([a-z]+)(?:-\d{8,}|-latest)?$")  # claude-3-5-sonnet-20241022
_VERSION = re.compile(r"(\d+)(?:\.(\d+))?")
_RESPONSES_ONLY = re.compile(r"codex|^gpt-5\.4")  # 4: when /models is unknown


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What the bridge uses of one `/models` entry."""

    id: str
    vendor: str = ""
    name: str = ""
    endpoints: tuple[str, ...] | None = None  # None: the field is absent = chat completions only (2)
    vision: bool = False
    streaming: bool = True
    max_output_tokens: int | None = None
    min_thinking_budget: int | None = None
    max_thinking_budget: int | None = None
    request_headers: Mapping[str, str] = field(default_factory=dict)


def parse_models(body: Any) -> dict[str, ModelInfo]:
    """`{"data": [...]}` -> the chat models that can be used, by id: type chat, policy enabled (when
    given), duplicates dropped (the first wins), entries that do not parse skipped (7 field notes)."""
    data = body.get("data") if isinstance(body, dict) else None
    out: dict[str, ModelInfo] = {}
    for m in data if isinstance(data, list) else ():
        info = _model(m)
        if info is not None and info.id not in out:
            out[info.id] = info
    return out


def _model(m: Any) -> ModelInfo | None:
    if not isinstance(m, dict) or not isinstance(m.get("id"), str):
        return None
    caps = _dict(m.get("capabilities"))
    policy = _dict(m.get("policy"))
    if caps.get("type", "chat") != "chat" or policy.get("state", "enabled") != "enabled":
        return None
    supports, limits = _dict(caps.get("supports")), _dict(caps.get("limits"))
    endpoints = m.get("supported_endpoints")
    headers = _dict(m.get("request_headers"))
    return ModelInfo(
        m["id"], str(m.get("vendor") or ""), str(m.get("name") or ""),
        tuple(e for e in endpoints if isinstance(e, str)) if isinstance(endpoints, list) else None,
        supports.get("vision") is True, supports.get("streaming") is not False,
        _int(limits.get("max_output_tokens")), _int(supports.get("min_thinking_budget")),
        _int(supports.get("max_thinking_budget")), {str(k): str(v) for k, v in headers.items()})


def info_of(raw: Any) -> ModelInfo | None:
    """ctx carries ModelInfo objects (or, from a hand-written ctx, plain `/models` entries)."""
    if isinstance(raw, ModelInfo) or raw is None:
        return raw
    return _model(raw)


# ---- names (9) ----


def resolve(name: str, known: Iterable[str] = ()) -> str:
    """A client's model name -> the Copilot id; `known` = the ids of the cached /models list."""
    ids = set(known)
    name = _LEVEL.sub("", name.strip())
    if name in ids:
        return name
    candidate = _derived(name, ids)
    mapped = BUILTIN_MAP.get(candidate)
    return mapped if mapped and (not ids or mapped in ids) else candidate


def _derived(name: str, ids: set[str]) -> str:
    low = name.lower()
    if low in FAMILY_DEFAULT:
        return newest(low, ids) or FAMILY_DEFAULT[low]
    if m := _DOTTED.match(low):
        base = f"claude-{m[1]}-{m[2]}.{m[3]}"
        suffixed = base + (m[4] or "")
        return suffixed if suffixed in ids or (not ids and m[4]) else base
    if m := _DATED.match(low):
        base = f"claude-{m[1]}-{m[2]}"
        return base if not ids or base in ids else newest(m[1], ids) or base
    if m := _OLD.match(low):
        return f"claude-{m[1]}.{m[2]}-{m[3]}"
    return name


def newest(family: str, ids: Iterable[str]) -> str | None:
    """The highest version of `claude-<family>-<v>` among the ids (no modifier suffixes)."""
    best: tuple[tuple[int, int], str] | None = None
    for i in ids:
        prefix = f"claude-{family}-"
        m = _VERSION.fullmatch(i[len(prefix):]) if i.startswith(prefix) else None
        if m:
            key = (int(m[1]), int(m[2] or 0))
            if best is None or key > best[0]:
                best = (key, i)
    return best[1] if best else None


# ---- which API (2, 10.5, 11) ----


def choose_endpoint(model: str, info: ModelInfo | None, client: ir.Dialect | None,
                    messages_api: bool = True) -> str:
    """Native /v1/messages for models that list it (vscode's useMessagesApi: thinking and cache control
    survive), else the client's own API when listed, else chat completions, else /responses."""
    if info is None:
        return RESPONSES if _RESPONSES_ONLY.search(model) else CHAT
    endpoints = info.endpoints if info.endpoints is not None else (CHAT,)
    if messages_api and MESSAGES in endpoints:
        return MESSAGES
    own = ENDPOINT_OF.get(client or "")
    if own in endpoints:
        return own
    for endpoint in (CHAT, RESPONSES, MESSAGES):
        if endpoint in endpoints:
            return endpoint
    return CHAT


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

"""Providers with a wire format of their own: each is a pure codec (translators/providers/<m>.py,
`CODEC`) plus an optional I/O runtime (addons/providers/<m>.py, `Runtime`). Imported on first use."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from addons.providers.base import Runtime

# provider type (as written in the config) -> module name in both packages
PLUGIN_MODULES = {
    "codegpt": "codegpt",
    "codegeex": "codegeex",
    "qwen": "qwen",
    "gemini": "gemini_code_assist",
    "copilot": "copilot",
    "chatgpt": "chatgpt_web",
}


@dataclass(frozen=True, slots=True)
class Plugin:
    codec: Any  # translators.providers.base.ProviderCodec
    runtime: type[Runtime]
    module: Any  # the addons module (DEMO_ACCOUNT, ENV_FIELDS...)


@cache
def plugin(ptype: str) -> Plugin | None:
    name = PLUGIN_MODULES.get(ptype)
    if name is None:
        return None
    try:
        codec = importlib.import_module(f"translators.providers.{name}").CODEC
    except (ModuleNotFoundError, AttributeError):  # not installed, or not complete
        return None
    try:
        mod = importlib.import_module(f"addons.providers.{name}")
    except ModuleNotFoundError:
        mod = None
    return Plugin(codec, getattr(mod, "Runtime", Runtime), mod)


def available() -> list[str]:
    return [t for t in PLUGIN_MODULES if plugin(t) is not None]

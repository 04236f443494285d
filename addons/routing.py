"""Model name -> (provider, upstream model): aliases, `prefix/model`, the default provider, and each
provider's model map. Also the model list for /v1/models. No mitmproxy here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from typing import Callable

from addons.settings import BridgeConfig
from addons.settings import Provider


@dataclass(frozen=True, slots=True)
class Route:
    provider_name: str
    provider: Provider
    upstream_model: str


def resolve(cfg: BridgeConfig, model: str) -> Route | None:
    target = cfg.aliases.get(model, model)
    prefix, sep, rest = target.partition("/")
    if sep and prefix in cfg.providers and rest:
        name, upstream = prefix, rest
    elif cfg.default_provider is not None:
        name, upstream = cfg.default_provider, target  # names like "meta-llama/x" stay whole
    else:
        return None
    provider = cfg.providers[name]
    return Route(name, provider, provider.model_map.get(upstream, upstream))


def model_ids(cfg: BridgeConfig, discovered: dict[str, list[str]] | None = None) -> list[str]:
    """Configured models per provider, else what the provider offers (discovered or built in)."""
    discovered = discovered or {}
    ids = [f"{name}/{m}" for name, p in cfg.providers.items() for m in (p.models or discovered.get(name, ()))]
    ids += [f"{name}/{m}" for name, p in cfg.providers.items() for m in p.model_map if m not in p.models]
    ids += list(cfg.aliases)
    return list(dict.fromkeys(ids))


def models_body(cfg: BridgeConfig, created: int, discovered: dict[str, list[str]] | None = None,
                details: Callable[[str], dict[str, Any]] | None = None) -> dict[str, Any]:
    """One list both SDKs accept: OpenAI's fields plus Anthropic's (type, display_name, created_at),
    with what a provider knows of each model (`details(full id)`: capabilities...)."""
    ids = model_ids(cfg, discovered)
    data = [{"id": i, "object": "model", "created": created, "owned_by": i.split("/")[0] if "/" in i else "bridge",
             "type": "model", "display_name": i, "created_at": "2025-01-01T00:00:00Z",
             **(details(i) if details else {})} for i in ids]
    return {"object": "list", "data": data, "has_more": False,
            "first_id": ids[0] if ids else None, "last_id": ids[-1] if ids else None}

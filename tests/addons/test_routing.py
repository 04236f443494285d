from __future__ import annotations

from addons.routing import model_ids
from addons.routing import models_body
from addons.routing import resolve
from addons.settings import BridgeConfig

CFG = BridgeConfig.model_validate({
    "default_provider": "oa",
    "providers": {
        "oa": {"type": "openai", "models": ["gpt-4.1"]},
        "ds": {"type": "openai-compatible", "base_url": "http://ds/v1", "models": ["deepseek-chat"],
               "model_map": {"claude-sonnet-4-5-20250929": "deepseek-chat"}},
    },
    "aliases": {"fast": "ds/deepseek-chat", "big": "gpt-4.1"},
})


def test_prefix_picks_provider() -> None:
    r = resolve(CFG, "ds/deepseek-chat")
    assert r is not None and (r.provider_name, r.upstream_model) == ("ds", "deepseek-chat")


def test_unprefixed_goes_to_default_and_slashes_survive() -> None:
    assert resolve(CFG, "gpt-4.1").provider_name == "oa"  # type: ignore[union-attr]
    r = resolve(CFG, "meta-llama/Llama-3")
    assert r is not None and (r.provider_name, r.upstream_model) == ("oa", "meta-llama/Llama-3")


def test_alias_and_model_map() -> None:
    assert resolve(CFG, "fast").upstream_model == "deepseek-chat"  # type: ignore[union-attr]
    assert resolve(CFG, "big").provider_name == "oa"  # type: ignore[union-attr]
    r = resolve(CFG, "ds/claude-sonnet-4-5-20250929")
    assert r is not None and r.upstream_model == "deepseek-chat"


def test_no_default_no_route() -> None:
    cfg = BridgeConfig.model_validate({"providers": {"oa": {"type": "openai"}}})
    assert resolve(cfg, "gpt-4.1") is None and resolve(cfg, "oa/gpt-4.1") is not None


def test_models_union() -> None:
    assert model_ids(CFG) == ["oa/gpt-4.1", "ds/deepseek-chat", "ds/claude-sonnet-4-5-20250929", "fast", "big"]
    body = models_body(CFG, 5)
    assert body["object"] == "list" and body["data"][0]["type"] == "model" and body["has_more"] is False

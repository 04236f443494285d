"""CodeGeeX's I/O half (codegeex.md): the code-token and identity fields come from the configuration
as they are (no refresh exists, section 1); the model list is fetched once from the listing endpoint.

Configuration: `type: codegeex`; each account carries `api_key` (the code-token; `code_token` is
accepted too) and optionally `user_id`, `user_role`, `ide`, `ide_version`, `plugin_version`,
`machine_id`, `locale`, `talk_id`, `user_agent`. `options` gives provider-wide values of the same
fields, plus `discover_models: false` to skip the listing call."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx

from addons.pool import Account
from addons.providers import base
from translators.providers.codegeex import DEFAULT_BASE_URL
from translators.providers.codegeex import MODELS_PATH
from translators.providers.codegeex import model_ids

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_BASE_URL", "ENV_FIELDS", "Runtime", "demo_provider"]

# CODEGEEX_API_KEY is the code-token; CODEGEEX_<FIELD> sets the others (addons/settings.py apply_env).
ENV_FIELDS = ("api_key", "user_id", "ide", "ide_version", "plugin_version", "machine_id", "locale", "talk_id",
              "user_agent")
LISTING_TIMEOUT = 10.0


class Runtime(base.Runtime):
    env_fields = ENV_FIELDS

    async def discover_models(self, accounts: list[Account]) -> list[str]:
        """`GET /prod/v3/chat/model`, sent without credential as WenChunTech does (section 7)."""
        if self.options.get("discover_models") is False:
            return []
        proxy = accounts[0].proxy if accounts else None
        url = (self.base_url or DEFAULT_BASE_URL).rstrip("/") + MODELS_PATH
        async with httpx.AsyncClient(proxy=proxy, timeout=LISTING_TIMEOUT) as client:
            resp = await client.get(url, headers={"accept": "application/json"})
        if resp.status_code != 200:
            logger.warning("provider %s: model listing answered HTTP %s", self.name, resp.status_code)
            return []
        try:
            return model_ids(resp.json())
        except ValueError:
            return []


def demo_provider(base_url: str, state_dir: Path, key: str) -> dict[str, Any]:
    """The demo's entry: the emulated upstream, one account whose code-token is the emulator's key."""
    return {"type": "codegeex", "base_url": base_url,
            "accounts": [{"name": "codegeex-demo", "api_key": key, "user_id": "demo-user", "ide": "VSCode",
                          "ide_version": "1.102.0", "plugin_version": "2.26.0",
                          "machine_id": "0123456789abcdef0123456789abcdef", "locale": "en"}]}

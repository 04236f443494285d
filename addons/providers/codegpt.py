"""CodeGPT's I/O half (shared/protocols/upstreams/codegpt.md): the account's fields pass through as they
are (API key, organization id, agent id; no refresh flow, codegpt.md 1), and the agents of the accounts
are listed once at start, as model ids (codegpt.md 7)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx

from addons.pool import Account
from addons.providers import base
from translators.errors import TranslationError
from translators.providers.codegpt import CODEC
from translators.providers.codegpt import DEFAULT_BASE_URL
from translators.providers.codegpt import DEFAULT_MODEL

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_BASE_URL", "ENV_FIELDS", "Runtime", "demo_provider"]

# CODEGPT_API_KEY, CODEGPT_AGENT_ID, CODEGPT_ORG_ID (the Deno bridges' variables, codegpt.md sources)
ENV_FIELDS = ("api_key", "agent_id", "org_id")
LIST_TIMEOUT = 15.0
# The ids of codegpt.md's examples, which the emulated upstream also serves.
DEMO_AGENT_ID = "3f2b1c0d-9e8f-4a7b-b6c5-d4e3f2a1b0c9"
DEMO_ORG_ID = "8d5e2c1a-7b3f-4e9d-a0c2-5f6e7d8c9b0a"


class Runtime(base.Runtime):
    env_fields = ENV_FIELDS

    async def discover_models(self, accounts: list[Account]) -> list[str]:
        """`default` (when an account has an agent_id) and every agent the accounts can see; [] when no
        listing succeeded, so the configured agent is listed instead."""
        agents: list[str] = []
        seen: set[tuple[Any, ...]] = set()
        for acc in accounts:
            ident = (acc.fields.get("api_key"), acc.fields.get("org_id"), acc.proxy)
            if ident in seen:
                continue
            seen.add(ident)
            try:
                agents += await self._list_agents(acc)
            except (httpx.HTTPError, TranslationError, RuntimeError) as e:
                logger.warning("provider %s, account %s: could not list CodeGPT agents: %s", self.name,
                               acc.label, e)
        if not agents:
            return []
        has_default = any(self.options.get("agent_id") or a.fields.get("agent_id") for a in accounts)
        return list(dict.fromkeys([DEFAULT_MODEL, *agents] if has_default else agents))

    async def _list_agents(self, acc: Account) -> list[str]:
        ctx = {**self.options, **acc.fields, "base_url": self.base_url}
        call = CODEC.agents_call(ctx)
        async with httpx.AsyncClient(proxy=acc.proxy, timeout=LIST_TIMEOUT) as client:
            resp = await client.request(call.method, call.url, headers=dict(call.headers))
        if resp.status_code != 200:
            raise RuntimeError(CODEC.parse_error(resp.status_code, resp.headers, resp.content).message)
        return CODEC.parse_agents(resp.content)


def demo_provider(base_url: str, state_dir: Path, key: str) -> dict[str, Any]:
    """The demo's provider entry: one account on the emulated upstream, asking its first agent by default."""
    return {"type": "codegpt", "base_url": base_url, "api_key": key,
            "options": {"agent_id": DEMO_AGENT_ID, "org_id": DEMO_ORG_ID}}

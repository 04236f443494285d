"""Qwen's I/O half (qwen.md Part A): before each completion, create a chat (A2.1, A7.1) and pass
its id to the codec; sign in again when the JWT expires (A1), if the account has a password; list
the models at start (A6).

Config: `type: qwen`, `api_key` = the chat.qwen.ai JWT (env QWEN_API_KEY), or per account
`email` + `password` (env QWEN_EMAIL / QWEN_PASSWORD) to sign in and renew the token; optional
`proxy` per account; `options.headers` for the WAF's browser headers/cookies."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from pathlib import Path
from typing import Any
from typing import Mapping

import httpx

from addons.httpcalls import HttpCalls
from addons.masking import mask
from addons.pool import Account
from addons.providers.base import Runtime as BaseRuntime
from translators import ir
from translators.errors import TranslationError
from translators.providers import jwt
from translators.providers.base import UpstreamCall
from translators.providers.qwen import BASE_URL
from translators.providers.qwen import parse_models
from translators.providers.qwen import parse_new_chat
from translators.providers.qwen import parse_signin
from translators.providers.qwen import request

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = BASE_URL
RENEW_MARGIN = 60.0  # seconds before the JWT's `exp` when a signed-in account logs in again
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class Runtime(BaseRuntime):
    env_fields = ("api_key", "email", "password")

    def __init__(self, name: str, base_url: str | None, options: dict[str, Any], state_dir: Path) -> None:
        super().__init__(name, base_url, options, state_dir)
        self.url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.calls = HttpCalls(TIMEOUT)
        self._locks: dict[int, asyncio.Lock] = {}

    async def context(self, account: Account, req: ir.ChatRequest) -> dict[str, Any]:
        ctx = await super().context(account, req)
        ctx["base_url"] = self.url
        if _can_sign_in(account) and _stale(account.fields.get("api_key")):
            ctx["api_key"] = await self._sign_in(account)
        try:
            ctx["chat_id"] = await self._new_chat(account, ctx, req.model)
        except TranslationError as e:
            if e.error.kind != "authentication" or not _can_sign_in(account):
                raise
            ctx["api_key"] = await self._sign_in(account, stale=ctx.get("api_key"))
            ctx["chat_id"] = await self._new_chat(account, ctx, req.model)
        ctx["fid"] = str(uuid.uuid4())  # the message's id (A2.2)
        return ctx

    async def refresh(self, account: Account) -> bool:
        if not _can_sign_in(account):
            return False
        try:
            await self._sign_in(account, stale=account.fields.get("api_key"))
        except TranslationError as e:
            logger.warning("qwen account %s: sign-in failed: %s", account.label, e)
            return False
        return True

    async def discover_models(self, accounts: list[Account]) -> list[str]:
        acc = accounts[0] if accounts else None
        ctx = {**self.options, **(acc.fields if acc else {}), "base_url": self.url}
        status, _, body = await self._send(request.models_call(ctx), acc.proxy if acc else None)
        if status != 200:
            logger.warning("provider %s: the model list answered HTTP %s", self.name, status)
            return []
        return parse_models(body)

    async def close(self) -> None:
        await self.calls.close()

    async def _new_chat(self, account: Account, ctx: Mapping[str, Any], model: str) -> str:
        call = request.new_chat_call(ctx, model, int(time.time() * 1000))
        return parse_new_chat(*await self._send(call, account.proxy))

    async def _sign_in(self, account: Account, stale: Any = None) -> str:
        """Log in with the account's password; concurrent callers wait for one login (A1.2)."""
        async with self._locks.setdefault(account.index, asyncio.Lock()):
            current = account.fields.get("api_key")
            if stale is not None and current and current != stale:  # renewed while we waited
                return str(current)
            call = request.signin_call({"base_url": self.url}, str(account.fields["email"]),
                                       str(account.fields["password"]))
            token = parse_signin(*await self._send(call, account.proxy))
            account.fields["api_key"] = token
            logger.info("qwen account %s: signed in (token %s)", account.label, mask(token))
            return token

    async def _send(self, call: UpstreamCall, proxy: str | None) -> tuple[int, Mapping[str, str], bytes]:
        return await self.calls.send(call, proxy, "Qwen")


def _can_sign_in(account: Account) -> bool:
    return bool(account.fields.get("email") and account.fields.get("password"))


def _stale(token: Any) -> bool:
    """No token yet, or a JWT that expires within RENEW_MARGIN (A1 Lifetime: sometimes 15 minutes)."""
    if not isinstance(token, str) or not token:
        return True
    exp = jwt.expiry(token)
    return exp is not None and exp - time.time() < RENEW_MARGIN


def demo_provider(base_url: str, state_dir: Path, key: str) -> dict[str, Any]:
    """The demo's provider entry: the emulated chat.qwen.ai takes `key` as the account's token;
    no `models`, so the list comes from the emulator's /api/models."""
    return {"type": "qwen", "base_url": base_url, "api_key": key}

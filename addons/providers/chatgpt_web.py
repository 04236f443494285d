"""ChatGPT web's I/O half (chatgpt-web.md 1-3, 8, 11): before each conversation, the sentinel
(chat-requirements prepare, proof of work, finalize; or the legacy one-step call) and, for
`/f/conversation`, the three prepare calls; their tokens go to the codec in ctx. The homepage is read
once an hour for the fingerprint's script URL and build id. The model list is read at start.

Config: `type: chatgpt`, `api_key` = the account's access token (env CHATGPT_API_KEY), or
`accounts: [{api_key, account_id?, device_id?, proxy?, name?}]` for a pool (round robin, cooled down
on 429). No token refresh: no bridge does one (1); an expired JWT is refused before any call.
Options: see translators/providers/chatgpt_web/request.py, plus `sentinel_flow: two-step | legacy`,
`pow_hash: fnv | sha3`, `pow_max_attempts`, and `raw_token_prefix` (a string or a list; off when
unset): a client key `<prefix><access token>` uses that token for the request instead of the pool
(chat2api's direct mode, 1)."""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
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
from translators.providers.chatgpt_web import BASE_URL
from translators.providers.chatgpt_web import check
from translators.providers.chatgpt_web import request
from translators.providers.chatgpt_web import sentinel

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = BASE_URL
HOME_TTL, HOME_RETRY = 3600.0, 300.0  # seconds a homepage reading (or a failed one) is kept
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DISCOVERY_TRIES = 3  # accounts asked for the model list before giving up


class Runtime(BaseRuntime):
    env_fields = ("api_key", "account_id")

    def __init__(self, name: str, base_url: str | None, options: dict[str, Any], state_dir: Path) -> None:
        super().__init__(name, base_url, options, state_dir)
        self.url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.prefixes = _prefixes(options.get("raw_token_prefix"))
        self.calls = HttpCalls(TIMEOUT)
        self._devices: dict[int, str] = {}
        self._home: tuple[float, request.HomeInfo] | None = None
        self._warned_turnstile = False

    async def context(self, account: Account, req: ir.ChatRequest) -> dict[str, Any]:
        ctx = await super().context(account, req)
        ctx["base_url"] = self.url
        _check_expiry(request.token(ctx), account)
        ctx["device_id"] = str(account.fields.get("device_id") or self._device(account))
        ctx["session_id"] = str(uuid.uuid4())
        fp = await self._fingerprint(ctx, account)
        ctx["sentinel"] = await self._sentinel(ctx, account, fp)
        if request.uses_f(ctx):
            ctx["conduit_token"] = await self._prepare(ctx, account, req)
        return ctx

    def account_for_client_key(self, key: str) -> Account | None:
        """Direct mode (1): `<prefix><access token>` as the client key -> a one-request account."""
        found = None
        for prefix in self.prefixes:  # all compared, so timing does not tell which prefix matched
            if len(key) > len(prefix) and hmac.compare_digest(key[: len(prefix)].encode(), prefix.encode()):
                found = Account(self.name, -1, {"api_key": key[len(prefix):], "name": "direct"})
        if found is not None:
            logger.info("provider %s: direct-mode request with token %s", self.name,
                        mask(str(found.fields["api_key"])))
        return found

    async def discover_models(self, accounts: list[Account]) -> list[str]:
        """The account's model slugs (8), from the first account that can list them."""
        error: TranslationError | None = None
        for acc in [a for a in accounts if a.fields.get("api_key")][:DISCOVERY_TRIES]:
            ctx = {**self.options, **acc.fields, "base_url": self.url, "device_id": self._device(acc)}
            try:
                return request.parse_models(check(*await self._send(request.models_call(ctx), acc.proxy),
                                                  "model list"))
            except TranslationError as e:
                error = e
        if error is not None:
            raise error
        return []

    async def close(self) -> None:
        await self.calls.close()

    # ---- the steps before a conversation ----

    async def _sentinel(self, ctx: dict[str, Any], account: Account,
                        fp: sentinel.Fingerprint) -> dict[str, str]:
        """3.2 (prepare, proof of work, finalize) or 3.3 (one call); the tokens for 3.4's headers."""
        two_step = str(ctx.get("sentinel_flow") or "two-step") != "legacy"
        p = sentinel.requirements_token(fp, random.randint(1, 4), random.randint(1, 9))
        what = "ChatGPT sentinel prepare" if two_step else "ChatGPT chat-requirements"
        found = check(*await self._send(request.requirements_call(ctx, p, two_step), account.proxy), what)
        reqs = sentinel.parse_requirements(found, "chat-requirements")
        if reqs.turnstile_required and not self._warned_turnstile:
            self._warned_turnstile = True  # 3.6: a VM the bridge does not run; often not enforced
            logger.warning("provider %s: ChatGPT asks for a turnstile answer, which the bridge does not "
                           "compute; conversations are sent without it", self.name)
        proof = await self._solve(reqs, fp, ctx) if reqs.pow_required else None
        if not two_step:
            if not reqs.token:
                raise TranslationError("ChatGPT's chat-requirements answer carries no token.",
                                       kind="api_error", status=502)
            return _tokens(token=reqs.token, proof=proof)
        if not reqs.prepare_token:
            raise TranslationError("ChatGPT's chat-requirements/prepare answer carries no prepare_token.",
                                   kind="api_error", status=502)
        call = request.finalize_call(ctx, reqs.prepare_token, proof)
        answer = await self._send(call, account.proxy)
        final = sentinel.parse_finalize(check(*answer, "ChatGPT sentinel finalize"))
        return _tokens(token=final, prepare_token=reqs.prepare_token, proof=proof)

    async def _solve(self, reqs: sentinel.Requirements, fp: sentinel.Fingerprint,
                     ctx: Mapping[str, Any]) -> str:
        """The proof of work, in a worker thread: the event loop keeps serving other flows."""
        assert reqs.pow_seed is not None and reqs.pow_difficulty is not None
        limit = _positive_int(ctx.get("pow_max_attempts"), sentinel.MAX_ATTEMPTS)
        sentinel.check_difficulty(reqs.pow_difficulty, limit)  # refused before any thread starts
        return await asyncio.to_thread(sentinel.solve_pow, reqs.pow_seed, reqs.pow_difficulty, fp,
                                       hash_name=str(ctx.get("pow_hash") or "fnv"), max_attempts=limit)

    async def _prepare(self, ctx: dict[str, Any], account: Account, req: ir.ChatRequest) -> str:
        """3.7: states none, sent, success, each carrying the previous call's conduit token."""
        conduit, query_id = None, str(uuid.uuid4())
        for state in request.PREPARE_STATES:
            call = request.prepare_call(req, req.model, ctx, state, conduit, query_id)
            conduit = request.parse_conduit(check(*await self._send(call, account.proxy),
                                                  "ChatGPT conversation prepare"))
        assert conduit is not None
        return conduit

    async def _fingerprint(self, ctx: Mapping[str, Any], account: Account) -> sentinel.Fingerprint:
        home = await self._homepage(ctx, account.proxy)
        now, perf = time.time(), round(random.uniform(2000.0, 60000.0), 1)
        return sentinel.Fingerprint(
            date=sentinel.js_date(now), user_agent=str(ctx.get("user_agent") or request.USER_AGENT),
            script=random.choice(home.scripts) if home.scripts else sentinel.DEFAULT_SCRIPT,
            build=home.build or sentinel.DEFAULT_BUILD, perf_now=perf,
            time_origin=round(now * 1000 - perf, 1), device_id=str(ctx["device_id"]),
            navigator_key=random.choice(sentinel.NAVIGATOR_KEYS),
            document_key=random.choice(sentinel.DOCUMENT_KEYS),
            window_key=random.choice(sentinel.WINDOW_KEYS), cores=random.choice((8, 12, 16, 20)))

    async def _homepage(self, ctx: Mapping[str, Any], proxy: str | None) -> request.HomeInfo:
        """The homepage's script URLs and build id (2, bootstrap); defaults when it cannot be read."""
        if self._home is not None and self._home[0] > time.monotonic():
            return self._home[1]
        info, ttl = request.HomeInfo(), HOME_RETRY
        try:
            status, _, body = await self._send(request.home_call(ctx), proxy)
            if status == 200:
                info, ttl = request.parse_home(body), HOME_TTL
            else:
                logger.info("provider %s: the homepage answered HTTP %s; default fingerprint values",
                            self.name, status)
        except TranslationError as e:
            logger.info("provider %s: homepage not read (%s); default fingerprint values", self.name, e)
        self._home = (time.monotonic() + ttl, info)
        return info

    def _device(self, account: Account) -> str:
        """A device id per pool account, stable while the bridge runs (oai-device-id, cookie oai-did);
        a fresh one per request for a direct-mode token (chat2api's rule for every request, 2.1)."""
        if account.index < 0:
            return str(uuid.uuid4())
        return self._devices.setdefault(account.index, str(uuid.uuid4()))

    async def _send(self, call: UpstreamCall, proxy: str | None) -> tuple[int, Mapping[str, str], bytes]:
        return await self.calls.send(call, proxy, "ChatGPT")


def _tokens(**found: str | None) -> dict[str, str]:
    return {k: v for k, v in found.items() if v}


def _prefixes(value: Any) -> tuple[str, ...]:
    """`raw_token_prefix`: one string or a list; empty strings never enable direct mode."""
    items = value if isinstance(value, (list, tuple)) else [value]
    return tuple(str(p) for p in items if isinstance(p, str) and p)


def _positive_int(value: Any, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


def _check_expiry(access_token: str, account: Account) -> None:
    """An expired JWT would only earn a 401 `token_expired` (9): refuse it without a call."""
    exp = jwt.expiry(access_token)
    if exp is not None and exp < time.time():
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(exp))
        raise TranslationError(f"The ChatGPT access token of account {account.label} expired at {when}; "
                               "log in again and configure the new one.", kind="authentication")


def demo_provider(base_url: str, state_dir: Path, key: str) -> dict[str, Any]:
    """The demo's provider entry: the emulated backend takes `key` as the account's access token."""
    return {"type": "chatgpt", "base_url": base_url, "api_key": key}

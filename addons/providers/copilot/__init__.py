"""GitHub Copilot's I/O half (github-copilot.md 1, 7): the GitHub token of each account (a device-flow
login through the bridge's /auth/device page, a token file or an inline token), the Copilot token it is
exchanged for and renewed before `refresh_in` runs out, and the model catalogue from `/models`.

Account fields (YAML `accounts:`, or `options:` for one account; env COPILOT_<FIELD> for the first):
- nothing: log in at `/auth/device?key=<client key>` (add `&account=<name>` to pick an account); the
  GitHub token is stored in the state directory (0600, atomically) and loaded at start;
- `token_file`: this bridge's login file, or an editor plug-in's ~/.config/github-copilot/hosts.json /
  apps.json (1.1);
- `github_token` (or `api_key`): a `ghu_`/`gho_` token; GH_COPILOT_TOKEN is read when nothing else is set.
A device-flow login of an account wins over its configured token. Options: `github_url`
(https://github.com), `github_api_url` (https://api.github.com), `client_id`, `editor_version`,
`plugin_version`, `integration_id`, `api_version`, `headers`, `anthropic_beta`, `messages_api` (false:
Claude goes through chat completions), `refresh_margin` (s, default 60). `base_url`, when set, replaces
the Copilot token's `endpoints.api`."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import Mapping

import httpx

from addons.atomicfile import write_atomic
from addons.httpcalls import HttpCalls
from addons.masking import mask
from addons.pool import Account
from addons.providers.base import Page
from addons.providers.base import PageAnswer
from addons.providers.base import PageHandler
from addons.providers.base import Runtime as BaseRuntime
from addons.providers.copilot import login as device
from translators import ir
from translators.errors import TranslationError
from translators.providers.base import UpstreamCall
from translators.providers.copilot import auth
from translators.providers.copilot import models_call
from translators.providers.copilot import parse_models
from translators.providers.copilot.models import ModelInfo

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = auth.API_URL
CODEC_OPTIONS = ("editor_version", "plugin_version", "integration_id", "api_version", "headers",
                 "anthropic_beta", "messages_api")
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
CATALOG_RETRY = 60.0  # seconds between attempts to fetch /models while it is unknown
LOGIN_HINT = "log in at /auth/device?key=<client key> on the bridge"


@dataclass(frozen=True, slots=True)
class Minted:
    token: auth.CopilotToken
    deadline: float  # local clock: mint a new one from then on
    github: str  # the GitHub token it was minted with


class Runtime(BaseRuntime):
    env_fields = ("api_key", "github_token", "token_file")
    env_creates = ("github_token", "token_file", "api_key")

    def __init__(self, name: str, base_url: str | None, options: dict[str, Any], state_dir: Path) -> None:
        super().__init__(name, base_url, options, state_dir)
        self.github_url = str(options.get("github_url") or auth.GITHUB_URL).rstrip("/")
        self.github_api_url = str(options.get("github_api_url") or auth.GITHUB_API_URL).rstrip("/")
        self.client_id = str(options.get("client_id") or auth.CLIENT_ID)
        self.clock, self.sleep = time.time, asyncio.sleep  # replaced by tests
        self.accounts: list[Account] = []
        self.minted: dict[int, Minted] = {}
        self.catalog: dict[str, ModelInfo] = {}
        self.catalog_at = -math.inf
        self.logins: dict[str, device.Login] = {}
        self.interaction_id = str(uuid.uuid4())  # X-Interaction-Id: one per session (2.1)
        self.files: dict[Path, tuple[float, str | None]] = {}  # token file -> (mtime, GitHub token)
        self.locks: dict[int, asyncio.Lock] = {}
        self.calls = HttpCalls(HTTP_TIMEOUT)

    # ------------------------------------------------------------------ the contract

    async def context(self, account: Account, req: ir.ChatRequest) -> dict[str, Any]:
        minted = await self.copilot_token(account)
        if not self.catalog and self.clock() - self.catalog_at > CATALOG_RETRY:
            await self._load_catalog(account, quiet=True)
        ctx: dict[str, Any] = {k: self.options[k] for k in CODEC_OPTIONS if k in self.options}
        ctx.update(copilot_token=minted.token.token, api_base=self._api_base(minted), models=self.catalog,
                   request_id=str(uuid.uuid4()), interaction_id=self.interaction_id)
        return ctx

    async def refresh(self, account: Account) -> bool:
        """After a 401 from CAPI (`token expired`): mint a new Copilot token on the retry (1.2)."""
        self.minted.pop(account.index, None)
        return self.github_token(account) is not None

    async def discover_models(self, accounts: list[Account]) -> list[str]:
        self.accounts = accounts
        for account in accounts:
            if self.github_token(account) is not None and await self._load_catalog(account):
                return list(self.catalog)
        if not any(self.github_token(a) for a in accounts):
            logger.warning("copilot provider %s: not logged in to GitHub; %s", self.name, LOGIN_HINT)
        return []

    def model_details(self, model: str) -> dict[str, Any]:
        """Copilot's /models data for the model: vendor, name and capabilities (2)."""
        info = self.catalog.get(model)
        if info is None:
            return {}
        caps = {"vision": info.vision, "streaming": info.streaming, "max_output_tokens": info.max_output_tokens,
                "endpoints": list(info.endpoints) if info.endpoints is not None else ["/chat/completions"]}
        return {"display_name": info.name or info.id, "owned_by": info.vendor or "github-copilot",
                "capabilities": caps}

    def pages(self) -> dict[str, PageHandler]:
        return {"/auth/device": self._device_page, "/auth/device/status": self._device_status}

    async def close(self) -> None:
        for login in self.logins.values():
            if login.task is not None:
                login.task.cancel()
        await self.calls.close()

    # ------------------------------------------------------------------ GitHub token (1.1)

    def login_path(self, account: Account) -> Path:
        safe = re.compile(r"[^A-Za-z0-9_.-]+")
        return self.state_dir / f"copilot-{safe.sub('_', self.name)}-{safe.sub('_', account.label)}.json"

    def github_token(self, account: Account) -> str | None:
        """The account's device-flow login, else its token_file, else its inline token."""
        for path in (self.login_path(account), account.fields.get("token_file")):
            found = self._read(Path(str(path)).expanduser()) if path else None
            if found:
                return found
        f = account.fields
        inline = (f.get("github_token") or f.get("api_key") or f.get("oauth_token")
                  or os.environ.get("GH_COPILOT_TOKEN"))
        return str(inline) if inline else None

    def _read(self, path: Path) -> str | None:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        cached = self.files.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        try:
            token = auth.token_from_file(json.loads(path.read_text()))
        except (OSError, ValueError) as e:
            logger.warning("copilot provider %s: cannot read %s: %s", self.name, path, e)
            token = None
        self.files[path] = (mtime, token)
        return token

    # ------------------------------------------------------------------ Copilot token (1.2)

    async def copilot_token(self, account: Account) -> Minted:
        github = self.github_token(account)
        if github is None:
            raise TranslationError(f"Copilot account '{account.label}' is not logged in to GitHub: "
                                   f"{LOGIN_HINT}.", kind="authentication")
        minted = self.minted.get(account.index)
        if minted is not None and minted.github == github and self.clock() < minted.deadline:
            return minted
        async with self.locks.setdefault(account.index, asyncio.Lock()):
            minted = self.minted.get(account.index)
            if minted is None or minted.github != github or self.clock() >= minted.deadline:
                minted = self.minted[account.index] = await self._exchange(account, github)
        return minted

    async def _exchange(self, account: Account, github: str) -> Minted:
        call = auth.copilot_token_call(self.github_api_url, github, self.options)
        status, _, body = await self._send(call, account.proxy)
        try:
            token = auth.parse_copilot_token(status, body)
        except TranslationError as e:
            hint = f" ({LOGIN_HINT})" if e.error.kind == "authentication" else ""
            raise TranslationError(f"Copilot account '{account.label}': {e.error.message}{hint}",
                                   kind=e.error.kind, status=e.error.status) from None
        now = self.clock()
        margin = float(self.options.get("refresh_margin", 60))
        logger.info("copilot account %s: Copilot token minted (%s), refresh in %ss", account.label,
                    mask(token.token), int(token.refresh_in))
        return Minted(token, auth.refresh_deadline(token, now, margin), github)

    def _api_base(self, minted: Minted) -> str:
        return (self.base_url or minted.token.api or DEFAULT_BASE_URL).rstrip("/")

    # ------------------------------------------------------------------ models (7)

    async def _load_catalog(self, account: Account, quiet: bool = False) -> bool:
        self.catalog_at = self.clock()
        try:
            minted = await self.copilot_token(account)
            ctx = {k: self.options[k] for k in CODEC_OPTIONS if k in self.options}
            ctx.update(copilot_token=minted.token.token, api_base=self._api_base(minted),
                       interaction_id=self.interaction_id)
            status, _, body = await self._send(models_call(ctx), account.proxy)
            if status != 200:
                raise TranslationError(f"/models answered HTTP {status}", kind="api_error")
            catalog = parse_models(json.loads(body))
        except (TranslationError, ValueError) as e:
            (logger.info if quiet else logger.warning)("copilot provider %s: no model list: %s", self.name, e)
            return False
        self.catalog, self.models = catalog, list(catalog)
        return True

    # ------------------------------------------------------------------ device-flow login (1.1)

    def account(self, label: str | None) -> Account | None:
        accounts = self.accounts or [Account(self.name, 0, dict(self.options))]
        if label is None:
            return accounts[0]
        return next((a for a in accounts if a.label == label), None)

    async def start_login(self, account: Account) -> device.Login:
        old = self.logins.get(account.label)
        if old is not None and old.state == "pending" and self.clock() < old.expires_at:
            return old  # a reload shows the same code
        call = auth.device_code_call(self.github_url, self.client_id)
        status, _, body = await self._send(call, account.proxy)
        code = auth.parse_device_code(status, body)
        login = device.Login(account, code.user_code, code.verification_uri, self.clock() + code.expires_in,
                             code.interval)
        if old is not None and old.task is not None:
            old.task.cancel()

        async def once() -> auth.Poll:
            call = auth.access_token_call(self.github_url, code.device_code, self.client_id)
            status, _, answer = await self._send(call, account.proxy)
            return auth.parse_access_token(status, answer)

        async def on_token(token: str) -> None:
            await self._logged_in(login, token)

        login.task = asyncio.create_task(self._run(login, once, on_token),
                                         name=f"copilot-login-{account.label}")
        self.logins[account.label] = login
        logger.info("copilot account %s: device login started, code %s", account.label, code.user_code)
        return login

    async def _run(self, login: device.Login, once: device.PollOnce, on_token: Any) -> None:
        try:
            await device.poll(login, once, self.clock, self.sleep, on_token)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # never leave a page waiting forever
            logger.exception("copilot login %s failed", login.account.label)
            login.state, login.message = "error", str(e)
        if login.state != "done":
            logger.warning("copilot account %s: device login %s %s", login.account.label, login.state,
                           login.message)

    async def _logged_in(self, login: device.Login, token: str) -> None:
        account = login.account
        login.user = await self._user(account, token)
        record = {"github_token": token, "user": login.user, "client_id": self.client_id,
                  "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        path = self.login_path(account)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(path, json.dumps(record, indent=2) + "\n")
        self.minted.pop(account.index, None)
        logger.info("copilot account %s: logged in to GitHub as %s (token %s)", account.label, login.user,
                    mask(token))
        if not self.catalog:
            await self._load_catalog(account)

    async def _user(self, account: Account, token: str) -> str | None:
        try:
            status, _, body = await self._send(auth.user_call(self.github_api_url, token, self.options),
                                               account.proxy)
        except TranslationError:
            return None
        return auth.user_login(status, body)

    async def _device_page(self, page: Page) -> PageAnswer:
        account = self.account(page.query.get("account"))
        if account is None:
            return PageAnswer(404, device.error_page(f"No account named {page.query.get('account')!r}."))
        current = self._current_user(account)
        try:
            login = await self.start_login(account)
        except TranslationError as e:
            return PageAnswer(502, device.error_page(f"GitHub could not start the login: {e.error.message}"))
        return PageAnswer(200, device.page(self.name, login, current))

    def _current_user(self, account: Account) -> str | None:
        """Who the account is logged in as ("" when unknown), None when it has no GitHub token."""
        if self.github_token(account) is None:
            return None
        try:
            return str(json.loads(self.login_path(account).read_text()).get("user") or "")
        except (OSError, ValueError, AttributeError):
            return ""

    async def _device_status(self, page: Page) -> PageAnswer:
        account = self.account(page.query.get("account"))
        login = self.logins.get(account.label) if account is not None else None
        return PageAnswer(200, device.status_json(login, self.clock()), "application/json")

    # ------------------------------------------------------------------ plumbing

    async def _send(self, call: UpstreamCall, proxy: str | None) -> tuple[int, Mapping[str, str], bytes]:
        """One call to GitHub or CAPI through the account's proxy."""
        return await self.calls.send(call, proxy, "GitHub Copilot")


def demo_provider(base_url: str, state_dir: Path, key: str) -> dict[str, Any]:
    """The demo account: a stored GitHub login whose token is `key` (the emulator accepts it), so
    `copilot/<model>` works at once; GitHub and its API are the emulator, which names itself as the
    Copilot API base in the token (endpoints.api)."""
    path = Path(state_dir) / "copilot-demo-github-token.json"
    write_atomic(path, json.dumps({"github_token": key, "user": "octocat"}, indent=2) + "\n", backup=False)
    return {"type": "copilot", "accounts": [{"name": "demo", "token_file": str(path)}],
            "options": {"github_url": base_url, "github_api_url": base_url}}

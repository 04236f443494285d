"""Gemini Code Assist's I/O half: Google OAuth tokens and the Code Assist project of each account
(gemini-code-assist.md 1 and 2.1). The codec is translators/providers/gemini_code_assist.

Account fields (YAML `accounts:` or, for one account, `options:`; env GEMINI_<FIELD> for the first):
- `token_file`: a stored login in any of the formats of 1.2 (gemini-cli's ~/.gemini/oauth_creds.json,
  an oauth2.Token JSON, python google-auth's JSON); refreshed tokens are written back to it, in its
  own format, atomically with mode 0600;
- or inline `refresh_token` (+ optional `access_token`, `client_id`, `client_secret`), kept in memory;
- or a bare `access_token` (no refresh, like GOOGLE_CLOUD_ACCESS_TOKEN);
- `project_id`: skips discovery (GOOGLE_CLOUD_PROJECT); else loadCodeAssist / onboardUser, cached.
Options: `client_id` (default gemini-cli's public id), `client_secret` (gemini-cli's public
installed-app secret: a config value, 1), `token_url`, `refresh_margin` (s, default 300),
`onboard_poll_interval` (s, default 5), `user_agent`, `api_version`, `tool_schema`, `models`."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timezone
from pathlib import Path
from typing import Any

import httpx

from addons.atomicfile import write_atomic
from addons.httpcalls import HttpCalls
from addons.masking import mask
from addons.pool import Account
from addons.providers.base import Runtime as BaseRuntime
from translators import ir
from translators.errors import TranslationError
from translators.providers.gemini_code_assist.errors import parse_error
from translators.providers.gemini_code_assist.request import DEFAULT_BASE_URL
from translators.providers.gemini_code_assist.request import USER_AGENT
from translators.providers.gemini_code_assist.request import api_base

logger = logging.getLogger(__name__)

TOKEN_URL = "https://oauth2.googleapis.com/token"
CLIENT_ID = "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com"
ENV_FIELDS = ("token_file", "refresh_token", "access_token", "client_id", "client_secret", "project_id")
CODEC_OPTIONS = ("api_version", "user_agent", "tool_schema")  # what build() reads; never the secrets
METADATA = {"ideType": "IDE_UNSPECIFIED", "platform": "PLATFORM_UNSPECIFIED", "pluginType": "GEMINI"}
ONBOARD_POLLS = 24
HTTP_TIMEOUT = 30.0


@dataclass(slots=True)
class Credential:
    access_token: str | None = None
    refresh_token: str | None = None
    expiry: float | None = None  # epoch seconds; None = unknown
    client_id: str | None = None
    client_secret: str | None = None
    project_id: str | None = None
    path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the file's JSON, rewritten in its own format
    mtime: float = 0.0


def _expiry(raw: dict[str, Any]) -> float | None:
    """`expiry_date` (epoch ms, gemini-cli) or `expiry` (RFC 3339 / ISO, Go and python google-auth)."""
    if isinstance(raw.get("expiry_date"), (int, float)):
        return float(raw["expiry_date"]) / 1000
    value = raw.get("expiry")
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()
    return None


def parse_credential(raw: dict[str, Any]) -> Credential:
    """Any stored format of 1.2 (a `token` object nested as in WenChunTech's config is unwrapped)."""
    if isinstance(raw.get("token"), dict):
        raw = {**raw, **raw["token"]}
    access = raw.get("access_token") or (raw["token"] if isinstance(raw.get("token"), str) else None)
    return Credential(access or None, raw.get("refresh_token") or None, _expiry(raw),
                      raw.get("client_id") or None, raw.get("client_secret") or None,
                      raw.get("project_id") or None)


def updated_file(raw: dict[str, Any], tokens: dict[str, Any], expiry: float) -> dict[str, Any]:
    """The token file after a refresh, in the format it was written in."""
    out = dict(raw)
    nested = isinstance(out.get("token"), dict)
    target = dict(out["token"]) if nested else out
    if isinstance(target.get("token"), str) and "access_token" not in target:  # python google-auth
        target["token"] = tokens["access_token"]
        target["expiry"] = datetime.fromtimestamp(expiry, timezone.utc).isoformat()
    elif "expiry" in target and "expiry_date" not in target:  # Go oauth2.Token
        target["access_token"] = tokens["access_token"]
        target["expiry"] = datetime.fromtimestamp(expiry, timezone.utc).isoformat()
    else:  # gemini-cli (google-auth-library Credentials), also for a file without any expiry
        target["access_token"] = tokens["access_token"]
        target["expiry_date"] = int(expiry * 1000)
    for key in ("refresh_token", "id_token", "scope", "token_type"):
        if tokens.get(key) and (key == "refresh_token" or key in target or "expiry_date" in target):
            target[key] = tokens[key]
    if nested:
        out["token"] = target
    return out


class Runtime(BaseRuntime):
    env_fields = ENV_FIELDS
    # GEMINI_API_KEY is the Gemini Developer API's variable: it must not create a Code Assist provider
    env_creates = ("token_file", "refresh_token")

    def __init__(self, name: str, base_url: str | None, options: dict[str, Any], state_dir: Path) -> None:
        super().__init__(name, base_url, options, state_dir)
        self.creds: dict[int, Credential] = {}
        self.projects: dict[int, str] = {}
        self.locks: dict[int, asyncio.Lock] = {}  # token refreshes
        # held across calls that may refresh the token, so not the refresh lock
        self.discovery_locks: dict[int, asyncio.Lock] = {}
        self.calls = HttpCalls(HTTP_TIMEOUT)

    # ------------------------------------------------------------------ the contract

    async def context(self, account: Account, req: ir.ChatRequest) -> dict[str, Any]:
        cred = await self.credential(account)
        project = await self.project(account, cred)  # first: discovery may have to refresh the token
        ctx = {k: self.options[k] for k in CODEC_OPTIONS if k in self.options}
        ctx.update(base_url=self._base(), access_token=cred.access_token, project=project)
        return ctx

    async def refresh(self, account: Account) -> bool:
        """After a 401: a new access token now, whatever the stored expiry says."""
        cred = self._load(account)
        if not cred.refresh_token:
            return False
        async with self._lock(account):
            await self._refresh(account, cred)
        return True

    async def close(self) -> None:
        await self.calls.close()

    # ------------------------------------------------------------------ tokens (1.1)

    async def credential(self, account: Account) -> Credential:
        """The account's credential with an access token valid for at least `refresh_margin` seconds."""
        cred = self._load(account)
        if self._valid(cred):
            return cred
        async with self._lock(account):
            cred = self._load(account)  # another request may have refreshed meanwhile
            if not self._valid(cred):
                await self._refresh(account, cred)
        return cred

    def _valid(self, cred: Credential) -> bool:
        if not cred.access_token:
            return False
        if cred.expiry is None or not cred.refresh_token:
            return True  # a static token: used until the upstream refuses it
        return cred.expiry - float(self.options.get("refresh_margin", 300)) > time.time()

    def _load(self, account: Account) -> Credential:
        """From the token file (re-read when it changed on disk, e.g. after a new gemini-cli login) or
        from the account's inline fields."""
        cached = self.creds.get(account.index)
        path = account.fields.get("token_file")
        if not path:
            if cached is None:
                cached = self.creds[account.index] = parse_credential(account.fields)
            return cached
        p = Path(str(path)).expanduser()
        try:
            mtime = p.stat().st_mtime
            if cached is not None and cached.mtime == mtime:
                return cached
            raw = json.loads(p.read_text())
        except (OSError, ValueError) as e:
            raise _error(account, f"cannot read token_file {p}: {e}") from None
        if not isinstance(raw, dict):
            raise _error(account, f"token_file {p} is not a JSON object.")
        cred = parse_credential(raw)
        cred.path, cred.raw, cred.mtime = p, raw, mtime
        self.creds[account.index] = cred
        return cred

    async def _refresh(self, account: Account, cred: Credential) -> None:
        if not cred.refresh_token:
            raise _error(account, "the access token expired and there is no refresh_token to renew it.")
        fields, options = account.fields, self.options
        secret = fields.get("client_secret") or cred.client_secret or options.get("client_secret")
        if not secret:
            raise _error(account, "set options.client_secret (gemini-cli's public installed-app "
                                  "OAUTH_CLIENT_SECRET) to refresh Google tokens.")
        client_id = fields.get("client_id") or cred.client_id or options.get("client_id") or CLIENT_ID
        form = {"grant_type": "refresh_token", "refresh_token": cred.refresh_token,
                "client_id": str(client_id), "client_secret": str(secret)}
        tokens = await self._token_call(account, form)
        expiry = time.time() + float(tokens.get("expires_in") or 3599)
        if cred.path is not None:  # written only after a good refresh: a failure leaves the file as it was
            raw = updated_file(cred.raw, tokens, expiry)
            write_atomic(cred.path, json.dumps(raw, indent=2) + "\n")
            cred.raw, cred.mtime = raw, cred.path.stat().st_mtime
        cred.access_token, cred.expiry = str(tokens["access_token"]), expiry
        # a refresh usually brings no new refresh token (1.1): keep the old one
        cred.refresh_token = str(tokens.get("refresh_token") or cred.refresh_token)
        logger.info("gemini account %s: access token refreshed (%s), valid %ss", account.label,
                    mask(cred.access_token), int(expiry - time.time()))

    async def _token_call(self, account: Account, form: dict[str, str]) -> dict[str, Any]:
        url = str(self.options.get("token_url") or TOKEN_URL)
        try:
            resp = await self._client(account).post(url, data=form, headers={"accept": "application/json"})
        except httpx.HTTPError as e:
            raise _error(account, f"the Google token endpoint {url} could not be reached: {e!r}",
                         "upstream_unreachable") from None
        try:
            body = resp.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        if resp.status_code == 200 and isinstance(body.get("access_token"), str):
            return body
        error = body.get("error") or resp.status_code
        described = body.get("error_description") or resp.text[:200]
        hint = (" Log in again with gemini-cli (the refresh token is expired or revoked)."
                if body.get("error") == "invalid_grant" else
                " Check client_id / client_secret." if "client" in str(body.get("error")) else "")
        kind = "authentication" if resp.status_code in (400, 401, 403) else "api_error"
        raise _error(account, f"refreshing the Google access token failed ({error}: {described}).{hint}",
                     kind, None if kind != "api_error" else 502)

    # ------------------------------------------------------------------ project (2.1)

    async def project(self, account: Account, cred: Credential) -> str:
        configured = account.fields.get("project_id") or self.options.get("project_id") or cred.project_id
        if configured:
            return str(configured)
        if account.index in self.projects:
            return self.projects[account.index]
        async with self.discovery_locks.setdefault(account.index, asyncio.Lock()):
            if account.index not in self.projects:
                self.projects[account.index] = await self._discover_project(account)
                logger.info("gemini account %s: Code Assist project %s", account.label,
                            self.projects[account.index])
        return self.projects[account.index]

    async def _discover_project(self, account: Account) -> str:
        load = await self._api(account, "POST", "loadCodeAssist", {"metadata": METADATA})
        project = _project_id(load.get("cloudaicompanionProject"))
        if load.get("currentTier"):
            if project:
                return project
            raise _error(account, "its Code Assist tier needs a Google Cloud project: set project_id.",
                         "permission")
        tiers = [t for t in load.get("allowedTiers") or [] if isinstance(t, dict)]
        tier = next((t.get("id") for t in tiers if t.get("isDefault")), None) or "legacy-tier"
        if not tiers and load.get("ineligibleTiers"):
            reasons = "; ".join(str(t.get("reasonMessage") or t.get("reasonCode"))
                                for t in load["ineligibleTiers"] if isinstance(t, dict))
            raise _error(account, f"Code Assist is not available to it: {reasons}", "permission")
        op = await self._api(account, "POST", "onboardUser", {"tierId": tier, "metadata": METADATA})
        for _ in range(ONBOARD_POLLS):
            if op.get("done"):
                break
            await asyncio.sleep(float(self.options.get("onboard_poll_interval", 5)))
            name = op.get("name")
            op = await (self._api(account, "GET", str(name), None) if name else
                        self._api(account, "POST", "onboardUser", {"tierId": tier, "metadata": METADATA}))
        project = _project_id((op.get("response") or {}).get("cloudaicompanionProject"))
        if not project:
            raise _error(account, "Code Assist onboarding did not give a project; set project_id.",
                         "api_error", 502)
        return project

    async def _api(self, account: Account, verb: str, method: str, body: dict[str, Any] | None,
                   retried: bool = False) -> dict[str, Any]:
        """One Code Assist management call; a 401 refreshes the token and retries once (1.1)."""
        cred = await self.credential(account)
        base = api_base({"base_url": self._base(), "api_version": self.options.get("api_version")})
        url = f"{base}/{method}" if verb == "GET" else f"{base}:{method}"
        headers = {"authorization": f"Bearer {cred.access_token}", "content-type": "application/json",
                   "user-agent": str(self.options.get("user_agent") or USER_AGENT)}
        try:
            resp = await self._client(account).request(verb, url, json=body, headers=headers)
        except httpx.HTTPError as e:
            raise _error(account, f"Code Assist could not be reached: {e!r}",
                         "upstream_unreachable") from None
        if resp.status_code == 401 and not retried and cred.refresh_token:
            async with self._lock(account):
                await self._refresh(account, cred)
            return await self._api(account, verb, method, body, retried=True)
        if resp.status_code != 200:
            err = parse_error(resp.status_code, resp.headers, resp.content)
            raise TranslationError(f"Gemini account '{account.label}': {method} failed: {err.message}",
                                   kind=err.kind, status=err.status, retry_after=err.retry_after)
        data = resp.json()
        return data if isinstance(data, dict) else {}

    # ------------------------------------------------------------------ plumbing

    def _base(self) -> str:
        return self.base_url or DEFAULT_BASE_URL

    def _lock(self, account: Account) -> asyncio.Lock:
        return self.locks.setdefault(account.index, asyncio.Lock())

    def _client(self, account: Account) -> httpx.AsyncClient:
        """The account's own proxy for its token and discovery calls too."""
        return self.calls.client(account.proxy)


def _error(account: Account, message: str, kind: str = "authentication",
           status: int | None = None) -> TranslationError:
    """A clear error naming the account (never its secrets), shown to the client in its dialect."""
    return TranslationError(f"Gemini account '{account.label}': {message}", kind=kind, status=status)


def _project_id(value: Any) -> str | None:
    """A string (loadCodeAssist) or `{id, name}` (onboardUser's response)."""
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if isinstance(value, str) and value else None


def demo_provider(base_url: str, state_dir: Path, key: str) -> dict[str, Any]:
    """The demo account: a gemini-cli token file whose access token has expired, so the first request
    refreshes it at the emulator's token endpoint (which accepts `key` as the refresh token)."""
    path = Path(state_dir) / "gemini_oauth_creds.json"
    creds = {"access_token": "ya29.demo-expired-access-token", "refresh_token": key, "token_type": "Bearer",
             "scope": "https://www.googleapis.com/auth/cloud-platform",
             "expiry_date": int((time.time() - 3600) * 1000)}
    write_atomic(path, json.dumps(creds, indent=2) + "\n", backup=False)
    return {"type": "gemini", "base_url": base_url,
            "accounts": [{"name": "demo", "token_file": str(path)}],
            "options": {"token_url": base_url + "/token", "client_secret": "demo-installed-app-secret",
                        "onboard_poll_interval": 0.05},
            "models": ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-3-pro-preview"]}

"""The I/O half of a provider: what a request needs from the outside world, per account.

The default runtime passes the account's configured fields through. Providers with OAuth tokens,
project discovery or a chat to create first override `context` (and `refresh` for a 401)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import Awaitable
from typing import Callable
from typing import Mapping

from addons.pool import Account
from translators import ir


@dataclass(frozen=True, slots=True)
class Page:
    """A request for a provider's local page, and (as `PageAnswer`) what to answer."""

    method: str
    path: str
    query: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class PageAnswer:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"


PageHandler = Callable[[Page], Awaitable[PageAnswer]]


class Runtime:
    # account fields that `<PROVIDER>_<FIELD>` environment variables may set (first account)
    env_fields: tuple[str, ...] = ("api_key",)
    # fields whose `<TYPE>_<FIELD>` variable alone creates a provider of this type named after it
    env_creates: tuple[str, ...] = ("api_key",)

    def __init__(self, name: str, base_url: str | None, options: dict[str, Any], state_dir: Path) -> None:
        self.name, self.base_url, self.options, self.state_dir = name, base_url, options, state_dir
        self.models: list[str] = []  # filled by discover_models(), listed in /v1/models

    async def discover_models(self, accounts: list[Account]) -> list[str]:
        """Model ids the upstream offers (e.g. CodeGPT's agents), fetched once at start. [] = unknown."""
        return []

    async def context(self, account: Account, req: ir.ChatRequest) -> dict[str, Any]:
        """Everything the codec's build() needs for this request: account fields plus runtime values."""
        ctx = dict(self.options)
        ctx.update(account.fields)
        if self.base_url:
            ctx["base_url"] = self.base_url
        return ctx

    async def refresh(self, account: Account) -> bool:
        """After a 401: renew the account's credential. True when a retry makes sense."""
        return False

    def account_for_client_key(self, key: str) -> Account | None:
        """A client key that is itself this provider's credential (ChatGPT's `raw_token_prefix`): the
        account for that one request (no pool, no failover), else None. Off unless a runtime opts in."""
        return None

    def model_details(self, model: str) -> dict[str, Any]:
        """Fields merged into the model's /v1/models entry (display name, capabilities...)."""
        return {}

    def pages(self) -> dict[str, PageHandler]:
        """Local pages this provider serves, by path under /auth/ (e.g. a device-flow login page).
        The gateway checks the client key (header or `?key=`) first."""
        return {}

    async def close(self) -> None:
        pass

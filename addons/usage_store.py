"""Where usage is kept: one record per finished bridged flow, summed per client key, provider, account,
model and day. SQLite by default (addons/usage_sqlite.py); Redis when several processes share it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UsageRecord:
    day: str  # UTC, YYYY-MM-DD
    client_key: str  # addons.masking.key_id(key): never the key itself
    provider: str
    account: str  # the account's label, never its credential
    model: str
    requests: int = 1
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0
    errors: int = 0


COUNTERS = ("requests", "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "errors")
GROUP = ("day", "client_key", "provider", "account", "model")


class UsageStore:
    """Summed counters per GROUP key. Implementations must not lose an added record on restart."""

    async def add(self, rec: UsageRecord) -> None:
        raise NotImplementedError

    async def rows(self) -> list[dict[str, int | str]]:
        """Every group with its counters: dicts with GROUP and COUNTERS keys."""
        raise NotImplementedError

    async def day_totals(self, client_key: str, day: str) -> tuple[int, int]:
        """(requests, input+output tokens) of one client key (its key_id) on one day, for daily limits."""
        raise NotImplementedError

    async def close(self) -> None:
        return None

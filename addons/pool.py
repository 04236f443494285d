"""Account pools: round-robin over a provider's healthy accounts, per-account cooldown honouring
Retry-After, automatic recovery when the cooldown ends. Pure logic with the clock passed in."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

DEFAULT_COOLDOWN = 30.0  # seconds, when a 429 carries no Retry-After


@dataclass(slots=True, eq=False)  # accounts are compared by identity
class Account:
    provider: str
    index: int
    fields: dict[str, Any]  # credentials and per-account identity (api_key, agent_id, token_file...)
    proxy: str | None = None
    cooling_until: float = 0.0
    failures: int = 0
    uses: int = 0

    @property
    def label(self) -> str:
        return str(self.fields.get("name") or f"{self.provider}#{self.index}")


@dataclass(slots=True)
class Pool:
    accounts: list[Account]
    _next: int = field(default=0)

    def pick(self, now: float, exclude: tuple[Account, ...] = ()) -> Account | None:
        """The next healthy account after the last one used; None when all are cooling down."""
        n = len(self.accounts)
        for step in range(n):
            acc = self.accounts[(self._next + step) % n]
            if acc.cooling_until <= now and acc not in exclude:
                self._next = (acc.index + 1) % n
                acc.uses += 1
                return acc
        return None

    def cooldown(self, acc: Account, now: float, retry_after: float | None) -> None:
        acc.cooling_until = now + (retry_after if retry_after is not None else DEFAULT_COOLDOWN)
        acc.failures += 1

    def succeeded(self, acc: Account) -> None:
        acc.failures = 0

    def soonest_recovery(self, now: float) -> float:
        """Seconds until some account is usable again (for the client's Retry-After)."""
        return max(0.0, min((a.cooling_until for a in self.accounts), default=now) - now)


def status(pools: dict[str, Pool], now: float) -> dict[str, Any]:
    """Operator view of every pool, secrets masked."""
    from addons.masking import mask

    out: dict[str, Any] = {}
    for name, pool in pools.items():
        accounts = [{
            "account": a.label,
            "key": mask(str(a.fields.get("api_key") or a.fields.get("token") or "")) or None,
            "usable": a.cooling_until <= now,
            "cooling_for_seconds": round(max(0.0, a.cooling_until - now), 1),
            "failures": a.failures,
            "uses": a.uses,
            "proxy": bool(a.proxy),
        } for a in pool.accounts]
        out[name] = {"count": len(accounts), "usable": sum(a["usable"] for a in accounts), "accounts": accounts}
    return out


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (HTTP dates are rare from APIs and treated as unknown)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None

"""Pool state shared by several bridge processes through Redis: cooldowns, the round-robin position and
the per-account counters. Without redis_url, or while Redis does not answer, the in-process Pool decides
alone, exactly as a single bridge does (and no call here awaits any I/O).

Keys (P = redis_prefix, N = provider, A = account_id):
  P:cool:N:A   the wall-clock time its cooldown ends; expires with the cooldown (SET PX)
  P:rr:N       round-robin turn, INCR per pick
  P:acct:N:A   hash: failures, uses (HINCRBY)"""

from __future__ import annotations

import json
import time

from addons.masking import key_id
from addons.pool import DEFAULT_COOLDOWN
from addons.pool import Account
from addons.pool import Pool
from addons.redisclient import ERRORS as REDIS_ERRORS
from addons.redisclient import Outage
from addons.redisclient import connect


def account_id(acc: Account) -> str:
    """An account's name across processes: its index and a hash of its credential, so that a reordered or
    edited configuration never lends one account's cooldown to another."""
    cred = acc.fields.get("api_key") or acc.fields.get("token") or json.dumps(
        {k: v for k, v in acc.fields.items() if k != "name"}, sort_keys=True, default=str)
    return f"{acc.index}:{key_id(str(cred))}"


class PoolState:
    """Picks accounts and records outcomes: in Redis when a URL is given and it answers, else in the Pool.
    The local Account objects mirror what was last read from Redis (cooldowns, counters), so that the
    operator views and the fallback continue from the shared state."""

    def __init__(self, url: str | None = None, prefix: str = "llm-bridge") -> None:
        self.url, self.prefix = url, prefix
        self.redis = connect(url) if url else None
        self.outage = Outage(str(url), "account pools are this process's own")

    def serves(self, url: str | None, prefix: str) -> bool:
        return (self.url, self.prefix) == (url, prefix)

    async def pick(self, pool: Pool, exclude: tuple[Account, ...] = ()) -> Account | None:
        """The next usable account (None when all cool down), round-robin across every process."""
        if self._live():
            try:
                acc = await self._shared_pick(pool, exclude)
            except REDIS_ERRORS as e:
                self.outage.failed(e)
            else:
                self.outage.answered()
                return acc
        return pool.pick(time.monotonic(), exclude)

    async def cooldown(self, pool: Pool, acc: Account, retry_after: float | None) -> None:
        pool.cooldown(acc, time.monotonic(), retry_after)
        if not self._live():
            return
        seconds = retry_after if retry_after is not None else DEFAULT_COOLDOWN
        try:
            async with self.redis.pipeline(transaction=False) as p:
                p.set(self._key("cool", acc), repr(time.time() + seconds), px=max(1, round(seconds * 1000)))
                p.hincrby(self._key("acct", acc), "failures", 1)
                await p.execute()
        except REDIS_ERRORS as e:
            self.outage.failed(e)
        else:
            self.outage.answered()

    async def succeeded(self, pool: Pool, acc: Account) -> None:
        had_failures = acc.failures
        pool.succeeded(acc)
        if not had_failures or not self._live():  # the mirror says the shared counter is 0 already
            return
        try:
            await self.redis.hset(self._key("acct", acc), "failures", 0)
        except REDIS_ERRORS as e:
            self.outage.failed(e)
        else:
            self.outage.answered()

    async def refresh(self, pools: dict[str, Pool]) -> None:
        """Bring the local accounts up to the shared state, before they are shown to an operator."""
        accounts = [a for pool in pools.values() for a in pool.accounts]
        if not accounts or not self._live():
            return
        try:
            async with self.redis.pipeline(transaction=False) as p:
                p.mget([self._key("cool", a) for a in accounts])
                for a in accounts:
                    p.hmget(self._key("acct", a), "failures", "uses")
                ends, *counters = await p.execute()
        except REDIS_ERRORS as e:
            self.outage.failed(e)
            return
        self.outage.answered()
        self._mirror(accounts, ends)
        for a, (failures, uses) in zip(accounts, counters):
            a.failures, a.uses = int(failures or 0), int(uses or 0)

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()

    async def _shared_pick(self, pool: Pool, exclude: tuple[Account, ...]) -> Account | None:
        accounts = pool.accounts
        async with self.redis.pipeline(transaction=False) as p:
            p.mget([self._key("cool", a) for a in accounts])
            p.incr(f"{self.prefix}:rr:{accounts[0].provider}")
            ends, turn = await p.execute()
        self._mirror(accounts, ends)
        now, n = time.monotonic(), len(accounts)
        for step in range(n):
            acc = accounts[(turn - 1 + step) % n]
            if acc.cooling_until <= now and acc not in exclude:
                async with self.redis.pipeline(transaction=False) as p:
                    p.hincrby(self._key("acct", acc), "uses", 1)
                    p.hget(self._key("acct", acc), "failures")
                    uses, failures = await p.execute()
                acc.uses, acc.failures = uses, int(failures or 0)  # `succeeded` resets failures only when needed
                return acc
        return None

    @staticmethod
    def _mirror(accounts: list[Account], ends: list[bytes | None]) -> None:
        """Shared wall-clock cooldown ends as the local monotonic times the Pool works with."""
        wall, mono = time.time(), time.monotonic()
        for a, end in zip(accounts, ends):
            a.cooling_until = mono + max(0.0, float(end) - wall) if end else 0.0

    def _key(self, kind: str, acc: Account) -> str:
        return f"{self.prefix}:{kind}:{acc.provider}:{account_id(acc)}"

    def _live(self) -> bool:
        return self.redis is not None and self.outage.live()

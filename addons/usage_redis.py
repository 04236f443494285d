"""Usage kept in Redis, so that several bridge processes sum into one account. Keeping it across a Redis
restart is Redis's persistence (run it with `appendonly yes`).

Keys (P = redis_prefix):
  P:usage:groups                 set of every group (JSON list of GROUP values)
  P:usage:g:<group JSON>         hash: COUNTERS, HINCRBY per record
  P:usage:day:<day>:<client_key> hash: requests, tokens (input + output) - daily limits read it in O(1)

A record that cannot be written because Redis does not answer is kept in memory and written with the
next one that can (bounded): accounting never fails a client's request."""

from __future__ import annotations

import json
from collections import deque

from addons.redisclient import ERRORS as REDIS_ERRORS
from addons.redisclient import Outage
from addons.redisclient import connect
from addons.usage_store import COUNTERS
from addons.usage_store import GROUP
from addons.usage_store import UsageRecord
from addons.usage_store import UsageStore

PENDING_MAX = 10_000  # records held while Redis is away; the oldest go first beyond this


class RedisUsageStore(UsageStore):
    def __init__(self, url: str, prefix: str = "llm-bridge") -> None:
        self.url, self.prefix = url, prefix
        self.redis = connect(url)
        self.pending: deque[UsageRecord] = deque(maxlen=PENDING_MAX)
        self.outage = Outage(url, "usage is held in memory")

    def _group_key(self, group: str) -> str:
        return f"{self.prefix}:usage:g:{group}"

    def _day_key(self, client_key: str, day: str) -> str:
        return f"{self.prefix}:usage:day:{day}:{client_key}"

    async def add(self, rec: UsageRecord) -> None:
        self.pending.append(rec)
        if not self.outage.live():
            return
        # Taken out before the await: a concurrent add must not send these records again.
        batch, self.pending = list(self.pending), deque(maxlen=PENDING_MAX)
        try:
            async with self.redis.pipeline(transaction=True) as p:  # one record lands whole or not at all
                for r in batch:
                    group = json.dumps([getattr(r, g) for g in GROUP], ensure_ascii=False)
                    p.sadd(f"{self.prefix}:usage:groups", group)
                    for c in COUNTERS:
                        p.hincrby(self._group_key(group), c, getattr(r, c))
                    p.hincrby(self._day_key(r.client_key, r.day), "requests", r.requests)
                    p.hincrby(self._day_key(r.client_key, r.day), "tokens", r.input_tokens + r.output_tokens)
                await p.execute()
        except REDIS_ERRORS as e:
            self.outage.failed(e)
            self.pending = deque([*batch, *self.pending], maxlen=PENDING_MAX)  # kept, the oldest go first
            return
        self.outage.answered()

    async def rows(self) -> list[dict[str, int | str]]:
        groups = sorted(g.decode() for g in await self.redis.smembers(f"{self.prefix}:usage:groups"))
        async with self.redis.pipeline(transaction=False) as p:
            for g in groups:
                p.hmget(self._group_key(g), *COUNTERS)
            counters = await p.execute() if groups else []
        return [{**dict(zip(GROUP, json.loads(g))), **{c: int(v or 0) for c, v in zip(COUNTERS, values)}}
                for g, values in zip(groups, counters)]

    async def day_totals(self, client_key: str, day: str) -> tuple[int, int]:
        held = [r for r in self.pending if r.client_key == client_key and r.day == day]
        requests, tokens = sum(r.requests for r in held), sum(r.input_tokens + r.output_tokens for r in held)
        if not self.outage.live():
            return requests, tokens  # what this process knows: limits keep working, if less strictly
        try:
            stored = await self.redis.hmget(self._day_key(client_key, day), "requests", "tokens")
        except REDIS_ERRORS as e:
            self.outage.failed(e)
            return requests, tokens
        self.outage.answered()
        return requests + int(stored[0] or 0), tokens + int(stored[1] or 0)

    async def close(self) -> None:
        await self.redis.aclose()

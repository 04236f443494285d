"""RedisUsageStore against a real redis-server: two stores (as two bridge processes) sum into the same
rows and daily totals, and a record added while Redis is away is written once it is back."""

from __future__ import annotations

from pathlib import Path

import pytest

from addons.usage_redis import RedisUsageStore
from addons.usage_store import COUNTERS
from addons.usage_store import GROUP
from addons.usage_store import UsageRecord
from tests.harness import free_port
from tests.redis_server import RedisServer
from tests.redis_server import available
from tests.redis_server import redis_server  # noqa: F401

pytestmark = pytest.mark.skipif(not available(), reason="redis-server is not installed")


def rec(model: str = "gpt-4.1", key: str = "sk-a…00000001", day: str = "2026-12-06", **counts: int) -> UsageRecord:
    return UsageRecord(day=day, client_key=key, provider="chat", account="first", model=model, **counts)


async def test_two_stores_sum_into_one_account(redis_server: RedisServer) -> None:  # noqa: F811
    one, two = RedisUsageStore(redis_server.db(1), "t1"), RedisUsageStore(redis_server.db(1), "t1")
    try:
        await one.add(rec(input_tokens=10, output_tokens=5, cached_tokens=2))
        await two.add(rec(input_tokens=1, output_tokens=1, reasoning_tokens=3, errors=1))
        await two.add(rec(model="gpt-5|odd:name", input_tokens=7))
        await one.add(rec(key="sk-b…00000002", input_tokens=100))
        await one.add(rec(day="2026-12-05", input_tokens=1000))
        rows = await two.rows()
        assert all(set(r) == set(GROUP + COUNTERS) for r in rows)
        by = {(r["day"], r["client_key"], r["model"]): r for r in rows}
        assert len(rows) == 4
        summed = by[("2026-12-06", "sk-a…00000001", "gpt-4.1")]
        assert (summed["requests"], summed["input_tokens"], summed["output_tokens"], summed["cached_tokens"],
                summed["reasoning_tokens"], summed["errors"]) == (2, 11, 6, 2, 3, 1)
        assert summed["provider"] == "chat" and summed["account"] == "first"
        assert by[("2026-12-06", "sk-a…00000001", "gpt-5|odd:name")]["input_tokens"] == 7
        assert await one.day_totals("sk-a…00000001", "2026-12-06") == (3, 24)
        assert await two.day_totals("sk-b…00000002", "2026-12-06") == (1, 100)
        assert await two.day_totals("sk-a…00000001", "2026-12-04") == (0, 0)
    finally:
        await one.close()
        await two.close()


async def test_prefixes_keep_bridges_apart(redis_server: RedisServer) -> None:  # noqa: F811
    a, b = RedisUsageStore(redis_server.db(2), "left"), RedisUsageStore(redis_server.db(2), "right")
    try:
        await a.add(rec(input_tokens=4))
        assert [r["input_tokens"] for r in await a.rows()] == [4]
        assert await b.rows() == [] and await b.day_totals("sk-a…00000001", "2026-12-06") == (0, 0)
    finally:
        await a.close()
        await b.close()


async def test_records_added_while_redis_is_away_are_written_when_it_is_back(tmp_path: Path) -> None:
    port = free_port()
    store = RedisUsageStore(f"redis://127.0.0.1:{port}/0", "away")
    server = None
    try:
        await store.add(rec(input_tokens=3, output_tokens=2))  # nothing listens: no error for the caller
        assert not store.outage.live(), "Redis is not asked again at once"
        assert await store.day_totals("sk-a…00000001", "2026-12-06") == (1, 5), "held records still count"
        server = RedisServer(tmp_path, port)
        store.outage.retry_at = 0.0  # as when RETRY_SECONDS have passed since the failure
        await store.add(rec(input_tokens=1))
        assert [(r["requests"], r["input_tokens"]) for r in await store.rows()] == [(2, 4)]
        assert await store.day_totals("sk-a…00000001", "2026-12-06") == (2, 6)
        assert not store.pending
    finally:
        await store.close()
        if server is not None:
            server.stop()


async def test_concurrent_adds_count_each_record_once(redis_server: RedisServer) -> None:  # noqa: F811
    import asyncio

    store = RedisUsageStore(redis_server.db(3), "conc")
    try:
        await asyncio.gather(*(store.add(rec(input_tokens=1)) for _ in range(50)))
        rows = await store.rows()
        assert [(r["requests"], r["input_tokens"]) for r in rows] == [(50, 50)]
        assert await store.day_totals("sk-a…00000001", "2026-12-06") == (50, 50)
    finally:
        await store.close()

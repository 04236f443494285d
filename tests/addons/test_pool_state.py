"""PoolState against a real redis-server: two states (as two processes) share cooldowns and the
round-robin turn; an account is known by its credential, not only its place in the configuration; and
without Redis, or with one that does not answer, the local Pool decides exactly as before."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from addons.pool import Account
from addons.pool import Pool
from addons.pool_state import PoolState
from tests.harness import free_port
from tests.redis_server import RedisServer
from tests.redis_server import available
from tests.redis_server import redis_server  # noqa: F401

pytestmark = pytest.mark.skipif(not available(), reason="redis-server is not installed")


def pool(*keys: str) -> Pool:
    return Pool([Account("p", i, {"name": k, "api_key": f"sk-{k}-secret"}) for i, k in enumerate(keys)])


async def test_two_states_share_cooldown_and_turn(redis_server: RedisServer) -> None:  # noqa: F811
    one, two = PoolState(redis_server.db(4), "t"), PoolState(redis_server.db(4), "t")
    p1, p2 = pool("x", "y", "z"), pool("x", "y", "z")
    try:
        picked = [await (one if i % 2 == 0 else two).pick(p1 if i % 2 == 0 else p2) for i in range(6)]
        assert [a.label for a in picked] == ["x", "y", "z", "x", "y", "z"]
        await one.cooldown(p1, p1.accounts[1], 30)
        labels = [(await two.pick(p2)).label for _ in range(4)]  # type: ignore[union-attr]
        assert "y" not in labels
        assert p2.accounts[1].cooling_until > time.monotonic() + 20, "the mirror knows when y comes back"
        assert await two.pick(p2, (p2.accounts[0], p2.accounts[2])) is None
        await one.refresh({"p": p1})
        assert p1.accounts[1].failures == 1 and p1.accounts[0].uses + p1.accounts[2].uses == 8
        await one.cooldown(p1, p1.accounts[2], 0)  # z: a failure, and usable again at once
        z = next(a for a in [await two.pick(p2) for _ in range(3)] if a is not None and a.label == "z")
        await two.succeeded(p2, z)  # a success through the other process clears the shared count
        await one.refresh({"p": p1})
        assert p1.accounts[2].failures == 0 and p1.accounts[1].failures == 1
    finally:
        await one.close()
        await two.close()


async def test_a_reordered_configuration_does_not_mix_accounts(redis_server: RedisServer) -> None:  # noqa: F811
    before, after = PoolState(redis_server.db(5), "t"), PoolState(redis_server.db(5), "t")
    old, new = pool("x", "y"), pool("y", "x")
    try:
        await before.cooldown(old, old.accounts[0], 30)  # x, first in the old configuration
        await after.refresh({"p": new})
        assert [a.cooling_until > time.monotonic() for a in new.accounts] == [False, False], \
            "y, now first, does not inherit x's cooldown"
    finally:
        await before.close()
        await after.close()


async def test_without_redis_the_local_pool_decides() -> None:
    for state in (PoolState(), PoolState(f"redis://127.0.0.1:{free_port()}/0", "t")):
        shared, local = pool("x", "y"), pool("x", "y")
        try:
            for _ in range(3):
                a = await state.pick(shared)
                b = local.pick(time.monotonic())
                assert a is not None and b is not None and a.label == b.label
            await state.cooldown(shared, shared.accounts[0], 30)
            assert shared.accounts[0].failures == 1 and shared.soonest_recovery(time.monotonic()) == 0
            assert [(await state.pick(shared)).label for _ in range(3)] == ["y"] * 3  # type: ignore[union-attr]
        finally:
            await state.close()


async def test_shared_again_once_redis_answers(tmp_path: Path) -> None:
    port = free_port()
    state, other = PoolState(f"redis://127.0.0.1:{port}/0", "t"), PoolState(f"redis://127.0.0.1:{port}/0", "t")
    mine, theirs = pool("x", "y"), pool("x", "y")
    server = None
    try:
        await state.cooldown(mine, mine.accounts[0], 30)  # nothing listens: cooled locally only
        assert state.outage.down and not state.outage.live()
        server = RedisServer(tmp_path, port)
        assert (await state.pick(mine)).label == "y", "still local: Redis is not asked again at once"  # type: ignore[union-attr]
        state.outage.retry_at = 0.0  # as when RETRY_SECONDS have passed
        await state.cooldown(mine, mine.accounts[1], 30)
        assert not state.outage.down
        await other.refresh({"p": theirs})
        assert [a.cooling_until > time.monotonic() for a in theirs.accounts] == [False, True], \
            "only what happened while Redis answered is shared"
    finally:
        await state.close()
        await other.close()
        if server is not None:
            server.stop()

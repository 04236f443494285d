"""The SQLite usage store on a real file: sums per group, day totals, durable across close, reopen and
kill -9."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from addons.usage_sqlite import SqliteUsageStore
from addons.usage_store import COUNTERS
from addons.usage_store import GROUP
from addons.usage_store import UsageRecord
from tests.harness import ROOT


def rec(day: str = "2026-12-06", key: str = "sk-a…00000001", model: str = "gpt-4.1", **counters: int) -> UsageRecord:
    return UsageRecord(day, key, "chat", "chat#0", model, **counters)


def test_add_sums_per_group_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state" / "usage.sqlite3"

    async def first() -> list[dict[str, int | str]]:
        store = SqliteUsageStore(path)
        await store.add(rec(input_tokens=10, output_tokens=3, cached_tokens=2, reasoning_tokens=1))
        await store.add(rec(input_tokens=5, output_tokens=4, errors=1))
        await store.add(rec(model="gpt-5", input_tokens=7))
        await store.add(rec(day="2026-12-07", input_tokens=100, output_tokens=50))
        await store.add(rec(key="sk-b…00000002", input_tokens=1000))
        assert await store.day_totals("sk-a…00000001", "2026-12-06") == (3, 29)
        assert await store.day_totals("sk-a…00000001", "2026-12-07") == (1, 150)
        assert await store.day_totals("sk-a…00000001", "2026-12-08") == (0, 0)
        assert await store.day_totals("sk-none", "2026-12-06") == (0, 0)
        rows = await store.rows()
        await store.close()
        return rows

    rows = asyncio.run(first())
    assert [tuple(r[g] for g in GROUP) for r in rows] == [
        ("2026-12-06", "sk-a…00000001", "chat", "chat#0", "gpt-4.1"),
        ("2026-12-06", "sk-a…00000001", "chat", "chat#0", "gpt-5"),
        ("2026-12-06", "sk-b…00000002", "chat", "chat#0", "gpt-4.1"),
        ("2026-12-07", "sk-a…00000001", "chat", "chat#0", "gpt-4.1"),
    ]
    assert {c: rows[0][c] for c in COUNTERS} == {"requests": 2, "input_tokens": 15, "output_tokens": 7,
                                                 "cached_tokens": 2, "reasoning_tokens": 1, "errors": 1}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    async def again() -> list[dict[str, int | str]]:
        store = SqliteUsageStore(path)
        try:
            return await store.rows()
        finally:
            await store.close()

    assert asyncio.run(again()) == rows


def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    async def run() -> None:
        store = SqliteUsageStore(tmp_path / "u.sqlite3")
        await store.close()
        with pytest.raises(RuntimeError):
            await store.add(rec())

    asyncio.run(run())


WRITER = """
import asyncio, sys, time
from addons.usage_sqlite import SqliteUsageStore
from addons.usage_store import UsageRecord

async def main():
    store = SqliteUsageStore(sys.argv[1])
    for i in range(1, 6):
        await store.add(UsageRecord("2026-12-06", "sk-k…00000009", "anthropic", "a#0", "claude", input_tokens=i))
        print(i, flush=True)
    time.sleep(3600)  # killed here, the store never closed

asyncio.run(main())
"""


def test_records_acknowledged_before_kill_9_are_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout is not None
        seen = [proc.stdout.readline().strip() for _ in range(5)]
        assert seen == ["1", "2", "3", "4", "5"]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    async def read() -> tuple[list[dict[str, int | str]], tuple[int, int]]:
        store = SqliteUsageStore(path)
        try:
            return await store.rows(), await store.day_totals("sk-k…00000009", "2026-12-06")
        finally:
            await store.close()

    rows, totals = asyncio.run(read())
    assert len(rows) == 1 and rows[0]["requests"] == 5 and rows[0]["input_tokens"] == 15
    assert totals == (5, 15)


def test_unusable_path_is_refused_at_open(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError):
        SqliteUsageStore(blocker / "usage.sqlite3")

"""Usage kept in one SQLite file: a row per (day, client key, provider, account, model) with summed
counters. Every add is committed before it returns (WAL, so a killed process loses nothing it
acknowledged). SQLite runs on one dedicated thread: its calls block, and a connection belongs to the
thread that opened it."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from typing import Callable
from typing import TypeVar

from addons.usage_store import COUNTERS
from addons.usage_store import GROUP
from addons.usage_store import UsageRecord
from addons.usage_store import UsageStore

T = TypeVar("T")

_COLUMNS = GROUP + COUNTERS
_CREATE = (f"CREATE TABLE IF NOT EXISTS usage ({', '.join(f'{g} TEXT NOT NULL' for g in GROUP)}, "
           f"{', '.join(f'{c} INTEGER NOT NULL DEFAULT 0' for c in COUNTERS)}, "
           f"PRIMARY KEY ({', '.join(GROUP)})) WITHOUT ROWID")
_UPSERT = (f"INSERT INTO usage ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
           f"ON CONFLICT ({', '.join(GROUP)}) DO UPDATE SET "
           f"{', '.join(f'{c} = {c} + excluded.{c}' for c in COUNTERS)}")
_ROWS = f"SELECT {', '.join(_COLUMNS)} FROM usage ORDER BY {', '.join(GROUP)}"
_DAY_TOTALS = ("SELECT COALESCE(SUM(requests), 0), COALESCE(SUM(input_tokens + output_tokens), 0) "
               "FROM usage WHERE day = ? AND client_key = ?")


class SqliteUsageStore(UsageStore):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-sqlite")
        self._db: sqlite3.Connection | None = None
        try:  # opened now, so that a bad path is refused with the configuration, not on the first answer
            self._thread.submit(self._open).result()
        except BaseException:
            self._thread.shutdown(wait=False)
            raise

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(self.path, 0o600)  # SQLite gives its -wal and -shm files the database file's mode
        db = sqlite3.connect(self.path, isolation_level=None)  # autocommit: each statement is committed
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable when the process dies
            db.execute("PRAGMA busy_timeout=5000")
            db.execute(_CREATE)
        except BaseException:
            db.close()
            raise
        self._db = db

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"usage store {self.path} is closed")
        return self._db

    async def add(self, rec: UsageRecord) -> None:
        await self._run(lambda: self._conn().execute(_UPSERT, tuple(getattr(rec, c) for c in _COLUMNS)))

    async def rows(self) -> list[dict[str, int | str]]:
        def read() -> list[dict[str, int | str]]:
            return [dict(zip(_COLUMNS, row)) for row in self._conn().execute(_ROWS)]

        return await self._run(read)

    async def day_totals(self, client_key: str, day: str) -> tuple[int, int]:
        def read() -> tuple[int, int]:
            requests, tokens = self._conn().execute(_DAY_TOTALS, (day, client_key)).fetchone()
            return int(requests), int(tokens)

        return await self._run(read)

    async def close(self) -> None:
        def close() -> None:
            if self._db is not None:
                self._db.close()
                self._db = None

        try:
            await self._run(close)
        finally:
            self._thread.shutdown(wait=False)

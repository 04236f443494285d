"""Usage kept in one SQLite file: a row per (day, client key, provider, account, model) with summed
counters. Every add is committed before it returns (WAL, so a killed process loses nothing it
acknowledged). A commit is a write to the WAL without fsync (about 15 us): it runs on the event loop
itself, as a hop to a thread and back costs ten times that under load. What may take milliseconds runs
on one worker thread with its own connection: reads (/admin/usage, /metrics, daily totals) and the WAL
checkpoints, which SQLite would otherwise run (and fsync) inside a commit."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
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


CHECKPOINT_EVERY = 500  # adds between two WAL checkpoints (each add writes about one page)


class SqliteUsageStore(UsageStore):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-sqlite")
        self._local = threading.local()  # the worker thread's connection
        self._adds = 0
        self._checkpointing = False
        try:  # opened now, so that a bad path is refused with the configuration, not on the first answer
            self._db: sqlite3.Connection | None = self._open()
        except BaseException:
            self._thread.shutdown(wait=False)
            raise

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        os.chmod(self.path, 0o600)  # SQLite gives its -wal and -shm files the database file's mode
        # autocommit: each statement is committed; the worker thread never touches this connection
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable when the process dies
            db.execute("PRAGMA busy_timeout=5000")
            db.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints run on the worker thread
            db.execute(_CREATE)
        except BaseException:
            db.close()
            raise
        return db

    def _worker_conn(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = sqlite3.connect(self.path, isolation_level=None)
            db.execute("PRAGMA busy_timeout=5000")
        return db

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        self._conn()
        return await asyncio.get_running_loop().run_in_executor(self._thread, lambda: fn(self._worker_conn()))

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"usage store {self.path} is closed")
        return self._db

    async def add(self, rec: UsageRecord) -> None:
        self._conn().execute(_UPSERT, tuple(getattr(rec, c) for c in _COLUMNS))
        self._adds += 1
        if self._adds % CHECKPOINT_EVERY == 0 and not self._checkpointing:
            self._checkpointing = True
            self._thread.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            self._worker_conn().execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass  # the next one will do (PASSIVE gives way to readers and writers)
        finally:
            self._checkpointing = False

    async def rows(self) -> list[dict[str, int | str]]:
        return await self._run(lambda db: [dict(zip(_COLUMNS, row)) for row in db.execute(_ROWS)])

    async def day_totals(self, client_key: str, day: str) -> tuple[int, int]:
        def read(db: sqlite3.Connection) -> tuple[int, int]:
            requests, tokens = db.execute(_DAY_TOTALS, (day, client_key)).fetchone()
            return int(requests), int(tokens)

        return await self._run(read)

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is None:
            return

        def close_worker() -> None:
            worker = getattr(self._local, "db", None)
            if worker is not None:
                worker.close()
                self._local.db = None

        try:
            await asyncio.get_running_loop().run_in_executor(self._thread, close_worker)
        finally:
            self._thread.shutdown(wait=False)
            db.close()  # the last connection: SQLite checkpoints the WAL into the database

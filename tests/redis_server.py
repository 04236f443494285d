"""A real redis-server (Debian's package) for the tests that share state through Redis: on a free port, in
a temporary directory, persisting nothing; stopped by its PID. Tests using it skip when it is not installed.

Use: `from tests.redis_server import redis_server  # noqa: F401` and ask for the `redis_server` fixture."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from tests.harness import free_port
from tests.harness import stop_process
from tests.harness import wait_listening


class RedisServer:
    def __init__(self, workdir: Path, port: int | None = None) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.port = port or free_port()
        self.log = workdir / f"redis-{self.port}.log"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(workdir)],
            cwd=workdir, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        wait_listening(self.port, self.proc, timeout=20)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def db(self, n: int) -> str:
        """Another database of the same server: a clean slate per scenario."""
        return f"redis://127.0.0.1:{self.port}/{n}"

    def stop(self) -> None:
        stop_process(self.proc)


def available() -> bool:
    return shutil.which("redis-server") is not None or Path("/usr/bin/redis-server").exists()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if not available():
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()

"""Real processes for end-to-end tests: the bridge (scripts/launch.py -> mitmdump) on a free port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLIENT_KEY = "sk-test-client-key-0001"
UPSTREAM_KEY = "sk-test-upstream-key-0001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"bridge exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a process this test started, killing it when it does not end in time."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class BridgeProcess:
    def __init__(self, config: dict[str, Any] | None, workdir: Path, *extra: str, demo: bool = False) -> None:
        self.port = free_port()
        self.log = workdir / f"bridge-{self.port}.log"
        args = [sys.executable, str(ROOT / "scripts" / "launch.py"), "-p", str(self.port), *extra]
        if demo:
            args.append("--demo")
        if config is not None:
            path = workdir / "config.yaml"
            path.write_text(json.dumps(config))
            args += ["--config", str(path)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # the log is read by tests while the bridge runs
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=self.log.open("wb"), stderr=subprocess.STDOUT, env=env)
        wait_listening(self.port, self.proc)
        self.url = f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.proc)

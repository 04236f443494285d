"""kill -9 during a token or config write never leaves a corrupt or empty file."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from addons.atomicfile import write_atomic

ROOT = Path(__file__).resolve().parents[2]
WRITER = """
import json, sys
sys.path.insert(0, sys.argv[2])
from addons.atomicfile import write_atomic
n = 0
while True:
    n += 1
    write_atomic(sys.argv[1], json.dumps({"n": n, "token": "x" * 50000}))
"""


def test_write_is_private_and_keeps_a_backup(tmp_path: Path) -> None:
    p = tmp_path / "token.json"
    write_atomic(p, "one")
    write_atomic(p, "two")
    assert p.read_text() == "two" and (tmp_path / "token.json.bak").read_text() == "one"
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "token.json.bak").stat().st_mode) == 0o600


def test_kill_9_never_leaves_a_broken_file(tmp_path: Path) -> None:
    target = tmp_path / "token.json"
    write_atomic(target, json.dumps({"n": 0, "token": "x" * 50000}))
    for i in range(12):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(ROOT)])
        time.sleep(0.05 + (i % 4) * 0.03)  # land the kill at different points of a write
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        backup = tmp_path / "token.json.bak"  # there once the writer got through one write
        for path in (target, backup) if backup.exists() else (target,):
            data = json.loads(path.read_text())  # complete, parseable, never empty
            assert len(data["token"]) == 50000

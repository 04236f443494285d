"""Atomic file writes for secrets and state: write a temp file (0600), fsync, keep a .bak, rename."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: str | Path, text: str, *, backup: bool = True) -> None:
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if backup and p.exists():
            _copy_backup(p, p.with_name(p.name + ".bak"))
        os.replace(tmp, p)
        dirfd = os.open(p.parent, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
    finally:
        if tmp.exists():
            tmp.unlink()


def _copy_backup(src: Path, bak: Path) -> None:
    tmp = bak.with_name(f".{bak.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(src.read_bytes())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, bak)

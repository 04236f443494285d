from __future__ import annotations

import stat
from pathlib import Path

from addons.clientauth import key_matches
from addons.clientauth import load_or_create_key


def test_key_matches() -> None:
    keys = [b"sk-one", b"sk-two"]
    assert key_matches("sk-two", keys) and not key_matches("sk-three", keys)
    assert not key_matches(None, keys) and not key_matches("", [b""])


def test_generated_key_is_stored_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "state" / "client_key"
    key = load_or_create_key(str(path))
    assert key.startswith("sk-bridge-") and len(key) > 30
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(str(path)) == key

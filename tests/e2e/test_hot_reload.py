"""Hot reload: a changed config file applies without dropping in-flight streams; an invalid one is
refused with a clear message and the previous one stays in force."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import bridge_config
from tests.harness import CLIENT_KEY
from tests.harness import BridgeProcess

AUTH = {"authorization": f"Bearer {CLIENT_KEY}"}


def ask(bridge: BridgeProcess, model: str) -> httpx.Response:
    return httpx.post(bridge.url + "/v1/chat/completions", headers=AUTH, timeout=30,
                      json={"model": model, "messages": [{"role": "user", "content": "Say ACC-RELOAD1"}]})


def wait_for(check: Any, seconds: float = 8) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_reload_keeps_streams_and_refuses_bad_config(upstreams: Any, tmp_path: Path) -> None:
    cfg = bridge_config(upstreams)
    cfg["default_provider"] = None
    bridge = BridgeProcess(cfg, tmp_path)
    try:
        assert ask(bridge, "renamed").status_code == 404
        streamed: list[bytes] = []

        def slow_stream() -> None:  # ~2 s of paced events, across the reload
            with httpx.stream("POST", bridge.url + "/v1/chat/completions", timeout=30,
                              headers={**AUTH, "x-emulator-delay-ms": "400"},
                              json={"model": "chat/gpt-4.1", "stream": True,
                                    "messages": [{"role": "user", "content": "Say ACC-AAAA1 ACC-BBBB2"}]}) as r:
                streamed.extend(r.iter_bytes())

        t = threading.Thread(target=slow_stream)
        t.start()
        time.sleep(0.3)
        cfg["aliases"]["renamed"] = "chat/gpt-4.1"
        (tmp_path / "config.yaml").write_text(json.dumps(cfg))
        assert wait_for(lambda: ask(bridge, "renamed").status_code == 200), "the new alias applies"
        t.join(30)
        body = b"".join(streamed)
        assert body.endswith(b"data: [DONE]\n\n") and b"ACC-BBBB2" in body, "the in-flight stream completed"

        (tmp_path / "config.yaml").write_text("providers: [this is not valid\n")
        assert wait_for(lambda: "configuration not reloaded" in bridge.output())
        assert "invalid YAML" in bridge.output()
        assert ask(bridge, "renamed").status_code == 200, "the previous configuration stays"
    finally:
        bridge.stop()

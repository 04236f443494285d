"""Per-account HTTP proxy: an account configured with `proxy` reaches its upstream through that proxy
(here a plain mitmdump in regular mode, whose log shows what went through it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.harness import CLIENT_KEY
from tests.harness import UPSTREAM_KEY
from tests.harness import BridgeProcess
from tests.harness import free_port
from tests.harness import wait_listening


def test_account_proxy_is_used(upstreams: Any, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "proxy.log"
    proxy = subprocess.Popen([str(Path(sys.executable).with_name("mitmdump")), "--listen-host", "127.0.0.1",
                              "-p", str(port), "--set", "flow_detail=1"], stdout=log.open("wb"),
                             stderr=subprocess.STDOUT)
    bridge = None
    try:
        wait_listening(port, proxy)
        url = f"http://127.0.0.1:{upstreams['openai-chat']}/v1"
        bridge = BridgeProcess({"client_keys": [CLIENT_KEY], "default_provider": "p", "providers": {"p": {
            "type": "openai-compatible", "base_url": url, "accounts": [
                {"name": "proxied", "api_key": UPSTREAM_KEY, "proxy": f"http://127.0.0.1:{port}"}]}}}, tmp_path)
        r = httpx.post(bridge.url + "/v1/chat/completions", headers={"authorization": f"Bearer {CLIENT_KEY}"},
                       json={"model": "m", "messages": [{"role": "user", "content": "Say ACC-PROXY01"}]}, timeout=30)
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "ACK ACC-PROXY01"
        assert f"127.0.0.1:{upstreams['openai-chat']}/v1/chat/completions" in log.read_text()
    finally:
        if bridge is not None:
            bridge.stop()
        proxy.terminate()
        proxy.wait(10)

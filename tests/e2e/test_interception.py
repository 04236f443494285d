"""Interception mode: a tool that cannot change its endpoint sends api.openai.com traffic through the
bridge as an HTTP proxy; the bridge takes over those API calls and leaves other hosts alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from typing import Iterator

import httpx
import pytest

from tests.e2e.conftest import bridge_config
from tests.harness import CLIENT_KEY
from tests.harness import BridgeProcess


@pytest.fixture(scope="module")
def proxy(upstreams: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BridgeProcess]:
    cfg = bridge_config(upstreams)
    cfg["intercept_hosts"] = ["api.openai.com"]
    proc = BridgeProcess(cfg, Path(tmp_path_factory.mktemp("intercept")), "--mode", "regular")
    yield proc
    proc.stop()


def test_api_host_is_taken_over(proxy: Any) -> None:
    with httpx.Client(proxy=proxy.url, timeout=30) as c:
        r = c.post("http://api.openai.com/v1/chat/completions", headers={"authorization": f"Bearer {CLIENT_KEY}"},
                   json={"model": "gpt-4.1", "messages": [{"role": "user", "content": "Say ACC-INTER1"}]})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "ACK ACC-INTER1"


def test_other_hosts_pass_untouched(proxy: Any, upstreams: Any) -> None:
    """A request to a host that is not an intercepted API reaches it as sent (no bridge 401/404)."""
    with httpx.Client(proxy=proxy.url, timeout=30) as c:
        r = c.get(f"http://127.0.0.1:{upstreams['openai-chat']}/_emulator/health")
    assert r.status_code == 200

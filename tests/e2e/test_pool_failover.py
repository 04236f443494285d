"""Account pools and failover through a real mitmdump: a 429-answering account is cooled down and
skipped without the client noticing, it comes back after its Retry-After, an unreachable provider
falls back to another, and the operator views show it all with secrets masked."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from typing import Iterator

import httpx
import openai
import pytest

from tests.harness import CLIENT_KEY
from tests.harness import UPSTREAM_KEY
from tests.harness import BridgeProcess
from tests.harness import free_port

BAD_KEY = "sk-account-that-is-rate-limited"
HEADERS = {"authorization": f"Bearer {CLIENT_KEY}"}


@pytest.fixture(scope="module")
def pooled(upstreams: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BridgeProcess]:
    upstreams.emulators["openai-chat"].key_faults[BAD_KEY] = "429"
    url = f"http://127.0.0.1:{upstreams['openai-chat']}/v1"
    cfg = {
        "client_keys": [CLIENT_KEY],
        "default_provider": "pool",
        "providers": {
            "pool": {"type": "openai-compatible", "base_url": url, "accounts": [
                {"name": "limited", "api_key": BAD_KEY}, {"name": "second", "api_key": UPSTREAM_KEY},
                {"name": "third", "api_key": UPSTREAM_KEY}]},
            "down": {"type": "openai-compatible", "base_url": f"http://127.0.0.1:{free_port()}/v1",
                     "api_key": UPSTREAM_KEY},
            "backup": {"type": "anthropic", "base_url": f"http://127.0.0.1:{upstreams['anthropic']}/v1",
                       "api_key": UPSTREAM_KEY},
        },
        "fallbacks": {"down": ["backup/claude-sonnet-4-5"]},
    }
    proc = BridgeProcess(cfg, Path(tmp_path_factory.mktemp("pool")))
    yield proc
    proc.stop()
    upstreams.emulators["openai-chat"].key_faults.clear()


def pools(bridge: Any) -> dict[str, Any]:
    return httpx.get(bridge.url + "/_bridge/pools", headers=HEADERS).json()["providers"]


def test_requests_keep_succeeding_while_one_account_is_rate_limited(pooled: Any) -> None:
    client = openai.OpenAI(base_url=pooled.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
    for i in range(6):
        stream = i % 2 == 1
        r = client.chat.completions.create(model="m", stream=stream,
                                           messages=[{"role": "user", "content": f"Say ACC-POOL{i:04d}"}])
        text = "".join(c.choices[0].delta.content or "" for c in r if c.choices) if stream else \
            r.choices[0].message.content
        assert text == f"ACK ACC-POOL{i:04d}"
    view = pools(pooled)["pool"]
    limited = next(a for a in view["accounts"] if a["account"] == "limited")
    assert limited["failures"] >= 1 and limited["uses"] == 1, "tried once, then skipped while cooling"
    assert view["count"] == 3


def test_cooled_account_returns_after_retry_after(pooled: Any) -> None:
    time.sleep(1.2)  # the emulator's Retry-After is 1 s
    assert next(a for a in pools(pooled)["pool"]["accounts"] if a["account"] == "limited")["usable"]
    for _ in range(3):
        assert httpx.post(pooled.url + "/v1/chat/completions", headers=HEADERS, timeout=30, json={
            "model": "m", "messages": [{"role": "user", "content": "hi"}]}).status_code == 200
    limited = next(a for a in pools(pooled)["pool"]["accounts"] if a["account"] == "limited")
    assert limited["uses"] >= 2, "the recovered account was used again"


def test_acc_tokens_and_pool_view_mask_secrets(pooled: Any) -> None:
    r = httpx.get(pooled.url + "/v1/accTokens", headers=HEADERS)
    body = r.json()
    assert r.status_code == 200 and body["count"] == 5 and body["usable"] >= 4
    assert BAD_KEY not in r.text and UPSTREAM_KEY not in r.text
    assert BAD_KEY not in httpx.get(pooled.url + "/_bridge/pools", headers=HEADERS).text
    assert httpx.get(pooled.url + "/_bridge/pools").status_code == 401


def test_unreachable_provider_falls_back(pooled: Any) -> None:
    client = openai.OpenAI(base_url=pooled.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
    r = client.chat.completions.create(model="down/x", messages=[{"role": "user", "content": "Say ACC-FALLBK1"}])
    assert r.choices[0].message.content == "ACK ACC-FALLBK1"
    chunks = list(client.chat.completions.create(model="down/x", stream=True, messages=[
        {"role": "user", "content": "Say ACC-FALLBK2"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "ACK ACC-FALLBK2"

"""One set of emulated upstreams and one bridge process for the end-to-end tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from typing import Iterator

import pytest

from scripts.emulators import serve_in_thread
from tests.harness import CLIENT_KEY
from tests.harness import UPSTREAM_KEY
from tests.harness import BridgeProcess
from tests.harness import free_port

PROTOCOLS = {"openai-chat": 0, "anthropic": 0, "openai-responses": 0}


@pytest.fixture(scope="session")
def upstreams() -> Iterator[Any]:
    with serve_in_thread(PROTOCOLS, key=UPSTREAM_KEY) as ports:
        yield ports


def bridge_config(ports: Any) -> dict[str, Any]:
    def url(name: str) -> str:
        return f"http://127.0.0.1:{ports[name]}/v1"

    return {
        "client_keys": [CLIENT_KEY],
        "default_provider": "chat",
        "providers": {
            "chat": {"type": "openai-compatible", "base_url": url("openai-chat"), "api_key": UPSTREAM_KEY,
                     "models": ["gpt-4.1"]},
            "anthropic": {"type": "anthropic", "base_url": url("anthropic"), "api_key": UPSTREAM_KEY,
                          "models": ["claude-sonnet-4-5"]},
            "responses": {"type": "openai-responses", "base_url": url("openai-responses"),
                          "api_key": UPSTREAM_KEY, "models": ["gpt-5-codex"]},
            "flaky": {"type": "openai-compatible", "base_url": url("openai-chat"), "api_key": UPSTREAM_KEY},
            "dead": {"type": "openai-compatible", "base_url": f"http://127.0.0.1:{free_port()}/v1",
                     "api_key": UPSTREAM_KEY},
        },
        "aliases": {"fast": "chat/gpt-4.1-mini"},
    }


@pytest.fixture(scope="session")
def bridge(upstreams: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BridgeProcess]:
    proc = BridgeProcess(bridge_config(upstreams), tmp_path_factory.mktemp("bridge"))
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def demo_bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BridgeProcess]:
    """`scripts/bridge --demo`: every provider prefix routed to its emulated upstream, key sk-demo."""
    proc = BridgeProcess(None, tmp_path_factory.mktemp("demo"), demo=True)
    yield proc
    proc.stop()


@pytest.fixture()
def openai_client(bridge: BridgeProcess) -> Any:
    import openai

    return openai.OpenAI(base_url=bridge.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)


@pytest.fixture()
def anthropic_client(bridge: BridgeProcess) -> Any:
    import anthropic

    return anthropic.Anthropic(base_url=bridge.url, api_key=CLIENT_KEY, max_retries=0, timeout=30)


@pytest.fixture(scope="session")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")

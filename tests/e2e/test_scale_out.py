"""Scale-out: two real bridge processes with the same configuration share their account pools through a
real redis-server. An emulated upstream with two accounts logs which key each call carried: a cooldown
set through one process is honoured by the other, the round-robin turn alternates across processes, and
usage from both lands in one report. Without redis_url nothing is shared; with a Redis that does not
answer, requests still succeed."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from typing import Iterator

import httpx
import openai
import pytest

from scripts.emulators import serve_in_thread
from tests.harness import CLIENT_KEY
from tests.harness import BridgeProcess
from tests.harness import free_port
from tests.redis_server import RedisServer
from tests.redis_server import available
from tests.redis_server import redis_server  # noqa: F401

pytestmark = pytest.mark.skipif(not available(), reason="redis-server is not installed")

KEY_A = "sk-scale-account-a-000000000001"
KEY_B = "sk-scale-account-b-000000000002"
HEADERS = {"authorization": f"Bearer {CLIENT_KEY}"}


@pytest.fixture(scope="module")
def upstream() -> Iterator[Any]:
    """An OpenAI-type upstream that knows both accounts' keys and answers a 429 with Retry-After: 30."""
    with serve_in_thread({"openai-chat": 0}, key=KEY_B) as ports:
        emu = ports.emulators["openai-chat"]
        proto = emu.protocol
        authenticate, rate_limited = proto.authenticate, proto.rate_limited

        def two_keys(req: Any) -> Any:
            return None if req.headers.get("authorization") == f"Bearer {KEY_A}" else authenticate(req)

        def thirty_seconds() -> Any:
            resp = rate_limited()
            resp.headers["retry-after"] = "30"
            return resp

        proto.authenticate, proto.rate_limited = two_keys, thirty_seconds
        emu.url = ports.url("openai-chat") + "/v1"
        yield emu


def keys_seen(emu: Any) -> list[str]:
    """Which account each upstream call used, in order ('a' / 'b')."""
    names = {f"Bearer {KEY_A}": "a", f"Bearer {KEY_B}": "b"}
    return [names.get(r.headers.get("authorization", ""), "?") for r in emu.requests if r.path.endswith("/completions")]


def config(emu: Any, redis_url: str | None) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "client_keys": [CLIENT_KEY],
        "default_provider": "pool",
        "providers": {"pool": {"type": "openai-compatible", "base_url": emu.url, "accounts": [
            {"name": "a", "api_key": KEY_A}, {"name": "b", "api_key": KEY_B}]}},
    }
    if redis_url:
        cfg["redis_url"] = redis_url
    return cfg


@pytest.fixture()
def two_bridges(tmp_path: Path) -> Iterator[Any]:
    """start(cfg) -> (p1, p2): two bridge processes with one configuration, stopped after the test."""
    started: list[BridgeProcess] = []

    def start(cfg: dict[str, Any]) -> tuple[BridgeProcess, BridgeProcess]:
        for n in (1, 2):
            workdir = tmp_path / f"p{n}"
            workdir.mkdir()
            started.append(BridgeProcess(cfg, workdir))
        return started[-2], started[-1]

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture()
def scenario(upstream: Any) -> Iterator[Any]:
    upstream.requests.clear()
    upstream.key_faults.clear()
    yield upstream
    upstream.key_faults.clear()


def ask(bridge: BridgeProcess, word: str, stream: bool = False) -> str:
    client = openai.OpenAI(base_url=bridge.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)
    r = client.chat.completions.create(model="m", stream=stream, messages=[{"role": "user", "content": f"Say {word}"}])
    if stream:
        return "".join(c.choices[0].delta.content or "" for c in r if c.choices)
    return r.choices[0].message.content or ""


def account_view(bridge: BridgeProcess, name: str) -> dict[str, Any]:
    r = httpx.get(bridge.url + "/_bridge/pools", headers=HEADERS, timeout=10)
    assert r.status_code == 200
    assert KEY_A not in r.text and KEY_B not in r.text
    return next(a for a in r.json()["providers"]["pool"]["accounts"] if a["account"] == name)


def test_a_cooldown_set_through_one_process_is_honoured_by_the_other(
        scenario: Any, two_bridges: Any, redis_server: RedisServer) -> None:  # noqa: F811
    p1, p2 = two_bridges(config(scenario, redis_server.db(1)))
    scenario.key_faults[KEY_A] = "429"
    assert ask(p1, "ACC-SCALE0001") == "ACK ACC-SCALE0001"
    assert keys_seen(scenario) == ["a", "b"], "account a answered 429, account b served the request"
    metrics = httpx.get(p2.url + "/metrics", headers=HEADERS, timeout=10).text  # p2 has served nothing yet
    assert 'llm_bridge_account_usable{provider="pool",account="a"} 0' in metrics
    assert 'llm_bridge_account_usable{provider="pool",account="b"} 1' in metrics
    scenario.requests.clear()
    for i in range(4):
        assert ask(p2, f"ACC-SCALE010{i}", stream=i % 2 == 1) == f"ACK ACC-SCALE010{i}"
    assert keys_seen(scenario) == ["b"] * 4, "process 2 never tried the account process 1 cooled down"
    for proc in (p1, p2):
        view = account_view(proc, "a")
        assert not view["usable"] and view["cooling_for_seconds"] > 20 and view["failures"] == 1
        assert account_view(proc, "b")["uses"] == 5
    for proc in (p1, p2):
        assert KEY_A not in proc.output() and KEY_B not in proc.output()


def test_round_robin_alternates_across_processes(
        scenario: Any, two_bridges: Any, redis_server: RedisServer) -> None:  # noqa: F811
    p1, p2 = two_bridges(config(scenario, redis_server.db(2)))
    for i, proc in enumerate((p1, p2, p1, p2, p1, p2)):
        assert ask(proc, f"ACC-SCALE02{i:02d}", stream=i >= 4) == f"ACK ACC-SCALE02{i:02d}"
    assert keys_seen(scenario) == ["a", "b", "a", "b", "a", "b"]
    assert account_view(p2, "a")["uses"] == 3 and account_view(p1, "b")["uses"] == 3


def test_without_redis_the_processes_share_nothing(scenario: Any, two_bridges: Any) -> None:
    p1, p2 = two_bridges(config(scenario, None))
    for i, proc in enumerate((p1, p2, p1, p2)):
        assert ask(proc, f"ACC-SCALE03{i:02d}") == f"ACK ACC-SCALE03{i:02d}"
    assert keys_seen(scenario) == ["a", "a", "b", "b"], "each process keeps its own round-robin turn"
    scenario.requests.clear()
    scenario.key_faults[KEY_A] = "429"
    assert ask(p1, "ACC-SCALE0310") == "ACK ACC-SCALE0310"
    assert ask(p2, "ACC-SCALE0311") == "ACK ACC-SCALE0311"
    assert keys_seen(scenario) == ["a", "b", "a", "b"], "process 2 did not know of process 1's cooldown"
    assert not account_view(p1, "a")["usable"] and not account_view(p2, "a")["usable"]


def test_an_unreachable_redis_never_fails_a_request(scenario: Any, two_bridges: Any) -> None:
    p1, p2 = two_bridges(config(scenario, f"redis://127.0.0.1:{free_port()}/0"))
    for i, proc in enumerate((p1, p2, p1, p2)):
        assert ask(proc, f"ACC-SCALE04{i:02d}", stream=i % 2 == 1) == f"ACK ACC-SCALE04{i:02d}"
    scenario.key_faults[KEY_A] = "429"
    scenario.requests.clear()
    assert ask(p1, "ACC-SCALE0410") == "ACK ACC-SCALE0410"
    assert ask(p1, "ACC-SCALE0411") == "ACK ACC-SCALE0411"
    assert keys_seen(scenario) == ["a", "b", "b"], "the local pool still cools account a down"
    assert not account_view(p1, "a")["usable"]
    for proc in (p1, p2):
        assert proc.output().count("does not answer") >= 1, "the operator is told that Redis is away"
        assert proc.output().count("account pools are this process's own") == 1, "once, not per request"


def test_usage_from_both_processes_lands_in_one_report(
        scenario: Any, two_bridges: Any, redis_server: RedisServer) -> None:  # noqa: F811
    p1, p2 = two_bridges(config(scenario, redis_server.db(3)))
    for i, proc in enumerate((p1, p2, p2)):  # not streamed: usage is recorded before the answer leaves
        assert ask(proc, f"ACC-SCALE05{i:02d}") == f"ACK ACC-SCALE05{i:02d}"
    assert keys_seen(scenario) == ["a", "b", "a"]
    for proc in (p1, p2):
        r = httpx.get(proc.url + "/admin/usage", headers=HEADERS, timeout=10)
        assert r.status_code == 200
        report = r.json()
        assert [d["requests"] for d in report["days"]] == [3]
        per_account = {row["account"]: row["requests"] for row in report["rows"]}
        assert per_account == {"a": 2, "b": 1}
        assert all(row["input_tokens"] > 0 and row["provider"] == "pool" for row in report["rows"])

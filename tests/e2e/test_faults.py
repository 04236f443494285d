"""Fault injection: each upstream fault, for each client dialect, ends in a well-formed answer:
an error object with a fitting status before the first byte, an error event in the client's own
stream grammar after it. Never a silently cut stream, never mitmproxy's HTML page."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from typing import Iterator

import httpx
import pytest

from tests.harness import CLIENT_KEY
from tests.harness import UPSTREAM_KEY
from tests.harness import BridgeProcess

DIALECTS = {  # client dialect -> (path, request body)
    "chat": ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Say ACC-FAULT01"}]}),
    "responses": ("/v1/responses", {"input": "Say ACC-FAULT01"}),
    "messages": ("/v1/messages", {"max_tokens": 100, "messages": [{"role": "user", "content": "Say ACC-FAULT01"}]}),
}
UPSTREAMS = {"chat": "openai-chat", "responses": "openai-responses", "anthropic": "anthropic"}


@pytest.fixture(scope="module")
def faulty(upstreams: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BridgeProcess]:
    providers = {name: {"type": {"chat": "openai-compatible", "responses": "openai-responses",
                                 "anthropic": "anthropic"}[name],
                        "base_url": f"http://127.0.0.1:{upstreams[emu]}/v1", "api_key": UPSTREAM_KEY}
                 for name, emu in UPSTREAMS.items()}
    cfg = {"client_keys": [CLIENT_KEY], "providers": providers, "idle_timeout_seconds": 2.5, "ping_seconds": 0.5,
           "failover": {"max_attempts": 1}}
    proc = BridgeProcess(cfg, Path(tmp_path_factory.mktemp("faults")))
    yield proc
    proc.stop()


def call(bridge: BridgeProcess, dialect: str, upstream: str, fault: str, stream: bool) -> httpx.Response:
    path, body = DIALECTS[dialect]
    model = {"chat": "chat/gpt-4.1", "responses": "responses/gpt-5-codex", "anthropic": "anthropic/claude-x"}
    headers = {"authorization": f"Bearer {CLIENT_KEY}", "x-emulator-fault": fault}
    return httpx.post(bridge.url + path, headers=headers, timeout=30,
                      json={**body, "model": model[upstream], "stream": stream})


def assert_error_object(dialect: str, r: httpx.Response, status: int | tuple[int, ...]) -> None:
    assert r.status_code in ((status,) if isinstance(status, int) else status), r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    if dialect == "messages":
        assert body["type"] == "error" and body["error"]["type"] and body["error"]["message"]
    else:
        assert body["error"]["message"] and "type" in body["error"]


def events(r: httpx.Response) -> list[tuple[str | None, str]]:
    out = []
    for frame in r.text.split("\n\n"):
        if not frame.strip() or all(line.startswith(":") for line in frame.split("\n")):
            continue  # SSE comments (keep-alives) are not events
        name = next((line[7:] for line in frame.split("\n") if line.startswith("event: ")), None)
        data = "\n".join(line[6:] for line in frame.split("\n") if line.startswith("data: "))
        out.append((name, data))
    return out


def assert_stream_ends_in_error(dialect: str, r: httpx.Response) -> None:
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream"), r.text[:300]
    evs = events(r)
    assert evs, "an empty stream"
    if dialect == "chat":
        assert evs[-1][1] == "[DONE]" and "error" in json.loads(evs[-2][1])
    elif dialect == "responses":
        assert evs[-1][0] in ("response.failed", "error") and json.loads(evs[-1][1])
    else:
        assert evs[-1][0] == "error" and json.loads(evs[-1][1])["type"] == "error"
    for name, data in evs:  # every frame is complete JSON (or the chat terminator)
        assert data == "[DONE]" or json.loads(data) is not None, (name, data)


CASES = [(d, u) for d in DIALECTS for u in UPSTREAMS]
IDS = [f"{d}-client-{u}-upstream" for d, u in CASES]


@pytest.mark.parametrize("dialect,upstream", CASES, ids=IDS)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_500(faulty: Any, dialect: str, upstream: str, stream: bool) -> None:
    assert_error_object(dialect, call(faulty, dialect, upstream, "500", stream), (500, 502))


@pytest.mark.parametrize("dialect,upstream", CASES, ids=IDS)
def test_error_with_status_200(faulty: Any, dialect: str, upstream: str) -> None:
    r = call(faulty, dialect, upstream, "error200", False)
    if r.status_code == 200:  # same dialect both sides: relayed as the upstream sent it, still an error object
        assert "error" in r.json()
    else:
        assert_error_object(dialect, r, (500, 502))


@pytest.mark.parametrize("dialect,upstream", CASES, ids=IDS)
@pytest.mark.parametrize("fault", ["reset", "garbage", "stall"])
def test_mid_stream_faults_end_in_an_error_event(faulty: Any, dialect: str, upstream: str, fault: str) -> None:
    r = call(faulty, dialect, upstream, fault, True)
    if r.status_code != 200:  # a fault found before the first byte: an error object instead
        assert_error_object(dialect, r, (500, 502, 504))
        return
    assert_stream_ends_in_error(dialect, r)
    if fault == "stall":  # while the upstream was silent, the client got keep-alives
        assert ("event: ping" if dialect == "messages" else ": keep-alive") in r.text


@pytest.mark.parametrize("dialect,upstream", CASES, ids=IDS)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_429_keeps_status_and_retry_after(faulty: Any, dialect: str, upstream: str, stream: bool) -> None:
    r = call(faulty, dialect, upstream, "429", stream)
    assert_error_object(dialect, r, 429)
    assert int(r.headers["retry-after"]) >= 1  # (runs last: the account then cools down for 1 s)


def test_bridge_keeps_serving_after_faults(faulty: Any) -> None:
    time.sleep(1.2)  # the accounts rate limited just above come back after the emulator's Retry-After
    r = call(faulty, "chat", "chat", "", False)
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "ACK ACC-FAULT01"


def test_client_disconnect_cancels_the_upstream_request(faulty: Any) -> None:
    """A client that leaves mid-stream: the bridge closes the upstream connection at once, although
    the (stalling) upstream would have kept it open for a minute."""
    seen = len(faulty.output())
    with httpx.stream("POST", faulty.url + "/v1/chat/completions", timeout=30, headers={
            "authorization": f"Bearer {CLIENT_KEY}", "x-emulator-fault": "stall"}, json={
            "model": "chat/gpt-4.1", "stream": True, "messages": [{"role": "user", "content": "hi"}]}) as r:
        next(r.iter_bytes())
    deadline = time.monotonic() + 10
    while "server disconnect" not in faulty.output()[seen:] and time.monotonic() < deadline:
        time.sleep(0.05)
    log = faulty.output()[seen:]
    assert "client disconnect" in log and "server disconnect" in log
    assert "silent for too long" not in log, "closed because the client left, not by the idle timeout"

"""Fault injection, pacing and the control API, for every protocol."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

PROTOCOLS = ["openai-chat", "anthropic", "openai-responses"]

HTTP = httpx.Client(timeout=10)  # one client: creating one per request costs ~30 ms (TLS setup)


def request(emu, key, proto, *, stream=True, fault=None, **headers):
    """A valid request for `proto`, optionally with an x-emulator-fault header."""
    if proto == "anthropic":
        path, auth = "/v1/messages", {"x-api-key": key}
        body = {"model": "c", "max_tokens": 50, "messages": [{"role": "user", "content": "hello there"}]}
    elif proto == "openai-chat":
        path, auth = "/v1/chat/completions", {"authorization": f"Bearer {key}"}
        body = {"model": "m", "messages": [{"role": "user", "content": "hello there"}]}
    else:
        path, auth = "/v1/responses", {"authorization": f"Bearer {key}"}
        body = {"model": "m", "input": "hello there"}
    if fault:
        headers["x-emulator-fault"] = fault
    return emu.url(proto) + path, {**auth, **headers}, {**body, "stream": stream}


def error_kind(proto, body):
    return body["error"]["type"] if proto == "anthropic" else body["error"]["code"] or body["error"]["type"]


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_429(emu, key, proto):
    url, headers, body = request(emu, key, proto, fault="429")
    r = HTTP.post(url, headers=headers, json=body)
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert error_kind(proto, r.json()) in ("rate_limit_error", "rate_limit_exceeded")


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_500_and_error200(emu, key, proto):
    url, headers, body = request(emu, key, proto, fault="500")
    r = HTTP.post(url, headers=headers, json=body)
    assert r.status_code == 500 and error_kind(proto, r.json()) in ("api_error", "server_error")
    url, headers, body = request(emu, key, proto, fault="error200")
    r = HTTP.post(url, headers=headers, json=body)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json" and "error" in r.json()


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_garbage(emu, key, proto):
    url, headers, body = request(emu, key, proto, fault="garbage")
    r = HTTP.post(url, headers=headers, json=body)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    data = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
    assert data
    for line in data:
        with pytest.raises(ValueError):
            json.loads(line)


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_reset_stream_sends_one_event_then_drops(emu, key, proto):
    url, headers, body = request(emu, key, proto, fault="reset")
    received = b""
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        with httpx.stream("POST", url, headers=headers, json=body) as r:
            assert r.status_code == 200
            for chunk in r.iter_raw():
                received += chunk
    assert received.count(b"data: ") == 1 and received.endswith(b"\n\n")


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_reset_non_stream_truncates_body(emu, key, proto):
    url, headers, body = request(emu, key, proto, fault="reset", stream=False)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        HTTP.post(url, headers=headers, json=body)


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_stall(emu, key, proto):
    url, headers, body = request(emu, key, proto, fault="stall")
    received = b""
    with pytest.raises(httpx.ReadTimeout):
        with httpx.stream("POST", url, headers=headers, json=body, timeout=httpx.Timeout(5, read=0.5)) as r:
            for chunk in r.iter_raw():
                received += chunk
    assert received.count(b"data: ") == 1


def test_server_wide_fault_for_n_requests(emu, key):
    emu.emulators["openai-chat"].set_fault("500", times=2)
    url, headers, body = request(emu, key, "openai-chat", stream=False)
    assert [HTTP.post(url, headers=headers, json=body).status_code for _ in range(3)] == [500, 500, 200]


def test_control_api_fault_and_request_log(emu, key):
    base = emu.url("openai-responses")
    assert HTTP.post(base + "/_emulator/fault", json={"fault": "429", "times": 1}).json()["fault"] == "429"
    assert HTTP.delete(base + "/_emulator/requests").json() == {"ok": True}
    url, headers, body = request(emu, key, "openai-responses", stream=False)
    assert HTTP.post(url, headers=headers, json=body).status_code == 429
    assert HTTP.post(url, headers=headers, json=body).status_code == 200
    log = HTTP.get(base + "/_emulator/requests").json()["requests"]
    assert [r["path"] for r in log] == ["/v1/responses", "/v1/responses"]
    assert log[0]["body"]["input"] == "hello there" and log[0]["headers"]["authorization"].startswith(
        "Bearer"
    )
    assert HTTP.post(base + "/_emulator/fault", json={"fault": "bogus"}).status_code == 400
    assert HTTP.get(base + "/_emulator/health").json() == {"ok": True, "protocol": "openai-responses"}


def test_unknown_fault_header_is_loud(emu, key):
    url, headers, body = request(emu, key, "openai-chat", fault="explode")
    r = HTTP.post(url, headers=headers, json=body)
    assert r.status_code == 400 and b"x-emulator-fault" in r.content


def test_sdk_retries_after_429(emu, key):
    emu.emulators["openai-chat"].set_fault("429", times=1)
    with openai.OpenAI(base_url=emu.base_url("openai-chat"), api_key=key, max_retries=1) as client:
        started = time.monotonic()
        completion = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "ACC-RETRY1"}]
        )
    assert completion.choices[0].message.content == "ACK ACC-RETRY1"
    assert time.monotonic() - started >= 0.9  # honoured Retry-After: 1


def test_delay_streams_for_real(emu, key):
    """With a per-event delay the first event arrives long before the last one."""
    url, headers, body = request(emu, key, "anthropic", **{"x-emulator-delay-ms": "60"})
    arrivals = []
    started = time.monotonic()
    with httpx.stream("POST", url, headers=headers, json=body) as r:
        for _ in r.iter_raw():
            arrivals.append(time.monotonic() - started)
    assert len(arrivals) >= 8  # one read per event: nothing was buffered
    assert arrivals[0] < 0.5 * arrivals[-1]
    assert arrivals[-1] >= 0.06 * 8


def test_server_wide_delay(emu, key):
    emu.emulators["openai-chat"].delay_ms = 40
    url, headers, body = request(emu, key, "openai-chat")
    started = time.monotonic()
    text = HTTP.post(url, headers=headers, json=body).text
    assert time.monotonic() - started >= 0.04 * text.count("data: ")

"""The emulated GitHub Copilot (github-copilot.md 12): the device flow with pending / slow_down /
denied / expired and the verification page, the token exchange, CAPI's credential, model and header
checks, and the chat quirks; Responses and Messages come from the shared protocol modules."""

from __future__ import annotations

import json
import time
from typing import Any
from typing import Iterator

import httpx
import pytest

from scripts.emulators import Ports
from scripts.emulators import serve_in_thread
from scripts.emulators.copilot import CLIENT_ID
from scripts.emulators.copilot import GRANT

KEY = "ghu_emulator_test_key"
HEADERS = {"copilot-integration-id": "vscode-chat", "editor-version": "vscode/1.104.3"}
WEATHER = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


@pytest.fixture(scope="module")
def ports() -> Iterator[Ports]:
    with serve_in_thread({"copilot": 0}, key=KEY) as p:
        yield p


@pytest.fixture()
def proto(ports: Ports) -> Iterator[Any]:
    proto = ports.emulators["copilot"].protocol
    proto.interval = 0.0
    yield proto
    ports.emulators["copilot"].set_fault(None)
    proto.interval, proto.token_lifetime = 5.0, 1800


@pytest.fixture()
def base(ports: Ports) -> str:
    return ports.url("copilot")


def start(base: str) -> dict[str, Any]:
    r = httpx.post(base + "/login/device/code", json={"client_id": CLIENT_ID, "scope": "read:user"},
                   headers={"accept": "application/json"})
    assert r.status_code == 200
    return r.json()


def poll(base: str, device_code: str) -> dict[str, Any]:
    r = httpx.post(base + "/login/oauth/access_token", headers={"accept": "application/json"},
                   json={"client_id": CLIENT_ID, "device_code": device_code, "grant_type": GRANT})
    assert r.status_code == 200  # GitHub answers 200 for pending and errors too (1.1)
    return r.json()


def copilot(base: str, github: str = KEY) -> dict[str, Any]:
    r = httpx.get(base + "/copilot_internal/v2/token", headers={"authorization": f"token {github}"})
    assert r.status_code == 200, r.text
    return r.json()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}", **HEADERS}


def capi(base: str, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(base + path, json=body, headers={**bearer(copilot(base)["token"]), **headers})


def test_device_flow_pending_slow_down_then_token_once(base: str, proto: Any) -> None:
    code = start(base)
    assert code["verification_uri"] == base + "/login/device" and code["expires_in"] == 899
    assert len(code["user_code"]) == 9 and code["user_code"][4] == "-"
    assert poll(base, code["device_code"])["error"] == "authorization_pending"
    proto.interval = 30.0
    proto.devices[code["device_code"]].interval = 30.0
    slow = poll(base, code["device_code"])
    assert slow["error"] == "slow_down" and slow["interval"] == 35.0
    proto.devices[code["device_code"]].interval = 0.0
    assert proto.authorize(code["user_code"].lower())
    token = poll(base, code["device_code"])["access_token"]
    assert token.startswith("ghu_") and copilot(base, token)["token"]
    assert poll(base, code["device_code"])["error"] == "incorrect_device_code"


def test_verification_page_denies_and_authorises(base: str, proto: Any) -> None:
    assert "user_code" in httpx.get(base + "/login/device").text
    denied, allowed = start(base), start(base)
    r = httpx.post(base + "/login/device", data={"user_code": denied["user_code"], "action": "deny"})
    assert r.status_code == 200 and poll(base, denied["device_code"])["error"] == "access_denied"
    r = httpx.post(base + "/login/device", data={"user_code": allowed["user_code"], "action": "authorize"})
    assert "all set" in r.text and "access_token" in poll(base, allowed["device_code"])
    assert httpx.post(base + "/login/device", data={"user_code": "NOPE-NOPE"}).status_code == 404


def test_expired_code_and_bad_client(base: str, proto: Any) -> None:
    code = start(base)
    proto.devices[code["device_code"]].expires = time.time() - 1
    assert poll(base, code["device_code"])["error"] == "expired_token"
    r = httpx.post(base + "/login/oauth/access_token", data={"client_id": "x", "device_code": "d",
                                                             "grant_type": GRANT})
    assert r.json()["error"] == "incorrect_client_credentials"  # form-encoded bodies too


def test_token_envelope_and_github_errors(base: str, proto: Any) -> None:
    env = copilot(base)
    assert env["endpoints"]["api"] == base and env["refresh_in"] == 1500
    assert env["expires_at"] - time.time() > 1700 and ";exp=" in env["token"] and ":" in env["token"]
    bad = httpx.get(base + "/copilot_internal/v2/token", headers={"authorization": "token ghu_revoked"})
    assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"
    proto.no_copilot.add(KEY)
    try:
        denied = httpx.get(base + "/copilot_internal/v2/token", headers={"authorization": f"token {KEY}"})
    finally:
        proto.no_copilot.clear()
    assert denied.status_code == 403
    assert denied.json()["error_details"]["notification_id"] == "no_copilot_access"
    assert httpx.get(base + "/user", headers={"authorization": f"token {KEY}"}).json()["login"] == "octocat"


def test_capi_credential(base: str, proto: Any) -> None:
    r = httpx.post(base + "/chat/completions", json={}, headers={"authorization": f"Bearer {KEY}"})
    assert r.status_code == 401 and r.headers["content-type"].startswith("text/plain")
    token = copilot(base)["token"]
    proto.copilot_tokens[token] = time.time() - 1
    r = httpx.post(base + "/chat/completions", json={}, headers=bearer(token))
    assert r.status_code == 401 and r.text == "unauthorized: token expired"


@pytest.mark.parametrize("path,model,headers,message", [
    ("/chat/completions", "gpt-5.1-codex", {}, "Model is not supported for this request."),
    ("/chat/completions", "nope", {}, "The requested model is not supported."),
    ("/responses", "gpt-4.1", {}, "Model is not supported for this request."),
    ("/chat/completions", "gpt-4.1", {"copilot-integration-id": ""}, "missing required header"),
])
def test_capi_model_and_header_checks(base: str, proto: Any, path: str, model: str, headers: dict[str, str],
                                      message: str) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "x"}], "input": "x"}
    r = capi(base, path, body, **headers)
    assert r.status_code == 400 and message in r.json()["error"]["message"]
    assert r.headers["content-type"].startswith("text/plain")  # JSON labelled text/plain (8)


def test_images_need_the_vision_header(base: str, proto: Any) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": [image]}]}
    assert capi(base, "/chat/completions", body).status_code == 400
    assert capi(base, "/chat/completions", body, **{"copilot-vision-request": "true"}).status_code == 200


def test_models(base: str, proto: Any) -> None:
    data = httpx.get(base + "/models", headers=bearer(copilot(base)["token"])).json()["data"]
    ids = [m["id"] for m in data]
    assert ids.count("gpt-4o") == 2 and "text-embedding-3-small" in ids
    by_id = {m["id"]: m for m in data}
    assert "supported_endpoints" not in by_id["gpt-4.1"]
    assert by_id["claude-sonnet-4.5"]["supported_endpoints"] == ["/chat/completions", "/v1/messages"]
    assert by_id["gpt-5.1-codex"]["supported_endpoints"][0] == "/responses"


def sse(text: str) -> list[Any]:
    return [json.loads(line[6:]) for line in text.split("\n\n") if line.startswith("data: {")]


def test_gpt_stream_quirks(base: str, proto: Any) -> None:
    r = capi(base, "/chat/completions", {"model": "gpt-4.1", "stream": True,
                                         "messages": [{"role": "user", "content": "Say ACC-AAAA1"}]})
    events = sse(r.text)
    assert events[0]["choices"] == [] and events[0]["id"] == "" and "prompt_filter_results" in events[0]
    assert events[1]["model"] == "gpt-4.1-2025-04-14" and "content_filter_results" in events[1]["choices"][0]
    assert events[-1]["choices"] == [] and events[-1]["usage"]["completion_tokens"] > 0  # not asked for
    assert r.text.endswith("data: [DONE]\n\n")


def test_claude_stream_and_whole_answer_quirks(base: str, proto: Any) -> None:
    body = {"model": "claude-sonnet-4", "reasoning_effort": "low", "tools": WEATHER,
            "messages": [{"role": "user", "content": "weather in Paris"}]}
    events = sse(capi(base, "/chat/completions", {**body, "stream": True}).text)
    deltas = [e["choices"][0]["delta"] for e in events]
    assert any("reasoning_text" in d for d in deltas) and any("reasoning_opaque" in d for d in deltas)
    assert [tc["index"] for d in deltas for tc in d.get("tool_calls", [])][0] == 1
    assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert events[-1]["usage"]["prompt_tokens"] > 0  # on the finish chunk
    whole = capi(base, "/chat/completions", body).json()
    assert "object" not in whole and "created" not in whole
    first, second = whole["choices"]
    assert first["message"]["reasoning_opaque"].startswith("EmuOpaque") and "padding" in first["message"]
    assert second["index"] == 1 and second["finish_reason"] == "tool_calls"
    assert json.loads(second["message"]["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}


def test_messages_and_responses(base: str, proto: Any) -> None:
    r = capi(base, "/v1/messages", {"model": "claude-sonnet-4.5", "max_tokens": 50,
                                    "messages": [{"role": "user", "content": "Say ACC-MSG1"}]},
             **{"anthropic-version": "2023-06-01"})
    assert r.json()["content"][0]["text"] == "ACK ACC-MSG1"
    assert r.json()["model"] == "claude-sonnet-4-5-20250929"
    prefill = capi(base, "/v1/messages", {"model": "claude-sonnet-4.5", "max_tokens": 5, "messages": [
        {"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]})
    assert prefill.status_code == 400
    r = capi(base, "/responses", {"model": "gpt-5.1-codex", "input": "Say ACC-RSP1"})
    assert r.json()["output"][0]["content"][0]["text"] == "ACK ACC-RSP1"


def test_faults_have_capi_shapes(ports: Ports, base: str, proto: Any) -> None:
    body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "x"}]}
    token = copilot(base)["token"]
    ports.emulators["copilot"].set_fault("429", 1)
    r = httpx.post(base + "/chat/completions", json=body, headers=bearer(token))
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert r.headers["x-ratelimit-exceeded"] == "user_model_rate_limited"
    assert r.json()["error"]["code"] == "user_model_rate_limited"

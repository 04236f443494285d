"""The emulated Code Assist backend: OAuth token endpoint, project discovery, generation in both
forms with the notes' wire quirks, and its refusals (401, 429 RetryInfo, schema keys, signatures)."""

from __future__ import annotations

import base64
import json
from typing import Any
from typing import Iterator

import httpx
import pytest

from scripts.emulators import Ports
from scripts.emulators import serve_in_thread
from scripts.emulators.gemini_code_assist import CLIENT_ID
from scripts.emulators.gemini_code_assist import PROJECT

KEY = "sk-emulator-test-0123456789"
WEATHER = {"functionDeclarations": [{"name": "get_weather", "parameters": {
    "type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}}]}


@pytest.fixture(scope="module")
def gemini() -> Iterator[Ports]:
    with serve_in_thread({"gemini": 0}, key=KEY) as ports:
        yield ports


@pytest.fixture()
def base(gemini: Ports) -> str:
    return gemini.url("gemini")


def post(base: str, method: str, body: Any, token: str = KEY, **headers: str) -> httpx.Response:
    return httpx.post(f"{base}/v1internal:{method}", json=body, timeout=10,
                      headers={"authorization": f"Bearer {token}", **headers})


def gen(prompt: str | list[dict[str, Any]], model: str = "gemini-2.5-pro", **request: Any) -> dict[str, Any]:
    contents = [{"role": "user", "parts": [{"text": prompt}]}] if isinstance(prompt, str) else prompt
    return {"model": model, "project": PROJECT, "request": {"contents": contents, **request}}


def events(raw: bytes) -> list[dict[str, Any]]:
    assert raw.endswith(b"\r\n\r\n") and b"[DONE]" not in raw
    return [json.loads(chunk[len(b"data: "):]) for chunk in raw[:-4].split(b"\r\n\r\n")]


def refresh(base: str, **form: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": KEY, "client_id": CLIENT_ID, "client_secret": "s",
            **form}
    return httpx.post(f"{base}/token", data=data, timeout=10)


def test_token_endpoint_issues_bearer_tokens(base: str) -> None:
    r = refresh(base)
    assert r.status_code == 200
    tok = r.json()
    assert tok["access_token"].startswith("ya29.") and tok["expires_in"] == 3599
    assert "refresh_token" not in tok  # a refresh does not renew it (1.1)
    assert post(base, "countTokens", {"request": {}}, tok["access_token"]).status_code == 200


@pytest.mark.parametrize("form,status,error", [({"refresh_token": "1//revoked"}, 400, "invalid_grant"),
                                               ({"client_id": "other"}, 401, "invalid_client"),
                                               ({"grant_type": "password"}, 400, "unsupported_grant_type")])
def test_token_endpoint_failures(base: str, form: dict[str, str], status: int, error: str) -> None:
    r = refresh(base, **form)
    assert r.status_code == status and r.json()["error"] == error


def test_unknown_or_expired_bearer_is_401(base: str, gemini: Ports) -> None:
    r = post(base, "generateContent", gen("hi"), "ya29.unknown")
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["status"] == "UNAUTHENTICATED" and err["details"][0]["reason"] == "ACCESS_TOKEN_EXPIRED"
    token = refresh(base).json()["access_token"]
    gemini.emulators["gemini"].protocol.tokens[token] = 0  # expired
    assert post(base, "generateContent", gen("hi"), token).status_code == 401


def test_onboarding_then_load(base: str) -> None:
    first = post(base, "loadCodeAssist", {"metadata": {"pluginType": "GEMINI"}}).json()
    if "currentTier" not in first:  # a fresh emulator: onboard with the default tier
        assert next(t for t in first["allowedTiers"] if t.get("isDefault"))["id"] == "free-tier"
        refused = post(base, "onboardUser", {"tierId": "free-tier", "cloudaicompanionProject": "mine"})
        assert refused.status_code == 400 and refused.json()["error"]["message"] == "Precondition Failed"
        op = post(base, "onboardUser", {"tierId": "free-tier"}).json()
        assert op["done"] is False
        done = httpx.get(f"{base}/v1internal/{op['name']}", headers={"authorization": f"Bearer {KEY}"}).json()
        assert done["done"] and done["response"]["cloudaicompanionProject"]["id"] == PROJECT
    load = post(base, "loadCodeAssist", {"metadata": {}}).json()
    assert load["currentTier"]["id"] == "free-tier" and load["cloudaicompanionProject"] == PROJECT


def test_stream_framing_and_usage(base: str) -> None:
    r = post(base, "streamGenerateContent?alt=sse", gen("Say ACC-GEM01 ACC-GEM02 ACC-GEM03 please"))
    assert r.status_code == 200 and r.headers["content-type"] == "text/event-stream"
    assert b'"response": {"candidates": [{' in r.content  # Google's compact JSON style
    evs = events(r.content)
    texts = [p["text"] for e in evs for p in e["response"]["candidates"][0]["content"]["parts"]]
    assert len(texts) >= 2 and "".join(texts) == "ACK ACC-GEM01 ACC-GEM02 ACC-GEM03"
    assert all(e["response"]["usageMetadata"] == {"trafficType": "PROVISIONED_THROUGHPUT"} for e in evs[:-1])
    last = evs[-1]["response"]
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert last["usageMetadata"]["candidatesTokenCount"] > 0
    assert all("finishReason" not in e["response"]["candidates"][0] for e in evs[:-1])
    assert len({e["traceId"] for e in evs}) == 1 and len({e["response"]["responseId"] for e in evs}) == 1


def test_stream_without_alt_sse_is_a_json_array(base: str) -> None:
    r = post(base, "streamGenerateContent", gen("hi"))
    assert isinstance(r.json(), list) and r.json()[-1]["response"]["candidates"][0]["finishReason"] == "STOP"


def test_parallel_calls_whole_and_first_signed(base: str) -> None:
    r = post(base, "streamGenerateContent?alt=sse", gen("weather in Paris and Tokyo", tools=[WEATHER]))
    parts = [p for e in events(r.content) for p in e["response"]["candidates"][0]["content"]["parts"]]
    assert [p["functionCall"] for p in parts] == [{"name": "get_weather", "args": {"city": "Paris"}},
                                                  {"name": "get_weather", "args": {"city": "Tokyo"}}]
    assert base64.b64decode(parts[0]["thoughtSignature"]).startswith(b"emu-sig:")
    assert "thoughtSignature" not in parts[1] and "id" not in parts[0]["functionCall"]


def test_thoughts_and_unary(base: str) -> None:
    config = {"thinkingConfig": {"includeThoughts": True}}
    r = post(base, "generateContent", gen("hello", generationConfig=config))
    resp = r.json()["response"]
    parts = resp["candidates"][0]["content"]["parts"]
    assert parts[0]["thought"] is True and parts[1]["text"] == "Hello from the scripted upstream."
    assert parts[-1]["text"] == "" and parts[-1]["thoughtSignature"]
    assert resp["usageMetadata"]["thoughtsTokenCount"] > 0 and "traceId" in r.json()


def test_tool_result_answer(base: str) -> None:
    contents = [{"role": "user", "parts": [{"text": "weather in Paris"}]},
                {"role": "model",
                 "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
                                                                 "response": {"output": "ACC-SUN sunny"}}}]}]
    r = post(base, "generateContent", gen(contents, tools=[WEATHER]))
    parts = r.json()["response"]["candidates"][0]["content"]["parts"]
    assert parts[0]["text"] == "Tool result: ACC-SUN sunny"


def test_unknown_schema_keys_are_refused(base: str) -> None:
    bad = {"functionDeclarations": [{"name": "f", "parameters": {
        "type": "object", "$schema": "x", "properties": {"a": {"type": ["string", "null"]}}}}]}
    r = post(base, "generateContent", gen("x", tools=[bad]))
    msg = r.json()["error"]["message"]
    assert r.status_code == 400 and 'Unknown name "$schema"' in msg and "cannot start list" in msg
    ok = {"functionDeclarations": [{"name": "f", "parametersJsonSchema": {"type": "object", "$schema": "x"}}]}
    assert post(base, "generateContent", gen("x", tools=[ok])).status_code == 200


def test_gemini_3_requires_signatures(base: str) -> None:
    def history(sig: str | None) -> list[dict[str, Any]]:
        call: dict[str, Any] = {"functionCall": {"name": "get_weather", "args": {}}}
        if sig:
            call["thoughtSignature"] = sig
        return [{"role": "user", "parts": [{"text": "weather"}]}, {"role": "model", "parts": [call]},
                {"role": "user",
                 "parts": [{"functionResponse": {"name": "get_weather", "response": {"output": "x"}}}]}]

    r = post(base, "generateContent", gen(history(None), "gemini-3-pro-preview", tools=[WEATHER]))
    assert r.status_code == 400 and "thought_signature" in r.json()["error"]["message"]
    for sig in ("skip_thought_signature_validator", base64.b64encode(b"emu-sig:abc").decode()):
        r = post(base, "generateContent", gen(history(sig), "gemini-3-pro-preview", tools=[WEATHER]))
        assert r.status_code == 200
    r = post(base, "generateContent", gen(history(None), tools=[WEATHER]))
    assert r.status_code == 200  # Gemini 2.5 accepts a missing signature


@pytest.mark.parametrize("envelope,status", [
    ({"model": "models/gemini-2.5-pro"}, 404), ({"project": ""}, 400), ({"project": "other"}, 403)])
def test_envelope_checks(base: str, envelope: dict[str, Any], status: int) -> None:
    assert post(base, "generateContent", {**gen("x"), **envelope}).status_code == status


def test_conversation_rules(base: str) -> None:
    ends_with_model = [{"role": "user", "parts": [{"text": "a"}]},
                       {"role": "model", "parts": [{"text": "b"}]}]
    assert post(base, "generateContent", gen(ends_with_model)).status_code == 400
    uneven = [{"role": "user", "parts": [{"text": "w"}]},
              {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}},
                                          {"functionCall": {"name": "f", "args": {}}}]},
              {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}]
    message = post(base, "generateContent", gen(uneven)).json()["error"]["message"]
    assert "number of function response parts" in message


def test_faults(base: str) -> None:
    r = post(base, "generateContent", gen("x"), **{"x-emulator-fault": "429"})
    assert r.status_code == 429 and "retry-after" not in r.headers
    details = r.json()["error"]["details"]
    assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.539477544s"} in details
    r = post(base, "generateContent", gen("x"), **{"x-emulator-fault": "error200"})
    assert r.status_code == 200 and r.json()["error"]["status"] == "INTERNAL"

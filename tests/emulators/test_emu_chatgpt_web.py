"""The emulated ChatGPT web backend (chatgpt-web.md 13): homepage, sentinel (two-step and one-step,
proof of work checked), conversation prepare, the conversation in both stream formats with the
captures' quirks, SCRIPT.md answers and tool calls in the prompt-tools markup, errors and faults."""

from __future__ import annotations

import json
from typing import Any
from typing import Iterator

import httpx
import pytest

from scripts.emulators import Ports
from scripts.emulators import serve_in_thread
from scripts.emulators.chatgpt_web import pow_ok
from translators import ir
from translators.providers.chatgpt_web import decode_sse
from translators.providers.chatgpt_web import sentinel

KEY = "eyJhbGciOiJSUzI1NiI.emulated.sig"
HTTP = httpx.Client(timeout=10)
FP = sentinel.Fingerprint(date="Mon Jun 22 2026 10:01:02 GMT+0000 (Coordinated Universal Time)",
                          user_agent="Mozilla/5.0", script="https://cdn.oaistatic.com/a.js", build="c/x/_",
                          perf_now=1000.5, time_origin=1782122400000.5, device_id="dev")
P = sentinel.requirements_token(FP, 1, 2)
TOOLS = ("# Tools\n\nYou can use the tools below.\n\n"
         '1. <tool name="get_weather">\nDescription: Weather for a city.\n'
         'Arguments (JSON schema): {"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}\n'
         "</tool>\n\nHow to call tools:\n<Function_bridge_Start/>\n<function_calls>\n<function_call>\n"
         "<tool>TOOL_NAME</tool>\n<args_json><![CDATA[{}]]></args_json>\n</function_call>\n</function_calls>")


@pytest.fixture(scope="module")
def emu() -> Iterator[Ports]:
    with serve_in_thread({"chatgpt": 0}, key=KEY) as ports:
        yield ports


@pytest.fixture(autouse=True)
def _no_fault(emu: Ports) -> Iterator[None]:
    yield
    emu.emulators["chatgpt"].set_fault(None)
    emu.emulators["chatgpt"].key_faults.clear()


def post(emu: Ports, path: str, body: Any, headers: dict[str, str] | None = None, key: str = KEY) -> httpx.Response:
    return HTTP.post(emu.url("chatgpt") + path, json=body, headers={"authorization": f"Bearer {key}",
                                                                    **(headers or {})})


def sentinel_headers(emu: Ports, legacy: bool = False, hash_name: str = "fnv") -> dict[str, str]:
    path = "/backend-api/sentinel/chat-requirements" + ("" if legacy else "/prepare")
    reqs = sentinel.parse_requirements(post(emu, path, {"p": P}).json())
    assert reqs.pow_required and reqs.pow_difficulty == "0fffff" and not reqs.turnstile_required
    proof = sentinel.solve_pow(reqs.pow_seed, reqs.pow_difficulty, FP, hash_name=hash_name)
    if legacy:
        return {"openai-sentinel-chat-requirements-token": reqs.token, "openai-sentinel-proof-token": proof}
    r = post(emu, path.replace("prepare", "finalize"), {"prepare_token": reqs.prepare_token, "proofofwork": proof})
    assert r.status_code == 200 and r.json()["expire_after"] == 540
    return {"openai-sentinel-chat-requirements-token": r.json()["token"],
            "openai-sentinel-chat-requirements-prepare-token": reqs.prepare_token,
            "openai-sentinel-proof-token": proof}


def conduit(emu: Ports, headers: dict[str, str]) -> str:
    token = None
    for state in ("none", "sent", "success"):
        body: dict[str, Any] = {"action": "next", "model": "auto", "client_prepare_state": state}
        if state != "none":
            body["partial_query"] = message("u1", "user", "hi")
        r = post(emu, "/backend-api/f/conversation/prepare", body,
                 {**headers, **({"x-conduit-token": token} if token else {})})
        assert r.status_code == 200, r.text
        token = r.json()["conduit_token"]
    assert token is not None
    return token


def message(mid: str, role: str, text: str) -> dict[str, Any]:
    return {"id": mid, "author": {"role": role}, "content": {"content_type": "text", "parts": [text]}}


def conversation(prompt: str | list[dict[str, Any]], v1: bool = True, **extra: Any) -> dict[str, Any]:
    messages = [message("u1", "user", prompt)] if isinstance(prompt, str) else prompt
    return {"action": "next", "messages": messages, "parent_message_id": "p1", "model": "auto",
            "supported_encodings": ["v1"] if v1 else [], "thinking_effort": "standard", **extra}


def ask(emu: Ports, body: dict[str, Any], legacy: bool = False) -> httpx.Response:
    headers = sentinel_headers(emu, legacy, "sha3" if legacy else "fnv")
    if legacy:
        return post(emu, "/backend-api/conversation", body, headers)
    return post(emu, "/backend-api/f/conversation", body, {**headers, "x-conduit-token": conduit(emu, headers)})


def text(r: httpx.Response) -> str:
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    resp = decode_sse(r.content)
    return "".join(b.text for b in resp.content if isinstance(b, ir.Text))


# ---- homepage, credentials, models ----


def test_homepage_needs_no_token(emu: Ports) -> None:
    r = HTTP.get(emu.url("chatgpt") + "/")
    assert r.status_code == 200 and 'data-build="c/' in r.text and r.text.count("<script src=") == 2


def test_tokens(emu: Ports) -> None:
    assert HTTP.get(emu.url("chatgpt") + "/backend-api/me").json() == {"detail": "Unauthorized"}
    r = HTTP.get(emu.url("chatgpt") + "/backend-api/models", headers={"authorization": "Bearer nope"})
    assert r.status_code == 401 and r.json()["detail"]["code"] == "token_expired"
    r = HTTP.get(emu.url("chatgpt") + "/backend-api/models", headers={"authorization": f"Bearer {KEY}"})
    assert r.json()["default_model_slug"] == "auto" and "gpt-5-thinking" in [m["slug"] for m in r.json()["models"]]
    emu.emulators["chatgpt"].protocol.tokens.add("another")
    assert post(emu, "/backend-api/sentinel/chat-requirements", {"p": P}, key="another").status_code == 200


# ---- sentinel (3) ----


def test_requirements_token_and_proof_are_checked(emu: Ports) -> None:
    assert post(emu, "/backend-api/sentinel/chat-requirements/prepare", {"p": "gAAAAACnot-base64"}).status_code == 422
    reqs = sentinel.parse_requirements(post(emu, "/backend-api/sentinel/chat-requirements/prepare", {"p": P}).json())
    r = post(emu, "/backend-api/sentinel/chat-requirements/finalize", {"prepare_token": reqs.prepare_token,
                                                                       "proofofwork": "gAAAAABwrong~S"})
    assert r.status_code == 403 and "Unusual activity" in r.json()["detail"]
    again = post(emu, "/backend-api/sentinel/chat-requirements/finalize", {"prepare_token": reqs.prepare_token})
    assert again.status_code == 400  # each prepare token is used once


def test_pow_check_agrees_with_the_bridge_solver() -> None:
    for hash_name in ("fnv", "sha3"):
        answer = sentinel.solve_pow("0.5", "0fffff", FP, hash_name=hash_name)
        assert pow_ok(answer, "0.5", "0fffff") and not pow_ok(answer, "0.5", "000000")
    assert not pow_ok("gAAAAAB~S", "0.5", "ffffff")


def test_conversation_needs_fresh_sentinel_and_conduit(emu: Ports) -> None:
    assert post(emu, "/backend-api/conversation", conversation("hi")).status_code == 403
    headers = sentinel_headers(emu)
    assert post(emu, "/backend-api/f/conversation", conversation("hi"), headers).status_code == 400  # no conduit
    token = conduit(emu, headers)
    r = post(emu, "/backend-api/f/conversation", conversation("hi"), {**headers, "x-conduit-token": token})
    assert text(r) == "Hello from the scripted upstream."
    again = post(emu, "/backend-api/conversation", conversation("hi"), headers)
    assert again.status_code == 403  # the requirements token was used
    bad_prepare = post(emu, "/backend-api/f/conversation/prepare", {"client_prepare_state": "success"},
                       sentinel_headers(emu))
    assert bad_prepare.status_code == 400


def test_legacy_one_step_and_sha3(emu: Ports) -> None:
    r = ask(emu, conversation("Say ACC-EMU01", v1=False), legacy=True)
    assert text(r) == "ACK ACC-EMU01"
    headers = sentinel_headers(emu, legacy=True)
    headers["openai-sentinel-proof-token"] = "gAAAAABbad~S"
    assert post(emu, "/backend-api/conversation", conversation("hi"), headers).status_code == 403


# ---- the answer (5) ----


def test_v1_stream_as_captured(emu: Ports) -> None:
    r = ask(emu, conversation("Say ACC-EMU02 ACC-EMU03"))
    raw = r.text
    assert raw.startswith('event: delta_encoding\ndata: "v1"\n\n')
    assert '"p": "", "o": "add"' in raw and '\nevent: delta\ndata: {"v": ' in raw  # short forms
    assert '} \n\n' in raw and '"type": "message_stream_complete"' in raw and raw.endswith("data: [DONE]\n\n")
    assert '"o": "patch"' in raw and '"finish_details": {"type": "stop"' in raw
    assert text(r) == "ACK ACC-EMU02 ACC-EMU03"


def test_cumulative_stream_as_captured(emu: Ports) -> None:
    r = ask(emu, conversation("Say ACC-EMU04 ACC-EMU05", v1=False))
    events = [json.loads(b[6:]) for b in r.text.split("\n\n") if b.startswith("data: {")]
    parts = [e["message"]["content"]["parts"][0] for e in events if "message" in e]
    assert parts[0] == "" and parts[-1] == "ACK ACC-EMU04 ACC-EMU05" and len(parts) >= 3
    assert all(b.startswith(a) for a, b in zip(parts, parts[1:]))  # each event is the whole text so far
    assert "}     \n" in r.text and "delta_encoding" not in r.text
    assert events[-1]["type"] == "title_generation" and r.text.endswith("data: [DONE]\n\n")


@pytest.mark.parametrize("v1", [True, False])
def test_internal_tool_and_thoughts_messages(emu: Ports, v1: bool) -> None:
    r = ask(emu, conversation("Please remember ACC-EMU06", v1=v1, thinking_effort="extended"))
    assert '"recipient": "bio"' in r.text and '"content_type": "thoughts"' in r.text
    assert '"reasoning_recap"' in r.text
    resp = decode_sse(r.content)
    assert [type(b) for b in resp.content] == [ir.Thinking, ir.Text]
    assert resp.content[1].text == "ACK ACC-EMU06" and "answer with text" in resp.content[0].text


def test_tool_call_markup_then_result(emu: Ports) -> None:
    messages = [message("s1", "system", TOOLS), message("u1", "user", "What is the weather in Paris and Tokyo?")]
    answer = text(ask(emu, conversation(messages)))
    assert answer.startswith("<Function_bridge_Start/>\n<function_calls>\n<function_call>\n<tool>get_weather</tool>")
    assert answer.count("<function_call>") == 2 and '<![CDATA[{"city":"Tokyo"}]]>' in answer
    messages += [message("a1", "assistant", answer),
                 message("u2", "user", '<tool_result id="c1" name="get_weather">\nsunny\n</tool_result>\n\n'
                                       '<tool_result id="c2" name="get_weather">\nrain\n</tool_result>')]
    assert text(ask(emu, conversation(messages))) == "Tool result: sunny | rain"


def test_invalid_conversation_bodies(emu: Ports) -> None:
    r = ask(emu, conversation("hi", thinking_effort="high"))
    assert r.status_code == 422 and r.json() == {"detail": "Invalid conversation body"}
    assert ask(emu, {**conversation("hi"), "messages": [{"id": "x"}]}).status_code == 422


# ---- errors and faults ----


def test_faults(emu: Ports) -> None:
    r = post(emu, "/backend-api/sentinel/chat-requirements", {"p": P}, {"x-emulator-fault": "429"})
    assert r.status_code == 429 and r.headers["retry-after"] == "1" and "limit of messages" in r.json()["detail"]
    r = post(emu, "/backend-api/conversation", conversation("hi"), {"x-emulator-fault": "error200"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json" and "detail" in r.json()
    emu.emulators["chatgpt"].key_faults["limited-token"] = "429"
    assert post(emu, "/backend-api/sentinel/chat-requirements", {"p": P}, key="limited-token").status_code == 429
    assert post(emu, "/backend-api/sentinel/chat-requirements", {"p": P}).status_code == 200

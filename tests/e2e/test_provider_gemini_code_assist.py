"""Gemini Code Assist through the real bridge (mitmdump): the official openai and anthropic SDKs
against the emulated backend, model "gemini/<model>".

`demo_bridge` is `scripts/bridge --demo` (its token file starts expired, so the first request
refreshes it). `gemini_bridge` is a bridge on an emulator of this test's own, for what needs the
emulator's hands: server-wide faults (a plug-in call does not forward the client's
x-emulator-fault header) and the requests it received."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from typing import Iterator

import anthropic
import httpx
import openai
import pytest

from scripts.emulators import Ports
from scripts.emulators import serve_in_thread
from scripts.emulators.gemini_code_assist import PROJECT
from tests.e2e.clients import WEATHER_SCHEMA
from tests.harness import CLIENT_KEY
from tests.harness import UPSTREAM_KEY
from tests.harness import BridgeProcess

DEMO_KEY = "sk-demo"
MODEL = "gemini/gemini-2.5-flash"
CHAT_TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}}]
X = [{"role": "user", "content": "x"}]
MSG_TOOLS = [{"name": "get_weather", "description": "Weather for a city.", "input_schema": WEATHER_SCHEMA}]


@pytest.fixture(scope="module")
def chat(demo_bridge: BridgeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=demo_bridge.url + "/v1", api_key=DEMO_KEY, max_retries=0, timeout=30)


@pytest.fixture(scope="module")
def claude(demo_bridge: BridgeProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=demo_bridge.url, api_key=DEMO_KEY, max_retries=0, timeout=30)


# ---------------------------------------------------------------- openai SDK: Chat Completions


def test_chat_non_stream(chat: openai.OpenAI) -> None:
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Reply with ACC-GEMC1."}]
    r = chat.chat.completions.create(model=MODEL, messages=messages)
    assert r.choices[0].message.content == "ACK ACC-GEMC1" and r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0


def test_chat_stream(chat: openai.OpenAI) -> None:
    deltas, finish, usage = [], None, None
    messages = [{"role": "user", "content": "Say ACC-GEMC2 ACC-GEMC3"}]
    stream = chat.chat.completions.create(model=MODEL, stream=True, stream_options={"include_usage": True},
                                          messages=messages)
    for chunk in stream:
        for ch in chunk.choices:
            deltas += [ch.delta.content] if ch.delta.content else []
            finish = ch.finish_reason or finish
        usage = chunk.usage or usage
    assert len(deltas) >= 2 and "".join(deltas) == "ACK ACC-GEMC2 ACC-GEMC3" and finish == "stop"
    assert usage is not None and usage.completion_tokens > 0


@pytest.mark.parametrize("stream", [False, True])
def test_chat_tool_round_trip(chat: openai.OpenAI, stream: bool) -> None:
    messages: list[Any] = [{"role": "user", "content": "What is the weather in Paris and Tokyo?"}]

    def ask() -> tuple[str, list[tuple[str, str, dict[str, Any]]], str | None]:
        kw = {"model": MODEL, "messages": messages, "tools": CHAT_TOOLS}
        if not stream:
            m = chat.chat.completions.create(**kw).choices[0]
            calls = [(c.id, c.function.name, json.loads(c.function.arguments))
                     for c in m.message.tool_calls or []]
            return m.message.content or "", calls, m.finish_reason
        text, acc, finish = "", {}, None
        for chunk in chat.chat.completions.create(stream=True, **kw):
            for ch in chunk.choices:
                text += ch.delta.content or ""
                finish = ch.finish_reason or finish
                for tc in ch.delta.tool_calls or []:
                    c = acc.setdefault(tc.index, {"id": tc.id, "name": tc.function.name, "args": ""})
                    c["args"] += tc.function.arguments or ""
        return text, [(c["id"], c["name"], json.loads(c["args"])) for c in acc.values()], finish

    _, calls, finish = ask()
    assert finish == "tool_calls" and [(n, a) for _, n, a in calls] == [
        ("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Tokyo"})]
    assert len({i for i, _, _ in calls}) == 2
    messages.append({"role": "assistant", "content": None, "tool_calls": [
        {"id": i, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
        for i, n, a in calls]})
    messages += [{"role": "tool", "tool_call_id": calls[0][0], "content": "ACC-SUN22 sunny"},
                 {"role": "tool", "tool_call_id": calls[1][0], "content": "ACC-RAIN9 rain"}]
    text, calls, finish = ask()
    assert text == "Tool result: ACC-SUN22 sunny | ACC-RAIN9 rain" and not calls and finish == "stop"


def test_chat_reasoning(chat: openai.OpenAI) -> None:
    r = chat.chat.completions.create(model=MODEL, reasoning_effort="low",
                                     messages=[{"role": "user", "content": "Say ACC-THINK1"}])
    m = r.choices[0].message
    assert m.content == "ACK ACC-THINK1" and "script says" in (getattr(m, "reasoning_content", "") or "")


# ---------------------------------------------------------------- anthropic SDK: Messages


def test_messages_stream(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(model=MODEL, max_tokens=256,
                                messages=[{"role": "user", "content": "Say ACC-GEMM1 ACC-GEMM2"}]) as s:
        texts = list(s.text_stream)
        final = s.get_final_message()
    assert len(texts) >= 2 and "".join(texts) == "ACK ACC-GEMM1 ACC-GEMM2"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", [MODEL, "gemini/gemini-3-pro-preview"])
def test_messages_tool_use_with_thinking(claude: anthropic.Anthropic, stream: bool, model: str) -> None:
    """Thinking on: thought text arrives as thinking, signatures go back (Gemini 3 checks them)."""
    def ask(messages: list[Any]) -> Any:
        kw = {"model": model, "max_tokens": 4096, "tools": MSG_TOOLS, "messages": messages,
              "thinking": {"type": "enabled", "budget_tokens": 2048}}
        if not stream:
            return claude.messages.create(**kw)
        with claude.messages.stream(**kw) as s:
            return s.get_final_message()

    messages: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
    m = ask(messages)
    assert m.stop_reason == "tool_use"
    thinking = next(b for b in m.content if b.type == "thinking")
    assert thinking.thinking.startswith("The script says")
    tool = next(b for b in m.content if b.type == "tool_use")
    assert tool.name == "get_weather" and tool.input == {"city": "Paris"}
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in m.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id,
                                               "content": [{"type": "text", "text": "ACC-HOT30 hot"}]}]}]
    final = ask(messages)
    texts = [b.text for b in final.content if b.type == "text"]
    assert texts == ["Tool result: ACC-HOT30 hot"] and final.stop_reason == "end_turn"


# ---------------------------------------------------------------- openai SDK: Responses


def test_responses_stream(chat: openai.OpenAI) -> None:
    deltas = 0
    with chat.responses.stream(model=MODEL, input="Say ACC-GEMR1 ACC-GEMR2") as s:
        for ev in s:
            deltas += ev.type == "response.output_text.delta"
        r = s.get_final_response()
    assert deltas >= 2 and r.output_text == "ACK ACC-GEMR1 ACC-GEMR2" and r.status == "completed"


def test_responses_stream_tool_round_trip(chat: openai.OpenAI) -> None:
    tools = [{"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA, "strict": False}]
    with chat.responses.stream(model=MODEL, input="Weather in London?", tools=tools) as s:
        first = s.get_final_response()
    call = next(i for i in first.output if i.type == "function_call")
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "London"}
    with chat.responses.stream(model=MODEL, previous_response_id=first.id, tools=tools, input=[
            {"type": "function_call_output", "call_id": call.call_id, "output": "ACC-FOG4 foggy"}]) as s:
        second = s.get_final_response()
    assert second.output_text == "Tool result: ACC-FOG4 foggy"


def test_models_listed(chat: openai.OpenAI) -> None:
    assert {"gemini/gemini-2.5-pro", "gemini/gemini-2.5-flash"} <= {m.id for m in chat.models.list()}


# ---------------------------------------------------------------- a bridge on our own emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[Ports]:
    with serve_in_thread({"gemini": 0}, key=UPSTREAM_KEY) as ports:
        yield ports


@pytest.fixture(scope="module")
def gemini_bridge(emu: Ports, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BridgeProcess]:
    work = tmp_path_factory.mktemp("gemini")
    token_file = work / "oauth_creds.json"
    token_file.write_text(json.dumps({"access_token": "ya29.expired", "refresh_token": UPSTREAM_KEY,
                                      "expiry_date": int((time.time() - 10) * 1000)}))
    base = emu.url("gemini")
    options = {"token_url": base + "/token", "client_secret": "s", "onboard_poll_interval": 0.01}
    static = {"access_token": UPSTREAM_KEY, "project_id": PROJECT}  # no token or discovery call to fault
    revoked = {"access_token": "ya29.revoked", "refresh_token": UPSTREAM_KEY, "project_id": PROJECT,
               "expiry": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3000))}

    def provider(*accounts: dict[str, Any]) -> dict[str, Any]:
        return {"type": "gemini", "base_url": base, "options": options, "accounts": list(accounts)}

    # A 429 cools its account down (for the default 30 s: the pool reads no RetryInfo), so each
    # 429 check has a pool of its own.
    config = {"client_keys": [CLIENT_KEY], "providers": {
        "gemini": provider({"name": "me", "token_file": str(token_file)}), "static": provider(static),
        "limited": provider(static), "limited2": provider(static), "revoked": provider(revoked)}}
    proc = BridgeProcess(config, work)
    yield proc
    proc.stop()


@pytest.fixture()
def faulty(emu: Ports) -> Iterator[Any]:
    yield emu.emulators["gemini"]
    emu.emulators["gemini"].set_fault(None)


def test_refreshed_token_and_signature_reach_the_upstream(gemini_bridge: BridgeProcess, emu: Ports) -> None:
    client = openai.OpenAI(base_url=gemini_bridge.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)
    messages: list[Any] = [{"role": "user", "content": "weather in Tokyo"}]
    m = client.chat.completions.create(model="gemini/gemini-2.5-pro", messages=messages,
                                       tools=CHAT_TOOLS).choices[0]
    call = m.message.tool_calls[0]
    messages += [m.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "ACC-X1"}]
    client.chat.completions.create(model="gemini/gemini-2.5-pro", messages=messages, tools=CHAT_TOOLS)
    log = emu.emulators["gemini"].requests
    paths = [r.path for r in log]
    assert paths.index("/token") < paths.index("/v1internal:generateContent")
    issued = json.loads(log[paths.index("/v1internal:generateContent")].body)
    sent = json.loads(log[-1].body)
    assert log[-1].headers["authorization"].startswith("Bearer ya29.a0Emu")
    first_call_part = sent["request"]["contents"][1]["parts"][0]
    assert first_call_part["functionCall"] == {"name": "get_weather", "args": {"city": "Tokyo"}}
    assert first_call_part["thoughtSignature"] != "skip_thought_signature_validator"
    assert issued["project"] == sent["project"] == "brave-lattice-4k2qp"
    assert sent["request"]["tools"][0]["functionDeclarations"][0]["parameters"]["type"] == "OBJECT"


def test_429_retry_info_becomes_retry_after(gemini_bridge: BridgeProcess, faulty: Any) -> None:
    faulty.set_fault("429", 1)
    client = openai.OpenAI(base_url=gemini_bridge.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="limited/gemini-2.5-pro", messages=X)
    assert e.value.response.headers["retry-after"] == "2"  # RetryInfo 1.539477544s, no header from Google
    assert "exhausted your capacity" in e.value.message
    faulty.set_fault("429", 1)
    claude = anthropic.Anthropic(base_url=gemini_bridge.url, api_key=CLIENT_KEY, max_retries=0, timeout=30)
    with pytest.raises(anthropic.RateLimitError) as ae:
        claude.messages.create(model="limited2/gemini-2.5-pro", max_tokens=10, stream=True,
                               messages=[{"role": "user", "content": "x"}])
    assert ae.value.response.headers["retry-after"] == "2"
    assert ae.value.body["error"]["type"] == "rate_limit_error"


def test_401_refreshes_the_token_and_retries(gemini_bridge: BridgeProcess, emu: Ports) -> None:
    client = openai.OpenAI(base_url=gemini_bridge.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)
    r = client.chat.completions.create(model="revoked/gemini-2.5-pro",
                                       messages=[{"role": "user", "content": "ACC-R401"}])
    assert r.choices[0].message.content == "ACK ACC-R401"
    log = emu.emulators["gemini"].requests
    tail = [(q.path, q.headers.get("authorization", "")[:17]) for q in list(log)[-3:]]
    assert tail == [("/v1internal:generateContent", "Bearer ya29.revok"), ("/token", ""),
                    ("/v1internal:generateContent", "Bearer ya29.a0Emu")]


@pytest.mark.parametrize("stream", [False, True])
def test_error_with_status_200(gemini_bridge: BridgeProcess, faulty: Any, stream: bool) -> None:
    faulty.set_fault("error200", 1)
    claude = anthropic.Anthropic(base_url=gemini_bridge.url, api_key=CLIENT_KEY, max_retries=0, timeout=30)
    with pytest.raises(anthropic.APIStatusError) as e:
        claude.messages.create(model="static/gemini-2.5-pro", max_tokens=10, stream=stream,
                               messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 500 and e.value.body["error"]["message"] == "Internal error encountered."


def test_garbage_stream_is_a_stream_error(gemini_bridge: BridgeProcess, faulty: Any) -> None:
    faulty.set_fault("garbage", 1)
    with httpx.stream("POST", gemini_bridge.url + "/v1/chat/completions", timeout=30,
                      headers={"authorization": f"Bearer {CLIENT_KEY}"},
                      json={"model": "static/gemini-2.5-pro", "stream": True,
                            "messages": [{"role": "user", "content": "x"}]}) as r:
        body = r.read().decode()
    assert r.status_code == 200 and '"error"' in body and body.rstrip().endswith("data: [DONE]")


def test_server_error_is_502(gemini_bridge: BridgeProcess, faulty: Any) -> None:
    faulty.set_fault("500", 1)
    client = openai.OpenAI(base_url=gemini_bridge.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)
    with pytest.raises(openai.APIStatusError) as e:
        client.chat.completions.create(model="static/gemini-2.5-pro", messages=X)
    assert e.value.status_code == 502


def test_token_file_is_0600_after_the_bridge_refreshed(gemini_bridge: BridgeProcess, emu: Ports) -> None:
    path = Path(gemini_bridge.log).parent / "oauth_creds.json"
    httpx.post(gemini_bridge.url + "/v1/chat/completions", headers={"authorization": f"Bearer {CLIENT_KEY}"},
               json={"model": "gemini/gemini-2.5-pro", "messages": X}, timeout=30)
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text())["access_token"].startswith("ya29.a0Emu")

"""GitHub Copilot through the real bridge (mitmdump): the official openai and anthropic SDKs against the
emulated CAPI, one model per upstream API Copilot offers (github-copilot.md 2):

- copilot/gpt-4.1                      chat completions (no supported_endpoints)
- copilot/gpt-5.1-codex                /responses only
- copilot/claude-sonnet-4-5-20250929   Anthropic's name for claude-sonnet-4.5: native /v1/messages
- copilot/claude-sonnet-4              Claude on chat completions (reasoning_text/opaque, indexes from 1)

`demo_bridge` is `scripts/bridge --demo` (a pre-seeded GitHub login). `copilot_bridge` runs on an
emulator of this test's own, for what needs its hands: faults and the requests it received."""

from __future__ import annotations

import json
import time
from typing import Any
from typing import Iterator

import anthropic
import openai
import pytest

from scripts.emulators import Ports
from scripts.emulators import serve_in_thread
from tests.e2e.clients import PNG
from tests.e2e.clients import WEATHER_SCHEMA
from tests.harness import CLIENT_KEY
from tests.harness import UPSTREAM_KEY
from tests.harness import BridgeProcess

DEMO_KEY = "sk-demo"
MODELS = ["copilot/gpt-4.1", "copilot/gpt-5.1-codex", "copilot/claude-sonnet-4-5-20250929",
          "copilot/claude-sonnet-4"]
CHAT_TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}}]
MSG_TOOLS = [{"name": "get_weather", "description": "Weather for a city.", "input_schema": WEATHER_SCHEMA}]
RESP_TOOLS = [{"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA, "strict": False}]
X = [{"role": "user", "content": "x"}]


@pytest.fixture(scope="module")
def chat(demo_bridge: BridgeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=demo_bridge.url + "/v1", api_key=DEMO_KEY, max_retries=0, timeout=30)


@pytest.fixture(scope="module")
def claude(demo_bridge: BridgeProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=demo_bridge.url, api_key=DEMO_KEY, max_retries=0, timeout=30)


# ---------------------------------------------------------------- openai SDK: Chat Completions


@pytest.mark.parametrize("model", MODELS)
def test_chat_non_stream_and_stream(chat: openai.OpenAI, model: str) -> None:
    r = chat.chat.completions.create(model=model, messages=[{"role": "user", "content": "Say ACC-CPC1."}])
    assert r.choices[0].message.content == "ACK ACC-CPC1" and r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0
    deltas, finish, usage = [], None, None
    messages = [{"role": "user", "content": "Say ACC-CPC2 ACC-CPC3"}]
    stream = chat.chat.completions.create(model=model, stream=True, stream_options={"include_usage": True},
                                          messages=messages)
    for chunk in stream:
        for ch in chunk.choices:
            deltas += [ch.delta.content] if ch.delta.content else []
            finish = ch.finish_reason or finish
        usage = chunk.usage or usage
    assert len(deltas) >= 2 and "".join(deltas) == "ACK ACC-CPC2 ACC-CPC3" and finish == "stop"
    assert usage is not None and usage.completion_tokens > 0


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", MODELS)
def test_chat_tool_round_trip(chat: openai.OpenAI, model: str, stream: bool) -> None:
    messages: list[Any] = [{"role": "user", "content": "What is the weather in Paris and Tokyo?"}]

    def ask() -> tuple[str, list[tuple[str, str, dict[str, Any]]], str | None]:
        kw = {"model": model, "messages": messages, "tools": CHAT_TOOLS}
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
    messages.append({"role": "assistant", "content": None, "tool_calls": [
        {"id": i, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
        for i, n, a in calls]})
    messages += [{"role": "tool", "tool_call_id": calls[0][0], "content": "ACC-SUN22 sunny"},
                 {"role": "tool", "tool_call_id": calls[1][0], "content": "ACC-RAIN9 rain"}]
    text, calls, finish = ask()
    assert text == "Tool result: ACC-SUN22 sunny | ACC-RAIN9 rain" and not calls and finish == "stop"


# ---------------------------------------------------------------- anthropic SDK: Messages


@pytest.mark.parametrize("model", MODELS)
def test_messages_stream(claude: anthropic.Anthropic, model: str) -> None:
    with claude.messages.stream(model=model, max_tokens=256,
                                messages=[{"role": "user", "content": "Say ACC-CPM1 ACC-CPM2"}]) as s:
        texts = list(s.text_stream)
        final = s.get_final_message()
    assert len(texts) >= 2 and "".join(texts) == "ACK ACC-CPM1 ACC-CPM2"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_messages_stream_tool_use_with_thinking(claude: anthropic.Anthropic, model: str) -> None:
    def ask(messages: list[Any]) -> Any:
        with claude.messages.stream(model=model, max_tokens=4096, tools=MSG_TOOLS, messages=messages,
                                    thinking={"type": "enabled", "budget_tokens": 2048}) as s:
            return s.get_final_message()

    messages: list[Any] = [{"role": "user", "content": "What is the weather in London?"}]
    m = ask(messages)
    assert m.stop_reason == "tool_use"
    tool = next(b for b in m.content if b.type == "tool_use")
    assert tool.name == "get_weather" and tool.input == {"city": "London"}
    thinking = [b for b in m.content if b.type == "thinking"]
    if model != "copilot/gpt-4.1":  # GPT on chat completions shows no reasoning
        assert thinking and thinking[0].thinking.startswith("The script says") and thinking[0].signature
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in m.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id,
                                               "content": [{"type": "text", "text": "ACC-FOG7 fog"}]}]}]
    final = ask(messages)
    assert [b.text for b in final.content if b.type == "text"] == ["Tool result: ACC-FOG7 fog"]
    assert final.stop_reason == "end_turn"


# ---------------------------------------------------------------- openai SDK: Responses


@pytest.mark.parametrize("model", MODELS)
def test_responses_stream(chat: openai.OpenAI, model: str) -> None:
    deltas = 0
    with chat.responses.stream(model=model, input="Say ACC-CPR1 ACC-CPR2") as s:
        for ev in s:
            deltas += ev.type == "response.output_text.delta"
        r = s.get_final_response()
    assert deltas >= 2 and r.output_text == "ACK ACC-CPR1 ACC-CPR2" and r.status == "completed"


@pytest.mark.parametrize("model", MODELS)
def test_responses_stream_function_tool_round_trip(chat: openai.OpenAI, model: str) -> None:
    with chat.responses.stream(model=model, input="Weather in Paris?", tools=RESP_TOOLS) as s:
        first = s.get_final_response()
    call = next(i for i in first.output if i.type == "function_call")
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    with chat.responses.stream(model=model, previous_response_id=first.id, tools=RESP_TOOLS, input=[
            {"type": "function_call_output", "call_id": call.call_id, "output": "ACC-HOT33 hot"}]) as s:
        second = s.get_final_response()
    assert second.output_text == "Tool result: ACC-HOT33 hot"


def test_models_listed(chat: openai.OpenAI) -> None:
    ids = {m.id for m in chat.models.list()}
    assert {"copilot/gpt-4.1", "copilot/gpt-5.1-codex", "copilot/claude-sonnet-4.5"} <= ids
    assert "copilot/text-embedding-3-small" not in ids and "copilot/claude-opus-41" not in ids


# ---------------------------------------------------------------- a bridge on our own emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[Ports]:
    with serve_in_thread({"copilot": 0}, key=UPSTREAM_KEY) as ports:
        yield ports


@pytest.fixture(scope="module")
def copilot_bridge(emu: Ports, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BridgeProcess]:
    base = emu.url("copilot")
    provider = {"type": "copilot", "options": {"github_url": base, "github_api_url": base},
                "accounts": [{"name": "me", "github_token": UPSTREAM_KEY}]}
    names = ("copilot", "limited", "limited2", "faulty", "expiring")  # a 429 cools its pool down
    config = {"client_keys": [CLIENT_KEY], "providers": {n: provider for n in names}}
    proc = BridgeProcess(config, tmp_path_factory.mktemp("copilot"))
    client = openai.OpenAI(base_url=proc.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)
    for name in names:  # each runtime mints its Copilot token now: faults then hit the chat call
        client.chat.completions.create(model=f"{name}/gpt-4.1", messages=X)
    yield proc
    proc.stop()


@pytest.fixture()
def sdk(copilot_bridge: BridgeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=copilot_bridge.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)


@pytest.fixture()
def faulty(emu: Ports) -> Iterator[Any]:
    yield emu.emulators["copilot"]
    emu.emulators["copilot"].set_fault(None)


def sent(emu: Ports, n: int = 1) -> list[Any]:
    return [r for r in emu.emulators["copilot"].requests if r.method == "POST"][-n:]


def test_x_initiator_and_vision_header(sdk: openai.OpenAI, emu: Ports) -> None:
    messages: list[Any] = [{"role": "user", "content": [{"type": "text", "text": "weather in Tokyo"}, {
        "type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}]
    m = sdk.chat.completions.create(model="copilot/gpt-4.1", messages=messages, tools=CHAT_TOOLS).choices[0]
    first = sent(emu)[0]
    assert first.headers["x-initiator"] == "user" and first.headers["copilot-vision-request"] == "true"
    assert first.headers["openai-intent"] == "conversation-agent"
    call = m.message.tool_calls[0]
    messages += [m.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "ok"}]
    sdk.chat.completions.create(model="copilot/gpt-4.1", messages=messages, tools=CHAT_TOOLS)
    assert sent(emu)[0].headers["x-initiator"] == "agent"  # a tool follow-up is not billed as a user turn


def test_claude_reasoning_goes_back_on_chat_completions(copilot_bridge: BridgeProcess, emu: Ports) -> None:
    client = anthropic.Anthropic(base_url=copilot_bridge.url, api_key=CLIENT_KEY, max_retries=0, timeout=30)
    kw = {"model": "copilot/claude-sonnet-4", "max_tokens": 4096, "tools": MSG_TOOLS,
          "thinking": {"type": "enabled", "budget_tokens": 2048}}
    messages: list[Any] = [{"role": "user", "content": "weather in Paris"}]
    m = client.messages.create(messages=messages, **kw)
    opaque = json.loads(sent(emu)[0].body)
    tool = next(b for b in m.content if b.type == "tool_use")
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in m.content]},
                 {"role": "user", "content": [
                     {"type": "tool_result", "tool_use_id": tool.id, "content": "r"}]}]
    client.messages.create(messages=messages, **kw)
    body = json.loads(sent(emu)[0].body)
    assistant = next(msg for msg in body["messages"] if msg["role"] == "assistant")
    assert assistant["reasoning_text"].startswith("The script says")
    assert assistant["reasoning_opaque"].startswith("EmuOpaque") and "reasoning_effort" in opaque
    assert body["model"] == "claude-sonnet-4" and sent(emu)[0].headers["x-initiator"] == "agent"


def test_expired_copilot_token_is_minted_again(sdk: openai.OpenAI, emu: Ports) -> None:
    sdk.chat.completions.create(model="expiring/gpt-4.1", messages=X)
    token = sent(emu)[0].headers["authorization"][len("Bearer "):]
    emu.emulators["copilot"].protocol.copilot_tokens[token] = time.time() - 1  # this provider's token only
    r = sdk.chat.completions.create(model="expiring/gpt-4.1",
                                    messages=[{"role": "user", "content": "ACC-EXP1"}])
    assert r.choices[0].message.content == "ACK ACC-EXP1"
    tail = [r.path for r in list(emu.emulators["copilot"].requests)[-3:]]
    assert tail == ["/chat/completions", "/copilot_internal/v2/token", "/chat/completions"]


def test_429_reaches_both_sdks_with_retry_after(copilot_bridge: BridgeProcess, sdk: openai.OpenAI,
                                               faulty: Any) -> None:
    faulty.set_fault("429", 1)
    with pytest.raises(openai.RateLimitError) as e:
        sdk.chat.completions.create(model="limited/gpt-4.1", messages=X)
    assert e.value.response.headers["retry-after"] == "1" and "exceeded your rate limits" in e.value.message
    faulty.set_fault("429", 1)
    client = anthropic.Anthropic(base_url=copilot_bridge.url, api_key=CLIENT_KEY, max_retries=0, timeout=30)
    with pytest.raises(anthropic.RateLimitError) as ae:
        client.messages.create(model="limited2/claude-sonnet-4.5", max_tokens=10, stream=True, messages=X)
    assert ae.value.response.headers["retry-after"] == "1"
    assert ae.value.body["error"]["type"] == "rate_limit_error"


@pytest.mark.parametrize("stream", [False, True])
def test_error_with_status_200(copilot_bridge: BridgeProcess, faulty: Any, stream: bool) -> None:
    faulty.set_fault("error200", 1)
    client = anthropic.Anthropic(base_url=copilot_bridge.url, api_key=CLIENT_KEY, max_retries=0, timeout=30)
    with pytest.raises(anthropic.APIStatusError) as e:
        client.messages.create(model="faulty/gpt-4.1", max_tokens=10, stream=stream, messages=X)
    assert e.value.status_code == 500 and e.value.body["error"]["type"] == "api_error"  # Anthropic's status
    assert "The server had an error" in e.value.body["error"]["message"]


def test_server_error_is_502(sdk: openai.OpenAI, faulty: Any) -> None:
    faulty.set_fault("500", 1)
    with pytest.raises(openai.APIStatusError) as e:
        sdk.chat.completions.create(model="faulty/gpt-5.1-codex", messages=X)
    assert e.value.status_code == 502


def test_unknown_model_is_copilots_400(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        sdk.chat.completions.create(model="copilot/gpt-9", messages=X)
    assert e.value.code == "model_not_found" and "not supported" in e.value.message


def test_models_list_carries_copilot_capabilities(demo_bridge: Any) -> None:
    import httpx as _httpx

    for _ in range(50):  # the catalogue is fetched from Copilot's /models once the bridge runs
        data = _httpx.get(demo_bridge.url + "/v1/models", headers={"authorization": "Bearer sk-demo"}).json()["data"]
        copilot = [m for m in data if m["id"].startswith("copilot/")]
        if copilot and all("capabilities" in m for m in copilot):
            break
        time.sleep(0.2)
    assert copilot and all("endpoints" in m["capabilities"] for m in copilot), [m["id"] for m in copilot]
    assert any(m["capabilities"]["vision"] for m in copilot)

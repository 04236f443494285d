"""CodeGPT through the real bridge: official SDKs -> mitmdump (demo mode) -> emulated CodeGPT agents.

Tools go through prompt_tools (CodeGPT has none): the emulator answers in the markup, the bridge turns
it back into tool calls. Errors are driven on a bridge of our own, configured by environment only."""

from __future__ import annotations

import time
from typing import Any
from typing import Iterator

import anthropic
import openai
import pytest

from scripts.emulators import serve_in_thread
from tests.e2e.clients import CLIENTS
from tests.harness import BridgeProcess

AGENT = "3f2b1c0d-9e8f-4a7b-b6c5-d4e3f2a1b0c9"  # the demo account's agent: `delta.contents` stream
LEGACY_AGENT = "5c4d3e2f-1a0b-4c9d-8e7f-6a5b4c3d2e1f"  # streams in the older `delta.content` shape
MODELS = ["codegpt/default", f"codegpt/{LEGACY_AGENT}"]
KEY = "sk-demo"


@pytest.fixture()
def oa(demo_bridge: BridgeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=demo_bridge.url + "/v1", api_key=KEY, max_retries=0, timeout=30)


@pytest.fixture()
def an(demo_bridge: BridgeProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=demo_bridge.url, api_key=KEY, max_retries=0, timeout=30)


@pytest.mark.parametrize("model", MODELS)
def test_chat_non_stream(oa: openai.OpenAI, model: str) -> None:
    r = oa.chat.completions.create(model=model, messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Reply with ACC-CGPT01."}])
    assert r.choices[0].message.content == "ACK ACC-CGPT01" and r.choices[0].finish_reason == "stop"
    assert r.model == model and r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_chat_stream(oa: openai.OpenAI, model: str) -> None:
    chunks = list(oa.chat.completions.create(
        model=model, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Say ACC-CGPT02 ACC-CGPT03"}]))
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(texts) >= 2 and "".join(texts) == "ACK ACC-CGPT02 ACC-CGPT03"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].usage.prompt_tokens > 0 and chunks[-1].usage.completion_tokens > 0


@pytest.mark.parametrize("client", ["chat", "messages", "responses"])
@pytest.mark.parametrize("stream", [False, True])
def test_tool_round_trip(demo_bridge: BridgeProcess, client: str, stream: bool) -> None:
    c = CLIENTS[client](demo_bridge.url, KEY)
    messages: list[Any] = [c.user("What is the weather in Paris?")]
    first = c.ask("codegpt/default", messages, tools=True, stream=stream)
    assert [(name, args) for _, name, args in first.calls] == [("get_weather", {"city": "Paris"})]
    assert first.text == "" and first.calls[0][0]
    messages += c.replay(first) + c.results(first, ["ACC-SUN22 sunny"])
    final = c.ask("codegpt/default", messages, tools=True, stream=stream)
    assert final.text == "Tool result: ACC-SUN22 sunny" and not final.calls


def test_parallel_tool_calls(oa: openai.OpenAI) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    r = oa.chat.completions.create(model="codegpt/default", tools=tools,
                                   messages=[{"role": "user", "content": "Weather in Tokyo and London?"}])
    calls = r.choices[0].message.tool_calls
    assert [c.function.arguments for c in calls] == ['{"city":"Tokyo"}', '{"city":"London"}']
    assert r.choices[0].finish_reason == "tool_calls" and calls[0].id != calls[1].id


def test_anthropic_stream(an: anthropic.Anthropic) -> None:
    with an.messages.stream(model="codegpt/default", max_tokens=256,
                            messages=[{"role": "user", "content": "Say ACC-CGPT04"}]) as s:
        texts = list(s.text_stream)
        final = s.get_final_message()
    assert len(texts) >= 2 and "".join(texts) == "ACK ACC-CGPT04"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0


def test_responses_stream(oa: openai.OpenAI) -> None:
    with oa.responses.stream(model="codegpt/default", input="Say ACC-CGPT05") as s:
        deltas = [e.delta for e in s if e.type == "response.output_text.delta"]
        final = s.get_final_response()
    assert len(deltas) >= 2 and final.output_text == "ACK ACC-CGPT05" and final.status == "completed"


def test_agents_listed_as_models(oa: openai.OpenAI) -> None:
    """Discovery runs in the background at start: give it a moment."""
    deadline = time.monotonic() + 10
    while True:
        ids = [m.id for m in oa.models.list()]
        if f"codegpt/{LEGACY_AGENT}" in ids or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert {"codegpt/default", f"codegpt/{AGENT}", f"codegpt/{LEGACY_AGENT}"} <= set(ids)


def test_unknown_agent_is_not_found(oa: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as e:
        oa.chat.completions.create(model="codegpt/no-such-agent", messages=[{"role": "user", "content": "x"}])
    assert "Agent" in e.value.message


# ---- a bridge configured by CODEGPT_* environment variables only, in front of our own emulator ----


@pytest.fixture(scope="module")
def env_setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BridgeProcess, Any]]:
    with serve_in_thread({"codegpt": 0}, key="sk-cgpt-upstream-0001") as ports:
        mp = pytest.MonkeyPatch()
        for name, value in {"CODEGPT_API_KEY": "sk-cgpt-upstream-0001", "CODEGPT_AGENT_ID": LEGACY_AGENT,
                            "CODEGPT_ORG_ID": "8d5e2c1a-7b3f-4e9d-a0c2-5f6e7d8c9b0a",
                            "CODEGPT_BASE_URL": ports.url("codegpt")}.items():
            mp.setenv(name, value)
        try:
            proc = BridgeProcess({"client_keys": [KEY]}, tmp_path_factory.mktemp("codegpt-env"))
        finally:
            mp.undo()
        yield proc, ports.emulators["codegpt"]
        proc.stop()


@pytest.fixture()
def env_client(env_setup: tuple[BridgeProcess, Any]) -> Iterator[tuple[openai.OpenAI, Any]]:
    proc, emulator = env_setup
    yield openai.OpenAI(base_url=proc.url + "/v1", api_key=KEY, max_retries=0, timeout=30), emulator
    emulator.set_fault(None)


def test_env_configuration_sends_credentials(env_client: tuple[openai.OpenAI, Any]) -> None:
    client, emulator = env_client
    r = client.chat.completions.create(model="codegpt/default",
                                       messages=[{"role": "user", "content": "ACC-ENV001"}])
    assert r.choices[0].message.content == "ACK ACC-ENV001"
    sent = [r for r in emulator.requests if b"ACC-ENV001" in r.body][-1]
    assert sent.path == "/api/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-cgpt-upstream-0001"
    assert sent.headers["codegpt-org-id"] == "8d5e2c1a-7b3f-4e9d-a0c2-5f6e7d8c9b0a"
    assert b'"agentId":"%s"' % LEGACY_AGENT.encode() in sent.body and b'"model"' not in sent.body


@pytest.mark.parametrize("stream", [False, True])
def test_rate_limit_reaches_client_with_retry_after(env_client: tuple[openai.OpenAI, Any],
                                                    stream: bool) -> None:
    client, emulator = env_client
    emulator.set_fault("429", 1)
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="codegpt/default", stream=stream,
                                       messages=[{"role": "user", "content": "x"}])
    assert e.value.response.headers["retry-after"] == "1"
    assert "usage limit" in e.value.message
    time.sleep(1.1)  # the account cools down for the Retry-After second


def test_error_with_status_200_is_an_error(env_client: tuple[openai.OpenAI, Any]) -> None:
    client, emulator = env_client
    emulator.set_fault("error200", 1)
    with pytest.raises(openai.InternalServerError) as e:
        client.chat.completions.create(model="codegpt/default", messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 500 and "CodeGPT" in e.value.message


def test_error_with_status_200_reaches_anthropic_client(env_setup: tuple[BridgeProcess, Any]) -> None:
    proc, emulator = env_setup
    emulator.set_fault("error200", 1)
    client = anthropic.Anthropic(base_url=proc.url, api_key=KEY, max_retries=0, timeout=30)
    with pytest.raises(anthropic.InternalServerError) as e:
        with client.messages.stream(model="codegpt/default", max_tokens=50,
                                    messages=[{"role": "user", "content": "x"}]) as s:
            s.get_final_message()
    assert e.value.body["type"] == "error"


def test_garbage_stream_is_a_stream_error(env_client: tuple[openai.OpenAI, Any]) -> None:
    client, emulator = env_client
    emulator.set_fault("garbage", 1)
    with pytest.raises(openai.APIError):
        list(client.chat.completions.create(model="codegpt/default", stream=True,
                                            messages=[{"role": "user", "content": "x"}]))


def test_server_error(env_client: tuple[openai.OpenAI, Any]) -> None:
    client, emulator = env_client
    emulator.set_fault("500", 1)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="codegpt/default", messages=[{"role": "user", "content": "x"}])

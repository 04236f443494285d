"""Qwen (chat.qwen.ai web API) through a real mitmdump: the demo bridge (`qwen/<model>`) with the
official SDKs, then upstream faults against a bridge of our own (the emulator in this process, so
that faults can target the chat creation or the completion)."""

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

from scripts.emulators import serve_in_thread
from tests.harness import CLIENT_KEY
from tests.harness import UPSTREAM_KEY
from tests.harness import BridgeProcess

MODEL = "qwen/qwen3-235b-a22b"
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
CHAT_WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city.",
                                                 "parameters": SCHEMA}}
COMPLETIONS = "/api/v2/chat/completions"
FAULTY_MODEL = "qwen/qwen3-max-preview"


@pytest.fixture(scope="module")
def oa(demo_bridge: BridgeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=demo_bridge.url + "/v1", api_key="sk-demo", max_retries=0, timeout=30)


@pytest.fixture(scope="module")
def an(demo_bridge: BridgeProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=demo_bridge.url, api_key="sk-demo", max_retries=0, timeout=30)


# ---- the demo bridge ----


def test_models_listed(oa: openai.OpenAI) -> None:
    ids = [m.id for m in oa.models.list()]
    assert MODEL in ids


def test_chat_non_stream(oa: openai.OpenAI) -> None:
    r = oa.chat.completions.create(model=MODEL, messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Reply with ACC-QWEN01."}])
    assert r.choices[0].message.content == "ACK ACC-QWEN01" and r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0


def test_chat_stream(oa: openai.OpenAI) -> None:
    chunks = list(oa.chat.completions.create(model=MODEL, stream=True, stream_options={"include_usage": True},
                                             messages=[{"role": "user", "content": "Say ACC-QW02 ACC-QW03"}]))
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(deltas) >= 2 and "".join(deltas) == "ACK ACC-QW02 ACC-QW03"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_chat_reasoning_from_thinking_suffix(oa: openai.OpenAI) -> None:
    r = oa.chat.completions.create(model=MODEL + "-thinking",
                                   messages=[{"role": "user", "content": "ACC-THINK1"}])
    m = r.choices[0].message
    assert m.content == "ACK ACC-THINK1" and "answer with text" in (getattr(m, "reasoning_content", "") or "")


@pytest.mark.parametrize("stream", [False, True])
def test_chat_tool_round_trip(oa: openai.OpenAI, stream: bool) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What is the weather in Paris?"}]
    if stream:
        calls: dict[int, dict[str, Any]] = {}
        finish = None
        for c in oa.chat.completions.create(model=MODEL, messages=messages, tools=[CHAT_WEATHER],
                                            stream=True):
            for tc in (c.choices[0].delta.tool_calls or []) if c.choices else []:
                call = calls.setdefault(tc.index, {"id": tc.id, "name": tc.function.name, "arguments": ""})
                call["arguments"] += tc.function.arguments or ""
            finish = (c.choices[0].finish_reason if c.choices else None) or finish
        assert finish == "tool_calls"
        tool_calls = [{"id": c["id"], "type": "function",
                       "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls.values()]
    else:
        r = oa.chat.completions.create(model=MODEL, messages=messages, tools=[CHAT_WEATHER])
        assert r.choices[0].finish_reason == "tool_calls" and not r.choices[0].message.content
        tool_calls = [tc.model_dump() for tc in r.choices[0].message.tool_calls]
    assert len(tool_calls) == 1 and tool_calls[0]["function"]["name"] == "get_weather"
    assert json.loads(tool_calls[0]["function"]["arguments"]) == {"city": "Paris"}
    messages += [{"role": "assistant", "content": None, "tool_calls": tool_calls},
                 {"role": "tool", "tool_call_id": tool_calls[0]["id"], "content": "ACC-SUNNY22 sunny, 22C"}]
    r2 = oa.chat.completions.create(model=MODEL, messages=messages, tools=[CHAT_WEATHER])
    assert r2.choices[0].message.content == "Tool result: ACC-SUNNY22 sunny, 22C"


def test_chat_parallel_tool_calls(oa: openai.OpenAI) -> None:
    r = oa.chat.completions.create(model=MODEL, tools=[CHAT_WEATHER], messages=[
        {"role": "user", "content": "Weather in Tokyo and London?"}])
    args = [json.loads(tc.function.arguments) for tc in r.choices[0].message.tool_calls]
    assert args == [{"city": "Tokyo"}, {"city": "London"}]
    assert len({tc.id for tc in r.choices[0].message.tool_calls}) == 2


def test_messages_stream(an: anthropic.Anthropic) -> None:
    with an.messages.stream(model=MODEL, max_tokens=256, system="Be brief.",
                            messages=[{"role": "user", "content": "Say ACC-QW04 ACC-QW05"}]) as s:
        texts = list(s.text_stream)
        final = s.get_final_message()
    assert len(texts) >= 2 and "".join(texts) == "ACK ACC-QW04 ACC-QW05"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0


@pytest.mark.parametrize("stream", [False, True])
def test_messages_tool_use(an: anthropic.Anthropic, stream: bool) -> None:
    tool = {"name": "get_weather", "description": "Weather for a city.", "input_schema": SCHEMA}

    def ask(messages: list[Any]) -> Any:
        kw = {"model": MODEL, "max_tokens": 512, "tools": [tool], "messages": messages}
        if not stream:
            return an.messages.create(**kw)
        with an.messages.stream(**kw) as s:
            return s.get_final_message()

    messages: list[Any] = [{"role": "user", "content": "What is the weather in London?"}]
    m = ask(messages)
    assert m.stop_reason == "tool_use"
    use = next(b for b in m.content if b.type == "tool_use")
    assert use.name == "get_weather" and use.input == {"city": "London"}
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in m.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                               "content": [{"type": "text", "text": "ACC-RAIN7 rain"}]}]}]
    final = ask(messages)
    assert final.content[0].text == "Tool result: ACC-RAIN7 rain" and final.stop_reason == "end_turn"


def test_messages_thinking(an: anthropic.Anthropic) -> None:
    m = an.messages.create(model=MODEL, max_tokens=4096, thinking={"type": "enabled", "budget_tokens": 2048},
                           messages=[{"role": "user", "content": "ACC-THINK2"}])
    kinds = [b.type for b in m.content]
    assert kinds == ["thinking", "text"] and m.content[1].text == "ACK ACC-THINK2"


def test_responses_stream(oa: openai.OpenAI) -> None:
    with oa.responses.stream(model=MODEL, input="Reply with ACC-QW06 ACC-QW07.") as s:
        types = [ev.type for ev in s]
        final = s.get_final_response()
    assert final.output_text == "ACK ACC-QW06 ACC-QW07" and final.status == "completed"
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert types.count("response.output_text.delta") >= 2


def test_responses_tool_round_trip(oa: openai.OpenAI) -> None:
    weather = {"type": "function", "name": "get_weather", "parameters": SCHEMA, "strict": False}
    inp: list[Any] = [{"role": "user", "content": "What is the weather in Tokyo?"}]
    with oa.responses.stream(model=MODEL, input=inp, tools=[weather]) as s:
        r = s.get_final_response()
    calls = [i for i in r.output if i.type == "function_call"]
    assert len(calls) == 1 and json.loads(calls[0].arguments) == {"city": "Tokyo"}
    inp += [calls[0].model_dump(exclude_none=True),
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": "ACC-SNOW3 snow"}]
    r2 = oa.responses.create(model=MODEL, input=inp, tools=[weather])
    assert r2.output_text == "Tool result: ACC-SNOW3 snow"


# ---- upstream errors, through a bridge of our own ----


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BridgeProcess, Any]]:
    with serve_in_thread({"qwen": 0}, key=UPSTREAM_KEY) as ports:
        cfg = {"client_keys": [CLIENT_KEY], "key_file": str(tmp_path_factory.mktemp("qk") / "client_key"),
               "providers": {"qwen": {"type": "qwen", "base_url": ports.url("qwen"), "api_key": UPSTREAM_KEY,
                                      "models": ["qwen3-max-preview"]},
                             "badkey": {"type": "qwen", "base_url": ports.url("qwen"), "api_key": "wrong"}}}
        proc = BridgeProcess(cfg, Path(tmp_path_factory.mktemp("qwen-bridge")))
        yield proc, ports.emulators["qwen"]
        proc.stop()


@pytest.fixture()
def fault(faulty: tuple[BridgeProcess, Any]) -> Iterator[Any]:
    """fault(mode, route): the emulator fails only requests to `route` (faults are per request, and a
    bridged request makes two: the chat, then the completion)."""
    emulator, modes = faulty[1], []

    def set_fault(mode: str, route: str = COMPLETIONS) -> None:
        modes.append(mode)
        emulator._take_fault = lambda req: mode if req.route == route else None

    yield set_fault
    emulator.__dict__.pop("_take_fault", None)
    if "429" in modes:
        time.sleep(1.2)  # the bridge cools the account down for the emulator's Retry-After (1 s)


def _chat(bridge: BridgeProcess, stream: bool = False, model: str = FAULTY_MODEL) -> httpx.Response:
    body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(bridge.url + "/v1/chat/completions", headers={"authorization": f"Bearer {CLIENT_KEY}"},
                      json=body, timeout=30)


@pytest.mark.parametrize("route", [COMPLETIONS, "/api/v2/chats/new"])
def test_429_reaches_openai_client(faulty: Any, fault: Any, route: str) -> None:
    fault("429", route)
    r = _chat(faulty[0])
    assert r.status_code == 429 and r.headers.get("retry-after") == "1"
    assert r.json()["error"]["type"] == "requests" and "usage limit" in r.json()["error"]["message"]
    if route == COMPLETIONS:  # the bridge cools the account down for the Retry-After
        time.sleep(1.2)


@pytest.mark.parametrize("stream", [False, True])
def test_error_with_status_200_is_an_error(faulty: Any, fault: Any, stream: bool) -> None:
    fault("error200")
    r = _chat(faulty[0], stream=stream)
    assert r.status_code == 502 and "internal error" in r.json()["error"]["message"]


def test_500_and_garbage_reach_anthropic_client(faulty: Any, fault: Any) -> None:
    client = anthropic.Anthropic(base_url=faulty[0].url, api_key=CLIENT_KEY, max_retries=0, timeout=30)
    fault("500")
    with pytest.raises(anthropic.APIStatusError) as e:
        client.messages.create(model=FAULTY_MODEL, max_tokens=50, messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 500 and e.value.body["type"] == "error"
    fault("garbage")
    with pytest.raises(anthropic.APIStatusError):
        with client.messages.stream(model=FAULTY_MODEL, max_tokens=50,
                                    messages=[{"role": "user", "content": "x"}]) as s:
            s.get_final_message()


def test_bad_token_is_401(faulty: Any) -> None:
    r = _chat(faulty[0], model="badkey/qwen3-max-preview")
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert "Invalid token" in r.json()["error"]["message"]


def test_models_discovered_from_emulator(faulty: Any) -> None:
    r = httpx.get(faulty[0].url + "/v1/models", headers={"authorization": f"Bearer {CLIENT_KEY}"}, timeout=10)
    ids = [m["id"] for m in r.json()["data"]]
    assert "qwen/qwen3-max-preview" in ids and "badkey/qwq-32b" in ids and "badkey/wanx-video" not in ids

"""CodeGeeX through the real bridge (mitmdump): the demo's emulated upstream for the SDK flows, and a
bridge of our own in front of a CodeGeeX emulator whose faults the tests drive (429, error-with-200...)."""

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
from tests.harness import CLIENT_KEY
from tests.harness import UPSTREAM_KEY
from tests.harness import BridgeProcess

MODEL = "codegeex/codegeex-4"
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
CHAT_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city.",
                                              "parameters": SCHEMA}}
MESSAGES_TOOL = {"name": "get_weather", "description": "Weather for a city.", "input_schema": SCHEMA}


@pytest.fixture()
def oa(demo_bridge: BridgeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=demo_bridge.url + "/v1", api_key="sk-demo", max_retries=0, timeout=30)


@pytest.fixture()
def an(demo_bridge: BridgeProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=demo_bridge.url, api_key="sk-demo", max_retries=0, timeout=30)


Calls = dict[int, dict[str, str]]


def chat_stream(oa: openai.OpenAI, messages: list[Any], **kw: Any) -> tuple[list[str], Calls, str | None]:
    texts: list[str] = []
    calls: Calls = {}
    finish = None
    for chunk in oa.chat.completions.create(model=MODEL, messages=messages, stream=True, **kw):
        for ch in chunk.choices:
            if ch.delta.content:
                texts.append(ch.delta.content)
            for tc in ch.delta.tool_calls or []:
                call = calls.setdefault(tc.index, {"id": tc.id, "name": tc.function.name, "arguments": ""})
                call["arguments"] += tc.function.arguments or ""
            finish = ch.finish_reason or finish
    return texts, calls, finish


# ---- the demo: OpenAI Chat, Anthropic Messages, OpenAI Responses ----


def test_models_listed(oa: openai.OpenAI) -> None:
    ids = [m.id for m in oa.models.list()]
    assert MODEL in ids and "codegeex/codegeex-chat-pro" in ids


def test_chat_non_stream(oa: openai.OpenAI) -> None:
    r = oa.chat.completions.create(model=MODEL, messages=[{"role": "system", "content": "Be brief."},
                                                          {"role": "user", "content": "Say ACC-GXC001"}])
    assert r.choices[0].message.content == "ACK ACC-GXC001" and r.choices[0].finish_reason == "stop"
    assert r.usage is not None and r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0


def test_chat_stream_is_not_duplicated_by_finish(oa: openai.OpenAI) -> None:
    texts, calls, finish = chat_stream(oa, [{"role": "user", "content": "Say ACC-GXC002 and ACC-GXC003"}])
    assert len(texts) >= 2 and "".join(texts) == "ACK ACC-GXC002 ACC-GXC003"
    assert not calls and finish == "stop"


def test_chat_history_reaches_the_upstream_as_pairs(oa: openai.OpenAI) -> None:
    """Only the last user turn is the prompt: tokens of earlier turns are not echoed."""
    r = oa.chat.completions.create(model="codegeex/codegeex-chat-pro", messages=[
        {"role": "user", "content": "Say ACC-OLD001"}, {"role": "assistant", "content": "ACK ACC-OLD001"},
        {"role": "user", "content": "Now say ACC-NEW001"}])
    assert r.choices[0].message.content == "ACK ACC-NEW001"


@pytest.mark.parametrize("stream", [False, True])
def test_chat_tool_round_trip(oa: openai.OpenAI, stream: bool) -> None:
    messages: list[Any] = [{"role": "user", "content": "What is the weather in Paris and Tokyo?"}]
    if stream:
        texts, calls, finish = chat_stream(oa, messages, tools=[CHAT_TOOL])
        got = [(c["id"], c["name"], json.loads(c["arguments"])) for c in calls.values()]
        assert not "".join(texts).strip()
    else:
        r = oa.chat.completions.create(model=MODEL, messages=messages, tools=[CHAT_TOOL])
        finish = r.choices[0].finish_reason
        tool_calls = r.choices[0].message.tool_calls or []
        got = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in tool_calls]
        assert not r.choices[0].message.content
    assert finish == "tool_calls"
    assert [(n, a) for _, n, a in got] == [("get_weather", {"city": "Paris"}),
                                          ("get_weather", {"city": "Tokyo"})]
    replay = [{"id": i, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
              for i, n, a in got]
    messages.append({"role": "assistant", "content": None, "tool_calls": replay})
    messages += [{"role": "tool", "tool_call_id": got[0][0], "content": "ACC-SUN24 sunny"},
                 {"role": "tool", "tool_call_id": got[1][0], "content": "ACC-RAIN12 rain"}]
    if stream:
        texts, calls, finish = chat_stream(oa, messages, tools=[CHAT_TOOL])
        text = "".join(texts)
    else:
        r = oa.chat.completions.create(model=MODEL, messages=messages, tools=[CHAT_TOOL])
        choice = r.choices[0]
        text, calls, finish = choice.message.content, choice.message.tool_calls, choice.finish_reason
    assert text == "Tool result: ACC-SUN24 sunny | ACC-RAIN12 rain" and not calls and finish == "stop"


def test_anthropic_stream(an: anthropic.Anthropic) -> None:
    with an.messages.stream(model=MODEL, max_tokens=256, system="Be brief.",
                            messages=[{"role": "user", "content": "Say ACC-GXM001 ACC-GXM002"}]) as s:
        texts = list(s.text_stream)
        final = s.get_final_message()
    assert len(texts) >= 2 and "".join(texts) == "ACK ACC-GXM001 ACC-GXM002"
    assert final.stop_reason == "end_turn" and final.usage.input_tokens > 0 and final.usage.output_tokens > 0


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_tool_use(an: anthropic.Anthropic, stream: bool) -> None:
    def ask(messages: list[Any]) -> Any:
        kw: dict[str, Any] = {"model": MODEL, "max_tokens": 512, "tools": [MESSAGES_TOOL],
                              "messages": messages}
        if not stream:
            return an.messages.create(**kw)
        with an.messages.stream(**kw) as s:
            return s.get_final_message()

    messages: list[Any] = [{"role": "user", "content": "What is the weather in London?"}]
    m = ask(messages)
    assert m.stop_reason == "tool_use"
    (tool,) = [b for b in m.content if b.type == "tool_use"]
    assert tool.name == "get_weather" and tool.input == {"city": "London"}
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in m.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id,
                                               "content": [{"type": "text", "text": "ACC-FOG09 fog"}]}]}]
    final = ask(messages)
    assert final.content[0].text == "Tool result: ACC-FOG09 fog" and final.stop_reason == "end_turn"


def test_responses_stream(oa: openai.OpenAI) -> None:
    deltas = []
    with oa.responses.stream(model=MODEL, input="Say ACC-GXR001 ACC-GXR002", instructions="Be brief.") as s:
        for ev in s:
            if ev.type == "response.output_text.delta":
                deltas.append(ev.delta)
        r = s.get_final_response()
    assert len(deltas) >= 2 and r.output_text == "ACK ACC-GXR001 ACC-GXR002" and r.status == "completed"


def test_responses_tool_call(oa: openai.OpenAI) -> None:
    tool = {"type": "function", "name": "get_weather", "parameters": SCHEMA, "strict": False}
    r = oa.responses.create(model=MODEL, input="weather in Tokyo?", tools=[tool])
    (call,) = [i for i in r.output if i.type == "function_call"]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Tokyo"}
    r2 = oa.responses.create(model=MODEL, previous_response_id=r.id, tools=[tool], input=[
        {"type": "function_call_output", "call_id": call.call_id, "output": "ACC-SNOW01 snow"}])
    assert r2.output_text == "Tool result: ACC-SNOW01 snow"


# ---- errors: a bridge of our own in front of an emulator whose faults we set ----


@pytest.fixture(scope="module")
def gx_emu() -> Iterator[Ports]:
    with serve_in_thread({"codegeex": 0}, key=UPSTREAM_KEY) as ports:
        yield ports


@pytest.fixture(scope="module")
def gx_bridge(gx_emu: Ports, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BridgeProcess]:
    url = gx_emu.url("codegeex")
    # one provider per fault kind: a 429 cools its account down, which must not touch the other tests
    providers = {name: {"type": "codegeex", "base_url": url, "accounts": [{"api_key": UPSTREAM_KEY}]}
                 for name in ("gx", "limited0", "limited1", "limited2")}
    providers["badtoken"] = {"type": "codegeex", "base_url": url, "api_key": "not-the-token"}
    config = {"client_keys": [CLIENT_KEY], "providers": providers}
    proc = BridgeProcess(config, Path(tmp_path_factory.mktemp("gx")))
    # each provider lists the models once at start: those requests must not take a test's fault
    deadline = time.monotonic() + 15
    log = gx_emu.emulators["codegeex"].requests
    while sum(r.path == "/prod/v3/chat/model" for r in list(log)) < len(providers):
        assert time.monotonic() < deadline, "the bridge did not fetch the model lists"
        time.sleep(0.05)
    yield proc
    proc.stop()


@pytest.fixture()
def fault(gx_emu: Ports) -> Iterator[Any]:
    emulator = gx_emu.emulators["codegeex"]
    yield lambda mode: emulator.set_fault(mode, 1)
    emulator.set_fault(None)


def gx_openai(bridge: BridgeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=bridge.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)


@pytest.mark.parametrize("stream", [False, True])
def test_429_keeps_retry_after_openai(gx_bridge: BridgeProcess, fault: Any, stream: bool) -> None:
    fault("429")
    with pytest.raises(openai.RateLimitError) as e:
        gx_openai(gx_bridge).chat.completions.create(model=f"limited{int(stream)}/codegeex-4", stream=stream,
                                                     messages=[{"role": "user", "content": "hi"}])
    assert e.value.response.headers.get("retry-after") == "1"
    assert "request too frequent" in str(e.value)


def test_429_as_anthropic_error(gx_bridge: BridgeProcess, fault: Any) -> None:
    fault("429")
    an = anthropic.Anthropic(base_url=gx_bridge.url, api_key=CLIENT_KEY, max_retries=0, timeout=30)
    with pytest.raises(anthropic.RateLimitError) as e:
        an.messages.create(model="limited2/codegeex-4", max_tokens=64,
                           messages=[{"role": "user", "content": "hi"}])
    assert e.value.response.headers.get("retry-after") == "1"
    assert e.value.body["type"] == "error" and e.value.body["error"]["type"] == "rate_limit_error"


@pytest.mark.parametrize("stream", [False, True])
def test_error_with_status_200(gx_bridge: BridgeProcess, fault: Any, stream: bool) -> None:
    fault("error200")
    with pytest.raises(openai.InternalServerError) as e:
        gx_openai(gx_bridge).chat.completions.create(model="gx/codegeex-4", stream=stream,
                                                     messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 500 and "emulated" in str(e.value)


def test_server_error(gx_bridge: BridgeProcess, fault: Any) -> None:
    fault("500")
    with pytest.raises(openai.InternalServerError):
        gx_openai(gx_bridge).chat.completions.create(model="gx/codegeex-4",
                                                     messages=[{"role": "user", "content": "hi"}])


def test_garbage_stream_is_an_in_band_error(gx_bridge: BridgeProcess, fault: Any) -> None:
    fault("garbage")
    with pytest.raises(openai.APIError, match="malformed"):
        for _ in gx_openai(gx_bridge).chat.completions.create(model="gx/codegeex-4", stream=True,
                                                              messages=[{"role": "user", "content": "hi"}]):
            pass


def test_bad_token_is_401(gx_bridge: BridgeProcess) -> None:
    with pytest.raises(openai.AuthenticationError, match="code-token"):
        gx_openai(gx_bridge).chat.completions.create(model="badtoken/codegeex-4",
                                                     messages=[{"role": "user", "content": "hi"}])


def test_upstream_request_shape(gx_bridge: BridgeProcess, gx_emu: Ports) -> None:
    emulator = gx_emu.emulators["codegeex"]
    emulator.requests.clear()
    r = httpx.post(gx_bridge.url + "/v1/chat/completions", headers={"authorization": f"Bearer {CLIENT_KEY}"},
                   json={"model": "gx/codegeex-4",
                         "messages": [{"role": "user", "content": "Say ACC-SHAPE1"}]},
                   timeout=30)
    assert r.json()["choices"][0]["message"]["content"] == "ACK ACC-SHAPE1"
    (req,) = emulator.requests
    assert req.path == "/prod/code/chatCodeSseV3/chat" and req.headers["code-token"] == UPSTREAM_KEY
    assert "authorization" not in req.headers and CLIENT_KEY not in json.dumps(req.headers)
    assert json.loads(req.body)["prompt"] == "Say ACC-SHAPE1"

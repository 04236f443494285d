"""ChatGPT web through a real mitmdump: the demo bridge (`chatgpt/<model>`) with the official SDKs
(Chat, Messages, Responses; prompt-based tool calls), then a bridge of our own over the emulator in
this process: a pool of three accounts of which one is rate limited, /v1/accTokens, upstream errors,
the cumulative (legacy) stream format, and the raw-token direct mode."""

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
from tests.harness import BridgeProcess

MODEL = "chatgpt/auto"
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
CHAT_WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city.",
                                                 "parameters": SCHEMA}}
TOKENS = ["eyJhbGciOiJSUzI1NiI.account-one.sig", "eyJhbGciOiJSUzI1NiI.account-two.sig",
          "eyJhbGciOiJSUzI1NiI.account-three.sig"]
LIMITED = TOKENS[0]
PREFIX = "direct-"
HEADERS = {"authorization": f"Bearer {CLIENT_KEY}"}


@pytest.fixture(scope="module")
def oa(demo_bridge: BridgeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=demo_bridge.url + "/v1", api_key="sk-demo", max_retries=0, timeout=30)


@pytest.fixture(scope="module")
def an(demo_bridge: BridgeProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=demo_bridge.url, api_key="sk-demo", max_retries=0, timeout=30)


# ---- the demo bridge ----


def test_models_listed(oa: openai.OpenAI) -> None:
    ids = [m.id for m in oa.models.list()]
    assert MODEL in ids and "chatgpt/gpt-5-thinking" in ids


def test_chat_non_stream(oa: openai.OpenAI) -> None:
    r = oa.chat.completions.create(model=MODEL, messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Reply with ACC-GPTW01."}])
    assert r.choices[0].message.content == "ACK ACC-GPTW01" and r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0


def test_chat_stream(oa: openai.OpenAI) -> None:
    chunks = list(oa.chat.completions.create(model=MODEL, stream=True, stream_options={"include_usage": True},
                                             messages=[{"role": "user", "content": "Say ACC-GPTW02 ACC-GPTW03"}]))
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(deltas) >= 2 and "".join(deltas) == "ACK ACC-GPTW02 ACC-GPTW03"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_internal_tool_and_thoughts_are_not_answer_text(oa: openai.OpenAI) -> None:
    """A `bio` memory call and a thoughts message precede the answer (5.2): only the answer is text,
    the thoughts are reasoning."""
    r = oa.chat.completions.create(model="chatgpt/gpt-5-thinking", messages=[
        {"role": "user", "content": "Please remember ACC-MEM01"}])
    m = r.choices[0].message
    assert m.content == "ACK ACC-MEM01"
    assert "answer with text" in (getattr(m, "reasoning_content", "") or "")


@pytest.mark.parametrize("stream", [False, True])
def test_chat_tool_round_trip(oa: openai.OpenAI, stream: bool) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What is the weather in Paris?"}]
    if stream:
        calls: dict[int, dict[str, Any]] = {}
        finish = None
        for c in oa.chat.completions.create(model=MODEL, messages=messages, tools=[CHAT_WEATHER], stream=True):
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
    chunks = list(oa.chat.completions.create(model=MODEL, messages=messages, tools=[CHAT_WEATHER], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Tool result: ACC-SUNNY22 sunny, 22C"


def test_chat_parallel_tool_calls(oa: openai.OpenAI) -> None:
    r = oa.chat.completions.create(model=MODEL, tools=[CHAT_WEATHER], messages=[
        {"role": "user", "content": "Weather in Tokyo and London?"}])
    args = [json.loads(tc.function.arguments) for tc in r.choices[0].message.tool_calls]
    assert args == [{"city": "Tokyo"}, {"city": "London"}]


def test_messages_stream(an: anthropic.Anthropic) -> None:
    with an.messages.stream(model=MODEL, max_tokens=256, system="Be brief.",
                            messages=[{"role": "user", "content": "Say ACC-GPTW04 ACC-GPTW05"}]) as s:
        texts = list(s.text_stream)
        final = s.get_final_message()
    assert len(texts) >= 2 and "".join(texts) == "ACK ACC-GPTW04 ACC-GPTW05"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0


def test_messages_stream_tool_use(an: anthropic.Anthropic) -> None:
    tool = {"name": "get_weather", "description": "Weather for a city.", "input_schema": SCHEMA}
    kw: dict[str, Any] = {"model": MODEL, "max_tokens": 512, "tools": [tool]}
    messages: list[Any] = [{"role": "user", "content": "What is the weather in London?"}]
    with an.messages.stream(messages=messages, **kw) as s:
        m = s.get_final_message()
    assert m.stop_reason == "tool_use"
    use = next(b for b in m.content if b.type == "tool_use")
    assert use.name == "get_weather" and use.input == {"city": "London"}
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in m.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                               "content": [{"type": "text", "text": "ACC-RAIN7 rain"}]}]}]
    with an.messages.stream(messages=messages, **kw) as s:
        final = s.get_final_message()
    assert final.content[0].text == "Tool result: ACC-RAIN7 rain" and final.stop_reason == "end_turn"


def test_responses_stream(oa: openai.OpenAI) -> None:
    with oa.responses.stream(model=MODEL, input="Reply with ACC-GPTW06 ACC-GPTW07.") as s:
        types = [ev.type for ev in s]
        final = s.get_final_response()
    assert final.output_text == "ACK ACC-GPTW06 ACC-GPTW07" and final.status == "completed"
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert types.count("response.output_text.delta") >= 2


def test_responses_stream_function_tool(oa: openai.OpenAI) -> None:
    weather = {"type": "function", "name": "get_weather", "parameters": SCHEMA, "strict": False}
    inp: list[Any] = [{"role": "user", "content": "What is the weather in Tokyo?"}]
    with oa.responses.stream(model=MODEL, input=inp, tools=[weather]) as s:
        types = [ev.type for ev in s]
        r = s.get_final_response()
    calls = [i for i in r.output if i.type == "function_call"]
    assert len(calls) == 1 and json.loads(calls[0].arguments) == {"city": "Tokyo"}
    assert "response.function_call_arguments.done" in types
    inp += [calls[0].model_dump(exclude_none=True),
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": "ACC-SNOW3 snow"}]
    with oa.responses.stream(model=MODEL, input=inp, tools=[weather]) as s:
        r2 = s.get_final_response()
    assert r2.output_text == "Tool result: ACC-SNOW3 snow"


# ---- a pool of three emulated accounts, through a bridge of our own ----


@pytest.fixture(scope="module")
def emulated() -> Iterator[Any]:
    with serve_in_thread({"chatgpt": 0}, key=TOKENS[1]) as ports:
        ports.emulators["chatgpt"].protocol.tokens.update(TOKENS)
        yield ports


def _bridge(tmp_path_factory: pytest.TempPathFactory, providers: dict[str, Any]) -> BridgeProcess:
    cfg = {"client_keys": [CLIENT_KEY], "key_file": str(tmp_path_factory.mktemp("ck") / "client_key"),
           "providers": providers}
    return BridgeProcess(cfg, Path(tmp_path_factory.mktemp("chatgpt-bridge")))


@pytest.fixture(scope="module")
def pooled(emulated: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BridgeProcess, Any]]:
    """Three accounts, the first of which the tests rate limit; direct mode on."""
    proc = _bridge(tmp_path_factory, {"chatgpt": {
        "type": "chatgpt", "base_url": emulated.url("chatgpt"), "options": {"raw_token_prefix": PREFIX},
        "accounts": [{"name": "limited", "api_key": TOKENS[0]}, {"name": "second", "api_key": TOKENS[1]},
                     {"name": "third", "api_key": TOKENS[2]}]}})
    yield proc, emulated.emulators["chatgpt"]
    proc.stop()


@pytest.fixture(scope="module")
def variants(emulated: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BridgeProcess, Any]]:
    """The legacy flow and format, and an account whose token the backend refuses."""
    url = emulated.url("chatgpt")
    proc = _bridge(tmp_path_factory, {
        "legacy": {"type": "chatgpt", "base_url": url, "api_key": TOKENS[2], "options": {
            "delta_encoding": False, "conversation": "legacy", "sentinel_flow": "legacy", "pow_hash": "sha3"}},
        "badkey": {"type": "chatgpt", "base_url": url, "api_key": "eyJhbGciOiJSUzI1NiI.revoked.sig"}})
    yield proc, emulated.emulators["chatgpt"]
    proc.stop()


def acc_tokens(bridge: BridgeProcess) -> dict[str, Any]:
    r = httpx.get(bridge.url + "/v1/accTokens", headers=HEADERS, timeout=10)
    assert r.status_code == 200
    return r.json()


def _chat(bridge: BridgeProcess, text: str, model: str = "chatgpt/auto", stream: bool = False,
          key: str = CLIENT_KEY) -> httpx.Response:
    body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": text}]}
    return httpx.post(bridge.url + "/v1/chat/completions", headers={"authorization": f"Bearer {key}"},
                      json=body, timeout=30)


def test_pool_keeps_serving_while_one_account_is_rate_limited(pooled: Any) -> None:
    bridge, emulator = pooled
    emulator.protocol.retry_after = "2"
    emulator.key_faults[LIMITED] = "429"
    try:
        client = openai.OpenAI(base_url=bridge.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
        for i in range(6):
            stream = i % 2 == 1
            r = client.chat.completions.create(model=MODEL, stream=stream,
                                               messages=[{"role": "user", "content": f"Say ACC-POOL{i:04d}"}])
            text = "".join(c.choices[0].delta.content or "" for c in r if c.choices) if stream else \
                r.choices[0].message.content
            assert text == f"ACK ACC-POOL{i:04d}"
        view = acc_tokens(bridge)
        assert view["count"] == 3 and view["usable"] == 2
        limited = next(a for a in view["accounts"] if a["account"] == "limited")
        assert not limited["usable"] and limited["failures"] >= 1 and limited["uses"] == 1
        assert all(t not in json.dumps(view) for t in TOKENS)
        assert all(a["key"].startswith("eyJh***(len=") for a in view["accounts"])
    finally:
        emulator.key_faults.clear()
        emulator.protocol.retry_after = "1"
    time.sleep(2.2)  # the Retry-After the emulator sent
    assert acc_tokens(bridge)["usable"] == 3
    for i in range(3):
        assert _chat(bridge, f"ACC-BACK{i:04d}").json()["choices"][0]["message"]["content"] == f"ACK ACC-BACK{i:04d}"
    limited = next(a for a in acc_tokens(bridge)["accounts"] if a["account"] == "limited")
    assert limited["uses"] >= 2, "the recovered account was used again"


def test_acc_tokens_needs_the_client_key(pooled: Any) -> None:
    assert httpx.get(pooled[0].url + "/v1/accTokens", timeout=10).status_code == 401


def test_cumulative_legacy_flow(variants: Any) -> None:
    """`delta_encoding: false`, `/backend-api/conversation`, one-step sentinel, SHA3 proof of work."""
    bridge, emulator = variants
    chunks = [c for c in _chat(bridge, "Say ACC-LEGACY1 ACC-LEGACY2", "legacy/gpt-4o", True).text.split("\n\n")
              if c.startswith("data: {")]
    text = "".join(json.loads(c[6:])["choices"][0]["delta"].get("content") or "" for c in chunks
                   if json.loads(c[6:])["choices"])
    assert text == "ACK ACC-LEGACY1 ACC-LEGACY2"
    sent = [r for r in emulator.requests if r.route == "/backend-api/conversation"][-1]
    assert json.loads(sent.body)["supported_encodings"] == []


@pytest.fixture()
def fault(variants: Any) -> Iterator[Any]:
    """fault(mode): the emulator fails only the conversation calls (the sentinel steps succeed)."""
    emulator = variants[1]

    def set_fault(mode: str) -> None:
        emulator._take_fault = lambda req: mode if req.route.endswith("/conversation") else None

    yield set_fault
    emulator.__dict__.pop("_take_fault", None)


def test_429_reaches_the_client_with_retry_after(variants: Any, fault: Any) -> None:
    fault("429")
    r = _chat(variants[0], "hi", "legacy/auto")
    assert r.status_code == 429 and r.headers.get("retry-after") == "1"
    assert "limit of messages" in r.json()["error"]["message"]
    time.sleep(1.2)


@pytest.mark.parametrize("stream", [False, True])
def test_error_with_status_200_is_an_error(variants: Any, fault: Any, stream: bool) -> None:
    fault("error200")
    r = _chat(variants[0], "hi", "legacy/auto", stream)
    assert r.status_code == 502 and "Something went wrong" in r.json()["error"]["message"]


def test_500_and_garbage_reach_anthropic_client(variants: Any, fault: Any) -> None:
    client = anthropic.Anthropic(base_url=variants[0].url, api_key=CLIENT_KEY, max_retries=0, timeout=30)
    fault("500")
    with pytest.raises(anthropic.APIStatusError) as e:
        client.messages.create(model="legacy/auto", max_tokens=50, messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 500 and "Something went wrong" in str(e.value.body)
    fault("garbage")
    with pytest.raises(anthropic.APIStatusError):
        with client.messages.stream(model="legacy/auto", max_tokens=50,
                                    messages=[{"role": "user", "content": "x"}]) as s:
            s.get_final_message()


def test_revoked_token_is_401(variants: Any) -> None:
    r = _chat(variants[0], "hi", "badkey/auto")
    assert r.status_code == 401 and "token has expired" in r.json()["error"]["message"]


# ---- direct mode: `Bearer <prefix><access token>` ----


def test_direct_token_is_used_instead_of_the_pool(pooled: Any) -> None:
    bridge, emulator = pooled
    token = "eyJhbGciOiJSUzI1NiI.direct-user.sig"
    emulator.protocol.tokens.add(token)
    before = acc_tokens(bridge)
    r = _chat(bridge, "Say ACC-DIRECT1", key=PREFIX + token)
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "ACK ACC-DIRECT1"
    sent = [q for q in emulator.requests if q.route == "/backend-api/f/conversation"][-1]
    assert sent.headers["authorization"] == f"Bearer {token}"
    after = acc_tokens(bridge)
    assert [a["uses"] for a in after["accounts"]] == [a["uses"] for a in before["accounts"]]
    assert token not in bridge.output()


def test_direct_mode_never_falls_back_to_the_pool(pooled: Any) -> None:
    r = _chat(pooled[0], "hi", key=PREFIX + "eyJhbGciOiJSUzI1NiI.unknown.sig")
    assert r.status_code == 401 and "token has expired" in r.json()["error"]["message"]


def test_direct_mode_needs_the_option(pooled: Any, variants: Any) -> None:
    """The prefix is an option of provider `chatgpt` only: another provider does not accept it; nor an
    empty token, nor a bare access token."""
    assert _chat(variants[0], "hi", "legacy/auto", key=PREFIX + TOKENS[2]).status_code == 401
    assert _chat(pooled[0], "hi", key=PREFIX).status_code == 401
    assert _chat(pooled[0], "hi", key=TOKENS[1]).status_code == 401

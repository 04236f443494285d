"""Issue acceptance: the official openai SDK through a real mitmdump with the bridge addon,
against the emulated OpenAI-compatible upstream."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.harness import CLIENT_KEY
from tests.harness import UPSTREAM_KEY

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def test_chat_non_stream(openai_client: Any) -> None:
    r = openai_client.chat.completions.create(model="gpt-4.1", messages=[
        {"role": "user", "content": "Reply with the code word ACC-CHAT01."}])
    assert r.choices[0].message.content == "ACK ACC-CHAT01"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0


def test_chat_stream_has_several_deltas(openai_client: Any) -> None:
    stream = openai_client.chat.completions.create(model="chat/gpt-4.1", stream=True, messages=[
        {"role": "user", "content": "Reply with ACC-AAAA1 and ACC-BBBB2 and ACC-CCCC3."}])
    deltas = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert len(deltas) >= 2
    assert "".join(deltas) == "ACK ACC-AAAA1 ACC-BBBB2 ACC-CCCC3"


def test_chat_stream_include_usage(openai_client: Any) -> None:
    chunks = list(openai_client.chat.completions.create(
        model="gpt-4.1", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "hello"}]))
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None and last.usage.total_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


def _tool_round_trip(client: Any, stream: bool) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What is the weather in Paris?"}]
    if stream:
        calls: dict[int, dict[str, Any]] = {}
        fragments = 0
        for c in client.chat.completions.create(model="gpt-4.1", messages=messages, tools=[WEATHER], stream=True):
            for tc in (c.choices[0].delta.tool_calls or []) if c.choices else []:
                assert tc.index is not None
                call = calls.setdefault(tc.index, {"id": tc.id, "name": tc.function.name, "arguments": ""})
                if tc.function.arguments:
                    call["arguments"] += tc.function.arguments
                    fragments += 1
        assert fragments >= 2
        tool_calls = [{"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                      for c in calls.values()]
    else:
        r = client.chat.completions.create(model="gpt-4.1", messages=messages, tools=[WEATHER])
        assert r.choices[0].finish_reason == "tool_calls"
        tool_calls = [tc.model_dump() for tc in r.choices[0].message.tool_calls]
    assert json.loads(tool_calls[0]["function"]["arguments"]) == {"city": "Paris"}
    messages.append({"role": "assistant", "content": None, "tool_calls": tool_calls})
    messages.append({"role": "tool", "tool_call_id": tool_calls[0]["id"], "content": "ACC-SUNNY22 sunny, 22C"})
    r2 = client.chat.completions.create(model="gpt-4.1", messages=messages, tools=[WEATHER])
    assert r2.choices[0].message.content == "Tool result: ACC-SUNNY22 sunny, 22C"


def test_tool_round_trip_non_stream(openai_client: Any) -> None:
    _tool_round_trip(openai_client, stream=False)


def test_tool_round_trip_stream(openai_client: Any) -> None:
    _tool_round_trip(openai_client, stream=True)


def test_parallel_tool_calls(openai_client: Any) -> None:
    r = openai_client.chat.completions.create(model="gpt-4.1", tools=[WEATHER], messages=[
        {"role": "user", "content": "What is the weather in Paris, London and Tokyo?"}])
    cities = [json.loads(tc.function.arguments)["city"] for tc in r.choices[0].message.tool_calls]
    assert cities == ["Paris", "London", "Tokyo"]
    assert len({tc.id for tc in r.choices[0].message.tool_calls}) == 3


def test_parallel_tool_calls_stream_helper(openai_client: Any) -> None:
    with openai_client.chat.completions.stream(model="gpt-4.1", tools=[WEATHER], messages=[
            {"role": "user", "content": "Weather in London and Tokyo?"}]) as stream:
        final = stream.get_final_completion()
    assert [tc.function.name for tc in final.choices[0].message.tool_calls] == ["get_weather"] * 2


def test_legacy_functions_converted(openai_client: Any) -> None:
    r = openai_client.chat.completions.create(
        model="gpt-4.1", functions=[WEATHER["function"]],
        messages=[{"role": "user", "content": "What is the weather in Tokyo?"}])
    assert r.choices[0].finish_reason == "function_call"
    assert json.loads(r.choices[0].message.function_call.arguments) == {"city": "Tokyo"}


def test_models_list(openai_client: Any) -> None:
    ids = [m.id for m in openai_client.models.list()]
    assert "chat/gpt-4.1" in ids and "anthropic/claude-sonnet-4-5" in ids and "fast" in ids


def test_wrong_key_is_openai_401(bridge: Any) -> None:
    client = openai.OpenAI(base_url=bridge.url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as e:
        client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 401 and e.value.body["code"] == "invalid_api_key"


def test_x_api_key_header_accepted(bridge: Any) -> None:
    r = httpx.post(bridge.url + "/v1/chat/completions", headers={"x-api-key": CLIENT_KEY},
                   json={"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200


def test_malformed_json_is_openai_400(bridge: Any) -> None:
    r = httpx.post(bridge.url + "/v1/chat/completions", content=b'{"model": "gpt-4.1", "messages": [',
                   headers={"authorization": f"Bearer {CLIENT_KEY}", "content-type": "application/json"})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/json"
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_malformed_json_via_sdk(openai_client: Any) -> None:
    with pytest.raises(openai.BadRequestError):
        openai_client.chat.completions.create(model="gpt-4.1", messages="not a list")


def test_unreachable_upstream_is_openai_502(openai_client: Any) -> None:
    with pytest.raises(openai.APIStatusError) as e:
        openai_client.chat.completions.create(model="dead/x", messages=[{"role": "user", "content": "hi"}])
    assert e.value.status_code == 502
    assert e.value.body["code"] == "upstream_unreachable"


def test_unreachable_upstream_stream_is_openai_502(bridge: Any) -> None:
    r = httpx.post(bridge.url + "/v1/chat/completions", headers={"authorization": f"Bearer {CLIENT_KEY}"},
                   json={"model": "dead/x", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_unreachable"


def test_upstream_429_keeps_retry_after(bridge: Any) -> None:
    r = httpx.post(bridge.url + "/v1/chat/completions",
                   headers={"authorization": f"Bearer {CLIENT_KEY}", "x-emulator-fault": "429"},
                   json={"model": "flaky/gpt-4.1", "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert r.json()["error"]["message"]
    # the provider's only account now cools down for the upstream's Retry-After: told, not forwarded
    again = httpx.post(bridge.url + "/v1/chat/completions", headers={"authorization": f"Bearer {CLIENT_KEY}"},
                       json={"model": "flaky/gpt-4.1", "messages": [{"role": "user", "content": "hi"}]})
    assert again.status_code == 429 and int(again.headers["retry-after"]) >= 1
    assert "rate limited" in again.json()["error"]["message"]


def test_upstream_key_is_rewritten_and_masked(openai_client: Any, upstreams: Any) -> None:
    """The upstream saw its own key (else 401), never the client's."""
    r = openai_client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "hi"}])
    assert r.choices[0].message.content


def test_unknown_prefix_goes_to_default_provider(openai_client: Any) -> None:
    r = openai_client.chat.completions.create(model="meta-llama/Llama-3", messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].message.content == "Hello from the scripted upstream."


def test_cors_preflight(bridge: Any) -> None:
    r = httpx.options(bridge.url + "/v1/chat/completions", headers={
        "origin": "http://localhost:5173", "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,x-stainless-timeout"})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["access-control-allow-headers"] == "authorization,content-type,x-stainless-timeout"


def test_first_byte_streams_before_end(bridge: Any) -> None:
    """The stream is not buffered: the first chunk arrives while the upstream is still sending."""
    with httpx.stream("POST", bridge.url + "/v1/chat/completions",
                      headers={"authorization": f"Bearer {CLIENT_KEY}", "x-emulator-fault": "stall"},
                      json={"model": "gpt-4.1", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
                      timeout=httpx.Timeout(10, read=5)) as r:
        first = next(r.iter_bytes())
    assert first.startswith(b"data: ")


def test_upstream_gets_its_own_host_and_credentials(openai_client: Any, upstreams: Any) -> None:
    """The upstream request carries the upstream's Host (real APIs route on it) and key, never the client's."""
    openai_client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "Say ACC-HOST01"}])
    sent = [r for r in upstreams.emulators["openai-chat"].requests if b"ACC-HOST01" in r.body][-1]
    assert sent.headers["host"] == f"127.0.0.1:{upstreams['openai-chat']}"
    assert sent.headers["authorization"] == "Bearer " + UPSTREAM_KEY
    assert CLIENT_KEY not in str(sent.headers)


def test_listen_backlog_takes_a_burst_of_clients(bridge: Any) -> None:
    """asyncio's default backlog (100) would drop a burst of new connections; the bridge raises it."""
    import shutil
    import subprocess

    if shutil.which("ss") is None:
        pytest.skip("iproute2's ss is not installed")
    import time

    for _ in range(50):  # raised just after the proxy starts listening
        out = subprocess.run(["ss", "-Hltn", f"sport = :{bridge.url.rsplit(':', 1)[1]}"], capture_output=True,
                             text=True).stdout.split()
        if int(out[2]) >= 4096:  # Send-Q of a listening socket is its backlog
            return
        time.sleep(0.1)
    raise AssertionError(out)


def test_upstream_cookies_and_alt_svc_are_not_relayed(bridge: Any) -> None:
    for stream in (False, True):
        r = httpx.post(bridge.url + "/v1/chat/completions", headers={"authorization": f"Bearer {CLIENT_KEY}"},
                       json={"model": "gpt-4.1", "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 200 and "set-cookie" not in r.headers and "alt-svc" not in r.headers

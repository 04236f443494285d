"""The Chat Completions emulator over real HTTP: raw wire checks with httpx, then the
official openai SDK (including its stream helper) as the judge of the wire format."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}

HTTP = httpx.Client(timeout=10)  # one client: creating one per request costs ~30 ms (TLS setup)


def post(emu, key, body, path="/v1/chat/completions", **headers):
    return HTTP.post(
        emu.url("openai-chat") + path,
        json=body,
        timeout=10,
        headers={"authorization": f"Bearer {key}", **headers},
    )


def user(text):
    return [{"role": "system", "content": "be terse"}, {"role": "user", "content": text}]


def test_non_stream_text(emu, key):
    r = post(emu, key, {"model": "my-model", "messages": user("Say ACC-CHAT01 please")})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == "my-model"
    choice = body["choices"][0]
    assert choice["message"] == {
        "role": "assistant",
        "content": "ACK ACC-CHAT01",
        "refusal": None,
        "annotations": [],
    }
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_path_without_v1_and_unique_ids(emu, key):
    a = post(emu, key, {"model": "m", "messages": user("hi")}, path="/chat/completions").json()
    b = post(emu, key, {"model": "m", "messages": user("hi")}).json()
    assert a["id"] != b["id"]
    assert a["choices"][0]["message"]["content"] == "Hello from the scripted upstream."


def test_non_stream_parallel_tool_calls(emu, key):
    messages = user("What is the weather in Paris and in Tokyo?")
    body = post(emu, key, {"model": "m", "messages": messages, "tools": [WEATHER_TOOL]}).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    calls = choice["message"]["tool_calls"]
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [{"city": "Paris"}, {"city": "Tokyo"}]
    assert all(c["type"] == "function" and c["id"].startswith("call_") for c in calls)
    assert len({c["id"] for c in calls}) == 2


def test_tool_results_round(emu, key):
    messages = user("What is the weather in Paris?") + [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": [{"type": "text", "text": "ACC-SUNNY22 sunny"}],
        },
    ]
    body = post(emu, key, {"model": "m", "messages": messages, "tools": [WEATHER_TOOL]}).json()
    assert body["choices"][0]["message"]["content"] == "Tool result: ACC-SUNNY22 sunny"


def test_stream_text_framing(emu, key, sse_json):
    r = post(
        emu,
        key,
        {
            "model": "m",
            "messages": user("ACC-STREAM1"),
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["transfer-encoding"] == "chunked"
    events = sse_json(r.text)
    assert all(name is None for name, _ in events)  # data-only events
    assert events[-1][1] == "[DONE]"
    chunks = [d for _, d in events[:-1]]
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    texts = [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    pieces = [t for t in texts if t]
    assert len(pieces) >= 2 and "".join(pieces) == "ACK ACC-STREAM1"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0
    assert all("usage" in c for c in chunks)


def test_stream_without_include_usage_has_no_usage(emu, key, sse_json):
    r = post(emu, key, {"model": "m", "messages": user("hi"), "stream": True})
    chunks = [d for _, d in sse_json(r.text)[:-1]]
    assert all("usage" not in c and c["choices"] for c in chunks)


def test_stream_parallel_tool_calls(emu, key, sse_json):
    r = post(
        emu,
        key,
        {
            "model": "m",
            "messages": user("weather in London, then Tokyo"),
            "stream": True,
            "tools": [WEATHER_TOOL],
        },
    )
    chunks = [d for _, d in sse_json(r.text)[:-1]]
    calls: dict[int, dict] = {}
    fragments: dict[int, int] = {}
    for chunk in chunks:
        for tc in chunk["choices"][0]["delta"].get("tool_calls", []):
            i = tc["index"]
            if i not in calls:
                assert tc["id"].startswith("call_") and tc["type"] == "function"
                calls[i] = {"id": tc["id"], "name": tc["function"]["name"], "arguments": ""}
            else:
                assert set(tc) == {"index", "function"}
            if tc["function"].get("arguments"):
                fragments[i] = fragments.get(i, 0) + 1
                calls[i]["arguments"] += tc["function"]["arguments"]
    assert [json.loads(calls[i]["arguments"]) for i in sorted(calls)] == [
        {"city": "London"},
        {"city": "Tokyo"},
    ]
    assert all(n >= 2 for n in fragments.values())
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_reasoning_effort_adds_reasoning_content(emu, key, sse_json):
    body = {"model": "m", "messages": user("ACC-THINK1"), "reasoning_effort": "high"}
    message = post(emu, key, body).json()["choices"][0]["message"]
    assert message["reasoning_content"] and message["content"] == "ACK ACC-THINK1"
    chunks = [d for _, d in sse_json(post(emu, key, {**body, "stream": True}).text)[:-1]]
    reasoning = [c["choices"][0]["delta"].get("reasoning_content") for c in chunks]
    assert len([r for r in reasoning if r]) >= 2
    none = post(emu, key, {**body, "reasoning_effort": "none"}).json()["choices"][0]["message"]
    assert "reasoning_content" not in none


def test_custom_tool_call(emu, key):
    tools = [{"type": "custom", "custom": {"name": "apply_patch"}}]
    body = post(
        emu, key, {"model": "m", "messages": user("create the file a.txt containing `hi`"), "tools": tools}
    ).json()
    call = body["choices"][0]["message"]["tool_calls"][0]
    assert call["type"] == "custom" and call["custom"]["name"] == "apply_patch"
    assert call["custom"]["input"] == "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch\n"


@pytest.mark.parametrize(
    "headers,code", [({}, None), ({"authorization": "Bearer sk-wrong-key-123456"}, "invalid_api_key")]
)
def test_401(emu, headers, code):
    r = HTTP.post(
        emu.url("openai-chat") + "/v1/chat/completions",
        headers=headers,
        json={"model": "m", "messages": user("hi")},
    )
    assert r.status_code == 401
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["type"] == "invalid_request_error" and err["code"] == code
    assert "sk-wrong-key-123456" not in err["message"]


def test_400s(emu, key):
    bad_json = HTTP.post(
        emu.url("openai-chat") + "/v1/chat/completions",
        content=b"{nope",
        headers={"authorization": f"Bearer {key}"},
    )
    assert bad_json.status_code == 400 and bad_json.json()["error"]["type"] == "invalid_request_error"
    no_model = post(emu, key, {"messages": user("hi")})
    assert no_model.status_code == 400 and "model" in no_model.json()["error"]["message"]
    no_messages = post(emu, key, {"model": "m"})
    assert no_messages.status_code == 400 and no_messages.json()["error"]["param"] == "messages"


def test_models_and_unknown_route(emu, key):
    auth = {"authorization": f"Bearer {key}"}
    for path in ("/v1/models", "/models"):
        body = HTTP.get(emu.url("openai-chat") + path, headers=auth).json()
        assert body["object"] == "list" and all(m["object"] == "model" for m in body["data"])
    assert HTTP.get(emu.url("openai-chat") + "/v1/models/gpt-4.1", headers=auth).json()["id"] == "gpt-4.1"
    assert HTTP.get(emu.url("openai-chat") + "/v1/models/nope", headers=auth).status_code == 404
    missing = HTTP.post(emu.url("openai-chat") + "/v1/nothing", headers=auth, json={})
    assert missing.status_code == 404 and "error" in missing.json()


# --- the official SDK as the judge ---------------------------------------------------------


@pytest.fixture
def client(emu, key):
    with openai.OpenAI(base_url=emu.base_url("openai-chat"), api_key=key, max_retries=0) as c:
        yield c


def test_sdk_create(client):
    completion = client.chat.completions.create(model="gpt-x", messages=user("ACC-SDK001"))
    assert completion.choices[0].message.content == "ACK ACC-SDK001"
    assert completion.usage.prompt_tokens > 0


def test_sdk_stream_helper_text(client):
    with client.chat.completions.stream(
        model="gpt-x", messages=user("ACC-SDK002"), stream_options={"include_usage": True}
    ) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()
    assert len(deltas) >= 2 and "".join(deltas) == "ACK ACC-SDK002"
    assert final.choices[0].message.content == "ACK ACC-SDK002"
    assert final.usage.completion_tokens > 0


def test_sdk_stream_helper_parallel_tools(client):
    with client.chat.completions.stream(
        model="gpt-x", messages=user("weather in Paris and London?"), tools=[WEATHER_TOOL]
    ) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert [json.loads(c.function.arguments) for c in calls] == [{"city": "Paris"}, {"city": "London"}]
    assert final.choices[0].finish_reason == "tool_calls"


def test_sdk_raw_stream_and_auth_error(client, emu):
    stream = client.chat.completions.create(model="gpt-x", messages=user("hi"), stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Hello from the scripted upstream."
    with openai.OpenAI(base_url=emu.base_url("openai-chat"), api_key="bad", max_retries=0) as bad:
        with pytest.raises(openai.AuthenticationError):
            bad.chat.completions.create(model="gpt-x", messages=user("hi"))


def test_sdk_models(client):
    assert "gpt-4.1" in [m.id for m in client.models.list()]

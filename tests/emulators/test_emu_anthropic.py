"""The Anthropic Messages emulator over real HTTP, then through the official anthropic SDK."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}

HTTP = httpx.Client(timeout=10)  # one client: creating one per request costs ~30 ms (TLS setup)


def post(emu, key, body, path="/v1/messages", auth="x-api-key"):
    headers = {"x-api-key": key} if auth == "x-api-key" else {"authorization": f"Bearer {key}"}
    return HTTP.post(
        emu.url("anthropic") + path,
        json=body,
        timeout=10,
        headers={**headers, "anthropic-version": "2023-06-01"},
    )


def msg(text, **extra):
    return {
        "model": "claude-test",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def test_non_stream_text(emu, key):
    r = post(emu, key, msg("Code word ACC-MSG01."))
    assert r.status_code == 200
    body = r.json()
    assert body["type"] == "message" and body["role"] == "assistant" and body["id"].startswith("msg_")
    assert body["model"] == "claude-test"
    assert body["content"] == [{"type": "text", "text": "ACK ACC-MSG01"}]
    assert body["stop_reason"] == "end_turn" and body["stop_sequence"] is None
    assert body["usage"]["input_tokens"] > 0 and body["usage"]["output_tokens"] > 0


def test_bearer_and_beta_query_accepted(emu, key):
    r = post(emu, key, msg("hi"), path="/v1/messages?beta=true", auth="bearer")
    assert r.status_code == 200


def test_non_stream_parallel_tool_use(emu, key):
    body = post(emu, key, msg("weather for Tokyo and Paris", tools=[WEATHER_TOOL])).json()
    assert body["stop_reason"] == "tool_use"
    assert [(b["type"], b["name"], b["input"]) for b in body["content"]] == [
        ("tool_use", "get_weather", {"city": "Tokyo"}),
        ("tool_use", "get_weather", {"city": "Paris"}),
    ]
    assert all(b["id"].startswith("toolu_") for b in body["content"])


def test_tool_result_round(emu, key):
    messages = [
        {"role": "user", "content": "weather in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": [{"type": "text", "text": "ACC-SUNNY22"}],
                },
                {"type": "text", "text": "<system-reminder>x</system-reminder>"},
            ],
        },
    ]
    body = post(
        emu, key, {"model": "c", "max_tokens": 10, "messages": messages, "tools": [WEATHER_TOOL]}
    ).json()
    assert body["content"][0]["text"] == "Tool result: ACC-SUNNY22"


def test_stream_grammar(emu, key, sse_json):
    r = post(
        emu,
        key,
        msg(
            "weather in London?",
            tools=[WEATHER_TOOL],
            stream=True,
            thinking={"type": "enabled", "budget_tokens": 1024},
        ),
    )
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_json(r.text)
    assert all(name == data["type"] for name, data in events)
    names = [n for n, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["usage"]["input_tokens"] > 0
    blocks: dict[int, dict] = {}
    for name, data in events:
        if name == "content_block_start":
            blocks[data["index"]] = {"start": data["content_block"], "deltas": []}
        elif name == "content_block_delta":
            blocks[data["index"]]["deltas"].append(data["delta"])
    assert sorted(blocks) == [0, 1]
    thinking, tool = blocks[0], blocks[1]
    assert thinking["start"]["type"] == "thinking"
    assert [d["type"] for d in thinking["deltas"]][-1] == "signature_delta"
    assert sum(d["type"] == "thinking_delta" for d in thinking["deltas"]) >= 2
    assert tool["start"]["type"] == "tool_use" and tool["start"]["input"] == {}
    partial = [d["partial_json"] for d in tool["deltas"]]
    assert len([p for p in partial if p]) >= 2 and json.loads("".join(partial)) == {"city": "London"}
    delta = events[-2][1]
    assert delta["delta"]["stop_reason"] == "tool_use" and delta["usage"]["output_tokens"] > 0


def test_stream_text_in_several_deltas(emu, key, sse_json):
    events = sse_json(post(emu, key, msg("hello", stream=True)).text)
    texts = [d["delta"]["text"] for n, d in events if n == "content_block_delta"]
    assert len(texts) >= 2 and "".join(texts) == "Hello from the scripted upstream."


def test_thinking_display_omitted(emu, key):
    body = post(emu, key, msg("hi", thinking={"type": "adaptive", "display": "omitted"})).json()
    assert body["content"][0]["type"] == "thinking" and body["content"][0]["thinking"] == ""
    assert body["content"][0]["signature"]


def test_count_tokens_and_models(emu, key):
    r = post(
        emu,
        key,
        {"model": "c", "messages": [{"role": "user", "content": "hi"}]},
        path="/v1/messages/count_tokens?beta=true",
    )
    assert r.status_code == 200 and r.json()["input_tokens"] > 0
    models = HTTP.get(emu.url("anthropic") + "/v1/models?limit=1000", headers={"x-api-key": key}).json()
    assert models["has_more"] is False and all(m["type"] == "model" for m in models["data"])
    assert models["first_id"] == models["data"][0]["id"]


@pytest.mark.parametrize(
    "headers,message",
    [
        ({}, "x-api-key header is required"),
        ({"x-api-key": "wrong"}, "invalid x-api-key"),
        ({"authorization": "Bearer wrong"}, "Invalid bearer token"),
    ],
)
def test_401(emu, headers, message):
    r = HTTP.post(emu.url("anthropic") + "/v1/messages", headers=headers, json=msg("hi"))
    assert r.status_code == 401
    body = r.json()
    assert body["type"] == "error" and body["error"] == {"type": "authentication_error", "message": message}


def test_400s(emu, key):
    no_max = post(emu, key, {"model": "c", "messages": []})
    assert no_max.status_code == 400
    assert no_max.json()["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }
    bad = HTTP.post(emu.url("anthropic") + "/v1/messages", content=b"[", headers={"x-api-key": key})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    no_model = post(emu, key, {"max_tokens": 5, "messages": []})
    assert no_model.json()["error"]["message"] == "model: Field required"


# --- the official SDK as the judge ---------------------------------------------------------


@pytest.fixture
def client(emu, key):
    with anthropic.Anthropic(base_url=emu.base_url("anthropic"), api_key=key, max_retries=0) as c:
        yield c


def test_sdk_create(client):
    message = client.messages.create(**msg("ACC-SDKMSG1"))
    assert message.content[0].text == "ACK ACC-SDKMSG1" and message.usage.output_tokens > 0


def test_sdk_stream_helper_text(client):
    with client.messages.stream(**msg("ACC-SDKMSG2")) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(texts) >= 2 and "".join(texts) == "ACK ACC-SDKMSG2"
    assert final.content[0].text == "ACK ACC-SDKMSG2" and final.stop_reason == "end_turn"
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0


def test_sdk_stream_helper_thinking_and_tools(client):
    with client.messages.stream(
        **msg(
            "weather in Paris and Tokyo",
            tools=[WEATHER_TOOL],
            thinking={"type": "enabled", "budget_tokens": 1024},
        )
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "thinking" and final.content[0].signature
    assert [(b.name, b.input) for b in final.content[1:]] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Tokyo"}),
    ]
    assert final.stop_reason == "tool_use"


def test_sdk_count_tokens_models_and_auth(client, emu):
    assert (
        client.messages.count_tokens(model="c", messages=[{"role": "user", "content": "hi"}]).input_tokens > 0
    )
    assert any(m.id.startswith("claude") for m in client.models.list())
    with anthropic.Anthropic(base_url=emu.base_url("anthropic"), api_key="bad", max_retries=0) as bad:
        with pytest.raises(anthropic.AuthenticationError):
            bad.messages.create(**msg("hi"))

"""The Responses emulator over real HTTP, then through openai's `client.responses`."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "strict": False,
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
PATCH_TOOL = {
    "type": "custom",
    "name": "apply_patch",
    "description": "patch",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"},
}

HTTP = httpx.Client(timeout=10)  # one client: creating one per request costs ~30 ms (TLS setup)


def post(emu, key, body, path="/v1/responses"):
    return HTTP.post(
        emu.url("openai-responses") + path, json=body, timeout=10, headers={"authorization": f"Bearer {key}"}
    )


def test_non_stream_text(emu, key):
    body = post(emu, key, {"model": "gpt-r", "input": "Code ACC-RESP01", "instructions": "be brief"}).json()
    assert body["object"] == "response" and body["status"] == "completed" and body["id"].startswith("resp_")
    assert body["model"] == "gpt-r" and body["instructions"] == "be brief"
    [item] = body["output"]
    assert item["type"] == "message" and item["role"] == "assistant" and item["status"] == "completed"
    assert item["content"][0]["type"] == "output_text" and item["content"][0]["text"] == "ACK ACC-RESP01"
    usage = body["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["input_tokens_details"] == {"cached_tokens": 0}
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_items_input_with_function_outputs(emu, key):
    items = [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "rules"}]},
        {"role": "user", "content": "weather in Paris?"},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "ACC-SUNNY22 sunny"},
    ]
    body = post(emu, key, {"model": "m", "input": items, "tools": [WEATHER_TOOL]}).json()
    assert body["output"][0]["content"][0]["text"] == "Tool result: ACC-SUNNY22 sunny"


def test_stream_sequence_and_completed_output(emu, key, sse_json):
    r = post(
        emu,
        key,
        {
            "model": "m",
            "input": "weather in Paris and London",
            "tools": [WEATHER_TOOL],
            "stream": True,
            "reasoning": {"effort": "low", "summary": "auto"},
            "include": ["reasoning.encrypted_content"],
        },
    )
    events = sse_json(r.text)
    assert all(name == data["type"] for name, data in events)
    assert [d["sequence_number"] for _, d in events] == list(range(len(events)))
    names = [n for n, _ in events]
    assert names[:2] == ["response.created", "response.in_progress"] and names[-1] == "response.completed"
    assert "[DONE]" not in r.text
    final = events[-1][1]["response"]
    assert [i["type"] for i in final["output"]] == ["reasoning", "function_call", "function_call"]
    assert final["output"][0]["encrypted_content"]
    calls = final["output"][1:]
    assert [json.loads(c["arguments"]) for c in calls] == [{"city": "Paris"}, {"city": "London"}]
    # every item's id is stable between added/done and the final output
    done = {d["output_index"]: d["item"] for n, d in events if n == "response.output_item.done"}
    assert [done[i] for i in sorted(done)] == final["output"]
    for call in calls:
        frags = [
            d["delta"]
            for n, d in events
            if n == "response.function_call_arguments.delta" and d["item_id"] == call["id"]
        ]
        assert len(frags) >= 2 and "".join(frags) == call["arguments"]
    summary = [d["delta"] for n, d in events if n == "response.reasoning_summary_text.delta"]
    assert len(summary) >= 2


def test_stream_text_deltas(emu, key, sse_json):
    events = sse_json(post(emu, key, {"model": "m", "input": "ACC-RSTREAM", "stream": True}).text)
    deltas = [d["delta"] for n, d in events if n == "response.output_text.delta"]
    assert len(deltas) >= 2 and "".join(deltas) == "ACK ACC-RSTREAM"
    assert events[0][1]["response"]["output"] == [] and events[0][1]["response"]["usage"] is None


def test_freeform_custom_tool(emu, key, sse_json):
    body = {
        "model": "m",
        "input": "Please create the file hello.txt containing `ACC-CX`.",
        "tools": [PATCH_TOOL],
    }
    [item] = post(emu, key, body).json()["output"]
    assert item["type"] == "custom_tool_call" and item["name"] == "apply_patch"
    assert item["input"] == "*** Begin Patch\n*** Add File: hello.txt\n+ACC-CX\n*** End Patch\n"
    events = sse_json(post(emu, key, {**body, "stream": True}).text)
    frags = [d["delta"] for n, d in events if n == "response.custom_tool_call_input.delta"]
    assert len(frags) >= 2 and "".join(frags) == events[-1][1]["response"]["output"][0]["input"]


def test_reasoning_none_means_no_reasoning_item(emu, key):
    body = post(emu, key, {"model": "m", "input": "hi", "reasoning": {"effort": "none"}}).json()
    assert [i["type"] for i in body["output"]] == ["message"]


def test_errors(emu, key):
    r = HTTP.post(
        emu.url("openai-responses") + "/v1/responses",
        json={"model": "m", "input": "hi"},
        headers={"authorization": "Bearer nope-nope-nope"},
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert post(emu, key, {"input": "hi"}).status_code == 400
    bad = HTTP.post(
        emu.url("openai-responses") + "/v1/responses",
        content=b"not json",
        headers={"authorization": f"Bearer {key}"},
    )
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"


# --- the official SDK as the judge ---------------------------------------------------------


@pytest.fixture
def client(emu, key):
    with openai.OpenAI(base_url=emu.base_url("openai-responses"), api_key=key, max_retries=0) as c:
        yield c


def test_sdk_create(client):
    response = client.responses.create(model="gpt-r", input="ACC-SDKRES1")
    assert response.output_text == "ACK ACC-SDKRES1" and response.usage.output_tokens > 0


def test_sdk_stream_helper_text(client):
    with client.responses.stream(
        model="gpt-r", input="ACC-SDKRES2", reasoning={"effort": "medium", "summary": "auto"}
    ) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert len(deltas) >= 2 and "".join(deltas) == "ACK ACC-SDKRES2"
    assert final.output_text == "ACK ACC-SDKRES2"
    assert final.output[0].type == "reasoning" and final.output[0].summary[0].text


def test_sdk_stream_helper_tools(client):
    with client.responses.stream(
        model="gpt-r", input="weather in Tokyo?", tools=[WEATHER_TOOL, PATCH_TOOL]
    ) as s:
        final = s.get_final_response()
    [call] = final.output
    assert call.type == "function_call" and json.loads(call.arguments) == {"city": "Tokyo"}
    with client.responses.stream(
        model="gpt-r", input="create the file x containing `y`", tools=[WEATHER_TOOL, PATCH_TOOL]
    ) as s:
        final = s.get_final_response()
    assert final.output[0].type == "custom_tool_call"
    assert final.output[0].input == "*** Begin Patch\n*** Add File: x\n+y\n*** End Patch\n"


def test_sdk_raw_stream_events(client):
    kinds = [e.type for e in client.responses.create(model="gpt-r", input="hi", stream=True)]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"


def test_openai_platform_serves_chat_and_responses_on_one_port(emu, key):
    auth = {"authorization": f"Bearer {key}"}
    chat = HTTP.post(
        emu.base_url("openai") + "/chat/completions",
        headers=auth,
        json={"model": "m", "messages": [{"role": "user", "content": "ACC-PLAT01"}]},
    )
    resp = HTTP.post(
        emu.base_url("openai") + "/responses", headers=auth, json={"model": "m", "input": "ACC-PLAT02"}
    )
    assert chat.json()["choices"][0]["message"]["content"] == "ACK ACC-PLAT01"
    assert resp.json()["output"][0]["content"][0]["text"] == "ACK ACC-PLAT02"
    assert HTTP.get(emu.base_url("openai") + "/models", headers=auth).json()["object"] == "list"
    garbage = HTTP.post(
        emu.base_url("openai") + "/responses",
        headers={**auth, "x-emulator-fault": "garbage"},
        json={"model": "m", "input": "x"},
    )
    assert garbage.text.startswith("data: ")

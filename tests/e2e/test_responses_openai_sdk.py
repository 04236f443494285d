"""Issue acceptance: the openai SDK's Responses API through the bridge, against every upstream."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city.", "strict": False,
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
MODELS = ["chat/gpt-4.1", "responses/gpt-5-codex", "anthropic/claude-sonnet-4-5"]


@pytest.mark.parametrize("model", MODELS)
def test_non_stream(openai_client: Any, model: str) -> None:
    r = openai_client.responses.create(model=model, input="Reply with ACC-RESP01.")
    assert r.output_text == "ACK ACC-RESP01" and r.status == "completed"
    assert r.usage.input_tokens > 0 and r.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_stream_helper_completes(openai_client: Any, model: str) -> None:
    with openai_client.responses.stream(model=model, input="Reply with ACC-RESP02 ACC-RESP03.") as s:
        types = [ev.type for ev in s]
        final = s.get_final_response()
    assert final.output_text == "ACK ACC-RESP02 ACC-RESP03"
    assert types[:2] == ["response.created", "response.in_progress"] and types[-1] == "response.completed"
    assert types.count("response.output_text.delta") >= 2


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
def test_function_tools(openai_client: Any, model: str, stream: bool) -> None:
    def ask(inp: list[Any]) -> Any:
        if not stream:
            return openai_client.responses.create(model=model, input=inp, tools=[WEATHER])
        with openai_client.responses.stream(model=model, input=inp, tools=[WEATHER]) as s:
            deltas = [ev for ev in s if ev.type == "response.function_call_arguments.delta"]
            final = s.get_final_response()
        assert not [i for i in final.output if i.type == "function_call"] or len(deltas) >= 2
        return final

    inp: list[Any] = [{"role": "user", "content": "What is the weather in London?"}]
    r = ask(inp)
    calls = [i for i in r.output if i.type == "function_call"]
    assert len(calls) == 1 and json.loads(calls[0].arguments) == {"city": "London"}
    inp += [calls[0].model_dump(exclude_none=True),
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": "ACC-FOG9 foggy"}]
    assert ask(inp).output_text == "Tool result: ACC-FOG9 foggy"


@pytest.mark.parametrize("model", ["chat/gpt-4.1", "anthropic/claude-sonnet-4-5"])
def test_previous_response_id_served_by_the_bridge(openai_client: Any, model: str) -> None:
    first = openai_client.responses.create(model=model, input="What is the weather in Tokyo?", tools=[WEATHER])
    call = next(i for i in first.output if i.type == "function_call")
    second = openai_client.responses.create(
        model=model, previous_response_id=first.id, tools=[WEATHER],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "ACC-SNOW3 snow"}])
    assert second.output_text == "Tool result: ACC-SNOW3 snow"
    with openai_client.responses.stream(model=model, input="Reply with ACC-PREV1.") as s:
        streamed = s.get_final_response()
    third = openai_client.responses.create(model=model, previous_response_id=streamed.id,
                                           input="Now reply with ACC-PREV2.")
    assert third.output_text == "ACK ACC-PREV2"


def test_unknown_previous_response_id_is_404(openai_client: Any) -> None:
    with pytest.raises(openai.NotFoundError) as e:
        openai_client.responses.create(model="chat/gpt-4.1", previous_response_id="resp_nope", input="hi")
    assert e.value.body["code"] == "previous_response_not_found"


def test_custom_freeform_tool(openai_client: Any) -> None:
    tool = {"type": "custom", "name": "apply_patch", "description": "Apply a patch."}
    for model in ("responses/gpt-5-codex", "chat/gpt-4.1"):
        r = openai_client.responses.create(model=model, tools=[tool],
                                           input="Please create the file notes.txt containing `hello`")
        call = next(i for i in r.output if i.type == "custom_tool_call")
        assert call.name == "apply_patch" and call.input.startswith("*** Begin Patch\n*** Add File: notes.txt")

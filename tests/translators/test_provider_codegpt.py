"""CodeGPT codec (shared/protocols/upstreams/codegpt.md): requests, streams cut at every byte, whole
answers in each known shape, errors, agent listing."""

from __future__ import annotations

import orjson
import pytest

from translators import ir
from translators.errors import TranslationError
from translators.providers.codegpt import CODEC
from translators.registry import codec
from translators.sse import SSEParser
from translators.transforms import prompt_tools

AGENT = "3f2b1c0d-9e8f-4a7b-b6c5-d4e3f2a1b0c9"
ORG = "8d5e2c1a-7b3f-4e9d-a0c2-5f6e7d8c9b0a"
KEY = "sk-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
CTX = {"api_key": KEY, "org_id": ORG, "agent_id": AGENT}

# codegpt.md 5.1, byte for byte
VARIANT_1 = (
    b'data: {"id":"chatcmpl-6a1f0e2d3c4b","object":"chat.completion.chunk","created":1754886400,"model":"claude-3.7-sonnet-anthropic","choices":[{"index":0,"delta":{"role":"assistant","contents":[{"type":"text","content":"Silent snow"}]},"finish_reason":null}]}\n\n'  # noqa: E501
    b'data: {"id":"chatcmpl-6a1f0e2d3c4b","object":"chat.completion.chunk","created":1754886400,"model":"claude-3.7-sonnet-anthropic","choices":[{"index":0,"delta":{"contents":[{"type":"text","content":" descends on"}]},"finish_reason":null}]}\n\n'  # noqa: E501
    b'data: {"id":"chatcmpl-6a1f0e2d3c4b","object":"chat.completion.chunk","created":1754886400,"model":"claude-3.7-sonnet-anthropic","choices":[{"index":0,"delta":{"contents":[{"type":"text","content":" sleeping pines"}]},"finish_reason":"stop"}]}\n\n'  # noqa: E501
    b"data: [DONE]\n\n"
)
VARIANT_2 = (
    b'data: {"id":"chatcmpl-6a1f0e2d3c4b","object":"chat.completion.chunk","created":1754886400,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Silent snow"},"finish_reason":null}]}\n\n'  # noqa: E501
    b'data: {"id":"chatcmpl-6a1f0e2d3c4b","object":"chat.completion.chunk","created":1754886400,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":" descends"},"finish_reason":"stop"}]}\n\n'  # noqa: E501
    b"data: [DONE]\n\n"
)
LEGACY = b'data: {"data":"Silent"}\n\ndata: {"data":" snow"}\n\ndata: [DONE]\n\n'  # codegpt.md 5.3


def chat_req(body: dict) -> ir.ChatRequest:
    return codec("openai-chat").parse_request({"model": "codegpt/default", **body})


def user(text: str, **extra: object) -> ir.ChatRequest:
    return chat_req({"messages": [{"role": "user", "content": text}], **extra})


def decode(data: bytes, cuts: list[int], req: ir.ChatRequest | None = None) -> list[ir.StreamEvent]:
    parser, dec, out, last = SSEParser(), CODEC.stream_decoder(req or user("hi")), [], 0
    for c in [*cuts, len(data)]:
        out += [e for sse in parser.feed(data[last:c]) for e in dec.feed(sse)]
        last = c
    return out + [e for sse in parser.flush() for e in dec.feed(sse)] + dec.flush()


def text_of(events: list[ir.StreamEvent]) -> str:
    return "".join(e.value for e in events if isinstance(e, ir.BlockDelta) and e.kind == "text")


# ---- request ----


def test_build_matches_the_notes_example() -> None:
    req = chat_req({"stream": True, "temperature": 0.2, "max_tokens": 50, "stop": ["x"], "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Write a haiku about autumn."},
        {"role": "assistant", "content": "Crimson leaves drifting..."},
        {"role": "user", "content": "Now one about winter."}]})
    call = CODEC.build(req, "default", CTX, ir.Ids(0))
    assert call.url == "https://api.codegpt.co/api/v1/chat/completions"
    assert call.method == "POST" and call.streams
    assert call.headers == {"authorization": f"Bearer {KEY}", "CodeGPT-Org-Id": ORG,
                            "content-type": "application/json", "accept": "text/event-stream"}
    assert orjson.loads(call.body) == {"agentId": AGENT, "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Write a haiku about autumn."},
        {"role": "assistant", "content": "Crimson leaves drifting..."},
        {"role": "user", "content": "Now one about winter."}], "format": "json", "stream": True}


def test_model_is_the_agent_and_default_is_the_configured_one() -> None:
    body = orjson.loads(CODEC.build(user("hi"), "1111-agent", CTX, ir.Ids(0)).body)
    assert body["agentId"] == "1111-agent" and body["stream"] is False and "model" not in body
    assert orjson.loads(CODEC.build(user("hi"), "", CTX, ir.Ids(0)).body)["agentId"] == AGENT
    with pytest.raises(TranslationError) as e:
        CODEC.build(user("hi"), "default", {"api_key": KEY}, ir.Ids(0))
    assert e.value.error.status == 400 and e.value.error.param == "model"


def test_credentials_and_base_url() -> None:
    with pytest.raises(TranslationError) as e:
        CODEC.build(user("hi"), "default", {"agent_id": AGENT}, ir.Ids(0))
    assert e.value.error.status == 401
    call = CODEC.build(user("hi"), "a", {"api_key": KEY, "base_url": "http://127.0.0.1:9/api/v1/"}, ir.Ids(0))
    assert call.url == "http://127.0.0.1:9/api/v1/chat/completions"
    assert "CodeGPT-Org-Id" not in call.headers and call.headers["accept"] == "application/json"
    assert not call.streams


def test_contents_are_flattened_to_strings() -> None:
    req = chat_req({"messages": [
        {"role": "developer", "content": "Rules."},
        {"role": "user", "content": [
            {"type": "text", "text": "Look:"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            {"type": "text", "text": "what is it?"}]}]})
    assert orjson.loads(CODEC.build(req, "a", CTX, ir.Ids(0)).body)["messages"] == [
        {"role": "system", "content": "Rules."},
        {"role": "user", "content": "Look:\n[image omitted]\nwhat is it?"}]


def test_tool_traffic_arrives_as_prompt_text() -> None:
    """native_tools is False: the shell's prompt_tools rewrite is what build() sends."""
    req = chat_req({"tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}], "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]})
    assert CODEC.native_tools is False
    msgs = orjson.loads(CODEC.build(prompt_tools.apply_to_request(req), "a", CTX, ir.Ids(0)).body)["messages"]
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert prompt_tools.TRIGGER in msgs[0]["content"] and '<tool name="get_weather">' in msgs[0]["content"]
    assert msgs[2]["content"].startswith(prompt_tools.TRIGGER) and "sunny" in msgs[3]["content"]


def test_no_text_at_all_is_refused() -> None:
    req = chat_req({"messages": [{"role": "assistant", "content": ""}]})
    with pytest.raises(TranslationError):
        CODEC.build(req, "a", CTX, ir.Ids(0))


# ---- stream ----


@pytest.mark.parametrize("data, text, model", [(VARIANT_1, "Silent snow descends on sleeping pines",
                                                "claude-3.7-sonnet-anthropic"),
                                               (VARIANT_2, "Silent snow descends", "gpt-4o")])
def test_notes_streams_cut_at_every_byte(data: bytes, text: str, model: str) -> None:
    whole = decode(data, [])
    assert whole[0] == ir.MessageStart("chatcmpl-6a1f0e2d3c4b", model)
    assert whole[1] == ir.BlockStart(0, ir.Text("")) and text_of(whole) == text
    usage = whole[-2].usage  # type: ignore[union-attr]
    assert whole[-3:] == [ir.BlockStop(0), ir.MessageDelta("end_turn", usage), ir.MessageStop()]
    assert usage.input > 0 and usage.output > 0  # none sent: estimated (codegpt.md 8.5)
    for cut in range(1, len(data)):
        assert decode(data, [cut]) == whole, f"cut at {cut}"
    for cut in range(1, len(data), 7):
        assert decode(data, [cut, cut + 3]) == whole, f"cuts at {cut}, {cut + 3}"


def test_crlf_framing_and_several_events_per_read() -> None:
    crlf = VARIANT_1.replace(b"\n", b"\r\n")
    assert decode(crlf, []) == decode(VARIANT_1, [])
    for cut in range(1, len(crlf)):
        assert decode(crlf, [cut]) == decode(VARIANT_1, []), f"cut at {cut}"


def test_missing_done_ends_the_answer() -> None:
    """codegpt.md 9: `[DONE]` or the end of the body ends the stream."""
    for data in (VARIANT_1[: -len(b"data: [DONE]\n\n")], VARIANT_2.replace(b'"stop"', b"null")[:-14]):
        events = decode(data, [])
        assert isinstance(events[-1], ir.MessageStop) and events[-2].stop_reason == "end_turn"  # type: ignore


def test_other_shapes_and_noise() -> None:
    assert text_of(decode(LEGACY, [])) == "Silent snow"
    noisy = (b": keep-alive\n\nevent: ping\ndata: {not json\n\ndata: {\"choices\":[]}\n\n"
             b'data: {"choices":[{"index":1,"delta":{"content":"other choice"}}]}\n\n'
             b'data: {"choices":[{"delta":{"contents":[{"type":"image","content":"x"},'
             b'{"type":"text","content":"a"},{"type":"text","content":"b"}]}}]}\n\n'
             b'data: {"choices":[{"delta":{"contents":[],"content":"c"},"finish_reason":"length"}]}\n\n')
    events = decode(noisy, [])
    assert text_of(events) == "abc" and events[-2].stop_reason == "max_tokens"  # type: ignore[union-attr]


def test_upstream_usage_wins_over_the_estimate() -> None:
    data = VARIANT_2.replace(b'"finish_reason":"stop"}]', b'"finish_reason":"stop"}],"usage":'
                             b'{"prompt_tokens":41,"completion_tokens":17,"total_tokens":58}')
    assert decode(data, [])[-2].usage == ir.Usage(41, 17)  # type: ignore[union-attr]


@pytest.mark.parametrize("data, status", [
    (b'data: {"error":"Too Many Requests","message":"You have reached your usage limit"}\n\n', 429),
    (b'data: {"error":{"message":"boom","status":503}}\n\n', 503),
    (VARIANT_2.replace(b'"finish_reason":"stop"', b'"finish_reason":"error"'), 502),
    (b'data: {"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}\n\n'
     b"data: [DONE]\n\n", 502),
    (b"", 502),
    (b"data: {this is not json\n\ndata: <html>garbage</html>\n\n", 502),
])
def test_errors_in_a_200_stream(data: bytes, status: int) -> None:
    for cut in range(0, max(len(data), 1), 5):
        events = decode(data, [cut] if cut else [])
        err = events[-1]
        assert isinstance(err, ir.StreamError) and err.status == status, events
        assert err.type == ("api_error" if status == 502 else "overloaded" if status == 503 else "rate_limit")
        starts = [e.index for e in events if isinstance(e, ir.BlockStart)]
        assert starts == [e.index for e in events if isinstance(e, ir.BlockStop)]


def test_nothing_after_the_end() -> None:
    dec = CODEC.stream_decoder(user("hi"))
    events = [e for sse in SSEParser().feed(VARIANT_2) for e in dec.feed(sse)]
    assert isinstance(events[-1], ir.MessageStop)
    assert dec.flush() == [] and dec.feed(SSEParser().feed(VARIANT_2)[0]) == []


def test_tool_markup_split_anywhere_becomes_a_call() -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    req = user("weather?", tools=tools)
    markup = (f'{prompt_tools.TRIGGER}\n<function_calls>\n<function_call>\n<tool>get_weather</tool>\n'
              '<args_json><![CDATA[{"city":"Paris"}]]></args_json>\n</function_call>\n</function_calls>')
    chunks = [markup[:30], markup[30:75], markup[75:]]
    data = b"".join(b'data: ' + orjson.dumps({"choices": [{"index": 0, "delta": {"contents": [
        {"type": "text", "content": c}]}, "finish_reason": "stop" if i == 2 else None}]}) + b"\n\n"
        for i, c in enumerate(chunks)) + b"data: [DONE]\n\n"
    for cut in range(1, len(data), 3):
        t = prompt_tools.PromptToolStream(req, ir.Ids(0))
        events = [o for e in decode(data, [cut], req) for o in t.feed(e)] + t.flush()
        uses = [e.block for e in events if isinstance(e, ir.BlockStart)]
        assert [(u.name, isinstance(u, ir.ToolUse)) for u in uses] == [("get_weather", True)], cut
        args = [e.value for e in events if isinstance(e, ir.BlockDelta)]
        assert args == ['{"city":"Paris"}']
        assert events[-2].stop_reason == "tool_use"  # type: ignore[union-attr]


# ---- whole answers ----


def test_non_stream_json_answer() -> None:
    body = orjson.dumps({  # codegpt.md 4
        "id": "chatcmpl-6a1f0e2d3c4b", "object": "chat.completion", "created": 1754886400,
        "model": "claude-3.7-sonnet-anthropic",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Silent snow descends..."},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 41, "completion_tokens": 17, "total_tokens": 58}})
    resp = CODEC.parse_response(body)
    assert resp == ir.ChatResponse("chatcmpl-6a1f0e2d3c4b", "claude-3.7-sonnet-anthropic",
                                   (ir.Text("Silent snow descends..."),), "end_turn", usage=ir.Usage(41, 17))


@pytest.mark.parametrize("body", [
    b'"Silent snow descends..."', b"Silent snow descends...",
    b'\r\ndata: {"choices":[{"delta":{"content":"Silent snow descends..."}}]}\r\n\r\n'])
def test_text_format_and_sse_answers(body: bytes) -> None:
    resp = CODEC.parse_response(body)
    assert resp.content == (ir.Text("Silent snow descends..."),) and resp.usage.output > 0


@pytest.mark.parametrize("body, status", [
    (b'{"error":"Internal Server Error","message":"The server had an error (emulated)."}', 500),
    (b'{"error":"Too Many Requests","message":"You have reached your usage limit"}', 429),
    (b'{"error":"Unauthorized"}', 401),
    (b'{"message":"bad agent","statusCode":404}', 404),
    (b'{"error":{"message":"weird"}}', 502),
    (b'{"choices":[{"index":0,"message":{"role":"assistant","content":""}}]}', 502),
    (b'""', 502), (b"[1]", 502),
])
def test_errors_sent_with_200(body: bytes, status: int) -> None:
    with pytest.raises(TranslationError) as e:
        CODEC.parse_response(body)
    assert e.value.error.status == status and e.value.error.message.startswith("CodeGPT")


# ---- errors ----


def test_parse_error_shapes() -> None:
    e = CODEC.parse_error(401, {}, b'{"error":"Unauthorized","message":"Invalid API key"}')
    assert (e.kind, e.status, e.message) == ("authentication", 401, "CodeGPT: Invalid API key")
    e = CODEC.parse_error(429, {"retry-after": "7"},
                          b'{"error":"Too Many Requests","message":"You have reached your usage limit"}')
    assert (e.kind, e.status, e.retry_after) == ("rate_limit", 429, "7") and "usage limit" in e.message
    e = CODEC.parse_error(404, {}, b'{"error":{"message":"Agent not found"}}')
    assert (e.kind, e.message) == ("not_found", "CodeGPT: Agent not found")
    assert CODEC.parse_error(502, {}, b"Bad gateway\n").message == "CodeGPT: Bad gateway"
    assert CODEC.parse_error(503, {}, b"").message == "CodeGPT: HTTP 503"
    assert CODEC.parse_error(400, {}, b'"messages must be a non-empty array"').kind == "invalid_request"


# ---- agents ----


def test_agent_listing() -> None:
    call = CODEC.agents_call(CTX)
    assert (call.method, call.url, call.body) == ("GET", "https://api.codegpt.co/api/v1/agent", b"")
    assert call.headers["authorization"] == f"Bearer {KEY}" and call.headers["CodeGPT-Org-Id"] == ORG
    body = orjson.dumps([{"id": AGENT, "name": "Code Helper", "prompt": "You are a helpful assistant.",
                          "model": "claude-3.7-sonnet-anthropic", "agent_documents": [], "pincode": None,
                          "is_public": False, "agent_type": "qa"}, {"name": "no id"}])
    assert CODEC.parse_agents(body) == [AGENT]
    assert CODEC.parse_agents(b'{"data":[{"id":"x"}]}') == ["x"]
    with pytest.raises(TranslationError):
        CODEC.parse_agents(b"<html>")
    assert CODEC.models({"agent_id": AGENT}) == ["default", AGENT] and CODEC.models({}) == []

"""Chat Completions requests: every captured Chat request parses, and renders back without loss."""

from __future__ import annotations

from typing import Any

import pytest

from tests.captures import requests_for
from translators import ir
from translators.dialects.openai_chat import CODEC
from translators.errors import TranslationError

CHAT_CAPTURES = requests_for("/chat/completions")


def test_captures_present() -> None:
    assert len(CHAT_CAPTURES) >= 20


def _normalise_message(m: dict[str, Any]) -> dict[str, Any]:
    """Text-only part lists and strings are the same content on the wire."""
    m = {k: v for k, v in m.items() if v is not None}
    c = m.get("content")
    if isinstance(c, list) and all(p.get("type") == "text" and set(p) == {"type", "text"} for p in c):
        m["content"] = "".join(p["text"] for p in c) if m["role"] != "user" or len(c) == 1 else c
    if c == "" and m.get("tool_calls"):
        m.pop("content")
    return m


@pytest.mark.parametrize("name,body", CHAT_CAPTURES, ids=[n for n, _ in CHAT_CAPTURES])
def test_capture_round_trip_is_lossless(name: str, body: dict[str, Any]) -> None:
    req = CODEC.parse_request(body)
    out = CODEC.render_request(req, body["model"])
    for key, value in body.items():
        if key in ("messages", "stream_options") or (key == "stream" and value is False):
            continue
        assert out.get(key) == value, f"{key} changed: {value!r} -> {out.get(key)!r}"
    assert [_normalise_message(m) for m in out["messages"]] == [_normalise_message(m) for m in body["messages"]]
    if body.get("stream"):
        assert out["stream_options"]["include_usage"] is True


def test_legacy_functions_become_tools() -> None:
    req = CODEC.parse_request({
        "model": "m", "functions": [{"name": "f", "parameters": {"type": "object"}}], "function_call": {"name": "f"},
        "messages": [{"role": "user", "content": "x"},
                     {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}},
                     {"role": "function", "name": "f", "content": "result"}]})
    assert req.tools[0].name == "f" and req.tool_choice == ir.ToolChoice("tool", "f")
    call = req.messages[1].content[0]
    result = req.messages[2].content[0]
    assert isinstance(call, ir.ToolUse) and isinstance(result, ir.ToolResult)
    assert result.tool_use_id == call.id
    out = CODEC.render_request(req, "m")
    assert out["tools"][0]["function"]["name"] == "f"
    assert out["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    assert out["messages"][2] == {"role": "tool", "tool_call_id": call.id, "content": "result"}


def test_fields_carried() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "high"}}]}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {"type": "object"},
                                                                    "strict": True}},
        "n": 2, "stop": ["x", "y"], "max_completion_tokens": 50, "reasoning_effort": "high", "seed": 3,
        "logit_bias": {"1": 2}, "stream": True, "stream_options": {"include_usage": True},
        "tool_choice": "required", "parallel_tool_calls": False,
        "tools": [{"type": "function", "function": {"name": "t"}}]}
    req = CODEC.parse_request(body)
    img = req.messages[0].content[1]
    assert isinstance(img, ir.Image) and img.media_type == "image/png" and img.data == "AAAA"
    assert req.want_usage and req.max_output_tokens == 50 and req.reasoning == ir.Reasoning(effort="high")
    out = CODEC.render_request(req, "up")
    for key in ("response_format", "n", "stop", "max_completion_tokens", "reasoning_effort", "seed", "logit_bias",
                "tool_choice", "parallel_tool_calls"):
        assert out[key] == body[key], key
    assert out["messages"] == body["messages"] and out["model"] == "up"


def test_reasoning_content_in_history_is_thinking() -> None:
    req = CODEC.parse_request({"model": "m", "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a", "reasoning_content": "because"}]})
    assert req.messages[1].content == (ir.Thinking("because"), ir.Text("a"))


@pytest.mark.parametrize("body,param", [
    ({"messages": []}, "model"),
    ({"model": "m"}, "messages"),
    ({"model": 3, "messages": [{"role": "user", "content": "x"}]}, "model"),
    ({"model": "m", "messages": "hi"}, "messages"),
    ({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
    ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
    ({"model": "m", "messages": [{"role": "user", "content": [{"type": "bogus"}]}]}, "messages[0].content[0].type"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": "10"}, "max_tokens"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "stream"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": "sometimes"}, "tool_choice"),
])
def test_bad_input_names_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(TranslationError) as e:
        CODEC.parse_request(body)
    assert e.value.error.param == param and e.value.error.status == 400

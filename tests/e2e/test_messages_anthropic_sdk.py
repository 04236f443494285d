"""Issue acceptance: the official anthropic SDK through the bridge, against every upstream."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from tests.harness import CLIENT_KEY

WEATHER = {"name": "get_weather", "description": "Weather for a city.",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
MODELS = ["anthropic/claude-sonnet-4-5", "chat/gpt-4.1", "responses/gpt-5-codex"]


@pytest.mark.parametrize("model", MODELS)
def test_non_stream(anthropic_client: Any, model: str) -> None:
    m = anthropic_client.messages.create(model=model, max_tokens=256, system="Be brief.",
                                         messages=[{"role": "user", "content": "Reply with ACC-MSG01."}])
    assert m.content[0].text == "ACK ACC-MSG01" and m.stop_reason == "end_turn"
    assert m.usage.input_tokens > 0 and m.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_stream_helper_completes(anthropic_client: Any, model: str) -> None:
    with anthropic_client.messages.stream(model=model, max_tokens=256,
                                          messages=[{"role": "user", "content": "Say ACC-MSG02 ACC-MSG03"}]) as s:
        texts = list(s.text_stream)
        final = s.get_final_message()
    assert len(texts) >= 2 and "".join(texts) == "ACK ACC-MSG02 ACC-MSG03"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True])
def test_tool_use_round_trip(anthropic_client: Any, model: str, stream: bool) -> None:
    def ask(messages: list[Any]) -> Any:
        kw = {"model": model, "max_tokens": 512, "tools": [WEATHER], "messages": messages}
        if not stream:
            return anthropic_client.messages.create(**kw)
        with anthropic_client.messages.stream(**kw) as s:
            partial = [e for e in s if e.type == "content_block_delta" and e.delta.type == "input_json_delta"]
            final = s.get_final_message()
        assert final.stop_reason != "tool_use" or len(partial) >= 2
        return final

    messages: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
    m = ask(messages)
    assert m.stop_reason == "tool_use"
    tool = next(b for b in m.content if b.type == "tool_use")
    assert tool.name == "get_weather" and tool.input == {"city": "Paris"}
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in m.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id,
                                               "content": [{"type": "text", "text": "ACC-HOT30 hot"}]}]}]
    final = ask(messages)
    assert final.content[0].text == "Tool result: ACC-HOT30 hot" and final.stop_reason == "end_turn"


@pytest.mark.parametrize("model", MODELS)
def test_count_tokens(anthropic_client: Any, model: str) -> None:
    r = anthropic_client.messages.count_tokens(model=model, messages=[{"role": "user", "content": "hello " * 50}],
                                               tools=[WEATHER])
    assert r.input_tokens > 0


def test_models_list(anthropic_client: Any) -> None:
    ids = [m.id for m in anthropic_client.models.list()]
    assert "anthropic/claude-sonnet-4-5" in ids and "chat/gpt-4.1" in ids


def test_claude_code_shape(bridge: Any) -> None:
    """System messages inside `messages`, beta headers, unknown fields: all tolerated."""
    r = httpx.post(bridge.url + "/v1/messages?beta=true", headers={
        "x-api-key": CLIENT_KEY, "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14"}, json={
        "model": "chat/gpt-4.1", "max_tokens": 100, "metadata": {"user_id": "u"}, "context_management": {"x": 1},
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "system", "content": "extra system"},
                     {"role": "user", "content": [{"type": "text", "text": "Reply ACC-CCODE1"}]}]}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["content"][0]["text"] == "ACK ACC-CCODE1"


def test_bearer_auth_and_any_version(bridge: Any) -> None:
    r = httpx.post(bridge.url + "/v1/messages", headers={"authorization": f"Bearer {CLIENT_KEY}",
                                                          "anthropic-version": "2099-01-01"},
                   json={"model": "anthropic/claude-sonnet-4-5", "max_tokens": 50,
                         "messages": [{"role": "user", "content": "hi"}]}, timeout=30)
    assert r.status_code == 200


def test_wrong_key_is_anthropic_error(bridge: Any) -> None:
    client = anthropic.Anthropic(base_url=bridge.url, api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as e:
        client.messages.create(model="chat/gpt-4.1", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert e.value.body["type"] == "error" and e.value.body["error"]["type"] == "authentication_error"


def test_upstream_unreachable_is_anthropic_error(anthropic_client: Any) -> None:
    with pytest.raises(anthropic.APIStatusError) as e:
        anthropic_client.messages.create(model="dead/x", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 502 and e.value.body["type"] == "error"


def test_missing_max_tokens_is_invalid_request(anthropic_client: Any) -> None:
    r = httpx.post(str(anthropic_client.base_url).rstrip("/") + "/v1/messages",
                   headers={"x-api-key": CLIENT_KEY},
                   json={"model": "chat/gpt-4.1", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_upstream_error_mid_stream_is_error_event(bridge: Any) -> None:
    with httpx.stream("POST", bridge.url + "/v1/messages", timeout=30, headers={
            "x-api-key": CLIENT_KEY, "x-emulator-fault": "garbage"}, json={
            "model": "chat/gpt-4.1", "max_tokens": 50, "stream": True,
            "messages": [{"role": "user", "content": "x"}]}) as r:
        body = r.read().decode()
    assert "event: error" in body and body.rstrip().endswith("}")


def test_foreign_thinking_is_not_replayed_to_anthropic(anthropic_client: Any, upstreams: Any) -> None:
    """Thinking relayed from another provider (its signature marked by the bridge) must not reach
    Anthropic, which would reject the signature, when the client switches to an Anthropic model."""
    messages: list[Any] = [{"role": "user", "content": "Think, then say ACC-SWITCH1"}]
    first = anthropic_client.messages.create(model="chat/gpt-4.1", max_tokens=4096, messages=messages,
                                             thinking={"type": "enabled", "budget_tokens": 2048})
    assert any(b.type == "thinking" for b in first.content)
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                 {"role": "user", "content": "Now say ACC-SWITCH2"}]
    second = anthropic_client.messages.create(model="anthropic/claude-sonnet-4-5", max_tokens=4096,
                                              messages=messages, thinking={"type": "enabled", "budget_tokens": 2048})
    assert second.content[-1].text == "ACK ACC-SWITCH2"
    sent = [r.body for r in upstreams.emulators["anthropic"].requests if b"ACC-SWITCH2" in r.body][-1]
    assert b"~bridge:" not in sent and b'"signature":""' not in sent.replace(b" ", b"")

"""CodeGeeX requests (codegeex.md 2, 3, 8, 9): prompt + paired history, system text, identity fields."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from translators import ir
from translators.errors import TranslationError
from translators.providers.codegeex import CODEC
from translators.transforms import prompt_tools

CTX = {"api_key": "0b8f5a9e-6c1d-4d2e-9f7a-2b3c4d5e6f70"}
UUID = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
PY = "```python\ndef reverse(s: str) -> str:\n    return s[::-1]\n```"


def msg(role: str, *blocks: Any) -> ir.Message:
    content = tuple(ir.Text(b) if isinstance(b, str) else b for b in blocks)
    return ir.Message(role, content)  # type: ignore[arg-type]


def build(*messages: ir.Message, ctx: dict[str, Any] | None = None, **kw: Any) -> tuple[Any, dict[str, Any]]:
    req = ir.ChatRequest(model="codegeex/codegeex-4", messages=messages, **kw)
    call = CODEC.build(req, "codegeex-4", ctx or CTX, ir.Ids(1700000000, "t"))
    return call, json.loads(call.body)


def test_note_request() -> None:
    """Section 3's full realistic request, from the conversation it describes."""
    call, body = build(msg("user", "Write a Python function that reverses a string."), msg("assistant", PY),
                       msg("user", "Now write the same function in Go."))
    assert call.method == "POST" and call.url == "https://codegeex.cn/prod/code/chatCodeSseV3/chat"
    assert call.headers["code-token"] == CTX["api_key"] and "authorization" not in call.headers
    assert call.headers["accept"] == "text/event-stream"
    assert call.headers["content-type"] == "application/json"
    assert "Electron" in call.headers["user-agent"]
    talk, hist_id = body.pop("talkId"), body["history"][0].pop("id")
    assert UUID.match(talk) and UUID.match(hist_id) and talk != hist_id
    assert body == {
        "user_id": "", "user_role": 0, "ide": "VSCode", "ide_version": "", "plugin_version": "",
        "prompt": "Now write the same function in Go.", "machineId": "", "locale": "en",
        "model": "codegeex-4",
        "agent": None, "candidates": {"candidate_msg_id": "", "candidate_type": "", "selected_candidate": ""},
        "history": [{"query": "Write a Python function that reverses a string.", "answer": PY}]}
    assert list(json.loads(call.body)) == [
        "user_id", "user_role", "ide", "ide_version", "plugin_version", "prompt", "machineId", "talkId",
        "locale", "model", "agent", "candidates", "history"]


def test_identity_fields_from_the_account() -> None:
    ctx = {"code_token": "tok", "user_id": "u-1", "user_role": "2", "ide": "JetBrains",
           "ide_version": "2024.3",
           "plugin_version": "2.26.0", "machine_id": "abc123", "locale": "zh-CN", "talk_id": "talk-fixed",
           "user_agent": "MyIDE/1", "base_url": "http://127.0.0.1:9999/"}
    call, body = build(msg("user", "hi"), ctx=ctx)
    assert call.url == "http://127.0.0.1:9999/prod/code/chatCodeSseV3/chat"
    assert call.headers["code-token"] == "tok" and call.headers["user-agent"] == "MyIDE/1"
    assert (body["user_id"], body["user_role"], body["ide"], body["ide_version"], body["plugin_version"],
            body["machineId"], body["locale"], body["talkId"]) == (
        "u-1", 2, "JetBrains", "2024.3", "2.26.0", "abc123", "zh-CN", "talk-fixed")


def test_fresh_talk_per_request() -> None:
    ids = ir.Ids(0, "s")
    req = ir.ChatRequest(model="m", messages=(msg("user", "hi"),))
    talks = {json.loads(CODEC.build(req, "codegeex-4", CTX, ids).body)["talkId"] for _ in range(3)}
    assert len(talks) == 3


def test_missing_token_and_bad_user_role() -> None:
    with pytest.raises(TranslationError, match="code-token"):
        build(msg("user", "hi"), ctx={"ide": "VSCode"})
    with pytest.raises(TranslationError, match="user_role"):
        build(msg("user", "hi"), ctx={**CTX, "user_role": "admin"})


def test_system_and_developer_text_head_the_prompt() -> None:
    _, body = build(msg("developer", "Use Go."), msg("user", "q1"), msg("assistant", "a1"),
                    msg("system", "Be brief."), msg("user", "q2"), system=(ir.Text("You are a coder."),))
    assert body["prompt"] == "[System]\nYou are a coder.\n\nUse Go.\n\nBe brief.\n\n[User]\nq2"
    assert [(h["query"], h["answer"]) for h in body["history"]] == [("q1", "a1")]


def test_consecutive_turns_merge_and_odd_shapes_pair() -> None:
    _, body = build(msg("assistant", "Welcome!"), msg("user", "a"), msg("user", "b"), msg("assistant", "c"),
                    msg("assistant", "d"), msg("user", "e"))
    assert [(h["query"], h["answer"]) for h in body["history"]] == [("", "Welcome!"), ("a\n\nb", "c\n\nd")]
    assert body["prompt"] == "e"


def test_conversation_ending_with_assistant_asks_to_continue() -> None:
    _, body = build(msg("user", "Write a haiku"), msg("assistant", "Autumn moon"))
    assert body["history"][0]["answer"] == "Autumn moon" and body["prompt"] == "Continue."


def test_only_text_travels() -> None:
    image = ir.Image(media_type="image/png", data="iVBORw0KGgo=")
    doc = ir.Document(text="x = 1", filename="a.py")
    _, body = build(msg("user", "Describe", image, doc),
                    msg("assistant", ir.Thinking("hmm", "sig"), "A picture."), msg("user", "Thanks"))
    pair = body["history"][0]
    assert (pair["query"], pair["answer"]) == ("Describe\n[a.py]\nx = 1", "A picture.")


def test_tool_traffic_arrives_as_prompt_tools_text() -> None:
    """The shell rewrites tools for this provider (native_tools is False); the codec carries the text."""
    assert CODEC.native_tools is False
    weather = ir.Tool("get_weather", "Weather for a city.", {"type": "object", "properties": {"city": {}}})
    req = ir.ChatRequest(model="m", tools=(weather,), messages=(
        msg("user", "Weather in Paris?"),
        msg("assistant", ir.ToolUse("call_1", "get_weather", '{"city":"Paris"}')),
        msg("user", ir.ToolResult("call_1", (ir.Text("Sunny"),)))))
    body = json.loads(CODEC.build(prompt_tools.apply_to_request(req), "codegeex-4", CTX, ir.Ids(0)).body)
    (pair,) = body["history"]
    assert pair["query"] == "Weather in Paris?"
    assert pair["answer"].startswith(prompt_tools.TRIGGER) and '{"city":"Paris"}' in pair["answer"]
    system, _, user = body["prompt"].partition("\n\n[User]\n")
    assert system.startswith("[System]\n# Tools") and '<tool name="get_weather">' in system
    assert user == '<tool_result id="call_1" name="get_weather">\nSunny\n</tool_result>'


def test_models_built_in() -> None:
    assert CODEC.models({})[:2] == ["codegeex-4", "codegeex-chat-pro"]

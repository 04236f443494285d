"""Anthropic Messages requests: every captured Messages request parses and renders back without loss,
renders to the other dialects, and each wire feature maps to the IR and back."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from tests.captures import requests_for
from translators import ir
from translators.dialects.anthropic_messages import CODEC
from translators.dialects.anthropic_messages import estimate_tokens
from translators.dialects.anthropic_messages import parse_count_tokens
from translators.dialects.anthropic_messages import render_count_tokens
from translators.errors import TranslationError

MESSAGES = requests_for("/v1/messages")
COUNT = requests_for("/v1/messages/count_tokens")
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def _content(c: Any) -> list[dict[str, Any]]:
    return [{"type": "text", "text": c}] if isinstance(c, str) else c


def normalise(body: dict[str, Any]) -> dict[str, Any]:
    """What is the same on the wire: string content == one text block; stream false == absent."""
    out = {k: v for k, v in body.items() if v is not None and not (k == "stream" and v is False)}
    if "system" in out:
        out["system"] = _content(out["system"])
    out["messages"] = [{**m, "content": _content(m["content"])} for m in out["messages"]]
    return out


def body(**kw: Any) -> dict[str, Any]:
    return {"model": "claude-x", "max_tokens": 1000, "messages": [{"role": "user", "content": "hi"}], **kw}


def test_captures_present() -> None:
    assert len(MESSAGES) >= 19 and len(COUNT) == 1
    assert any("claude.default_model" in n for n, _ in MESSAGES)  # has mid-conversation system turns


@pytest.mark.parametrize("name,raw", MESSAGES, ids=[n for n, _ in MESSAGES])
def test_capture_round_trip_is_lossless(name: str, raw: dict[str, Any]) -> None:
    req = CODEC.parse_request(raw)
    assert req.extra_from == "anthropic-messages" and req.model == raw["model"]
    assert normalise(CODEC.render_request(req, raw["model"])) == normalise(raw)


@pytest.mark.parametrize("name,raw", COUNT, ids=[n for n, _ in COUNT])
def test_count_tokens_capture(name: str, raw: dict[str, Any]) -> None:
    req = parse_count_tokens(raw)
    assert req.max_output_tokens is None and req.system == (ir.Text("You are a terse assistant."),)
    out = CODEC.render_request(req, raw["model"])
    out.pop("max_tokens")
    assert normalise(out) == normalise(raw)
    n = estimate_tokens(req)
    assert 346 < n < 1000  # the tool prompt overhead plus a short schema and question
    assert render_count_tokens(n) == {"input_tokens": n}


def test_claude_code_capture_in_ir() -> None:
    raw = dict(next(b for n, b in MESSAGES if n.startswith("claude.default_model.read_tool#1")))
    req = CODEC.parse_request(raw)
    assert [m.role for m in req.messages] == ["user", "system", "assistant", "user"]
    effort = raw["output_config"]["effort"]
    assert req.reasoning == ir.Reasoning(effort=effort, mode="adaptive", extra={"display": "omitted"})
    assert req.user == raw["metadata"]["user_id"] and req.stream and req.want_usage
    assert set(req.extra) == {"context_management"}
    result = req.messages[3].content[0]
    assert isinstance(result, ir.ToolResult) and result.name == "Read" and result.extra["cache_control"]
    wire_only = [{k: v for k, v in t.items() if k not in ("name", "description", "input_schema")}
                 for t in raw["tools"]]
    assert [dict(t.extra) for t in req.tools] == wire_only and any(wire_only)
    assert estimate_tokens(req) > 10000


# ---- parsing: each wire feature ----


def test_system_string_and_blocks() -> None:
    assert CODEC.parse_request(body(system="be brief")).system == (ir.Text("be brief"),)
    cache = {"type": "ephemeral"}
    blocks = [{"type": "text", "text": "a"}, {"type": "text", "text": "b", "cache_control": cache}]
    req = CODEC.parse_request(body(system=blocks))
    assert req.system == (ir.Text("a"), ir.Text("b", extra={"cache_control": cache}))
    assert CODEC.render_request(req, "up")["system"] == blocks


def test_user_blocks() -> None:
    content = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://x/cat.jpg"}},
        {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
         "title": "spec.pdf", "citations": {"enabled": True}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain"}},
        {"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}},
        {"type": "search_result", "source": "https://s", "title": "t",
         "content": [{"type": "text", "text": "r"}]},
        {"type": "text", "text": "what?"},
    ]
    req = CODEC.parse_request(body(messages=[{"role": "user", "content": content}]))
    blocks = req.messages[0].content
    assert blocks[0] == ir.Image(media_type="image/png", data=PNG)
    assert blocks[1] == ir.Image(url="https://x/cat.jpg")
    assert blocks[3] == ir.Document(media_type="application/pdf", data="JVBE", filename="spec.pdf",
                                    extra={"citations": {"enabled": True}})
    assert blocks[4] == ir.Document(media_type="text/plain", text="plain")
    # opaque: whole for Anthropic, its text for others
    assert isinstance(blocks[6], ir.Text) and blocks[6].text == "r"
    assert CODEC.render_request(req, "up")["messages"][0]["content"] == content


def test_tool_use_and_results() -> None:
    msgs = [
        {"role": "user", "content": "run"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "hmm", "signature": "EqSig=="},
            {"type": "redacted_thinking", "data": "EmRed"},
            {"type": "text", "text": "Running."},
            {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
            {"type": "tool_use", "id": "toolu_2", "name": "Noop", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a\nb"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": True,
             "content": [{"type": "text", "text": "boom"},
                         {"type": "image",
                          "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]},
            {"type": "text", "text": "go on"}]},
    ]
    req = CODEC.parse_request(body(messages=msgs))
    a = req.messages[1].content
    assert a[0] == ir.Thinking("hmm", signature="EqSig==", origin="anthropic")
    assert a[1] == ir.RedactedThinking("EmRed", origin="anthropic")
    assert a[3] == ir.ToolUse("toolu_1", "Bash", '{"command":"ls"}') and a[4].arguments == "{}"  # type: ignore
    r = req.messages[2].content
    assert r[0] == ir.ToolResult("toolu_1", (ir.Text("a\nb"),), name="Bash")
    assert isinstance(r[1], ir.ToolResult) and r[1].is_error and isinstance(r[1].content[1], ir.Image)
    out = CODEC.render_request(req, "up")
    assert normalise(out)["messages"] == normalise(body(messages=msgs))["messages"]


def test_tools_and_tool_choice() -> None:
    tools = [{"name": "Bash", "description": "run", "input_schema": {"type": "object"}, "strict": True,
              "cache_control": {"type": "ephemeral"}, "defer_loading": True},
             {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
             {"type": "custom", "name": "c", "input_schema": {"type": "object"}}]
    req = CODEC.parse_request(body(tools=tools, tool_choice={"type": "tool", "name": "Bash",
                                                             "disable_parallel_tool_use": True}))
    assert req.tools[0] == ir.Tool("Bash", "run", {"type": "object"}, strict=True,
                                   extra={"cache_control": {"type": "ephemeral"}, "defer_loading": True})
    assert req.tools[1] == ir.Tool("web_search", extra={"type": "web_search_20250305", "max_uses": 3})
    assert req.tools[2] == ir.Tool("c", parameters={"type": "object"})  # "custom" is the default type
    assert req.tool_choice == ir.ToolChoice("tool", "Bash") and req.parallel_tool_calls is False
    out = CODEC.render_request(req, "up")
    assert out["tools"][:2] == tools[:2] and out["tool_choice"] == {"type": "tool", "name": "Bash",
                                                                    "disable_parallel_tool_use": True}
    for wire, mode in (("auto", "auto"), ("any", "required"), ("none", "none")):
        r = CODEC.parse_request(body(tools=tools[:1], tool_choice={"type": wire}))
        assert r.tool_choice == ir.ToolChoice(mode) and r.parallel_tool_calls is None
        assert CODEC.render_request(r, "up")["tool_choice"] == {"type": wire}


@pytest.mark.parametrize("thinking,output_config,expected", [
    ({"type": "enabled", "budget_tokens": 2048}, None, ir.Reasoning(budget=2048, mode="enabled")),
    ({"type": "adaptive"}, {"effort": "high"}, ir.Reasoning(effort="high", mode="adaptive")),
    ({"type": "disabled"}, None, ir.Reasoning(mode="disabled")),
    ({"type": "enabled", "budget_tokens": 5000, "display": "summarized"}, None,
     ir.Reasoning(budget=5000, mode="enabled", summary="auto", extra={"display": "summarized"})),
    ({"type": "between_tools"}, None, ir.Reasoning(extra={"type": "between_tools"})),
    (None, {"effort": "low"}, ir.Reasoning(effort="low")),
])
def test_thinking(thinking: Any, output_config: Any, expected: ir.Reasoning) -> None:
    raw = body(thinking=thinking, output_config=output_config)
    req = CODEC.parse_request(raw)
    assert req.reasoning == expected
    assert normalise(CODEC.render_request(req, "claude-x")) == normalise(raw)


def test_output_format_sampling_metadata_and_unknown_fields() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    raw = body(output_config={"effort": "max", "format": {"type": "json_schema", "schema": schema}, "new": 1},
               stop_sequences=["END"], temperature=0.5, top_p=0.9, top_k=40, metadata={"user_id": "u1"},
               stream=True, service_tier="auto", context_management={"edits": []}, container="c1")
    req = CODEC.parse_request(raw)
    assert req.response_format == ir.ResponseFormat("json_schema", schema=schema)
    assert req.sampling == ir.Sampling(temperature=0.5, top_p=0.9, top_k=40) and req.stop == ("END",)
    assert req.user == "u1" and req.metadata == {"user_id": "u1"} and req.stream
    assert req.extra == {"service_tier": "auto", "context_management": {"edits": []}, "container": "c1",
                         "output_config": {"new": 1}}
    assert normalise(CODEC.render_request(req, "claude-x")) == normalise(raw)


@pytest.mark.parametrize("raw,param", [
    ({"model": "m", "messages": []}, "max_tokens"),
    ({"model": "m", "max_tokens": "9", "messages": []}, "max_tokens"),
    ({"model": "m", "max_tokens": 0, "messages": []}, "max_tokens"),
    ({"max_tokens": 9, "messages": []}, "model"),
    (body(messages="hi"), "messages"),
    (body(messages=[{"role": "tool", "content": "x"}]), "messages.0.role"),
    (body(messages=[{"role": "user", "content": [{"type": "text"}]}]), "messages.0.content.0.text"),
    (body(messages=[{"role": "user", "content": [{"type": "image", "source": {"type": "base64"}}]}]),
     "messages.0.content.0.source.data"),
    (body(messages=[{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "n",
                                                        "input": "x"}]}]), "messages.0.content.0.input"),
    (body(messages=[{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "n",
                                                        "input": {"big": 2 ** 70}}]}]),
     "messages.0.content.0.input"),
    (body(tools=[{"description": "no name"}]), "tools.0.name"),
    (body(tool_choice={"type": "tool"}), "tool_choice.name"),
    (body(tool_choice={"type": "sometimes"}), "tool_choice.type"),
    (body(thinking={"type": "enabled"}), "thinking.budget_tokens"),
    (body(stop_sequences=[1]), "stop_sequences"),
    (body(temperature="hot"), "temperature"),
    (body(stream="yes"), "stream"),
    (body(system=5), "system"),
])
def test_bad_input_names_the_field(raw: dict[str, Any], param: str) -> None:
    with pytest.raises(TranslationError) as e:
        CODEC.parse_request(raw)
    assert e.value.error.param == param and e.value.error.kind == "invalid_request"


def test_null_is_absent_and_input_not_mutated() -> None:
    raw = body(system=None, tools=None, temperature=None, thinking=None, metadata=None)
    snapshot = repr(raw)
    req = CODEC.parse_request(raw)
    assert req.system == () and req.tools == () and req.reasoning is None and not req.extra
    CODEC.render_request(req, "x")
    assert repr(raw) == snapshot
    count = parse_count_tokens({"model": "m", "messages": [{"role": "user", "content": "x"}]})
    assert count.max_output_tokens is None


# ---- rendering an IR from another dialect ----

FOREIGN = ir.ChatRequest(
    model="gpt-x",
    system=(ir.Text("Be brief."),),
    messages=(
        ir.Message("system", (ir.Text("More rules."),)),
        ir.Message("user", (ir.Text("look"), ir.Image(url=f"data:image/jpeg;base64,{PNG}", detail="high"),
                            ir.Image(url="https://x/y.png"))),
        ir.Message("assistant", (ir.Thinking("private", signature="gAAAA", origin="openai"),
                                 ir.Thinking("unsigned"), ir.Text("ok"),
                                 ir.ToolUse("call:1/x", "f", '{"a":1}'), ir.ToolUse("call_2", "g", ""),
                                 ir.ToolUse("call_3", "apply_patch", "*** Begin Patch", kind="custom"))),
        ir.Message("user", (ir.ToolResult("call:1/x", (ir.Text("r1"),)),)),
        ir.Message("user", (ir.ToolResult("call_2", (ir.Text("r2"),), is_error=True),)),
        ir.Message("developer", (ir.Text("Mid rule."),)),
        ir.Message("user", (ir.ToolResult("call_3", (ir.Text("done"),), kind="custom"),
                            ir.Text("next", extra={"annotations": []}))),
    ),
    tools=(ir.Tool("f", "F", {"type": "object", "properties": {"a": {"type": "integer"}}}, strict=True),
           ir.Tool("g"), ir.Tool("apply_patch", "patch", kind="custom", format={"type": "grammar"}),
           ir.Tool("web_search", extra={"type": "web_search"})),
    tool_choice=ir.ToolChoice("required"),
    parallel_tool_calls=False,
    sampling=ir.Sampling(temperature=1.6, top_p=0.5, presence_penalty=0.3, frequency_penalty=0.1, seed=7),
    stop=("STOP",), reasoning=ir.Reasoning(effort="high"), stream=True, user="u-42",
    metadata={"purpose": "x"}, response_format=ir.ResponseFormat("json_schema", "n", {"type": "object"}),
    extra={"logit_bias": {"1": 2}}, extra_from="openai-chat",
)


def test_foreign_request_render() -> None:
    out = CODEC.render_request(FOREIGN, "claude-up")
    assert out["model"] == "claude-up" and out["stream"] is True and "logit_bias" not in out
    assert out["system"] == [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "More rules."}]
    msgs = out["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "user"]  # same-role turns merged
    img, url = msgs[0]["content"][1:]
    assert img["source"] == {"type": "base64", "media_type": "image/png", "data": PNG}  # sniffed, not trusted
    assert url["source"] == {"type": "url", "url": "https://x/y.png"}
    assert msgs[1]["content"] == [  # foreign and unsigned thinking dropped
        {"type": "text", "text": "ok"},
        {"type": "tool_use", "id": "call_1_x", "name": "f", "input": {"a": 1}},
        {"type": "tool_use", "id": "call_2", "name": "g", "input": {}},
        {"type": "tool_use", "id": "call_3", "name": "apply_patch", "input": {"input": "*** Begin Patch"}}]
    assert msgs[2]["content"] == [  # tool results first, then the converted system turn, then text
        {"type": "tool_result", "tool_use_id": "call_1_x", "content": "r1"},
        {"type": "tool_result", "tool_use_id": "call_2", "content": "r2", "is_error": True},
        {"type": "tool_result", "tool_use_id": "call_3", "content": "done"},
        {"type": "text", "text": "<system-reminder>\nMid rule.\n</system-reminder>"},
        {"type": "text", "text": "next"}]
    assert [t["name"] for t in out["tools"]] == ["f", "g", "apply_patch"]  # the OpenAI built-in is dropped
    assert out["tools"][0] == {"name": "f", "description": "F",
                               "input_schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}
    assert out["tools"][1]["input_schema"] == {"type": "object", "properties": {}}
    assert out["tools"][2]["input_schema"]["properties"] == {"input": {"type": "string"}}
    # thinking on: forced choice downgraded, sampling constrained, budget below max_tokens
    assert out["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 24576}
    assert out["max_tokens"] > 24576
    assert "temperature" not in out and "top_p" not in out and "top_k" not in out
    assert "seed" not in out and "presence_penalty" not in out
    assert out["stop_sequences"] == ["STOP"] and out["metadata"] == {"user_id": "u-42"}
    assert out["output_config"] == {"format": {"type": "json_schema", "schema": {"type": "object"}}}


@pytest.mark.parametrize("reasoning,max_tokens,thinking,expected_max", [
    (None, None, None, 4096),
    (ir.Reasoning(effort="low"), 32000, {"type": "enabled", "budget_tokens": 2048}, 32000),
    (ir.Reasoning(effort="high"), 10000, {"type": "enabled", "budget_tokens": 9999}, 10000),
    (ir.Reasoning(effort="medium"), 1000, None, 1000),  # no room for the minimum budget
    (ir.Reasoning(effort="none", mode="disabled"), 500, None, 500),
    (ir.Reasoning(budget=3000), None, {"type": "enabled", "budget_tokens": 3000}, 7096),
])
def test_thinking_budget_stays_below_max_tokens(reasoning: Any, max_tokens: Any, thinking: Any,
                                                 expected_max: int) -> None:
    req = ir.ChatRequest("m", (ir.Message("user", (ir.Text("q"),)),), reasoning=reasoning,
                         max_output_tokens=max_tokens, sampling=ir.Sampling(temperature=0.3),
                         extra_from="openai-responses")
    out = CODEC.render_request(req, "m")
    assert out.get("thinking") == thinking and out["max_tokens"] == expected_max
    assert ("temperature" in out) == (thinking is None)


def test_foreign_edge_cases() -> None:
    def render(**kw: Any) -> dict[str, Any]:
        base: dict[str, Any] = {"model": "m", "messages": (ir.Message("user", (ir.Text("q"),)),)}
        return CODEC.render_request(ir.ChatRequest(**{**base, **kw}), "m")

    assert render(parallel_tool_calls=False, tools=(ir.Tool("t"),))["tool_choice"] == {
        "type": "auto", "disable_parallel_tool_use": True}
    out = render(tools=(ir.Tool("a"), ir.Tool("b")), tool_choice=ir.ToolChoice("required", allowed=("b",)))
    assert [t["name"] for t in out["tools"]] == ["b"] and out["tool_choice"] == {"type": "any"}
    assert render(sampling=ir.Sampling(temperature=2.0))["temperature"] == 1.0
    with pytest.raises(TranslationError) as e:
        render(n=2)
    assert e.value.error.param == "n"
    with pytest.raises(TranslationError):
        render(messages=(ir.Message("user", (ir.Audio("AAAA", "wav"),)),))
    doc = render(messages=(ir.Message("user", (ir.Document(media_type="text/plain", data="aGVsbG8="),
                                               ir.Document(file_id="file_9"))),))
    assert [d["source"] for d in doc["messages"][0]["content"]] == [
        {"type": "text", "media_type": "text/plain", "data": "hello"}, {"type": "file", "file_id": "file_9"}]
    empty = render(messages=(ir.Message("user", (ir.Text("q"),)), ir.Message("assistant", (ir.Text(" "),)),
                              ir.Message("user", (ir.Text("again"),))))
    assert [m["content"] for m in empty["messages"]] == [[{"type": "text", "text": "q"},
                                                          {"type": "text", "text": "again"}]]


def test_native_thinking_kept_for_anthropic_upstream() -> None:
    req = CODEC.parse_request(body(messages=[
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "", "signature": "Sig"},
                                          {"type": "thinking", "thinking": "x",
                                           "signature": "~bridge:openai~enc"},
                                          {"type": "text", "text": "a"}]},
        {"role": "user", "content": "more"}]))
    foreign = req.messages[1].content[1]
    assert foreign == ir.Thinking("x", signature="enc", origin="openai")  # a bridge-marked signature
    out = CODEC.render_request(req, "m")["messages"][1]["content"]
    assert out == [{"type": "thinking", "thinking": "", "signature": "Sig"}, {"type": "text", "text": "a"}]


# ---- to the other dialects (when their codecs exist) ----


def _other(name: str) -> Any:
    try:
        return importlib.import_module(f"translators.dialects.{name}").CODEC
    except ImportError:
        pytest.skip(f"{name} codec not written yet")


def _wire_text(obj: Any) -> str:
    import orjson
    return orjson.dumps(obj).decode()


@pytest.mark.parametrize("target", ["openai_chat", "openai_responses"])
@pytest.mark.parametrize("name,raw", MESSAGES, ids=[n for n, _ in MESSAGES])
def test_capture_renders_to_other_dialects(target: str, name: str, raw: dict[str, Any]) -> None:
    codec = _other(target)
    req = CODEC.parse_request(raw)
    out = codec.render_request(req, "gpt-up")
    text = _wire_text(out)
    assert out["model"] == "gpt-up" and raw["max_tokens"] in out.values()
    assert out.get("stream", False) == bool(raw.get("stream"))
    assert [t["name"] for t in raw.get("tools", ())] == [
        t.get("name") or t.get("function", {}).get("name") for t in out.get("tools", ())]
    for m in raw["messages"]:  # every text, tool call and tool result reaches the target
        for b in _content(m["content"]):
            for key in ("text", "id", "tool_use_id"):
                if b.get(key):
                    assert _wire_text(b[key])[1:-1] in text, (key, b[key][:80])
            if b.get("type") == "tool_result":
                assert _wire_text(b["content"])[1:-1] in text
    for s in _content(raw.get("system", [])):
        assert _wire_text(s["text"])[1:-1] in text
    assert "cache_control" not in text or target == "openai_chat"
    assert "anthropic_block" not in text and "context_management" not in text


# ---- from the other dialects' captured requests to a valid Anthropic body ----

FOREIGN_CAPTURES = [("openai_chat", n, b) for n, b in requests_for("/chat/completions")] + [
    ("openai_responses", n, b) for n, b in requests_for("/responses")]


def assert_valid_anthropic_body(out: dict[str, Any]) -> None:
    """The rules Anthropic enforces with a 400 (anthropic-messages.md 3.3, 3.6)."""
    import re

    assert isinstance(out["max_tokens"], int) and out["max_tokens"] >= 1
    thinking = out.get("thinking")
    if thinking and thinking["type"] == "enabled":
        assert 1024 <= thinking["budget_tokens"] < out["max_tokens"]
        assert out.get("tool_choice", {}).get("type", "auto") in ("auto", "none")
    for block in out.get("system", []):
        assert block["type"] == "text" and block["text"].strip()
    msgs = out["messages"]
    assert [m["role"] for m in msgs[:1]] == ["user"]
    assert all(a["role"] != b["role"] for a, b in zip(msgs, msgs[1:]))
    for i, m in enumerate(msgs):
        for b in m["content"]:
            assert b["type"] != "text" or b["text"].strip()
        calls = [b["id"] for b in m["content"] if b["type"] == "tool_use"]
        for c in calls:
            assert re.fullmatch(r"[A-Za-z0-9_-]+", c)
        if calls:  # answered first thing in the next user turn
            nxt = msgs[i + 1]["content"]
            results = [b["tool_use_id"] for b in nxt[:len(calls)] if b["type"] == "tool_result"]
            assert sorted(results) == sorted(calls)
    for t in out.get("tools", []):
        assert t["input_schema"]["type"] == "object"


@pytest.mark.parametrize("dialect,name,raw", FOREIGN_CAPTURES, ids=[n for _, n, _ in FOREIGN_CAPTURES])
def test_other_dialect_captures_render_to_valid_anthropic(dialect: str, name: str,
                                                         raw: dict[str, Any]) -> None:
    req = _other(dialect).parse_request(raw)
    out = CODEC.render_request(req, "claude-up")
    assert_valid_anthropic_body(out)
    assert out["stream"] is True if raw.get("stream") else "stream" not in out
    assert [t["name"] for t in out.get("tools", [])] == [t.name for t in req.tools if "type" not in t.extra]
    if req.max_output_tokens:
        assert out["max_tokens"] == req.max_output_tokens


def test_foreign_render_is_valid() -> None:
    assert_valid_anthropic_body(CODEC.render_request(FOREIGN, "m"))

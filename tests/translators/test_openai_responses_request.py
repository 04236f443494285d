"""Responses requests: every captured Responses request parses, renders back without loss, and renders
to the other dialects keeping what they can carry; the item grouping and field rules of
openai-responses.md 2 and conversions.md 3."""

from __future__ import annotations

import importlib
from typing import Any

import orjson
import pytest

from tests.captures import requests_for
from translators import ir
from translators.dialects.openai_responses import CODEC
from translators.dialects.openai_responses.wire import ENVELOPE
from translators.errors import TranslationError

CAPTURES = requests_for("/responses")


def test_captures_present() -> None:
    assert len(CAPTURES) >= 20


# ---- same-dialect round trip ----


def _norm(v: Any, parent: str = "") -> Any:
    """null == absent; the equivalent wire forms of one message (easy form, string content)."""
    if isinstance(v, list):
        return [_norm(x, parent) for x in v]
    if not isinstance(v, dict):
        return v
    d = {k: _norm(x, k) for k, x in v.items() if x is not None}
    if parent == "input" and "role" in d:
        d.setdefault("type", "message")
        if isinstance(d.get("content"), str):
            kind = "output_text" if d["role"] == "assistant" else "input_text"
            d["content"] = [{"type": kind, "text": d["content"]}]
    return d


def _covered(orig: Any, out: Any, path: str = "") -> None:
    """Every field of `orig` is in `out` with the same value (`out` may add fields)."""
    if isinstance(orig, dict):
        assert isinstance(out, dict), path
        for k, v in orig.items():
            assert k in out, f"{path}.{k} lost"
            _covered(v, out[k], f"{path}.{k}")
    elif isinstance(orig, list):
        assert isinstance(out, list) and len(out) == len(orig), f"{path}: {len(orig)} -> {out!r:.200}"
        for i, (a, b) in enumerate(zip(orig, out)):
            _covered(a, b, f"{path}[{i}]")
    else:
        assert orig == out, f"{path}: {orig!r:.100} -> {out!r:.100}"


def _body_norm(body: dict[str, Any]) -> dict[str, Any]:
    body = dict(body)
    if isinstance(body.get("input"), str):
        body["input"] = [{"role": "user", "content": body["input"]}]
    return _norm(body)


@pytest.mark.parametrize("name,body", CAPTURES, ids=[n for n, _ in CAPTURES])
def test_capture_round_trip_is_lossless(name: str, body: dict[str, Any]) -> None:
    req = CODEC.parse_request(body)
    assert req.extra_from == "openai-responses"
    out = CODEC.render_request(req, body["model"])
    _covered(_body_norm(body), _norm(out))
    assert CODEC.render_request(CODEC.parse_request(out), body["model"]) == out  # a fixed point


@pytest.mark.parametrize("name,body", CAPTURES, ids=[n for n, _ in CAPTURES])
def test_capture_ir_shape(name: str, body: dict[str, Any]) -> None:
    req = CODEC.parse_request(body)
    items = body["input"] if isinstance(body["input"], list) else []
    calls = [i for i in items if i.get("type") in ("function_call", "custom_tool_call")]
    outputs = [i for i in items if i.get("type") in ("function_call_output", "custom_tool_call_output")]
    uses = [b for m in req.messages for b in m.content if isinstance(b, ir.ToolUse)]
    results = [b for m in req.messages for b in m.content if isinstance(b, ir.ToolResult)]
    assert [u.id for u in uses] == [c["call_id"] for c in calls]
    assert [r.tool_use_id for r in results] == [o["call_id"] for o in outputs]
    assert all(r.name == u.name for r, u in zip(results, uses))
    assert all(
        u.kind == ("custom" if c["type"] == "custom_tool_call" else "function") for u, c in zip(uses, calls)
    )
    if "instructions" in body:
        assert req.system == (ir.Text(body["instructions"]),)
    assert req.stream == bool(body.get("stream"))
    assert len(req.tools) == len(body.get("tools") or [])


# ---- to the other dialects ----


def _strings(v: Any) -> set[str]:
    if isinstance(v, str):
        return {v}
    if isinstance(v, dict):
        return {s for x in v.values() for s in _strings(x)}
    if isinstance(v, list):
        return {s for x in v for s in _strings(x)}
    return set()


def _other(module: str) -> Any:
    try:
        return importlib.import_module(module).CODEC
    except ImportError:
        pytest.skip(f"{module} not written yet")


@pytest.mark.parametrize(
    "target", ["translators.dialects.openai_chat", "translators.dialects.anthropic_messages"]
)
@pytest.mark.parametrize("name,body", CAPTURES, ids=[n for n, _ in CAPTURES])
def test_capture_renders_to_other_dialects(target: str, name: str, body: dict[str, Any]) -> None:
    other = _other(target)
    req = CODEC.parse_request(body)
    out = other.render_request(req, "up-model")
    dumped = orjson.dumps(out).decode()
    # every text the model must see (instructions, messages, tool outputs), every call id and tool name
    texts = {body["instructions"]} if "instructions" in body else set()
    items = body["input"] if isinstance(body["input"], list) else [{"content": body["input"]}]
    for item in items:
        texts |= _strings(item.get("content")) - {"input_text", "output_text"}
        texts |= {item[k] for k in ("output", "call_id", "name", "input") if isinstance(item.get(k), str)}
    for t in texts:
        assert orjson.dumps(t).decode()[1:-1] in dumped, f"lost {t[:60]!r}"
    names = {t["name"] for t in body.get("tools") or () if t["type"] in ("function", "custom")}
    assert names <= _strings(out.get("tools"))
    assert not {"web_search", "tool_search"} & _strings([t.get("type") for t in out.get("tools") or ()])
    if body.get("stream"):
        assert out["stream"] is True
    if body.get("max_output_tokens"):
        assert body["max_output_tokens"] in (out.get("max_tokens"), out.get("max_completion_tokens"))


# ---- parsing rules ----


def parse(**body: Any) -> ir.ChatRequest:
    return CODEC.parse_request({"model": "m", **body})


def test_string_input_and_instructions() -> None:
    req = parse(
        input="hi",
        instructions="be brief",
        temperature=0.2,
        top_p=0.9,
        max_output_tokens=100,
        user="u1",
        metadata={"k": "v"},
        previous_response_id="resp_9",
        stream=True,
    )
    assert req.messages == (ir.Message("user", (ir.Text("hi"),)),)
    assert req.system == (ir.Text("be brief"),)
    assert (req.sampling.temperature, req.sampling.top_p, req.max_output_tokens) == (0.2, 0.9, 100)
    assert (req.user, req.metadata, req.previous_response_id, req.stream) == (
        "u1",
        {"k": "v"},
        "resp_9",
        True,
    )


def test_model_side_items_group_into_one_assistant_turn() -> None:
    req = parse(
        input=[
            {"role": "user", "content": "go"},
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [{"type": "summary_text", "text": "plan"}],
                "encrypted_content": "gAAAA1",
            },
            {
                "type": "message",
                "role": "assistant",
                "id": "msg_1",
                "status": "completed",
                "content": [{"type": "output_text", "text": "calling", "annotations": []}],
            },
            {"type": "function_call", "call_id": "c1", "name": "a", "arguments": "{}", "id": "fc_1"},
            {"type": "custom_tool_call", "call_id": "c2", "name": "patch", "input": "*** Begin"},
            {"type": "function_call_output", "call_id": "c1", "output": "A"},
            {
                "type": "custom_tool_call_output",
                "call_id": "c2",
                "output": [{"type": "input_text", "text": "B"}],
            },
            {"role": "user", "content": "thanks"},
        ]
    )
    assert [m.role for m in req.messages] == ["user", "assistant", "user", "user"]
    think, text, call, custom = req.messages[1].content
    assert think == ir.Thinking("plan", signature="gAAAA1", origin="openai", extra={"item": {"id": "rs_1"}})
    assert text == ir.Text(
        "calling", extra={"annotations": [], "item": {"id": "msg_1", "status": "completed"}}
    )
    assert call == ir.ToolUse("c1", "a", "{}", extra={"item": {"id": "fc_1"}})
    assert custom == ir.ToolUse("c2", "patch", "*** Begin", kind="custom")
    assert req.messages[2].content == (
        ir.ToolResult("c1", (ir.Text("A"),), name="a"),
        ir.ToolResult("c2", (ir.Text("B"),), name="patch", kind="custom"),
    )


def test_content_parts() -> None:
    req = parse(
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "see"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "high"},
                    {"type": "input_image", "image_url": "https://x/y.png"},
                    {"type": "input_image", "file_id": "file-1"},
                    {
                        "type": "input_file",
                        "file_data": "data:application/pdf;base64,JVBE",
                        "filename": "a.pdf",
                    },
                    {"type": "input_file", "file_url": "https://x/a.pdf"},
                    {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
                ],
            }
        ]
    )
    assert req.messages[0].content == (
        ir.Text("see"),
        ir.Image("image/png", "AAAA", detail="high"),
        ir.Image(url="https://x/y.png"),
        ir.Image(extra={"file_id": "file-1"}),
        ir.Document("application/pdf", "JVBE", filename="a.pdf"),
        ir.Document(url="https://x/a.pdf"),
        ir.Audio("UklG", "wav"),
    )
    out = CODEC.render_request(req, "m")
    assert out["input"][0]["content"] == [
        {"type": "input_text", "text": "see"},
        {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "high"},
        {"type": "input_image", "image_url": "https://x/y.png"},
        {"type": "input_image", "file_id": "file-1"},
        {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"},
        {"type": "input_file", "file_url": "https://x/a.pdf"},
        {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
    ]


def test_tools_and_choices() -> None:
    tools = [
        {
            "type": "function",
            "name": "f",
            "description": "d",
            "parameters": {"type": "object"},
            "strict": True,
            "defer_loading": True,
        },
        {
            "type": "custom",
            "name": "patch",
            "format": {"type": "grammar", "syntax": "lark", "definition": "x"},
        },
        {"type": "web_search", "search_context_size": "low"},
    ]
    req = parse(
        input="x", tools=tools, tool_choice={"type": "custom", "name": "patch"}, parallel_tool_calls=False
    )
    f, c, w = req.tools
    assert f == ir.Tool("f", "d", {"type": "object"}, strict=True, extra={"defer_loading": True})
    assert c.kind == "custom" and c.format == tools[1]["format"]
    assert w.name == "web_search" and w.extra == tools[2]
    assert req.tool_choice == ir.ToolChoice("tool", "patch") and req.parallel_tool_calls is False
    out = CODEC.render_request(req, "m")
    assert out["tools"] == tools and out["tool_choice"] == {"type": "custom", "name": "patch"}
    allowed = {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [{"type": "function", "name": "f"}, {"type": "web_search"}],
    }
    req = parse(input="x", tools=tools, tool_choice=allowed)
    assert req.tool_choice == ir.ToolChoice("required", allowed=("f", "web_search"))
    assert CODEC.render_request(req, "m")["tool_choice"] == allowed
    req = parse(input="x", tools=tools, tool_choice={"type": "web_search"})
    assert req.tool_choice is None and CODEC.render_request(req, "m")["tool_choice"] == {"type": "web_search"}
    for mode in ("auto", "none", "required"):
        assert parse(input="x", tool_choice=mode).tool_choice == ir.ToolChoice(mode)


def test_reasoning_text_and_extras() -> None:
    req = parse(
        input="x",
        reasoning={"effort": "high", "summary": "auto"},
        text={
            "format": {"type": "json_schema", "name": "a", "schema": {"type": "object"}, "strict": True},
            "verbosity": "low",
        },
        store=True,
        include=["message.output_text.logprobs"],
        prompt_cache_key="k",
        truncation="auto",
    )
    assert req.reasoning == ir.Reasoning(effort="high", summary="auto", mode="enabled")
    assert req.response_format == ir.ResponseFormat("json_schema", "a", {"type": "object"}, True)
    assert req.extra == {
        "text": {"verbosity": "low"},
        "store": True,
        "include": ["message.output_text.logprobs"],
        "prompt_cache_key": "k",
        "truncation": "auto",
    }
    out = CODEC.render_request(req, "m")
    assert out["text"] == {
        "verbosity": "low",
        "format": {"type": "json_schema", "name": "a", "schema": {"type": "object"}, "strict": True},
    }
    # reasoning must stay replayable without server state (conversions.md 7.1); the client's own
    # store choice stands
    assert out["store"] is True
    assert out["include"] == ["message.output_text.logprobs", "reasoning.encrypted_content"]
    assert CODEC.render_request(parse(input="x", reasoning={"effort": "low"}), "m")["store"] is False


def test_unsigned_reasoning_goes_back_only_into_a_stored_conversation() -> None:
    items = [
        {"role": "user", "content": "a"},
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
    ]
    stored = CODEC.render_request(parse(input=items), "m")
    assert "store" not in stored and stored["input"][1] == items[1]
    unstored = CODEC.render_request(parse(input=items, reasoning={"effort": "low"}), "m")
    assert unstored["store"] is False and [i["type"] for i in unstored["input"]] == [
        "message",
        "function_call",
    ]
    assert parse(input="x", reasoning={"effort": "none"}).reasoning == ir.Reasoning(
        effort="none", mode="disabled"
    )


def test_unknown_items_keep_their_place() -> None:
    items = [
        {"type": "item_reference", "id": "msg_0"},
        {"role": "user", "content": "a"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c", "output": "r"},
        {"type": "item_reference", "id": "msg_9"},
    ]
    req = parse(input=items)
    assert req.messages[0].extra == {"_before": [items[0]]}
    out = CODEC.render_request(req, "m")
    assert [i.get("type", "message") for i in out["input"]] == [i.get("type", "message") for i in items]
    assert out["input"][2] == items[2] and out["input"][5] == items[5]


def test_reasoning_summary_shapes() -> None:
    two = [{"type": "summary_text", "text": "a"}, {"type": "summary_text", "text": "b"}]
    req = parse(
        input=[
            {"type": "reasoning", "summary": two},
            {"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "raw"}]},
        ]
    )
    a, b = req.messages[0].content
    assert isinstance(a, ir.Thinking) and a.text == "a\n\nb" and a.extra == {"item": {"summary": two}}
    assert isinstance(b, ir.Thinking) and b.text == "raw" and b.signature is None
    out = CODEC.render_request(req, "m")
    assert out["input"][0]["summary"] == two and out["input"][1]["summary"] == []


def test_enveloped_signature_restores_foreign_thinking() -> None:
    env = ENVELOPE + '{"o":"anthropic","s":"EqQBsig"}'
    red = ENVELOPE + '{"o":"anthropic","r":"opaque"}'
    req = parse(
        input=[
            {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": "t"}],
                "encrypted_content": env,
            },
            {"type": "reasoning", "summary": [], "encrypted_content": red},
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
        ]
    )
    think, redacted, _ = req.messages[0].content
    assert think == ir.Thinking("t", signature="EqQBsig", origin="anthropic")
    assert redacted == ir.RedactedThinking("opaque", origin="anthropic")
    # Anthropic's signatures mean nothing to OpenAI: not replayed there (conversions.md 7.2)
    assert [i["type"] for i in CODEC.render_request(req, "m")["input"]] == ["function_call"]
    with pytest.raises(TranslationError) as e:
        parse(input=[{"type": "reasoning", "summary": [], "encrypted_content": ENVELOPE + "{"}])
    assert e.value.error.param == "input[0].encrypted_content"


@pytest.mark.parametrize(
    "body,param",
    [
        ({"input": "x"}, "model"),
        ({"model": "m", "input": 3}, "input"),
        ({"model": "m", "input": [5]}, "input[0]"),
        ({"model": "m", "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"type": "input_video"}]}]},
            "input[0].content[0].type",
        ),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"type": "input_text", "text": 1}]}]},
            "input[0].content[0].text",
        ),
        (
            {"model": "m", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
            "input[0].call_id",
        ),
        ({"model": "m", "input": [{"type": "function_call_output", "call_id": "c"}]}, "input[0].output"),
        (
            {
                "model": "m",
                "input": [{"role": "assistant", "content": [{"type": "input_image", "image_url": "u"}]}],
            },
            "input[0].content[0].type",
        ),
        ({"model": "m", "tools": [{"type": "function"}]}, "tools[0].name"),
        ({"model": "m", "tools": {}}, "tools"),
        ({"model": "m", "tool_choice": "sometimes"}, "tool_choice"),
        (
            {"model": "m", "tool_choice": {"type": "allowed_tools", "mode": "x", "tools": []}},
            "tool_choice.mode",
        ),
        ({"model": "m", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"model": "m", "text": {"format": {"type": "json_schema", "name": "a"}}}, "text.format.schema"),
        ({"model": "m", "temperature": "hot"}, "temperature"),
        ({"model": "m", "max_output_tokens": True}, "max_output_tokens"),
        ({"model": "m", "reasoning": {"effort": 1}}, "reasoning.effort"),
        ({"model": "m", "stream": "yes"}, "stream"),
    ],
)
def test_bad_input_names_the_field(body: dict[str, Any], param: str) -> None:
    with pytest.raises(TranslationError) as e:
        CODEC.parse_request(body)
    assert e.value.error.param == param and e.value.error.status == 400


def test_nulls_are_absent() -> None:
    req = CODEC.parse_request(
        {
            "model": "m",
            "input": None,
            "instructions": None,
            "tools": None,
            "text": None,
            "reasoning": None,
            "temperature": None,
            "tool_choice": None,
            "store": None,
        }
    )
    assert req == ir.ChatRequest("m", (), want_usage=True, extra_from="openai-responses")


def test_parse_does_not_mutate_input() -> None:
    body = {
        "model": "m",
        "input": [
            {"type": "reasoning", "summary": [], "encrypted_content": "g"},
            {"type": "item_reference", "id": "x"},
            {"role": "user", "content": "a"},
        ],
        "tools": [{"type": "web_search"}],
        "text": {"verbosity": "low"},
    }
    snapshot = orjson.dumps(body)
    CODEC.render_request(CODEC.parse_request(body), "m")
    assert orjson.dumps(body) == snapshot


# ---- rendering a foreign request for a Responses upstream ----


def test_foreign_request_renders_for_openai() -> None:
    req = ir.ChatRequest(
        model="claude",
        system=(ir.Text("sys", extra={"cache_control": {"type": "ephemeral"}}), ir.Text("more")),
        messages=(
            ir.Message("user", (ir.Text("hi", extra={"cache_control": {"type": "ephemeral"}}),)),
            ir.Message(
                "assistant",
                (
                    ir.Thinking("hmm", signature="EqQB", origin="anthropic"),
                    ir.Thinking("oai", signature="gAAAA", origin="openai", extra={"item": {"id": "rs_x"}}),
                    ir.Text(""),
                    ir.Text("ok"),
                    ir.ToolUse("toolu_1", "f", '{"a":1}'),
                ),
            ),
            ir.Message(
                "user",
                (ir.ToolResult("toolu_1", (ir.Text("r1"), ir.Image("image/png", "AA"))), ir.Text("next")),
            ),
        ),
        tools=(ir.Tool("f", parameters=None), ir.Tool("ws", extra={"type": "web_search_20250305"})),
        tool_choice=ir.ToolChoice("tool", "f"),
        max_output_tokens=8,
        stop=("X",),
        reasoning=ir.Reasoning(budget=2048, mode="enabled"),
        stream=True,
        metadata={"user_id": "u"},
        extra={"anthropic_beta": ["x"]},
        extra_from="anthropic-messages",
    )
    out = CODEC.render_request(req, "gpt-5")
    assert out == {
        "model": "gpt-5",
        "instructions": "sys\n\nmore",
        "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": "oai"}],
                "encrypted_content": "gAAAA",
            },
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "ok", "annotations": []}],
            },
            {"type": "function_call", "call_id": "toolu_1", "name": "f", "arguments": '{"a":1}'},
            {
                "type": "function_call_output",
                "call_id": "toolu_1",
                "output": [
                    {"type": "input_text", "text": "r1"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AA"},
                ],
            },
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "next"}]},
        ],
        "tools": [
            {
                "type": "function",
                "name": "f",
                "parameters": {"type": "object", "properties": {}},
                "strict": False,
            }
        ],
        "tool_choice": {"type": "function", "name": "f"},
        "max_output_tokens": 16,
        "reasoning": {"effort": "low", "summary": "auto"},
        "metadata": {"user_id": "u"},
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "stream": True,
    }


def test_foreign_request_without_reasoning_is_not_stored() -> None:
    req = ir.ChatRequest(
        "m",
        (ir.Message("user", (ir.Text("x"),)),),
        extra={"seed": 1},
        extra_from="openai-chat",
        response_format=ir.ResponseFormat("json_object"),
    )
    assert CODEC.render_request(req, "m") == {
        "model": "m",
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}],
        "text": {"format": {"type": "json_object"}},
        "store": False,
        "stream": False,
    }

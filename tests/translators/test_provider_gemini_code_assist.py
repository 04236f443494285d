"""Gemini Code Assist codec, request side: envelope, contents, tools (schema clean-up), tool choice,
generation config and thinking, and the tool-call ids that carry thought signatures."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from translators import ir
from translators.errors import TranslationError
from translators.providers.gemini_code_assist import CODEC
from translators.providers.gemini_code_assist.callids import make_call_id
from translators.providers.gemini_code_assist.callids import split_call_id
from translators.providers.gemini_code_assist.contents import SKIP_SIGNATURE
from translators.providers.gemini_code_assist.schema import gemini_schema
from translators.registry import codec

CTX = {"access_token": "ya29.test", "project": "brave-lattice-4k2qp", "base_url": "https://cloudcode-pa.googleapis.com"}
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather for a city", "parameters": CITY}}
SIG = "CiQBcsjafG0v8Q0h+/x=="


def chat(body: dict[str, Any]) -> ir.ChatRequest:
    return codec("openai-chat").parse_request({"model": "m", **body})


def build(req: ir.ChatRequest, model: str = "gemini-2.5-pro",
          ctx: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
    call = CODEC.build(req, model, ctx or CTX, ir.Ids(1700000000, "t"))
    return call, orjson.loads(call.body)


def test_envelope_url_and_headers() -> None:
    system = "You are a concise coding assistant."
    messages = [{"role": "system", "content": system}, {"role": "user", "content": "hi"}]
    call, body = build(chat({"messages": messages, "stream": True}), "models/gemini-2.5-pro")
    assert call.url == "https://cloudcode-pa.googleapis.com/v1internal:streamGenerateContent?alt=sse"
    assert call.streams and call.method == "POST"
    assert call.headers["authorization"] == "Bearer ya29.test"
    assert call.headers["user-agent"].startswith("GeminiCLI/")
    assert body["model"] == "gemini-2.5-pro" and body["project"] == "brave-lattice-4k2qp"
    assert body["request"]["systemInstruction"] == {"role": "user", "parts": [{"text": system}]}
    assert body["request"]["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


def test_unary_url_and_version_in_base() -> None:
    call, _ = build(chat({"messages": [{"role": "user", "content": "hi"}]}),
                    ctx={**CTX, "base_url": "http://127.0.0.1:9/v1internal/"})
    assert call.url == "http://127.0.0.1:9/v1internal:generateContent" and not call.streams


def test_missing_token_or_project() -> None:
    req = chat({"messages": [{"role": "user", "content": "hi"}]})
    with pytest.raises(TranslationError) as e:
        build(req, ctx={**CTX, "access_token": None})
    assert e.value.error.kind == "authentication"
    with pytest.raises(TranslationError):
        build(req, ctx={**CTX, "project": ""})


def test_tool_round_trip_history_from_the_note() -> None:
    """gemini-code-assist.md 3: call with its signature, then the result named after the call."""
    call_id = make_call_id("call_x_0", None, SIG)
    _, body = build(chat({"messages": [
        {"role": "user", "content": "What's the weather in Paris? Use the tool."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
        {"role": "tool", "tool_call_id": call_id, "content": '{"temp_c": 18, "sky": "cloudy"}'}],
        "tools": [WEATHER], "tool_choice": "auto"}))
    req = body["request"]
    assert req["contents"][1] == {"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": SIG}]}
    assert req["contents"][2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather",
                              "response": {"output": '{"temp_c": 18, "sky": "cloudy"}'}}}]}
    assert req["tools"] == [{"functionDeclarations": [{
        "name": "get_weather", "description": "Current weather for a city",
        "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}}]}]
    assert req["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}


def test_parallel_results_grouped_and_lost_signature_gets_sentinel() -> None:
    _, body = build(chat({"messages": [
        {"role": "user", "content": "weather in Paris and Tokyo"},
        {"role": "assistant", "tool_calls": [
            {"id": "toolu_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}},
            {"id": "toolu_2", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Tokyo"}'}}]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "rain"}], "tools": [WEATHER]}))
    model, results = body["request"]["contents"][1:]
    assert model["parts"][0]["thoughtSignature"] == SKIP_SIGNATURE  # foreign history (8.6)
    assert "thoughtSignature" not in model["parts"][1]  # only the first call of a step
    assert [p["functionResponse"]["response"]["output"] for p in results["parts"]] == ["sunny", "rain"]
    assert all("id" not in p["functionResponse"] for p in results["parts"])


def test_sentinel_only_in_the_current_loop() -> None:
    _, body = build(chat({"messages": [
        {"role": "user", "content": "weather"},
        {"role": "assistant", "tool_calls": [{"id": "a", "type": "function",
                                              "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "a", "content": "x"},
        {"role": "assistant", "content": "done"},
        {"role": "user", "content": "thanks"}], "tools": [WEATHER]}))
    assert "thoughtSignature" not in body["request"]["contents"][1]["parts"][0]


def test_gemini_call_id_is_sent_back() -> None:
    call_id = make_call_id("call_x_0", "rl2n9b1e", None)
    _, body = build(chat({"messages": [
        {"role": "user", "content": "w"},
        {"role": "assistant", "tool_calls": [{"id": call_id, "type": "function",
                                              "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": call_id, "content": "x"}], "tools": [WEATHER]}))
    assert body["request"]["contents"][1]["parts"][0]["functionCall"]["id"] == "rl2n9b1e"
    assert body["request"]["contents"][2]["parts"][0]["functionResponse"]["id"] == "rl2n9b1e"


def test_unknown_tool_result_id_is_a_400() -> None:
    with pytest.raises(TranslationError) as e:
        build(chat({"messages": [{"role": "user", "content": "x"},
                                 {"role": "tool", "tool_call_id": "nope", "content": "x"}]}))
    assert e.value.error.status == 400


def test_anthropic_thinking_signatures_and_error_results() -> None:
    """A Gemini signature relayed in a thinking block goes back on the next part; thought text is
    not replayed (8.7); foreign thinking is dropped; an error result is `{"error": ...}`."""
    req = codec("anthropic-messages").parse_request({"model": "m", "max_tokens": 100, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Planning", "signature": "~bridge:gemini~" + SIG},
            {"type": "thinking", "thinking": "other", "signature": "~bridge:openai~zzz"},
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "thinking", "thinking": "", "signature": "~bridge:gemini~END"}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "is_error": True,
                                      "content": "boom"}]}]})
    _, body = build(req)
    parts = body["request"]["contents"][1]["parts"]
    assert parts[0] == {"text": "Let me check.", "thoughtSignature": SIG}
    assert parts[1]["functionCall"]["name"] == "get_weather"
    assert parts[1]["thoughtSignature"] == SKIP_SIGNATURE
    assert parts[2] == {"text": "", "thoughtSignature": "END"}
    assert body["request"]["contents"][2]["parts"][0]["functionResponse"]["response"] == {"error": "boom"}


def test_roles_merged_and_conversation_ends_with_user() -> None:
    _, body = build(chat({"messages": [{"role": "assistant", "content": "Hello"},
                                       {"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                                       {"role": "assistant", "content": "c"}]}))
    contents = body["request"]["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user", "model", "user"]
    assert contents[2]["parts"] == [{"text": "a"}, {"text": "b"}]


def test_images_and_mid_conversation_system() -> None:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
    _, body = build(chat({"messages": [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "what?"},
                                     {"type": "image_url",
                                      "image_url": {"url": f"data:image/png;base64,{png}"}},
                                     {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]}]}))
    parts = body["request"]["contents"][0]["parts"]
    assert parts[1] == {"inlineData": {"mimeType": "image/png", "data": png}}
    assert parts[2] == {"text": "[image: https://x.test/a.png]"}
    assert body["request"]["systemInstruction"]["parts"][0]["text"] == "Be brief."


@pytest.mark.parametrize("choice,config", [
    ("none", {"mode": "NONE"}), ("required", {"mode": "ANY"}),
    ({"type": "function", "function": {"name": "get_weather"}},
     {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
])
def test_tool_choice(choice: Any, config: dict[str, Any]) -> None:
    _, body = build(chat({"messages": [{"role": "user", "content": "x"}], "tools": [WEATHER],
                          "tool_choice": choice}))
    assert body["request"]["toolConfig"] == {"functionCallingConfig": config}


def test_json_schema_mode_and_freeform_tool() -> None:
    req = codec("openai-responses").parse_request({"model": "m", "input": "x", "tools": [
        {"type": "function", "name": "f",
         "parameters": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                        "properties": {"a": {"const": 1}}}},
        {"type": "custom", "name": "apply_patch", "description": "Patch."},
        {"type": "web_search"}]})
    _, body = build(req, ctx={**CTX, "tool_schema": "json_schema"})
    decls = body["request"]["tools"][0]["functionDeclarations"]
    assert [d["name"] for d in decls] == ["f", "apply_patch"]  # built-in tools cannot run here
    assert decls[0]["parametersJsonSchema"]["$schema"].startswith("http")
    assert decls[1]["parametersJsonSchema"]["required"] == ["input"]


def test_generation_config() -> None:
    _, body = build(chat({"messages": [{"role": "user", "content": "x"}], "temperature": 0.5, "top_p": 0.9,
                          "max_tokens": 100, "stop": ["a", "b", "c", "d", "e", "f"], "seed": 7,
                          "response_format": {"type": "json_schema", "json_schema": {
                              "name": "o", "schema": {"type": "object", "additionalProperties": False,
                                                      "properties": {"k": {"type": ["string", "null"]}}}}}}))
    gen = body["request"]["generationConfig"]
    assert (gen["temperature"], gen["topP"], gen["maxOutputTokens"], gen["seed"]) == (0.5, 0.9, 100, 7)
    assert gen["stopSequences"] == ["a", "b", "c", "d", "e"]
    assert gen["responseMimeType"] == "application/json"
    assert gen["responseSchema"] == {"type": "OBJECT",
                                     "properties": {"k": {"type": "STRING", "nullable": True}}}


@pytest.mark.parametrize("model,reasoning,expected", [
    ("gemini-2.5-flash", {"reasoning_effort": "low"}, {"thinkingBudget": 2048, "includeThoughts": True}),
    ("gemini-2.5-flash", {"reasoning_effort": "none"}, {"thinkingBudget": 0}),
    ("gemini-2.5-pro", {"reasoning_effort": "none"}, {"thinkingBudget": 128}),
    ("gemini-2.5-flash", {"reasoning_effort": "xhigh"}, {"thinkingBudget": 24576, "includeThoughts": True}),
    ("gemini-3-pro-preview", {"reasoning_effort": "high"},
     {"thinkingLevel": "HIGH", "includeThoughts": True}),
    ("gemini-3-pro-preview", {"reasoning_effort": "minimal"},
     {"thinkingLevel": "LOW", "includeThoughts": True}),
    ("gemini-2.5-flash", {}, None),
])
def test_thinking_config(model: str, reasoning: dict[str, Any], expected: Any) -> None:
    _, body = build(chat({"messages": [{"role": "user", "content": "x"}], **reasoning}), model)
    assert body["request"].get("generationConfig", {}).get("thinkingConfig") == expected


def test_anthropic_budget_becomes_thinking_budget() -> None:
    req = codec("anthropic-messages").parse_request({"model": "m", "max_tokens": 4096, "messages": [
        {"role": "user", "content": "x"}], "thinking": {"type": "enabled", "budget_tokens": 2048}})
    _, body = build(req, "gemini-2.5-flash")
    assert body["request"]["generationConfig"] == {"maxOutputTokens": 4096, "thinkingConfig": {
        "thinkingBudget": 2048, "includeThoughts": True}}


# ---------------------------------------------------------------- call ids


@pytest.mark.parametrize("sig", [SIG, "CtoBAdHtim9", "abc+/", "not base64 ü -_", "A=", SKIP_SIGNATURE])
def test_call_id_round_trips_signature(sig: str) -> None:
    call_id = make_call_id("call_abc_0", None, sig)
    assert split_call_id(call_id) == (None, sig)
    assert all(c.isalnum() or c in "_-" for c in call_id)


def test_call_id_with_gemini_id() -> None:
    assert split_call_id(make_call_id("call_abc_0", "fc-1", "S")) == ("fc-1", "S")
    assert split_call_id(make_call_id("call_abc_0", "bad id!", None)) == (None, None)
    assert split_call_id("toolu_01ABC") == (None, None)


# ---------------------------------------------------------------- schema clean-up (gemini.md 2.5)


def test_schema_strips_unknown_keys_and_translates() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": False,
        "properties": {
            "mode": {"const": "fast"},
            "name": {"type": ["string", "null"], "format": "uri", "examples": ["x"]},
            "n": {"type": "integer", "exclusiveMinimum": 0, "multipleOf": 2, "enum": [1, 2],
                  "description": "N"},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "when": {"type": "string", "format": "date-time"},
            "either": {"oneOf": [{"type": "string"}, {"type": "number"}]},
            "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "ref": {"$ref": "#/$defs/Point"},
            "both": {"allOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]},
                               {"properties": {"b": {"type": "number"}}}]},
            "multi": {"type": ["string", "number"]},
            "free": {"type": "object", "patternProperties": {".*": {"type": "string"}}, "propertyNames": {}},
        },
        "required": ["mode", "ghost"],
        "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}},
    }
    out = gemini_schema(schema)
    p = out["properties"]
    assert set(out) == {"type", "properties", "required"} and out["required"] == ["mode"]
    assert p["mode"] == {"enum": ["fast"], "type": "STRING"}
    assert p["name"] == {"type": "STRING", "nullable": True, "example": "x"}
    assert p["n"] == {"type": "INTEGER", "description": "N (one of: 1, 2)"}
    assert p["tags"] == {"type": "ARRAY", "items": {"type": "STRING"}}
    assert p["when"] == {"type": "STRING", "format": "date-time"}
    assert p["either"] == {"anyOf": [{"type": "STRING"}, {"type": "NUMBER"}]}
    assert p["maybe"] == {"nullable": True, "type": "STRING"}
    assert p["ref"] == {"type": "OBJECT", "properties": {"x": {"type": "NUMBER"}}, "required": ["x"]}
    assert p["both"] == {"type": "OBJECT", "properties": {"a": {"type": "STRING"}, "b": {"type": "NUMBER"}},
                         "required": ["a"]}
    assert p["multi"] == {"anyOf": [{"type": "STRING"}, {"type": "NUMBER"}]}
    assert p["free"] == {"type": "OBJECT"}
    assert "$schema" in schema and "additionalProperties" in schema  # the input is untouched


def test_schema_recursive_ref_terminates() -> None:
    schema = {"type": "object", "properties": {"node": {"$ref": "#/definitions/Node"}},
              "definitions": {"Node": {"type": "object",
                                       "properties": {"child": {"$ref": "#/definitions/Node"}}}}}
    out = gemini_schema(schema)
    depth, node = 0, out["properties"]["node"]
    while "properties" in node:
        node, depth = node["properties"]["child"], depth + 1
    assert 5 < depth <= 40


def test_empty_object_schema_sends_no_parameters() -> None:
    _, body = build(chat({"messages": [{"role": "user", "content": "x"}], "tools": [
        {"type": "function",
         "function": {"name": "ping", "parameters": {"type": "object", "properties": {}}}}]}))
    assert body["request"]["tools"][0]["functionDeclarations"] == [{"name": "ping"}]

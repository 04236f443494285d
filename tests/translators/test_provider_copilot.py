"""The Copilot codec (github-copilot.md): model names (9), the /models catalogue (7), which API serves a
model (2, 10.5), the editor headers with X-Initiator and the vision flag (2.1), each API's body edits
(3.1, 3.5, 4, 5), the device flow and token exchange answers (1), CAPI's errors (8)."""

from __future__ import annotations

import orjson
import pytest

from translators import ir
from translators.errors import TranslationError
from translators.providers.copilot import CODEC
from translators.providers.copilot import auth
from translators.providers.copilot import models
from translators.providers.copilot.models import ModelInfo
from translators.providers.copilot.request import ORIGIN
from translators.providers.copilot.request import initiator
from translators.registry import codec

CLAUDE = ModelInfo("claude-sonnet-4.5", "Anthropic", endpoints=("/chat/completions", "/v1/messages"),
                   vision=True, max_output_tokens=32000, min_thinking_budget=1024, max_thinking_budget=16000,
                   request_headers={"X-Model-Header": "1"})
CATALOG = {"gpt-4.1": ModelInfo("gpt-4.1"), "gpt-5-mini": ModelInfo("gpt-5-mini", endpoints=(
    "/chat/completions", "/responses")), "gpt-5.1-codex": ModelInfo("gpt-5.1-codex", endpoints=(
        "/responses", "ws:/responses")), "claude-sonnet-4.5": CLAUDE,
    "claude-sonnet-4": ModelInfo("claude-sonnet-4", endpoints=("/chat/completions",))}
CTX = {"copilot_token": "tid=1;exp=2:abc", "api_base": "https://api.individual.githubcopilot.com",
       "models": CATALOG, "request_id": "rid-1", "interaction_id": "iid-1"}
WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


def chat_req(**body: object) -> ir.ChatRequest:
    messages = [{"role": "user", "content": "hi"}]
    return codec("openai-chat").parse_request({"model": "m", "messages": messages, **body})


def build(req: ir.ChatRequest, model: str, **ctx: object) -> tuple[str, dict, dict]:
    call = CODEC.build(req, model, {**CTX, **ctx}, ir.Ids(1))
    return call.url, orjson.loads(call.body), dict(call.headers)


# ---------------------------------------------------------------- names and catalogue


@pytest.mark.parametrize("name,known,expected", [
    ("claude-sonnet-4-5-20250929", (), "claude-sonnet-4.5"),
    ("claude-opus-4-6", (), "claude-opus-4.6"),
    ("claude-sonnet-4-20250514", ("claude-sonnet-4",), "claude-sonnet-4"),
    ("claude-haiku-4-20250514", ("claude-haiku-4.5", "claude-haiku-3.5"), "claude-haiku-4.5"),
    ("claude-opus-4-6-1m", ("claude-opus-4.6", "claude-opus-4.6-1m"), "claude-opus-4.6-1m"),
    ("claude-opus-4-6-1m", ("claude-opus-4.6",), "claude-opus-4.6"),
    ("claude-opus-4.6(medium)", (), "claude-opus-4.6"),
    ("sonnet", ("claude-sonnet-4", "claude-sonnet-4.6", "claude-sonnet-4.5"), "claude-sonnet-4.6"),
    ("opus", (), "claude-opus-4.6"),
    ("claude-opus-4-1-20250805", (), "claude-opus-41"),
    ("claude-3-5-sonnet-20241022", (), "claude-3.5-sonnet"),
    ("gpt-4.1", ("gpt-4.1",), "gpt-4.1"),
    ("gpt-5.1-codex", (), "gpt-5.1-codex"),
])
def test_model_names(name: str, known: tuple[str, ...], expected: str) -> None:
    assert models.resolve(name, known) == expected


def test_model_name_reaches_the_body() -> None:
    _, body, _ = build(chat_req(), "claude-sonnet-4-20250514")
    assert body["model"] == "claude-sonnet-4"


def test_parse_models_keeps_usable_chat_models() -> None:
    entry = {"id": "claude-sonnet-4.5", "vendor": "Anthropic", "name": "Claude Sonnet 4.5",
             "supported_endpoints": ["/chat/completions", "/v1/messages"], "policy": {"state": "enabled"},
             "capabilities": {"type": "chat", "limits": {"max_output_tokens": 32000}, "supports": {
                 "vision": True, "streaming": True, "min_thinking_budget": 1024,
                 "max_thinking_budget": 32000}}}
    body = {"data": [entry, {**entry, "name": "dup"}, {"id": "gpt-4.1", "capabilities": {"type": "chat"}},
                     {"id": "e", "capabilities": {"type": "embeddings"}},
                     {"id": "o", "policy": {"state": "requires_consent"}}, "junk", {"no": "id"}]}
    found = models.parse_models(body)
    assert list(found) == ["claude-sonnet-4.5", "gpt-4.1"]
    c = found["claude-sonnet-4.5"]
    assert c.name == "Claude Sonnet 4.5" and c.endpoints == ("/chat/completions", "/v1/messages") and c.vision
    assert (c.max_output_tokens, c.min_thinking_budget, c.max_thinking_budget) == (32000, 1024, 32000)
    assert found["gpt-4.1"].endpoints is None


# ---------------------------------------------------------------- which API


@pytest.mark.parametrize("model,client,messages_api,endpoint", [
    ("gpt-4.1", "openai-responses", True, "/chat/completions"),  # no supported_endpoints: chat only
    ("gpt-5.1-codex", "openai-chat", True, "/responses"),  # responses-only
    ("gpt-5-mini", "openai-responses", True, "/responses"),  # the client's own API when listed
    ("gpt-5-mini", "anthropic-messages", True, "/chat/completions"),
    ("claude-sonnet-4.5", "openai-chat", True, "/v1/messages"),  # native Messages for Claude
    ("claude-sonnet-4.5", "openai-chat", False, "/chat/completions"),
    ("claude-sonnet-4", "anthropic-messages", True, "/chat/completions"),
    ("gpt-5.4-mini", "openai-chat", True, "/responses"),  # unknown catalogue: by name
    ("claude-haiku-4.5", "anthropic-messages", True, "/chat/completions"),
])
def test_dialect_choice(model: str, client: str, messages_api: bool, endpoint: str) -> None:
    req = ir.ChatRequest(model="copilot/x", messages=(ir.Message("user", (ir.Text("hi"),)),),
                         extra_from=client)
    url, _, _ = build(req, model, messages_api=messages_api)
    assert url == "https://api.individual.githubcopilot.com" + endpoint


# ---------------------------------------------------------------- headers


def test_editor_headers() -> None:
    _, _, h = build(chat_req(stream=True), "gpt-4.1", headers={"X-Extra": "y"})
    assert h["authorization"] == "Bearer tid=1;exp=2:abc" and h["copilot-integration-id"] == "vscode-chat"
    assert h["editor-version"] == "vscode/1.104.3" and h["editor-plugin-version"] == "copilot-chat/0.26.7"
    assert h["user-agent"] == "GitHubCopilotChat/0.26.7" and h["x-github-api-version"] == "2025-05-01"
    assert h["openai-intent"] == "conversation-panel" and h["accept"] == "text/event-stream"
    assert h["x-request-id"] == h["x-agent-task-id"] == "rid-1" and h["x-interaction-id"] == "iid-1"
    assert h["x-extra"] == "y" and "copilot-vision-request" not in h and "anthropic-version" not in h


def test_headers_from_options_tools_and_model() -> None:
    _, _, h = build(chat_req(tools=[WEATHER]), "claude-sonnet-4.5", editor_version="vscode/1.200.0",
                    plugin_version="copilot-chat/0.38.0", anthropic_beta="interleaved-thinking-2025-05-14")
    assert h["editor-version"] == "vscode/1.200.0" and h["user-agent"] == "GitHubCopilotChat/0.38.0"
    assert h["openai-intent"] == h["x-interaction-type"] == "conversation-agent"
    assert h["anthropic-version"] == "2023-06-01" and h["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert h["x-model-header"] == "1"


@pytest.mark.parametrize("content", [
    [{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}],
    "see the tool result",
])
def test_vision_flag(content: object) -> None:
    messages = [{"role": "user", "content": content}]
    if isinstance(content, str):  # an image returned by a tool (Anthropic tool_result with an image)
        req = codec("anthropic-messages").parse_request({"model": "m", "max_tokens": 10, "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "shot", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": "iVBO"}}]}]}]})
    else:
        req = chat_req(messages=messages)
    assert build(req, "gpt-4.1")[2]["copilot-vision-request"] == "true"


@pytest.mark.parametrize("messages,expected", [
    ([{"role": "user", "content": "hi"}], "user"),
    ([{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}], "user"),
    ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "a"},
      {"role": "user", "content": "go"}, {"role": "system", "content": "reminder"}], "user"),
    ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "r"}], "agent"),
    ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "prefill"}], "agent"),
])
def test_x_initiator(messages: list, expected: str) -> None:
    req = chat_req(messages=messages)
    assert initiator(req) == expected and build(req, "gpt-4.1")[2]["x-initiator"] == expected


def test_x_initiator_responses_and_messages_inputs() -> None:
    resp = codec("openai-responses").parse_request({"model": "m", "input": [
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c", "output": "r"}]})
    assert initiator(resp) == "agent"
    msgs = codec("anthropic-messages").parse_request({"model": "m", "max_tokens": 5, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "hi"}]}]})
    assert initiator(msgs) == "user"


def test_no_copilot_token_is_an_authentication_error() -> None:
    with pytest.raises(TranslationError) as e:
        CODEC.build(chat_req(), "gpt-4.1", {}, ir.Ids(1))
    assert e.value.error.kind == "authentication"


# ---------------------------------------------------------------- bodies


def test_chat_body_echoes_copilot_reasoning_and_keeps_function_tools() -> None:
    req = ir.ChatRequest(model="m", extra_from="anthropic-messages", messages=(
        ir.Message("user", (ir.Text("weather?"),)),
        ir.Message("assistant", (ir.Thinking("Think.", "opaque-1", ORIGIN), ir.Text("Let me check."),
                                 ir.ToolUse("toolu_1", "get_weather", '{"city":"Paris"}'))),
        ir.Message("user", (ir.ToolResult("toolu_1", (ir.Text("18C"),)),)),
        ir.Message("assistant", (ir.Thinking("foreign", "sig", "anthropic"), ir.Text("ok"))),
        ir.Message("user", (ir.Text("thanks"),))),
        tools=(ir.Tool("get_weather", parameters={"type": "object"}), ir.Tool("patch", kind="custom")),
        tool_choice=ir.ToolChoice("tool", "patch"))
    _, body, _ = build(req, "claude-sonnet-4")
    first, second = [m for m in body["messages"] if m["role"] == "assistant"]
    assert first["reasoning_text"] == "Think." and first["reasoning_opaque"] == "opaque-1"
    assert first["content"] == "Let me check."  # a string for Claude (10.10)
    assert "reasoning_text" not in second and "reasoning_opaque" not in second  # not minted by Copilot
    assert [t["function"]["name"] for t in body["tools"]] == ["get_weather"] and body["tool_choice"] == "auto"


def test_responses_body_is_stateless() -> None:
    req = codec("openai-responses").parse_request({"model": "m", "input": "hi", "store": True,
                                                    "service_tier": "priority", "tools": [
        {"type": "function", "name": "f", "parameters": {"type": "object"}}, {"type": "web_search"}]})
    url, body, _ = build(req, "gpt-5.1-codex")
    assert url.endswith("/responses") and body["store"] is False and "service_tier" not in body
    assert [t["type"] for t in body["tools"]] == ["function"] and body["model"] == "gpt-5.1-codex"


def test_messages_body_defaults_clamps_and_continues() -> None:
    req = codec("openai-chat").parse_request({"model": "m", "reasoning_effort": "high", "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "Sure, "}]})
    url, body, _ = build(req, "claude-sonnet-4.5")
    assert url.endswith("/v1/messages") and body["model"] == "claude-sonnet-4.5"
    assert body["max_tokens"] == 32000  # the model's max_output_tokens, not a small default
    assert body["thinking"]["budget_tokens"] == 16000  # high = 24576, clamped to the model's maximum
    last = body["messages"][-1]
    assert last["role"] == "user" and "Please continue." in str(last["content"])
    anth = codec("anthropic-messages").parse_request({"model": "m", "max_tokens": 2000, "inference_geo": "us",
        "thinking": {"type": "enabled", "budget_tokens": 500}, "messages": [{"role": "user", "content": "x"}],
        "tools": [{"name": "f", "input_schema": {"type": "object"}}, {"type": "web_search_20250305",
                                                                        "name": "web_search"}]})
    _, body, _ = build(anth, "claude-sonnet-4-5")
    assert body["thinking"]["budget_tokens"] == 1024 and "inference_geo" not in body
    assert [t["name"] for t in body["tools"]] == ["f"]
    tight = codec("anthropic-messages").parse_request({"model": "m", "max_tokens": 1000, "messages": [
        {"role": "user", "content": "x"}], "thinking": {"type": "enabled", "budget_tokens": 1024}})
    assert "thinking" not in build(tight, "claude-sonnet-4.5")[1]  # no room below max_tokens


# ---------------------------------------------------------------- credentials (1)


def test_device_flow_answers() -> None:
    code = auth.parse_device_code(200, b'{"device_code":"3584d83530557fdd1f46af8289938c8ef79f9dc5",'
                                  b'"user_code":"WDJB-MJHT","verification_uri":"https://github.com/login/device",'
                                  b'"expires_in":899,"interval":5}')
    assert (code.user_code, code.expires_in, code.interval) == ("WDJB-MJHT", 899, 5)
    form = auth.parse_device_code(200, b"device_code=d&user_code=AB-CD&verification_uri=https%3A%2F%2Fx")
    assert form.verification_uri == "https://x"
    with pytest.raises(TranslationError):
        auth.parse_device_code(404, b'{"error":"Not Found"}')
    call = auth.access_token_call("https://github.com", "dc")
    assert call.url == "https://github.com/login/oauth/access_token"
    assert orjson.loads(call.body)["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code"


@pytest.mark.parametrize("body,kind,interval", [
    (b'{"error":"authorization_pending","error_description":"The authorization request is still pending."}',
     "pending", None),
    (b'{"error":"slow_down","error_description":"Too many requests","interval":10}', "slow_down", 10.0),
    (b'{"error":"expired_token","error_description":"The device_code has expired."}', "expired", None),
    (b'{"error":"access_denied","error_description":"The authorization request was denied."}', "denied",
     None),
    (b'{"error":"incorrect_client_credentials"}', "error", None),
    (b'{"access_token":"ghu_16C7e42F292c6912E7710c838347Ae178B4a","token_type":"bearer","scope":""}', "token",
     None),
])
def test_access_token_polls(body: bytes, kind: str, interval: float | None) -> None:
    poll = auth.parse_access_token(200, body)
    assert poll.kind == kind and poll.interval == interval
    assert (poll.token is not None) == (kind == "token")


def test_slow_down_adds_five_seconds_for_good() -> None:
    assert auth.next_interval(5, auth.Poll("slow_down")) == 10
    assert auth.next_interval(5, auth.Poll("slow_down", interval=15)) == 15
    assert auth.next_interval(10, auth.Poll("slow_down", interval=10)) == 15
    assert auth.next_interval(5, auth.Poll("pending")) == 5


def test_token_envelope_and_refresh_deadline() -> None:
    env = {"chat_enabled": True, "endpoints": {"api": "https://api.individual.githubcopilot.com"},
           "expires_at": 1761230400, "refresh_in": 1500,
           "token": "tid=8c;exp=1761230400;proxy-ep=proxy.x.com:9f"}
    tok = auth.parse_copilot_token(200, orjson.dumps(env))
    assert tok.api == "https://api.individual.githubcopilot.com" and tok.refresh_in == 1500
    assert auth.refresh_deadline(tok, 1761228600) == 1761228600 + 1440  # refresh_in - 60 s comes first
    assert auth.refresh_deadline(tok, 1761230000) == 1761230340  # expires_at - 60 s comes first
    assert auth.refresh_deadline(tok, 1761240000) == 1761241440  # a skewed server clock is ignored
    env.pop("endpoints")
    assert auth.parse_copilot_token(200, orjson.dumps(env)).api == "https://api.x.com"  # from proxy-ep


@pytest.mark.parametrize("status,body,kind", [
    (401, b'{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}',
     "authentication"),
    (403, b'{"can_signup_for_limited":true,"error_details":{"url":"https://github.com/github-copilot/signup",'
          b'"message":"You don\'t have access to GitHub Copilot. Sign up as octocat.",'
          b'"title":"GitHub Copilot","notification_id":"no_copilot_access"},'
          b'"message":"You don\'t have access to GitHub Copilot."}',
     "permission"),
    (403, b'{"message":"API rate limit exceeded for user ID 1234567.","status":"403"}', "rate_limit"),
    (500, b"oops", "api_error"),
])
def test_token_exchange_errors(status: int, body: bytes, kind: str) -> None:
    with pytest.raises(TranslationError) as e:
        auth.parse_copilot_token(status, body)
    assert e.value.error.kind == kind
    if status == 403 and kind == "permission":
        assert "no_copilot_access" in e.value.error.message


def test_token_files() -> None:
    assert auth.token_from_file({"github_token": "ghu_a"}) == "ghu_a"
    assert auth.token_from_file({"github.com": {"user": "octocat", "oauth_token": "ghu_b"}}) == "ghu_b"
    assert auth.token_from_file({"github.com:Iv1.b507a08c87ecfe98": {"oauth_token": "ghu_c"}}) == "ghu_c"
    assert auth.token_from_file({"other": 1}) is None and auth.token_from_file([]) is None


# ---------------------------------------------------------------- errors (8)


@pytest.mark.parametrize("status,headers,body,kind,out_status,code", [
    (400, {}, b'{"error":{"message":"The requested model is not supported.","code":"model_not_supported",'
              b'"param":"model","type":"invalid_request_error"}}', "invalid_request", 400, "model_not_found"),
    (400, {}, b'{"error":{"message":"prompt token count of 138898 exceeds the limit of 64000",'
              b'"code":"model_max_prompt_tokens_exceeded"}}', "invalid_request", 400,
     "context_length_exceeded"),
    (401, {}, b"unauthorized: token expired", "authentication", 401, None),
    (402, {}, b'{"error":{"message":"You have no quota","code":"quota_exceeded"}}', "rate_limit", 429,
     "insufficient_quota"),
    (403, {}, b"access to this endpoint is forbidden", "permission", 403, None),
    (413, {}, b'{"error":{"message":"Prompt too large","type":"payload_too_large",'
              b'"code":"payload_too_large"}}',
     "request_too_large", 413, None),
    (429, {"retry-after": "42"}, b'{"error":{"message":"Sorry, you\'ve exceeded your rate limits.",'
                                 b'"code":"user_global_rate_limited:enterprise"}}', "rate_limit", 429, None),
    (466, {}, b"client version not supported", "invalid_request", 400, None),
    (503, {}, b'{"error":{"message":"upstream","code":"upstream_provider_rate_limit"}}', "overloaded", 503,
     None),
    (502, {}, b"<html><body>Unicorn!</body></html>", "api_error", 502, None),
    (400, {}, b'{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: '
              b'210000 tokens > 200000 maximum"}}', "invalid_request", 400, "context_length_exceeded"),
])
def test_capi_errors(status: int, headers: dict, body: bytes, kind: str, out_status: int,
                     code: str | None) -> None:
    err = CODEC.parse_error(status, headers, body)
    assert (err.kind, err.status, err.code) == (kind, out_status, code)
    assert err.message.startswith("GitHub Copilot: ")
    if headers:
        assert err.retry_after == "42"

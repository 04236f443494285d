"""Qwen's request side and errors (qwen.md A1, A2, A5, A6, A8): the completion body, the chat to
create, model suffixes, the flattened conversation, JSON side answers, error mapping."""

from __future__ import annotations

import base64

import orjson
import pytest

from translators import ir
from translators.errors import TranslationError
from translators.providers import jwt
from translators.providers.qwen import CODEC
from translators.providers.qwen import parse_models
from translators.providers.qwen import parse_new_chat
from translators.providers.qwen import parse_signin
from translators.providers.qwen import request

LIMITED = b'{"success": false, "request_id": "7b", "data": {"code": "RateLimited", "details": "x", "num": 4}}'
CTX = {"api_key": "eyJ.jwt.sig", "chat_id": "6c1e2f3a-4b5d", "base_url": "http://emu:1/", "fid": "f-1"}
IDS = ir.Ids(1754886401)


def user(text: str) -> ir.Message:
    return ir.Message("user", (ir.Text(text),))


def build(req: ir.ChatRequest, model: str = "qwen3-235b-a22b", **ctx: object) -> tuple[str, dict, dict]:
    call = CODEC.build(req, model, {**CTX, **ctx}, IDS)
    return call.url, orjson.loads(call.body), dict(call.headers)


def test_completion_request_as_the_note_recommends() -> None:
    url, body, headers = build(ir.ChatRequest(model="qwen/m", messages=(user("What is 17 * 19?"),)))
    assert url == "http://emu:1/api/v2/chat/completions?chat_id=6c1e2f3a-4b5d"
    assert headers["authorization"] == "Bearer eyJ.jwt.sig" and headers["accept"] == "text/event-stream"
    assert body["chat_id"] == "6c1e2f3a-4b5d" and body["stream"] is True
    assert body["incremental_output"] is True
    assert body["model"] == "qwen3-235b-a22b" and body["timestamp"] == 1754886401
    msg = body["messages"][0]
    assert len(body["messages"]) == 1 and msg["role"] == "user" and msg["content"] == "What is 17 * 19?"
    assert msg["fid"] == "f-1" and msg["models"] == ["qwen3-235b-a22b"] and msg["chat_type"] == "t2t"
    fc = msg["feature_config"]
    assert fc["output_schema"] == "phase" and fc["thinking_enabled"] is False and "thinking_budget" not in fc


def test_thinking_suffix_and_search() -> None:
    req = ir.ChatRequest(model="m", messages=(user("x"),))
    _, body, _ = build(req, model="qwen3-235b-a22b-thinking-search")
    msg = body["messages"][0]
    assert body["model"] == "qwen3-235b-a22b" and msg["chat_type"] == "search"
    fc = msg["feature_config"]
    assert fc["thinking_enabled"] is True and fc["thinking_budget"] == 81920


@pytest.mark.parametrize(("reasoning", "enabled", "budget"), [
    (ir.Reasoning(effort="low"), True, 2048), (ir.Reasoning(budget=200000, mode="enabled"), True, 81920),
    (ir.Reasoning(effort="none", mode="disabled"), False, None), (ir.Reasoning(mode="disabled"), False, None),
    (ir.Reasoning(summary="auto"), True, 81920)])
def test_reasoning_request(reasoning: ir.Reasoning, enabled: bool, budget: int | None) -> None:
    _, body, _ = build(ir.ChatRequest(model="m", messages=(user("x"),), reasoning=reasoning))
    fc = body["messages"][0]["feature_config"]
    assert fc["thinking_enabled"] is enabled and fc.get("thinking_budget") == budget


def test_conversation_is_flattened_with_roles() -> None:
    req = ir.ChatRequest(model="m", system=(ir.Text("Be brief."),), messages=(
        user("Write a haiku"), ir.Message("assistant", (ir.Thinking("hmm"), ir.Text("Soft rain"))),
        ir.Message("developer", (ir.Text("No rhymes."),)),
        ir.Message("user", (ir.Text("Now snow"), ir.Text("please")))))
    _, body, _ = build(req)
    assert body["messages"][0]["content"] == (
        "system: Be brief.\n\nuser: Write a haiku\n\nassistant: Soft rain\n\nsystem: No rhymes.\n\n"
        "user: Now snow\nplease")


def test_images_url_items_and_data_urls_omitted() -> None:
    req = ir.ChatRequest(model="m", messages=(ir.Message("user", (
        ir.Text("What is this?"), ir.Image(url="https://example.org/cat.png"),
        ir.Image(media_type="image/png", data="iVBORw0KGgo="))),))
    _, body, _ = build(req)
    assert body["messages"][0]["content"] == [{"type": "text", "text": "What is this?\n[image omitted]"},
                                              {"type": "image", "image": "https://example.org/cat.png"}]


def test_missing_token_and_chat() -> None:
    req = ir.ChatRequest(model="m", messages=(user("x"),))
    with pytest.raises(TranslationError) as e:
        CODEC.build(req, "m", {"chat_id": "c"}, IDS)
    assert e.value.error.kind == "authentication"
    with pytest.raises(TranslationError):
        CODEC.build(req, "m", {"api_key": "k"}, IDS)


def test_extra_headers_option() -> None:
    req = ir.ChatRequest(model="m", messages=(user("x"),))
    _, _, headers = build(req, headers={"bx-ua": "fp", "Cookie": "c=1"})
    assert headers["bx-ua"] == "fp" and headers["cookie"] == "c=1" and headers["source"] == "web"


def test_model_spec() -> None:
    assert request.model_spec("qwen/qwq-32b") == request.ModelSpec("qwq-32b")
    assert request.model_spec("qwen3-max-search-thinking") == request.ModelSpec("qwen3-max", True, True)
    assert request.model_spec("-thinking") == request.ModelSpec("-thinking")


def test_new_chat_call_and_answer() -> None:
    call = request.new_chat_call(CTX, "qwen/qwen3-235b-a22b-search", 1754886400123)
    assert call.url == "http://emu:1/api/v2/chats/new" and call.method == "POST"
    assert orjson.loads(call.body) == {"title": "New Chat", "models": ["qwen3-235b-a22b"],
                                       "chat_mode": "normal", "chat_type": "search",
                                       "timestamp": 1754886400123}
    ok = b'{"success":true,"request_id":"1f0c","data":{"id":"6c1e2f3a-4b5d-4e6f-8a7b-9c0d1e2f3a4b"}}'
    assert parse_new_chat(200, {}, ok) == "6c1e2f3a-4b5d-4e6f-8a7b-9c0d1e2f3a4b"
    limited = LIMITED
    with pytest.raises(TranslationError) as e:
        parse_new_chat(200, {}, limited)
    assert (e.value.error.status, e.value.error.retry_after) == (429, "14400")
    with pytest.raises(TranslationError) as e:
        parse_new_chat(429, {"retry-after": "7"}, limited)
    assert e.value.error.retry_after == "7"
    with pytest.raises(TranslationError):
        parse_new_chat(200, {}, b'{"success": true, "data": {}}')


def test_model_list_both_shapes() -> None:
    models = [{"id": "qwen3-235b-a22b", "info": {"meta": {"chat_type": ["t2t", "search"]}}},
              {"id": "video-only", "info": {"meta": {"chat_type": ["t2v"]}}}, {"id": "bare"},
              {"name": "no id"}]
    assert parse_models(orjson.dumps({"data": models})) == ["qwen3-235b-a22b", "bare"]
    wrapped = {"success": True, "data": {"data": models}}
    assert parse_models(orjson.dumps(wrapped)) == ["qwen3-235b-a22b", "bare"]
    assert CODEC.models({}) and "qwen3-235b-a22b" in CODEC.models({})
    call = request.models_call({"base_url": "http://emu:1"})
    assert call.method == "GET" and call.url == "http://emu:1/api/models"
    assert "authorization" not in call.headers


def test_signin_and_token_expiry() -> None:
    call = request.signin_call(CTX, "user@example.com", "secret")
    assert orjson.loads(call.body) == {"email": "user@example.com", "password":
                                       "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"}
    assert parse_signin(200, {}, b'{"id": "u", "token": "eyJ.new.jwt"}') == "eyJ.new.jwt"
    with pytest.raises(TranslationError):
        parse_signin(200, {}, b'{"id": "u"}')
    payload = base64.urlsafe_b64encode(b'{"id":"u","exp":1754887300,"iat":1754886400}').rstrip(b"=").decode()
    assert jwt.expiry(f"eyJhbGciOiJIUzI1NiJ9.{payload}.sig") == 1754887300
    assert jwt.expiry("not-a-jwt") is None and jwt.expiry("a.!!!.c") is None


@pytest.mark.parametrize(("status", "body", "kind", "code_status"), [
    (429, b'{"success": false, "data": {"code": "RateLimited", "details": "limit"}}', "rate_limit", 429),
    (401, b'{"success": false, "data": {"code": "Unauthorized", "details": "bad"}}', "authentication", 401),
    (200, b'{"success": false, "data": {"code": "Bad_Request", "details": "The chat is in progress!"}}',
     "overloaded", 503),
    (400, b'{"success": false, "data": {"code": "Bad_Request", "details": "Some internal error occurred"}}',
     "api_error", 502),
    (404, b'{"success": false, "data": {"code": "Not_Found", "details": "x not exist"}}', "not_found", 404),
    (500, b'{"success": false, "data": {"code": "Bad_Request", "details": "internal error"}}', "api_error",
     500),
    (503, b"<html>upstream down</html>", "overloaded", 503),
    (400, b'{"error": {"code": "ContextLengthExceeded", "details": "too long"}}', "invalid_request", 400)])
def test_parse_error(status: int, body: bytes, kind: str, code_status: int) -> None:
    err = CODEC.parse_error(status, {}, body)
    assert (err.kind, err.status) == (kind, code_status)


def test_context_overflow_keeps_its_code() -> None:
    err = CODEC.parse_error(400, {}, b'{"error": {"code": "ContextLengthExceeded", "details": "too long"}}')
    assert err.code == "context_length_exceeded" and "too long" in err.message


def test_in_progress_suggests_a_retry() -> None:
    err = CODEC.parse_error(200, {}, b'{"success": false, "data": {"code": "Bad_Request", '
                                     b'"details": "The chat is in progress!"}}')
    assert err.retry_after == "3"


@pytest.mark.parametrize(("body", "status", "kind"), [
    (LIMITED, 429, "rate_limit"),
    (b'<html><script>var aliyun_waf_aa = 1;</script></html>', 502, "api_error"),
    (b'{"requestInfo": {"id": "x"}}', 502, "api_error"),
    (b'{"unexpected": true}', 502, "api_error")])
def test_parse_response_errors_with_200(body: bytes, status: int, kind: str) -> None:
    with pytest.raises(TranslationError) as e:
        CODEC.parse_response(body)
    assert (e.value.error.status, e.value.error.kind) == (status, kind)


def test_parse_response_of_sse_under_another_content_type() -> None:
    body = (b'data: {"response.created":{"chat_id": "c", "response_id":"r"}} \n\n'
            b'data: {"choices": [{"delta": {"role": "assistant", "content": "hi", "phase": "answer", '
            b'"status": "typing"}}], "usage": {"input_tokens": 3, "output_tokens": 1}}\n\n'
            b'data: {"choices": [{"delta": {"content": "", "role": "assistant", "status": "finished", '
            b'"phase": "answer"}}]}\n\n')
    resp = CODEC.parse_response(body)
    assert resp.content == (ir.Text("hi"),) and resp.usage == ir.Usage(input=3, output=1)

"""ChatGPT web's pure half: the sentinel (requirements token, proof of work, chat-requirements answers;
chatgpt-web.md 3), the requests (2-4, 8) and the errors (9, 11), from the note's examples and from
vectors derived from the algorithms as the note states them."""

from __future__ import annotations

import base64
import json
import re
import time

import orjson
import pytest

from translators import ir
from translators.errors import TranslationError
from translators.providers import jwt
from translators.providers.chatgpt_web import CODEC
from translators.providers.chatgpt_web import check
from translators.providers.chatgpt_web import errors
from translators.providers.chatgpt_web import request
from translators.providers.chatgpt_web import sentinel
from translators.transforms.prompt_tools import apply_to_request

FP = sentinel.Fingerprint(
    date="Mon Jun 22 2026 10:01:02 GMT-0700 (Pacific Daylight Time)", user_agent=request.USER_AGENT,
    script="https://cdn.oaistatic.com/assets/abc.js", build="c/abc123/_", perf_now=8123.4,
    time_origin=1781867830000.5, device_id="5d8c2c9e-7f0a-4a53-9b4e-2f6f1c0d8e21")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SENTINEL = {"token": "gAAAAABo...final", "prepare_token": "gAAAAABo...prep", "proof": "gAAAAABWzUwMDAs~S"}
CTX = {"api_key": "eyJhbGciOiJSUzI1NiI.tok.sig", "base_url": "https://chatgpt.com", "device_id": "dev-1",
       "session_id": "sess-1", "sentinel": SENTINEL, "conduit_token": "eyJconduit"}


def user(text: str) -> ir.Message:
    return ir.Message("user", (ir.Text(text),))


def decoded(token: str, prefix: str) -> list:
    assert token.startswith(prefix)
    return json.loads(base64.b64decode(token[len(prefix):].removesuffix(sentinel.SUFFIX)))


# ---- proof of work (3.5) ----


def test_fnv_hash_is_fnv1a_then_murmur3_finalizer() -> None:
    """Published vectors: FNV-1a 32 of "", "a", "foobar"; murmur3's fmix32(1) = 0x514e28b7."""
    assert sentinel.fmix32(1) == 0x514E28B7 and sentinel.fmix32(0) == 0
    for text, fnv1a in (("", 0x811C9DC5), ("a", 0xE40C292C), ("foobar", 0xBF9CF968)):
        assert sentinel.fnv_hash(text) == "%08x" % sentinel.fmix32(fnv1a)
    assert re.fullmatch(r"[0-9a-f]{8}", sentinel.fnv_hash("0.8174938215374416gAAAA"))


def test_sha3_hash_is_sha3_512_hex() -> None:
    assert sentinel.sha3_hash("").startswith("a69f73cca23a9ac5c8b567dc185a756e97c98216")


def test_requirements_token_is_the_fingerprint_array() -> None:
    p = sentinel.requirements_token(FP, 1, 3)
    config = decoded(p, "gAAAAAC")
    assert p.endswith("~S") and len(config) == 25
    assert config[:5] == [3000, FP.date, 4294967296, 1, FP.user_agent]
    assert config[5:10] == [FP.script, "c/abc123/_", "en-US", "en-US,en", 3]
    assert config[13:18] == [8123.4, FP.device_id, "", 16, 1781867830000.5] and config[18:] == [0] * 7
    assert not sentinel.requirements_token(FP, 1, 3, suffix=False).endswith("~S")


@pytest.mark.parametrize("hash_name,seed,difficulty", [
    ("fnv", "0.8174938215374416", "05a31e"),  # 3.2's example
    ("sha3", "0.4242", "0fffff"),  # 3.3's example, the legacy hash
])
def test_solve_pow_finds_the_first_answer(hash_name: str, seed: str, difficulty: str) -> None:
    answer = sentinel.solve_pow(seed, difficulty, FP, hash_name=hash_name)
    assert answer == sentinel.solve_pow(seed, difficulty, FP, hash_name=hash_name)  # deterministic
    assert sentinel.verify_pow(answer, seed, difficulty, hash_name) and answer.endswith("~S")
    config = decoded(answer, "gAAAAAB")
    attempt = config[3]
    assert config[9] == attempt // 10 and config[:3] == [3000, FP.date, 4294967296]
    hasher = sentinel.HASH_FUNCTIONS[hash_name]
    for earlier in range(attempt):  # no earlier attempt would have done
        cfg = sentinel.config(FP, earlier, earlier // 10)
        encoded = base64.b64encode(json.dumps(cfg, ensure_ascii=False, separators=(",", ":")).encode()).decode()
        assert hasher(seed + encoded)[: len(difficulty)] > difficulty
    assert not sentinel.verify_pow(answer, seed + "x", "000000", hash_name)


def test_too_hard_difficulty_is_refused_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(TranslationError) as e:
        sentinel.solve_pow("0.1", "000000", FP)  # 16.7 million attempts expected
    assert time.monotonic() - started < 0.5
    assert e.value.error.kind == "overloaded" and e.value.error.status == 503
    assert "pow_max_attempts" in e.value.error.message and e.value.error.retry_after
    assert sentinel.expected_attempts("0fffff") == 16 and sentinel.expected_attempts("ffffff") == 1
    sentinel.check_difficulty("00ffff", 1024)  # 256 expected: within a quarter of the limit
    with pytest.raises(TranslationError):
        sentinel.check_difficulty("00ffff", 1000)


@pytest.mark.parametrize("difficulty", ["", "zz12", "0" * 17])
def test_unreadable_difficulty(difficulty: str) -> None:
    with pytest.raises(TranslationError) as e:
        sentinel.solve_pow("0.1", difficulty, FP)
    assert e.value.error.status == 502


def test_search_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sentinel.HASH_FUNCTIONS, "fnv", lambda text: "ffffffff")
    with pytest.raises(TranslationError) as e:
        sentinel.solve_pow("0.1", "0fffff", FP, max_attempts=200)
    assert "200 attempts" in e.value.error.message
    with pytest.raises(TranslationError):
        sentinel.solve_pow("0.1", "0fffff", FP, hash_name="md5")


def test_js_date() -> None:
    assert sentinel.js_date(0) == "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
    assert sentinel.js_date(1782118862).startswith("Mon Jun 22 2026 ")


# ---- chat-requirements answers (3.2, 3.3) ----


def test_parse_two_step_prepare_example() -> None:
    body = ('{"persona":"chatgpt-paid","prepare_token":"gAAAAABo...prep","token":"gAAAAABo...req","arkose":'
            '{"required":false,"dx":null},"turnstile":{"required":true,"dx":"PBp5bWVTFhMVEBYT..."},"proofofwork":'
            '{"required":true,"seed":"0.8174938215374416","difficulty":"05a31e"},"so":{"required":false},'
            '"force_login":false}')
    reqs = sentinel.parse_requirements(orjson.loads(body))
    assert reqs == sentinel.Requirements("gAAAAABo...req", "gAAAAABo...prep", "0.8174938215374416", "05a31e",
                                         turnstile_required=True, persona="chatgpt-paid")
    assert reqs.pow_required
    assert sentinel.parse_finalize({"persona": "chatgpt-paid", "token": "gAAAAABo...final",
                                    "expire_after": 540}) == "gAAAAABo...final"


def test_parse_legacy_requirements_without_pow() -> None:
    reqs = sentinel.parse_requirements({"persona": "chatgpt-freeaccount", "token": "gAAAAABn...",
                                        "proofofwork": {"required": False}})
    assert reqs.token == "gAAAAABn..." and not reqs.pow_required and reqs.prepare_token is None


@pytest.mark.parametrize("answer,kind", [
    ({"token": "t", "force_login": True}, "authentication"),
    ({"token": "t", "arkose": {"required": True, "dx": "x"}}, "permission"),
    ({"token": "t", "proofofwork": {"required": True}}, "api_error"),
    (["not", "an", "object"], "api_error"),
])
def test_requirements_a_bridge_cannot_meet(answer: object, kind: str) -> None:
    with pytest.raises(TranslationError) as e:
        sentinel.parse_requirements(answer)
    assert e.value.error.kind == kind
    with pytest.raises(TranslationError):
        sentinel.parse_finalize({"persona": "x"})


# ---- requests (2-4) ----


def test_build_f_conversation_as_in_note_4() -> None:
    req = ir.ChatRequest(model="chatgpt/auto", system=(ir.Text("You are a terse assistant."),),
                         messages=(user("Name three prime numbers."),), stream=True)
    call = CODEC.build(req, "auto", CTX, ir.Ids(1000, "a"))
    assert call.url == "https://chatgpt.com/backend-api/f/conversation" and call.method == "POST" and call.streams
    h = call.headers
    assert h["accept"] == "text/event-stream" and h["authorization"] == "Bearer " + CTX["api_key"]
    assert h["openai-sentinel-chat-requirements-token"] == "gAAAAABo...final"
    assert h["openai-sentinel-chat-requirements-prepare-token"] == "gAAAAABo...prep"
    assert h["openai-sentinel-proof-token"] == SENTINEL["proof"] and "openai-sentinel-turnstile-token" not in h
    assert h["x-conduit-token"] == "eyJconduit" and h["oai-telemetry"] == "[1,null]" and h["oai-echo-logs"]
    assert h["oai-device-id"] == "dev-1" and h["cookie"] == "oai-did=dev-1" and h["oai-session-id"] == "sess-1"
    assert UUID.match(h["x-oai-turn-trace-id"]) and h["origin"] == "https://chatgpt.com"
    body = json.loads(call.body)
    assert [(m["author"]["role"], m["content"]) for m in body["messages"]] == [
        ("system", {"content_type": "text", "parts": ["You are a terse assistant."]}),
        ("user", {"content_type": "text", "parts": ["Name three prime numbers."]})]
    ids = [m["id"] for m in body["messages"]] + [body["parent_message_id"], body["websocket_request_id"]]
    assert all(UUID.match(i) for i in ids) and len(set(ids)) == len(ids)
    assert "conversation_id" not in body
    assert {k: body[k] for k in ("action", "model", "client_prepare_state", "supported_encodings", "thinking_effort",
                                 "history_and_training_disabled", "force_use_sse", "system_hints")} == {
        "action": "next", "model": "auto", "client_prepare_state": "success", "supported_encodings": ["v1"],
        "thinking_effort": "standard", "history_and_training_disabled": True, "force_use_sse": True,
        "system_hints": []}
    assert body["conversation_mode"] == {"kind": "primary_assistant"}


def test_build_legacy_conversation_and_options() -> None:
    ctx = {**CTX, "conversation": "legacy", "delta_encoding": False, "temporary": False, "account_id": "ws-1",
           "timezone": "Asia/Shanghai", "timezone_offset_min": "-480", "headers": {"X-Extra": "1"},
           "sentinel": {"token": "gAAAAABn..."}}
    call = CODEC.build(ir.ChatRequest(model="m", messages=(user("hi"),)), "gpt-4o", ctx, ir.Ids(1, "b"))
    body, h = json.loads(call.body), call.headers
    assert call.url.endswith("/backend-api/conversation") and "x-conduit-token" not in h and "oai-echo-logs" not in h
    assert h["chatgpt-account-id"] == "ws-1" and h["x-extra"] == "1"
    assert "openai-sentinel-chat-requirements-prepare-token" not in h
    assert body["supported_encodings"] == [] and body["history_and_training_disabled"] is False
    assert "client_prepare_state" not in body and body["model"] == "gpt-4o"
    assert (body["timezone"], body["timezone_offset_min"]) == ("Asia/Shanghai", -480)


@pytest.mark.parametrize("reasoning,effort,hints", [
    (ir.Reasoning(effort="high"), "max", ["reason"]), (ir.Reasoning(effort="medium"), "extended", ["reason"]),
    (ir.Reasoning(effort="low"), "standard", ["reason"]),
    (ir.Reasoning(budget=24576, mode="enabled"), "max", ["reason"]),
    (ir.Reasoning(effort="none"), "standard", []), (ir.Reasoning(mode="disabled"), "standard", []),
])
def test_thinking_effort_only_standard_extended_max(reasoning: ir.Reasoning, effort: str, hints: list) -> None:
    req = ir.ChatRequest(model="m", messages=(user("hi"),), reasoning=reasoning)
    body = json.loads(CODEC.build(req, "auto", CTX, ir.Ids(1)).body)
    assert body["thinking_effort"] == effort and body["system_hints"] == hints
    assert json.loads(CODEC.build(req, "gpt-5-thinking", CTX, ir.Ids(1)).body)["system_hints"] == []


def test_history_roles_tool_traffic_and_images() -> None:
    tools = (ir.Tool("get_weather", "Weather.", {"type": "object", "properties": {"city": {"type": "string"}}}),)
    req = apply_to_request(ir.ChatRequest(model="m", tools=tools, messages=(
        ir.Message("developer", (ir.Text("Be brief."),)),
        ir.Message("user", (ir.Text("Weather?"), ir.Image(media_type="image/png", data="iVBOR"))),
        ir.Message("assistant", (ir.Thinking("hidden"), ir.ToolUse("call_1", "get_weather", '{"city":"Paris"}'))),
        ir.Message("user", (ir.ToolResult("call_1", (ir.Text("Sunny"),)),)))))
    body = json.loads(CODEC.build(req, "auto", CTX, ir.Ids(1)).body)
    roles = [m["author"]["role"] for m in body["messages"]]
    texts = [m["content"]["parts"][0] for m in body["messages"]]
    assert roles == ["system", "system", "user", "assistant", "user"]
    assert "# Tools" in texts[0] and texts[1] == "Be brief." and texts[2] == "Weather?\n[image omitted]"
    assert texts[3].startswith("<Function_bridge_Start/>\n<function_calls>") and "hidden" not in texts[3]
    assert texts[4] == '<tool_result id="call_1" name="get_weather">\nSunny\n</tool_result>'


def test_build_needs_a_user_message_and_sentinel_tokens() -> None:
    with pytest.raises(TranslationError) as e:
        CODEC.build(ir.ChatRequest(model="m", messages=(ir.Message("assistant", (ir.Text("x"),)),)), "auto", CTX,
                    ir.Ids(1))
    assert e.value.error.status == 400
    with pytest.raises(TranslationError):
        CODEC.build(ir.ChatRequest(model="m", messages=(user("hi"),)), "auto", {**CTX, "sentinel": {}}, ir.Ids(1))
    with pytest.raises(TranslationError) as e:
        request.headers({})
    assert e.value.error.kind == "authentication"


def test_sentinel_calls() -> None:
    call = request.requirements_call(CTX, "gAAAAAC...~S")
    assert call.url.endswith("/backend-api/sentinel/chat-requirements/prepare") and not call.streams
    assert json.loads(call.body) == {"p": "gAAAAAC...~S"}
    assert call.headers["x-openai-target-path"] == call.headers["x-openai-target-route"] == \
        "/backend-api/sentinel/chat-requirements/prepare"
    assert request.requirements_call(CTX, "p", two_step=False).url.endswith("/sentinel/chat-requirements")
    fin = request.finalize_call(CTX, "prep", "proof")
    assert json.loads(fin.body) == {"prepare_token": "prep", "proofofwork": "proof"}
    assert json.loads(request.finalize_call(CTX, "prep", None, "ts").body) == {"prepare_token": "prep",
                                                                             "turnstile": "ts"}


def test_conversation_prepare_calls() -> None:
    req = ir.ChatRequest(model="chatgpt/auto", messages=(user("ping"),))
    first = request.prepare_call(req, req.model, CTX, "none", None, "q-1")
    body = json.loads(first.body)
    assert first.url.endswith("/backend-api/f/conversation/prepare") and "x-conduit-token" not in first.headers
    assert body["client_prepare_state"] == "none" and "partial_query" not in body and body["model"] == "auto"
    assert body["parent_message_id"] == "client-created-root"
    assert first.headers["openai-sentinel-chat-requirements-token"] == "gAAAAABo...final"
    sent = request.prepare_call(req, req.model, CTX, "sent", "c-1", "q-1")
    assert sent.headers["x-conduit-token"] == "c-1"
    assert json.loads(sent.body)["partial_query"] == {"id": "q-1", "author": {"role": "user"},
                                                      "content": {"content_type": "text", "parts": ["ping"]}}
    assert request.parse_conduit({"conduit_token": "eyJ"}) == "eyJ"
    with pytest.raises(TranslationError):
        request.parse_conduit({})


def test_homepage_models_and_token_helpers() -> None:
    html = (b'<html data-build="c/abc123/_"><script src="https://cdn.oaistatic.com/a.js"></script>'
            b"<script src='https://cdn.oaistatic.com/b.js'></script></html>")
    assert request.parse_home(html) == request.HomeInfo(("https://cdn.oaistatic.com/a.js",
                                                         "https://cdn.oaistatic.com/b.js"), "c/abc123/_")
    assert request.parse_home(b"<html>no build</html>") == request.HomeInfo()
    models = orjson.loads(
        '{"models":[{"slug":"auto","max_tokens":32767,"title":"Auto"},{"slug":"gpt-5-thinking","max_tokens":196608},'
        '{"slug":"auto"}],"default_model_slug":"auto"}')
    assert request.parse_models(models) == ["auto", "gpt-5-thinking"]
    assert request.models_call(CTX).url == "https://chatgpt.com/backend-api/models?history_and_training_disabled=false"
    payload = base64.urlsafe_b64encode(b'{"exp":1700000000}').rstrip(b"=").decode()
    assert jwt.expiry(f"eyJhbGciOiJSUzI1NiI.{payload}.sig") == 1700000000
    assert jwt.expiry("not-a-jwt") is None
    ids = ir.Ids(1, "x")
    assert UUID.match(request.new_uuid(ids)) and request.new_uuid(ids) != request.new_uuid(ids)


# ---- errors (9, 11) ----


def test_401_token_expired_example() -> None:
    body = (b'{"detail":{"message":"Your authentication token has expired. Please try signing in again.",'
            b'"type":"invalid_request_error","param":null,"code":"token_expired"}}')
    err = CODEC.parse_error(401, {}, body)
    assert err.kind == "authentication" and err.status == 401
    assert "token has expired" in err.message and "token_expired" in err.message
    assert CODEC.parse_error(401, {}, b'{"detail":"Unauthorized"}').message == "ChatGPT: Unauthorized"


def test_403_cloudflare_and_unusual_activity() -> None:
    page = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>"
    err = CODEC.parse_error(403, {}, page)
    assert err.kind == "permission" and err.code == "cloudflare_challenge" and "proxy" in err.message
    err = CODEC.parse_error(403, {}, b'{"detail":"Unusual activity has been detected from your device."}')
    assert err.kind == "permission" and "Unusual activity" in err.message


@pytest.mark.parametrize("headers,body,retry", [
    ({"retry-after": "30"}, {"detail": "You've reached our limit of messages per hour."}, "30"),
    ({}, {"detail": "You've reached our limit of messages per hour."}, "3600"),
    ({}, {"detail": {"message": "Too many requests", "reset_after": 120}}, "120"),
    ({}, {"detail": {"limits": [{"resets_after": "1h30m"}]}}, "5400"),
    ({}, {"detail": {"retry_after": "45s", "reset_at": 99}}, "45"),
    ({"date": "Mon, 22 Jun 2026 10:00:00 GMT"}, {"detail": {"restore_at": 1782123000}}, "600"),
    ({"date": "Mon, 22 Jun 2026 10:00:00 GMT"}, {"detail": {"reset_at": "2026-06-22T10:05:00Z"}}, "300"),
    ({"date": "Mon, 22 Jun 2026 10:00:00 GMT", "retry-after": "Mon, 22 Jun 2026 10:01:00 GMT"}, {}, "60"),
    ({}, {"detail": {"restore_at": 1782122400}}, "3600"),  # a unix time and no Date header to measure it
])
def test_429_cooldown_from_header_or_body(headers: dict, body: dict, retry: str) -> None:
    err = CODEC.parse_error(429, headers, orjson.dumps(body))
    assert err.kind == "rate_limit" and err.status == 429 and err.retry_after == retry


def test_other_statuses() -> None:
    assert CODEC.parse_error(404, {}, b'{"detail":"Conversation not found"}').kind == "not_found"
    assert CODEC.parse_error(413, {}, b'{"detail":"Message too long"}').code == "context_length_exceeded"
    err = CODEC.parse_error(422, {}, b'{"detail":"Invalid conversation body"}')
    assert (err.kind, err.status) == ("invalid_request", 422)
    err = CODEC.parse_error(422, {}, b'{"detail":[{"loc":["body"],"msg":"field required","type":"missing"}]}')
    assert "field required" in err.message
    err = CODEC.parse_error(503, {}, b"<html>upstream connect error</html>")
    assert (err.kind, err.status) == ("api_error", 503) and "upstream connect error" in err.message


def test_error_with_status_200() -> None:
    body = b'{"detail":{"message":"Your authentication token has expired.","code":"token_expired"}}'
    with pytest.raises(TranslationError) as e:
        CODEC.parse_response(body)
    assert e.value.error.kind == "authentication"
    with pytest.raises(TranslationError) as e:
        CODEC.parse_response(b'{"detail":"Something went wrong"}')
    assert e.value.error.status == 502
    with pytest.raises(TranslationError):
        CODEC.parse_response(b"<html></html>")
    sse = b'data: {"message": {"id": "m", "author": {"role": "assistant"}, "content": {"content_type": "text", ' \
          b'"parts": ["hi"]}, "status": "finished_successfully", "end_turn": true}}\n\ndata: [DONE]\n\n'
    assert CODEC.parse_response(sse).content == (ir.Text("hi"),)


def test_side_call_check() -> None:
    assert check(200, {}, b'{"conduit_token":"x"}', "ChatGPT conversation prepare") == {"conduit_token": "x"}
    with pytest.raises(TranslationError) as e:
        check(500, {}, b'{"detail":"boom"}', "ChatGPT sentinel prepare")
    assert e.value.error.message.startswith("ChatGPT sentinel prepare failed (HTTP 500)")
    with pytest.raises(TranslationError) as e:
        check(429, {"retry-after": "7"}, b'{"detail":"slow down"}', "ChatGPT sentinel prepare")
    assert (e.value.error.status, e.value.error.retry_after) == (429, "7")
    with pytest.raises(TranslationError) as e:
        check(200, {}, b"<html>", "model list")
    assert e.value.error.status == 502
    assert errors.from_body(b'{"message": "x", "detail": "y"}') is None

"""Bad input over real HTTP: each gets a clear 4xx in the client's dialect, and the bridge keeps
serving. Then a fuzzed HTTP surface: whatever arrives, the answer is JSON in the dialect, never a
traceback, mitmproxy's HTML page or a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.harness import CLIENT_KEY

PATHS = {"chat": "/v1/chat/completions", "responses": "/v1/responses", "messages": "/v1/messages"}
AUTH = {"authorization": f"Bearer {CLIENT_KEY}", "content-type": "application/json"}
USER = [{"role": "user", "content": "hi"}]


def post(bridge: Any, dialect: str, content: bytes) -> httpx.Response:
    return httpx.post(bridge.url + PATHS[dialect], content=content, headers=AUTH, timeout=30)


def assert_dialect_error(dialect: str, r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    err = body["error"]
    if dialect == "messages":
        assert body["type"] == "error"
    assert err["message"] and err["type"]


CASES = [
    ("chat", b'{"model": "gpt-4.1", "messages": [', 400),                          # malformed JSON
    ("messages", b'{"model": "x", "max_tokens": 5, "messages": "\xff\xfe"}', 400),  # invalid UTF-8
    ("chat", json.dumps({"model": "gpt-4.1", "messages": "hello"}).encode(), 400),  # wrong type
    ("responses", json.dumps({"input": "hi"}).encode(), 400),                      # missing model
    ("messages", json.dumps({"model": "chat/gpt-4.1", "messages": USER}).encode(), 400),  # missing max_tokens
    ("chat", json.dumps({"model": "gpt-4.1", "messages": USER, "max_tokens": -5}).encode(), 400),  # absurd
    ("chat", json.dumps({"model": "gpt-4.1", "messages": USER, "temperature": "hot"}).encode(), 400),
    ("messages", json.dumps({"model": "chat/x", "max_tokens": 10, "messages": [
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_nope", "content": "r"}]}]}
    ).encode(), 400),                                                               # tool result answering nothing
    ("chat", json.dumps([1, 2, 3]).encode(), 400),                                  # not an object
    ("chat", b"", 400),                                                             # empty body
]


@pytest.mark.parametrize("dialect,content,status", CASES, ids=[f"{d}-{i}" for i, (d, _, _) in enumerate(CASES)])
def test_bad_input_is_a_dialect_4xx(bridge: Any, dialect: str, content: bytes, status: int) -> None:
    assert_dialect_error(dialect, post(bridge, dialect, content), status)


def test_unknown_model_without_default_is_404(bridge: Any) -> None:
    r = httpx.get(bridge.url + "/v1/models/nope/none", headers=AUTH)
    assert_dialect_error("chat", r, 404)


def test_oversized_body_is_413(bridge: Any) -> None:
    big = json.dumps({"model": "gpt-4.1", "messages": [{"role": "user", "content": "x" * (33 * 1024 * 1024)}]})
    assert_dialect_error("chat", post(bridge, "chat", big.encode()), 413)


def test_unknown_endpoint_is_404_json(bridge: Any) -> None:
    r = httpx.get(bridge.url + "/nothing/here", headers=AUTH)
    assert r.status_code == 404 and r.json()["error"]["message"]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(dialect=st.sampled_from(list(PATHS)), content=st.one_of(
    st.binary(max_size=300),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                 lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                     st.sampled_from(["model", "messages", "input", "max_tokens", "stream", "tools", "role",
                                      "content", "type", "text", "system", "tool_choice"]), inner, max_size=6),
                 max_leaves=20).map(lambda v: json.dumps(v).encode())))
def test_fuzzed_http_surface(bridge: Any, dialect: str, content: bytes) -> None:
    r = post(bridge, dialect, content)
    assert r.status_code < 500 or r.status_code in (502, 503), r.text
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/json" and "error" in r.json()


def test_still_serving(openai_client: Any) -> None:
    assert openai_client.chat.completions.create(model="gpt-4.1", messages=USER).choices[0].message.content

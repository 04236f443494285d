"""Fuzzing the translators: whatever a client or an upstream sends, a codec either translates it or
raises TranslationError, never anything else (any other exception is a bug the shell can only
answer with a 500)."""

from __future__ import annotations

import os
from typing import Any

import orjson
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.captures import requests_for
from translators import ir
from translators.errors import TranslationError
from translators.pipeline import StreamPipeline
from translators.registry import MODULES
from translators.registry import codec

DIALECTS = list(MODULES)
SUFFIX = {"openai-chat": "/chat/completions", "openai-responses": "/responses", "anthropic-messages": "/messages"}
SEEDS = {d: [b for _, b in requests_for(SUFFIX[d])][:6] for d in DIALECTS}
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25)


def mutate(body: Any, path: list[int], value: Any) -> Any:
    """Replace one node of a real request (chosen by `path`) with a random JSON value."""
    if not path or not isinstance(body, (dict, list)) or not body:
        return value
    keys = list(body) if isinstance(body, dict) else list(range(len(body)))
    key = keys[path[0] % len(keys)]
    copy = dict(body) if isinstance(body, dict) else list(body)
    copy[key] = mutate(body[key], path[1:], value)
    return copy


def translate(dialect: str, body: Any) -> None:
    try:
        req = codec(dialect).parse_request(body)
    except TranslationError:
        return
    for target in DIALECTS:
        try:
            orjson.dumps(codec(target).render_request(req, "m"))
        except TranslationError:
            pass


@FUZZ
@given(st.sampled_from(DIALECTS), st.data())
def test_mutated_real_requests(dialect: str, data: st.DataObject) -> None:
    seed = data.draw(st.sampled_from(SEEDS[dialect]))
    path = data.draw(st.lists(st.integers(0, 50), max_size=6))
    translate(dialect, mutate(seed, path, data.draw(json_values)))


@FUZZ
@given(st.sampled_from(DIALECTS), json_values)
def test_random_json_requests(dialect: str, body: Any) -> None:
    translate(dialect, body if isinstance(body, dict) else {"model": "m", "messages": body})


@FUZZ
@given(st.sampled_from(DIALECTS), st.sampled_from(DIALECTS), st.binary(max_size=400), st.lists(
    st.sampled_from([b"data: ", b"event: ", b"\n", b"\n\n", b"{", b"}", b'"type":', b"[DONE]", b'"choices":[',
                     b'{"delta":{"content":"x"}}', b'"message_start"', b'"content_block_delta"', b"\r\n"]),
    max_size=40))
def test_stream_pipelines_survive_garbage(up: str, client: str, raw: bytes, tokens: list[bytes]) -> None:
    """Any upstream bytes: the pipeline emits client frames and always ends properly."""
    req = ir.ChatRequest(model="m", messages=(ir.Message("user", (ir.Text("hi"),)),), stream=True, want_usage=True)
    pipe = StreamPipeline(codec(up).stream_decoder(req), codec(client).stream_encoder(req, ir.Ids(1)))
    data = b"".join(tokens) + raw
    out: list[bytes] = []
    for i in range(0, len(data), 13):
        out += pipe.feed(data[i:i + 13])
    out += pipe.flush()
    assert out and b"" not in out

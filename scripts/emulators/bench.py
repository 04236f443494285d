"""A minimal, fast OpenAI Chat Completions upstream for benchmarks.

POST /v1/chat/completions (also /chat/completions): a fixed small completion, or a stream
of N content chunks (N = the request's max_tokens / max_completion_tokens, default 20),
valid OpenAI wire format, built from pre-encoded bytes so that the proxy in front of it,
not the emulator, is what a benchmark measures. No script, no request log.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from .httpserver import Request
from .httpserver import Response
from .openai_common import OpenAIProtocol
from .wire import SSE_DONE
from .wire import SSE_HEADERS
from .wire import dumps
from .wire import now

DEFAULT_CHUNKS = 20
MAX_CHUNKS = 100_000
TEXT = "Hello from the bench upstream."
TOKEN = "tok "
_ids = itertools.count(1)


class Bench(OpenAIProtocol):
    name = "bench"
    log_requests = False

    def __init__(self, key: str) -> None:
        super().__init__(key)
        for path in ("/v1/chat/completions", "/chat/completions"):
            self.routes[("POST", path)] = self.completions

    def completions(self, req: Request) -> Response:
        try:
            body: Any = json.loads(req.body)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("model"):
            return self.error(400, "you must provide a model parameter")
        cid = b"chatcmpl-bench%d" % next(_ids)
        model = dumps(str(body["model"]))
        prompt_tokens = len(req.body) // 4 + 1
        if not body.get("stream"):
            return Response(200, {"content-type": "application/json"}, _completion(cid, model, prompt_tokens))
        n = body.get("max_tokens") or body.get("max_completion_tokens") or DEFAULT_CHUNKS
        n = max(1, min(int(n), MAX_CHUNKS))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return Response(200, dict(SSE_HEADERS), _chunks(cid, model, n, prompt_tokens, include_usage))


def _completion(cid: bytes, model: bytes, prompt_tokens: int) -> bytes:
    completion_tokens = len(TEXT) // 4 + 1
    return (
        b'{"id":"%s","object":"chat.completion","created":%d,"model":%s,"choices":[{"index":0,'
        b'"message":{"role":"assistant","content":%s,"refusal":null,"annotations":[]},'
        b'"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":%d,'
        b'"completion_tokens":%d,"total_tokens":%d}}'
        % (
            cid,
            now(),
            model,
            dumps(TEXT),
            prompt_tokens,
            completion_tokens,
            prompt_tokens + completion_tokens,
        )
    )


def _chunks(cid: bytes, model: bytes, n: int, prompt_tokens: int, include_usage: bool) -> list[bytes]:
    usage_null = b',"usage":null' if include_usage else b""
    head = b'data: {"id":"%s","object":"chat.completion.chunk","created":%d,"model":%s,"choices":' % (
        cid,
        now(),
        model,
    )

    def chunk(delta: bytes, finish: bytes = b"null") -> bytes:
        return (
            head
            + b'[{"index":0,"delta":'
            + delta
            + b',"logprobs":null,"finish_reason":'
            + finish
            + b"}]"
            + usage_null
            + b"}\n\n"
        )

    token = chunk(b'{"content":%s}' % dumps(TOKEN))
    out = [
        chunk(b'{"role":"assistant","content":"","refusal":null}'),
        *([token] * n),
        chunk(b"{}", b'"stop"'),
    ]
    if include_usage:
        out.append(
            head
            + b'[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}\n\n'
            % (prompt_tokens, n, prompt_tokens + n)
        )
    out.append(SSE_DONE)
    return out

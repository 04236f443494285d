"""The "LLM stream" content view on real captured bodies: upstream streams of the three dialects
(tests/fixtures), cut at every byte as a capped capture may cut them, and the real client requests
in ../shared/captures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mitmproxy.contentviews import Metadata
from mitmproxy.test import tflow
from mitmproxy.test import tutils

from addons import contentview_render
from addons.contentview import LLMStreamView
from addons.usage_read import usage_of
from tests.captures import requests_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# (fixture, dialect, what a reader must see: text, tool calls with their arguments, usage)
STREAMS = [
    ("anthropic_messages/text_tool.sse", "anthropic-messages",
     ["Let me check the weather.", '→ tool call get_weather [toolu_01T1x1fJ34qAmk2tNTrN7Up6] {"location": "Paris"}',
      "stop: tool_use", "tokens: input 472 · output 89"]),
    ("anthropic_messages/thinking.sse", "anthropic-messages",
     ["(thinking) Let me work out 27 * 453.", "27 x 453 = 12,231", "tokens: input 120 · output 78"]),
    ("openai_chat/parallel_tools.sse", "openai-chat",
     ['→ tool call get_weather [call_7Qm1] {"city":"Paris"}', '→ tool call get_time [call_8Rn2] {"tz":"Europe/Paris"}',
      "stop: tool_use"]),
    ("openai_chat/text_usage.sse", "openai-chat", ["[assistant] Hello there!", "tokens: input 12 · output 3"]),
    ("openai_responses/reasoning_call.sse", "openai-responses",
     ['→ tool call shell [call_Ab12] {"command":["ls"]}', "reasoning 22"]),
    ("openai_responses/text.sse", "openai-responses", ["[assistant] Hello there!", "tokens: input 12 · output 3"]),
]


@pytest.mark.parametrize(("name", "dialect", "expected"), STREAMS, ids=[s[0] for s in STREAMS])
def test_stream_reads_as_messages(name: str, dialect: str, expected: list[str]) -> None:
    data = (FIXTURES / name).read_bytes()
    text = contentview_render.render(data)
    assert text.startswith(f"{dialect} answer")  # the dialect is told by the events themselves
    for line in expected:
        assert line in text


@pytest.mark.parametrize(("name", "dialect", "expected"), STREAMS, ids=[s[0] for s in STREAMS])
def test_a_stream_cut_at_any_byte_shows_what_came_so_far(name: str, dialect: str, expected: list[str]) -> None:
    """A capped capture ends anywhere, even inside a multi-byte character or an event's JSON."""
    data = (FIXTURES / name).read_bytes()
    whole = _assistant(contentview_render.render(data, dialect))
    for cut in range(len(data) + 1):
        text = contentview_render.render(data[:cut], dialect)
        if cut == 0:
            assert text == "(empty body)"
            continue
        said = _assistant(text)
        # what the view shows of a cut stream is the beginning of what the whole one says (its last text
        # or arguments may be partial)
        first = said.split("\n")[0]
        assert whole.startswith(first.removesuffix("(no content)")), (cut, said)


def _assistant(text: str) -> str:
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("[assistant] "))
    end = next(i for i, line in enumerate(lines) if line.startswith("stop: "))
    return "\n".join(lines[start:end])[len("[assistant] "):]


@pytest.mark.parametrize(("suffix", "dialect"), [("/chat/completions", "openai-chat"),
                                                 ("/responses", "openai-responses"),
                                                 ("/messages", "anthropic-messages")])
def test_real_client_requests_read_as_turns(suffix: str, dialect: str) -> None:
    captured = requests_for(suffix)
    assert captured
    for cid, body in captured:
        text = contentview_render.render(json.dumps(body).encode(), dialect)
        assert text.startswith(f"{dialect} request · model {body['model']}"), cid
        assert "[user] " in text, cid
        for tool in body.get("tools") or []:
            name = tool.get("name") or (tool.get("function") or {}).get("name")
            if name and tool.get("type", "function") in ("function", "custom"):
                assert f"tool {name}(" in text, cid


def test_a_bridged_flow_tells_both_sides() -> None:
    """The answer side: the bridge's summary, the raw upstream answer read in its dialect, the client's;
    the request side: the client's original request and the translated upstream request."""
    upstream_sse = (FIXTURES / "anthropic_messages/text_tool.sse").read_bytes()
    client_sse = (FIXTURES / "openai_chat/parallel_tools.sse").read_bytes()
    client_req = {"model": "claude", "stream": True, "messages": [{"role": "user", "content": "Weather in Paris?"}]}
    upstream_req = {"model": "claude-sonnet-4-5", "max_tokens": 1024, "stream": True,
                    "messages": [{"role": "user", "content": "Weather in Paris?"}]}
    flow = tflow.tflow(req=tutils.treq(path="/v1/messages", content=json.dumps(upstream_req).encode()),
                       resp=tutils.tresp(content=client_sse, headers=[(b"content-type", b"text/event-stream")]))
    flow.metadata.update({
        "bridge": {"client": {"dialect": "openai-chat", "endpoint": "chat", "model": "claude", "stream": True},
                   "provider": "anthropic", "provider_type": "anthropic", "account": "work",
                   "upstream": {"dialect": "anthropic-messages", "model": "claude-sonnet-4-5",
                                "url": "http://127.0.0.1:1/v1/messages"},
                   "attempts": ["work"], "status": 200, "tokens": {"input": 472, "output": 89},
                   "latency_ms": {"request": 1.0, "response": 0.5, "added": 1.5, "upstream_ttfb": 20.0,
                                  "total": 30.0}},
        "bridge_client_request": {"line": "POST /v1/chat/completions", "dialect": "openai-chat",
                                  "body": json.dumps(client_req), "bytes": 99, "kept": 99},
        "bridge_upstream_answer": {"line": "200 OK", "dialect": "anthropic-messages",
                                   "body": upstream_sse.decode(), "bytes": len(upstream_sse), "kept": 100},
    })
    view = LLMStreamView()
    meta = Metadata(flow=flow, http_message=flow.response, content_type="text/event-stream")
    assert view.render_priority(client_sse, meta) > 1  # above the JSON view: a bridged flow opens on it
    answer = view.prettify(client_sse, meta)
    sections = [line for line in answer.split("\n") if line.startswith("━━ ")]
    assert sections == ["━━ Bridge ━━", "━━ Upstream answer (anthropic-messages) ━━",
                        "━━ Client's answer (openai-chat) ━━", "━━ Upstream answer, raw bytes ━━"]
    assert "provider: anthropic (anthropic), account work" in answer
    assert f"({len(upstream_sse)} bytes, first 100 kept)" in answer
    assert '{"location": "Paris"}' in answer and '{"city":"Paris"}' in answer
    meta = Metadata(flow=flow, http_message=flow.request, content_type="application/json")
    request = view.prettify(flow.request.content, meta)
    assert "openai-chat request · model claude · stream" in request
    assert "anthropic-messages request · model claude-sonnet-4-5 · stream · max tokens 1024" in request


def test_priority_outside_bridged_flows() -> None:
    """Plain SSE of a dialect endpoint is offered; other bodies are left to mitmproxy's views."""
    view = LLMStreamView()
    sse = (FIXTURES / "openai_chat/text_usage.sse").read_bytes()
    flow = tflow.tflow(req=tutils.treq(path="/v1/chat/completions"), resp=True)
    assert view.render_priority(sse, Metadata(flow=flow, content_type="text/event-stream")) == 1.5
    other = tflow.tflow(req=tutils.treq(path="/index.html"), resp=True)
    assert view.render_priority(sse, Metadata(flow=other, content_type="text/event-stream")) < 0
    assert view.render_priority(b'{"a": 1}', Metadata(flow=flow, content_type="application/json")) < 0
    assert view.render_priority(b"", Metadata(flow=flow)) < 0


@pytest.mark.parametrize(("name", "dialect", "expected"), STREAMS, ids=[s[0] for s in STREAMS])
def test_usage_of_a_stream_reads_only_its_usage_events(name: str, dialect: str, expected: list[str]) -> None:
    """The tokens of a relayed stream (summary and accounting) are read from the first and last events that
    mention usage, as the Relay keeps them: the same as the whole stream's."""
    data = (FIXTURES / name).read_bytes()
    whole, _ = contentview_render.decode_stream(contentview_render.events(data), dialect)
    payloads = [ev.data.encode() for ev in contentview_render.events(data) if '"usage"' in ev.data]
    assert usage_of(dialect, payloads[:1] + payloads[-1:]) == whole.usage


def test_other_json_shows_as_json() -> None:
    """A bridged flow that is no chat (a passed-through embeddings call, a token count) reads as JSON."""
    body = b'{"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.1]}]}'
    assert contentview_render.render(body, "openai-chat") == json.dumps(json.loads(body), indent=2)
    assert contentview_render.render(b'{"input_tokens": 12}', "anthropic-messages") == '{\n  "input_tokens": 12\n}'

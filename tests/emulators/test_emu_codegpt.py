"""The emulated CodeGPT agent API over real HTTP (codegpt.md 1-7), and its prompt-tool answers checked
against the bridge's own markup code (the emulator copies the format; the tests hold it to it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from typing import Iterator

import httpx
import orjson
import pytest

from addons.upstream_side import decode_whole_stream
from scripts.emulators import Ports
from scripts.emulators import serve_in_thread
from translators import ir
from translators.providers.codegpt import CODEC
from translators.transforms import prompt_tools

KEY = "sk-codegpt-emulator-0001"
AGENT = "3f2b1c0d-9e8f-4a7b-b6c5-d4e3f2a1b0c9"
LEGACY = "5c4d3e2f-1a0b-4c9d-8e7f-6a5b4c3d2e1f"
ORG = "8d5e2c1a-7b3f-4e9d-a0c2-5f6e7d8c9b0a"
HTTP = httpx.Client(timeout=10)
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
VECTORS = json.loads((SHARED / "emulator" / "script_vectors.json").read_text())


@pytest.fixture(scope="module")
def emu() -> Iterator[Ports]:
    with serve_in_thread({"codegpt": 0}, key=KEY) as ports:
        yield ports


def post(emu: Ports, body: dict[str, Any], key: str = KEY, **headers: str) -> httpx.Response:
    return HTTP.post(emu.url("codegpt") + "/api/v1/chat/completions", json=body,
                     headers={"authorization": f"Bearer {key}", "CodeGPT-Org-Id": ORG, **headers})


def ask(text: str, agent: str = AGENT, **extra: Any) -> dict[str, Any]:
    return {"agentId": agent, "messages": [{"role": "system", "content": "Be brief."},
                                           {"role": "user", "content": text}], "format": "json", **extra}


def sse_data(text: str) -> list[str]:
    """The data of each event; checks the framing is `data: ` lines in `\\n\\n`-ended events."""
    assert text.endswith("\n\n"), repr(text[-40:])
    events = text[:-2].split("\n\n")
    assert all(e.startswith("data: ") and "\n" not in e for e in events), events
    return [e[len("data: "):] for e in events]


def chunks(r: httpx.Response) -> list[Any]:
    return [d if d == "[DONE]" else json.loads(d) for d in sse_data(r.text)]


def test_non_stream_json(emu: Ports) -> None:
    r = post(emu, ask("Say ACC-CG0001"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == "claude-3.7-sonnet-anthropic"
    assert body["choices"] == [{"index": 0, "message": {"role": "assistant", "content": "ACK ACC-CG0001"},
                                "finish_reason": "stop"}]
    u = body["usage"]
    assert u["prompt_tokens"] > 0 and u["completion_tokens"] > 0
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]


def test_stream_contents_shape(emu: Ports) -> None:
    r = post(emu, ask("Say ACC-CG0002", stream=True))
    assert r.headers["content-type"].startswith("text/event-stream")
    got = chunks(r)
    assert got[-1] == "[DONE]" and len(got) >= 3
    deltas = [c["choices"][0]["delta"] for c in got[:-1]]
    assert deltas[0]["role"] == "assistant" and all("content" not in d for d in deltas)
    assert "".join(i["content"] for d in deltas for i in d["contents"]) == "ACK ACC-CG0002"
    assert [c["choices"][0]["finish_reason"] for c in got[:-1]] == [None] * (len(got) - 2) + ["stop"]
    assert len({c["id"] for c in got[:-1]}) == 1
    assert all(c["object"] == "chat.completion.chunk" for c in got[:-1])


def test_stream_legacy_content_shape(emu: Ports) -> None:
    got = chunks(post(emu, ask("Say ACC-CG0003", agent=LEGACY, stream=True)))
    deltas = [c["choices"][0]["delta"] for c in got[:-1]]
    assert all(set(d) == {"content"} for d in deltas) and len(deltas) >= 2
    assert "".join(d["content"] for d in deltas) == "ACK ACC-CG0003" and got[0]["model"] == "gpt-4o"


def test_text_format(emu: Ports) -> None:
    r = post(emu, ask("Say ACC-CG0004", format="text"))
    assert r.json() == "ACK ACC-CG0004"
    with HTTP.stream("POST", emu.url("codegpt") + "/api/v1/chat/completions",
                     json=ask("Say ACC-CG0005", format="text", stream=True),
                     headers={"authorization": f"Bearer {KEY}"}) as s:
        assert s.headers["content-type"].startswith("text/plain")
        pieces = list(s.iter_raw())
    assert b"".join(pieces) == b"ACK ACC-CG0005"


def test_agents(emu: Ports) -> None:
    h = {"authorization": f"Bearer {KEY}"}
    agents = HTTP.get(emu.url("codegpt") + "/api/v1/agent", headers=h).json()
    assert [a["id"] for a in agents] == [AGENT, LEGACY] and agents[0]["name"] == "Code Helper"
    one = HTTP.get(emu.url("codegpt") + f"/api/v1/agent/{LEGACY}?populate=agent_documents", headers=h)
    assert one.json()["model"] == "gpt-4o"
    assert HTTP.get(emu.url("codegpt") + "/api/v1/agent/nope", headers=h).status_code == 404


@pytest.mark.parametrize("key, headers, status, message", [
    ("wrong", {}, 401, "Invalid API key"),
    (KEY, {"CodeGPT-Org-Id": "other-org"}, 403, "organization"),
])
def test_credentials(emu: Ports, key: str, headers: dict[str, str], status: int, message: str) -> None:
    r = post(emu, ask("x"), key=key, **headers)
    assert r.status_code == status and message in r.json()["message"]
    assert r.json()["error"] == {401: "Unauthorized", 403: "Forbidden"}[status]
    missing = HTTP.post(emu.url("codegpt") + "/api/v1/chat/completions", json=ask("x"))
    assert missing.status_code == 401
    no_org = HTTP.post(emu.url("codegpt") + "/api/v1/chat/completions", json=ask("Say ACC-CG0006"),
                       headers={"authorization": f"Bearer {KEY}"})
    assert no_org.json()["choices"][0]["message"]["content"] == "ACK ACC-CG0006"  # the org header is optional


@pytest.mark.parametrize("body, status", [
    ({"messages": [{"role": "user", "content": "x"}]}, 400),
    ({"agentId": "unknown", "messages": [{"role": "user", "content": "x"}]}, 404),
    ({"agentId": AGENT, "messages": []}, 400),
    ({"agentId": AGENT, "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}, 400),
    ({"agentId": AGENT, "messages": [{"role": "tool", "content": "x"}]}, 400),
    ({"agentId": AGENT, "messages": [{"role": "user", "content": "x"}], "format": "xml"}, 400),
])
def test_invalid_requests(emu: Ports, body: dict[str, Any], status: int) -> None:
    r = post(emu, body)
    assert r.status_code == status and set(r.json()) == {"error", "message"}


def test_faults(emu: Ports) -> None:
    r = post(emu, ask("x"), **{"x-emulator-fault": "429"})
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert r.json() == {"error": "Too Many Requests", "message": "You have reached your usage limit"}
    r = post(emu, ask("x"), **{"x-emulator-fault": "error200"})
    assert r.status_code == 200 and r.json()["error"] == "Internal Server Error"


# ---- prompt tools: the bridge's rendering in, the bridge's parser out ----


def _tool(name: str, schema: dict[str, Any], freeform: bool) -> ir.Tool:
    if freeform:
        return ir.Tool(name, kind="custom")
    return ir.Tool(name, "A tool.", schema or {"type": "object"})


def _request(turn: dict[str, Any], stream: bool) -> ir.ChatRequest:
    tools = tuple(_tool(n, turn["tool_schemas"].get(n, {}), n in turn["freeform"]) for n in turn["tools"])
    messages = [ir.Message("user", (ir.Text(turn["prompt"]),))]
    if turn["tool_results"]:
        uses = tuple(ir.ToolUse(f"call_{i}", "some_tool", "{}") for i, _ in enumerate(turn["tool_results"]))
        messages += [ir.Message("assistant", uses), ir.Message("user", tuple(
            ir.ToolResult(u.id, (ir.Text(t),)) for u, t in zip(uses, turn["tool_results"])))]
    return ir.ChatRequest("codegpt/default", tuple(messages), system=(ir.Text("Be brief."),), tools=tools,
                          stream=stream)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("case", VECTORS, ids=[c["case"] for c in VECTORS])
def test_script_vectors_through_the_markup(emu: Ports, case: dict[str, Any], stream: bool) -> None:
    req = _request(case["turn"], stream)
    call = CODEC.build(prompt_tools.apply_to_request(req), "default",
                       {"api_key": KEY, "agent_id": AGENT, "base_url": emu.url("codegpt")}, ir.Ids(0))
    r = HTTP.post(call.url, content=call.body, headers=dict(call.headers))
    assert r.status_code == 200, r.text
    resp = _decode(r, req)
    uses = [b for b in resp.content if isinstance(b, ir.ToolUse)]
    if case["expect"]["kind"] == "text":
        assert not uses and resp.content == (ir.Text(case["expect"]["payload"]),)
    else:
        got = [[u.name, u.arguments if u.kind == "custom" else orjson.loads(u.arguments)] for u in uses]
        assert got == case["expect"]["payload"] and resp.stop_reason == "tool_use"
        assert all(isinstance(b, ir.ToolUse) for b in resp.content)


def _decode(r: httpx.Response, req: ir.ChatRequest) -> ir.ChatResponse:
    """What the bridge does with the answer (gateway._translate_body / the stream pipeline)."""
    if not req.stream:
        return prompt_tools.parse_response(CODEC.parse_response(r.content), req, ir.Ids(0))
    assert len(sse_data(r.text)) >= 3  # two pieces or more, then [DONE]
    return decode_whole_stream(CODEC, req, r.content, [prompt_tools.PromptToolStream(req, ir.Ids(0))])

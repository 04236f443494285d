"""The CodeGeeX emulator over real HTTP: wire shape (codegeex.md 1-7) and SCRIPT.md through the
bridge's prompt-tools layout (every worked example of script_vectors.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from typing import Iterator

import httpx
import pytest

from scripts.emulators import Ports
from scripts.emulators import serve_in_thread
from translators import ir
from translators.providers.codegeex import CODEC
from translators.transforms import prompt_tools

KEY = "0b8f5a9e-6c1d-4d2e-9f7a-2b3c4d5e6f70"
CHAT = "/prod/code/chatCodeSseV3/chat"
VECTORS = json.loads((Path(__file__).resolve().parents[2].parent / "shared" / "emulator" /
                      "script_vectors.json").read_text())
HTTP = httpx.Client(timeout=10)


@pytest.fixture(scope="module")
def gx() -> Iterator[Ports]:
    with serve_in_thread({"codegeex": 0}, key=KEY) as ports:
        yield ports


def body(prompt: str, **extra: Any) -> dict[str, Any]:
    return {"user_id": "", "user_role": 0, "ide": "VSCode", "ide_version": "", "plugin_version": "",
            "prompt": prompt, "machineId": "", "talkId": "5d0f3c2a-9b7e-4f61-a1c4-7e2d9b8a6c35",
            "locale": "en", "model": "codegeex-4", "agent": None,
            "candidates": {"candidate_msg_id": "", "candidate_type": "", "selected_candidate": ""},
            "history": [], **extra}


def post(gx: Ports, payload: Any, query: str = "", token: str | None = KEY) -> httpx.Response:
    headers = {"code-token": token} if token is not None else {}
    return HTTP.post(gx.url("codegeex") + CHAT + query, json=payload, headers=headers)


def events(raw: bytes) -> list[tuple[str, str, Any]]:
    """(event, id, data) per event; checks the Java emitter framing (`name:value`, LF, blank line)."""
    text = raw.decode()
    assert text.endswith("\n\n") and "[DONE]" not in text and "\r" not in text
    out = []
    for block in text[:-2].split("\n\n"):
        lines = dict(line.split(":", 1) for line in block.split("\n"))
        assert list(lines) == ["event", "id", "data"] and not lines["data"].startswith(" ")
        out.append((lines["event"], lines["id"], json.loads(lines["data"])))
    return out


def test_stream_adds_then_finish_with_the_whole_answer(gx: Ports) -> None:
    r = post(gx, body("Reply with ACC-GX0001 and ACC-GX0002."))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    evs = events(r.content)
    adds, (finish,) = [e for e in evs if e[0] == "add"], [e for e in evs if e[0] == "finish"]
    assert len(adds) >= 2 and evs[-1] is finish
    assert "".join(d["text"] for _, _, d in adds) == finish[2]["text"] == "ACK ACC-GX0001 ACC-GX0002"
    assert {i for _, i, _ in evs} == {d["id"] for _, _, d in evs} and len({i for _, i, _ in evs}) == 1
    assert finish[2]["finish_reason"] == "stop" and all(d["finish_reason"] == "" for _, _, d in adds)
    assert all(d["model"] == "codegeex-4" for _, _, d in evs)


def test_online_search_sends_processing_first(gx: Ports) -> None:
    evs = events(post(gx, body("latest go release", command="online_search")).content)
    assert evs[0][0] == "processing" and evs[0][2]["type"] == "keyword" and evs[-1][0] == "finish"


def test_non_stream_json(gx: Ports) -> None:
    r = post(gx, body("Say ACC-GX0003"), "?stream=false")
    assert r.status_code == 200 and r.json()["text"] == "ACK ACC-GX0003"
    assert r.json()["finish_reason"] == "stop" and r.json()["model"] == "codegeex-4"


@pytest.mark.parametrize("token", [None, "wrong"])
def test_bad_token_is_401_envelope(gx: Ports, token: str | None) -> None:
    r = post(gx, body("hi"), token=token)
    assert r.status_code == 401 and r.json() == {"code": 401, "msg": "token invalid or expired", "data": None}


@pytest.mark.parametrize("change,msg", [({"prompt": None}, "prompt"), ({"model": "gpt-4"}, "model"),
                                        ({"history": [{"query": "q"}]}, "history")])
def test_bad_requests_are_400(gx: Ports, change: dict[str, Any], msg: str) -> None:
    r = post(gx, {**body("hi"), **change})
    assert r.status_code == 400 and r.json()["code"] == 400 and msg in r.json()["msg"]


def test_model_list_needs_no_token(gx: Ports) -> None:
    listing = HTTP.get(gx.url("codegeex") + "/prod/v3/chat/model").json()
    assert listing["default"] == "codegeex-4" and {"codegeex-4", "codegeex-chat-pro"} <= {
        o["id"] for o in listing["options"]}
    assert set(listing["options"][0]) == {"id", "name", "description", "host"}


def test_user_info(gx: Ports) -> None:
    r = HTTP.get(gx.url("codegeex") + "/prod/code/oauth/getUserInfo", headers={"code-token": KEY})
    assert r.json()["code"] == 200


@pytest.mark.parametrize("fault,status", [("429", 429), ("500", 500)])
def test_fault_envelopes(gx: Ports, fault: str, status: int) -> None:
    headers = {"code-token": KEY, "x-emulator-fault": fault}
    r = HTTP.post(gx.url("codegeex") + CHAT, json=body("hi"), headers=headers)
    assert r.status_code == status and r.json()["code"] == status
    assert (r.headers.get("retry-after") == "1") == (status == 429)


# ---- SCRIPT.md through the bridge's own request layout ----


def request_for(turn: dict[str, Any]) -> ir.ChatRequest:
    empty = {"type": "object", "properties": {}}
    tools = tuple(ir.Tool(n, kind="custom") if n in turn["freeform"] else
                  ir.Tool(n, f"The {n} tool.", turn["tool_schemas"].get(n) or empty) for n in turn["tools"])
    messages = [ir.Message("user", (ir.Text(turn["prompt"]),))]
    if turn["tool_results"]:
        ids = [f"call_{i}" for i in range(len(turn["tool_results"]))]
        name = turn["tools"][0] if turn["tools"] else "lookup"
        messages += [ir.Message("assistant", tuple(ir.ToolUse(i, name, "{}") for i in ids)),
                     ir.Message("user", tuple(ir.ToolResult(i, (ir.Text(t),)) for i, t in
                                              zip(ids, turn["tool_results"])))]
    system = (ir.Text("You are a helpful assistant. Mention the weather tool only if asked."),)
    return ir.ChatRequest(model="codegeex/codegeex-4", messages=tuple(messages), tools=tools, system=system)


@pytest.mark.parametrize("case", VECTORS, ids=[c["case"] for c in VECTORS])
def test_script_vector_through_prompt_tools(gx: Ports, case: dict[str, Any]) -> None:
    req = request_for(case["turn"])
    call = CODEC.build(prompt_tools.apply_to_request(req), "codegeex-4", {"api_key": KEY}, ir.Ids(0))
    r = post(gx, json.loads(call.body), "?stream=false")
    resp = prompt_tools.parse_response(CODEC.parse_response(r.content), req, ir.Ids(0))
    calls = [b for b in resp.content if isinstance(b, ir.ToolUse)]
    if calls:
        payload = [[c.name, c.arguments if c.kind == "custom" else json.loads(c.arguments)] for c in calls]
        got = {"kind": "tools", "payload": payload}
    else:
        got = {"kind": "text", "payload": "".join(b.text for b in resp.content if isinstance(b, ir.Text))}
    assert got == case["expect"]

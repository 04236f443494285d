"""The chat.qwen.ai emulator over real HTTP (qwen.md Part A): the chat, the stream's bytes, the
flattened conversation read by SCRIPT.md, prompt-tools markup, models, sign-in, errors and faults."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from typing import Iterator

import httpx
import pytest

from scripts.emulators import Ports
from scripts.emulators import serve_in_thread
from scripts.emulators.qwen import read_turn
from scripts.emulators.qwen import split_turns

KEY = "eyJhbGciOiJIUzI1NiJ9.emulated.token"
HTTP = httpx.Client(timeout=10)
TOOLS_SYSTEM = (
    "system: Be brief.\n\n# Tools\n\nYou can use the tools below.\n\n"
    '1. <tool name="get_weather">\nDescription: Weather for a city.\n'
    'Arguments (JSON schema): {"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}\n'
    "</tool>\n\n"
    '2. <tool name="apply_patch">\nDescription: (none)\n'
    "Input: free-form raw text (not JSON), written in <input> instead of <args_json>.\n</tool>\n\n"
    "How to call tools:\n"
    "- Start a new line with exactly <Function_bridge_Start/> (alone on its line), like this:\n"
    "<Function_bridge_Start/>\n<function_calls>\n<function_call>\n<tool>TOOL_NAME</tool>\n"
    '<args_json><![CDATA[{"argument_name": "value"}]]></args_json>\n</function_call>\n</function_calls>'
)


@pytest.fixture(scope="module")
def qwen() -> Iterator[Ports]:
    with serve_in_thread({"qwen": 0}, key=KEY) as ports:
        yield ports


@pytest.fixture(autouse=True)
def _no_fault(qwen: Ports) -> Iterator[None]:
    yield
    qwen.emulators["qwen"].set_fault(None)


def auth(key: str = KEY) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def new_chat(qwen: Ports) -> str:
    r = HTTP.post(qwen.url("qwen") + "/api/v2/chats/new", headers=auth(), json={
        "title": "New Chat", "models": ["qwen3-235b-a22b"], "chat_mode": "normal", "chat_type": "t2t",
        "timestamp": 1754886400123})
    assert r.status_code == 200 and r.json()["success"] is True
    return r.json()["data"]["id"]


def body(content: Any, thinking: bool = False, incremental: bool = True, phase: bool = True) -> dict:
    fc = {"thinking_enabled": thinking, **({"output_schema": "phase"} if phase else {})}
    return {"stream": True, "incremental_output": incremental, "model": "qwen3-235b-a22b",
            "chat_mode": "normal",
            "messages": [{"role": "user", "content": content, "feature_config": fc, "chat_type": "t2t"}]}


def complete(qwen: Ports, content: Any, chat_id: str | None = None, **kw: Any) -> httpx.Response:
    chat_id = chat_id or new_chat(qwen)
    return HTTP.post(qwen.url("qwen") + f"/api/v2/chat/completions?chat_id={chat_id}", headers=auth(),
                     json={**body(content, **kw), "chat_id": chat_id})


def chunks(r: httpx.Response) -> list[dict[str, Any]]:
    assert r.headers["content-type"].startswith("text/event-stream")
    text = r.text
    assert text.endswith("\n\n") and "[DONE]" not in text
    return [json.loads(block[len("data: "):]) for block in text[:-2].split("\n\n")]


def answer(events: list[dict[str, Any]], phase: str = "answer") -> str:
    return "".join(e["choices"][0]["delta"]["content"] for e in events[1:]
                   if e["choices"][0]["delta"].get("phase", "answer") == phase)


def test_stream_bytes_as_captured(qwen: Ports) -> None:
    r = complete(qwen, "Reply with ACC-QW01")
    first, _, rest = r.text.partition("\n\n")
    assert first.startswith('data: {"response.created":{"chat_id": "') and first.endswith("}} ")
    assert '"response_id":"' in first  # no space there, unlike the rest (A4)
    assert rest.startswith('data: {"choices": [{"delta": {"role": "assistant", "content": "')
    events = chunks(r)
    assert answer(events) == "ACK ACC-QW01"
    deltas = [e["choices"][0]["delta"] for e in events[1:]]
    assert len([d for d in deltas if d["status"] == "typing" and d["content"]]) >= 2
    outs = [e["usage"]["output_tokens"] for e in events if "usage" in e]
    assert outs == sorted(outs) and outs[-1] > 0 and events[1]["usage"]["input_tokens"] > 0
    finished = {"content": "", "role": "assistant", "status": "finished", "phase": "answer"}
    assert events[-1] == {"choices": [{"delta": finished}], "response_id": events[1]["response_id"]}


def test_thinking_phase_and_cumulative_mode(qwen: Ports) -> None:
    events = chunks(complete(qwen, "ACC-QW02", thinking=True, incremental=False))
    think = [e["choices"][0]["delta"] for e in events[1:] if e["choices"][0]["delta"]["phase"] == "think"]
    assert think[-1]["status"] == "finished" and "answer with text" in think[-2]["content"]
    texts = [e["choices"][0]["delta"]["content"] for e in events[1:]
             if e["choices"][0]["delta"]["phase"] == "answer" and e["choices"][0]["delta"]["content"]]
    assert texts[-1] == "ACK ACC-QW02" and all(texts[-1].startswith(t) for t in texts)  # cumulative (Part C)
    assert events[-2]["usage"]["output_tokens_details"]["reasoning_tokens"] > 0


def test_without_output_schema_no_phase(qwen: Ports) -> None:
    events = chunks(complete(qwen, "hi", phase=False))
    assert all("phase" not in e["choices"][0]["delta"] for e in events[1:])


def test_content_items(qwen: Ports) -> None:
    items = [{"type": "text", "text": "Say ACC-QW03"}, {"type": "image", "image": "https://example.org/a.png"}]
    assert answer(chunks(complete(qwen, items))) == "ACK ACC-QW03"


def test_tool_call_markup(qwen: Ports) -> None:
    text = answer(chunks(complete(qwen, TOOLS_SYSTEM + "\n\nuser: What is the weather in Paris and Tokyo?")))
    assert text == ("<Function_bridge_Start/>\n<function_calls>\n"
                    '<function_call>\n<tool>get_weather</tool>\n<args_json><![CDATA[{"city":"Paris"}]]></args_json>\n'
                    "</function_call>\n"
                    '<function_call>\n<tool>get_weather</tool>\n<args_json><![CDATA[{"city":"Tokyo"}]]></args_json>\n'
                    "</function_call>\n</function_calls>")


def test_freeform_tool_markup(qwen: Ports) -> None:
    text = answer(chunks(complete(qwen, TOOLS_SYSTEM + "\n\nuser: create the file a.txt containing `hi`")))
    assert "<tool>apply_patch</tool>\n<input><![CDATA[*** Begin Patch\n*** Add File: a.txt\n+hi\n" in text


def test_tool_results_end_the_conversation(qwen: Ports) -> None:
    convo = (TOOLS_SYSTEM + "\n\nuser: What is the weather in Paris?\n\nassistant: <Function_bridge_Start/>\n"
             "<function_calls>\n...\n</function_calls>\n\nuser: "
             '<tool_result id="call_1" name="get_weather">\nACC-SUN1 sunny\n</tool_result>')
    assert answer(chunks(complete(qwen, convo))) == "Tool result: ACC-SUN1 sunny"


def test_no_tools_without_instructions(qwen: Ports) -> None:
    text = answer(chunks(complete(qwen, "What is the weather in Paris?")))
    assert text == "Hello from the scripted upstream."


def test_read_turn() -> None:
    assert split_turns("just a prompt\n\nuser: not a role") == [("user", "just a prompt\n\nuser: not a role")]
    turn = read_turn("system: s\n\nuser: first ACC-A1\n\nassistant: a\n\n"
                     'user: <tool_result id="1">\nr1\n</tool_result>\n\n'
                     'user: <tool_result id="2">\nr2\n</tool_result>')
    assert turn.tool_results == ["r1", "r2"] and turn.prompt == "first ACC-A1" and turn.tools == []
    turn = read_turn(TOOLS_SYSTEM + "\n\nuser: hello")
    assert turn.tools == ["get_weather", "apply_patch"] and turn.freeform == {"apply_patch"}
    assert turn.tool_schemas["get_weather"]["required"] == ["city"]


def test_stream_false_still_streams(qwen: Ports) -> None:
    chat_id = new_chat(qwen)
    r = HTTP.post(qwen.url("qwen") + f"/api/v2/chat/completions?chat_id={chat_id}", headers=auth(),
                  json={**body("hi"), "stream": False})
    assert r.headers["content-type"].startswith("text/event-stream")


def test_errors(qwen: Ports) -> None:
    r = HTTP.post(qwen.url("qwen") + "/api/v2/chats/new", headers=auth("wrong"), json={})
    assert r.status_code == 401 and r.json()["success"] is False
    assert r.json()["data"]["code"] == "Unauthorized"
    r = HTTP.post(qwen.url("qwen") + "/api/v2/chat/completions", headers=auth(), json=body("hi"))
    assert r.status_code == 400 and r.json()["data"]["code"] == "Bad_Request"
    r = complete(qwen, "hi", chat_id="no-such-chat")
    assert r.status_code == 404 and r.json()["data"]["code"] == "Not_Found"


def test_chat_in_progress(qwen: Ports) -> None:
    chat_id = new_chat(qwen)
    url = qwen.url("qwen") + f"/api/v2/chat/completions?chat_id={chat_id}"
    with HTTP.stream("POST", url, headers={**auth(), "x-emulator-delay-ms": "100"}, json=body("hi")) as first:
        parts = first.iter_bytes()
        next(parts)
        r = HTTP.post(url, headers=auth(), json=body("hi"))
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert "in progress" in r.json()["data"]["details"]
        for _ in parts:
            pass
    assert complete(qwen, "hi", chat_id=chat_id).status_code == 200


@pytest.mark.parametrize("path", ["/api/models", "/api/v2/models/"])
def test_models(qwen: Ports, path: str) -> None:
    r = HTTP.get(qwen.url("qwen") + path)  # no credential needed (A6)
    data = r.json()["data"]
    data = data["data"] if isinstance(data, dict) else data
    assert r.status_code == 200 and "qwen3-235b-a22b" in [m["id"] for m in data]
    assert "t2t" in data[0]["info"]["meta"]["chat_type"]


def test_signin(qwen: Ports) -> None:
    url = qwen.url("qwen") + "/api/v1/auths/signin"
    good = HTTP.post(url, json={"email": "a@b.c", "password": hashlib.sha256(KEY.encode()).hexdigest()})
    assert good.status_code == 200 and good.json()["token"] == KEY
    assert HTTP.post(url, json={"email": "a@b.c", "password": "x"}).status_code == 401
    assert HTTP.get(qwen.url("qwen") + "/api/v1/auths/", headers=auth()).json()["token"] == KEY


def test_faults(qwen: Ports) -> None:
    chat_id = new_chat(qwen)
    url = qwen.url("qwen") + f"/api/v2/chat/completions?chat_id={chat_id}"
    r = HTTP.post(url, headers={**auth(), "x-emulator-fault": "429"}, json=body("hi"))
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert r.json()["data"]["code"] == "RateLimited"
    r = HTTP.post(url, headers={**auth(), "x-emulator-fault": "error200"}, json=body("hi"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json()["success"] is False and "internal error" in r.json()["data"]["details"]

"""What a saved (or mitmweb-shown) bridged flow holds: a real bridge writes its flows with `-w`, the
official SDKs make whole and streamed calls across dialects, and the flow file is read back with
mitmproxy's own reader: summary metadata and comment, the client's original request, the raw
upstream answer, the client's streamed bytes (capped), and no secret anywhere in the file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from typing import Iterator

import anthropic
import httpx
import openai
import pytest
from mitmproxy import http
from mitmproxy import io

from tests.e2e.conftest import bridge_config
from tests.harness import CLIENT_KEY
from tests.harness import ROOT
from tests.harness import UPSTREAM_KEY
from tests.harness import BridgeProcess
from tests.harness import free_port
from tests.harness import wait_listening

WEATHER = {"name": "get_weather", "description": "Weather of a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def read_flows(path: Path) -> list[http.HTTPFlow]:
    with path.open("rb") as f:
        return [fl for fl in io.FlowReader(f).stream() if isinstance(fl, http.HTTPFlow)]


def by_marker(flows: list[http.HTTPFlow], marker: str) -> http.HTTPFlow:
    found = [f for f in flows if marker in f.metadata.get("bridge_client_request", {}).get("body", "")]
    assert len(found) == 1, [f.metadata.get("bridge_client_request") for f in flows]
    return found[0]


def raw_stream(url: str, body: dict[str, Any]) -> bytes:
    """Exactly the bytes a client receives of a streamed answer."""
    with httpx.Client(timeout=30) as c, c.stream("POST", url + "/v1/chat/completions", json=body,
                                                 headers={"Authorization": f"Bearer {CLIENT_KEY}"}) as r:
        assert r.status_code == 200
        return b"".join(r.iter_raw())


@pytest.fixture(scope="module")
def saved(upstreams: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One bridge run: every kind of call once, then the flow file it wrote."""
    work = tmp_path_factory.mktemp("inspection")
    path = work / "flows.mitm"
    bridge = BridgeProcess(bridge_config(upstreams), work, "-w", str(path))
    try:
        oc = openai.OpenAI(base_url=bridge.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)
        ac = anthropic.Anthropic(base_url=bridge.url, api_key=CLIENT_KEY, max_retries=0, timeout=30)
        answers: dict[str, Any] = {}
        whole = oc.chat.completions.create(model="anthropic/claude-sonnet-4-5",
                                           messages=[{"role": "user", "content": "Say ACC-INSPWHOLE"}])
        answers["chat-whole"] = whole.choices[0].message.content
        chunks = oc.chat.completions.create(model="anthropic/claude-sonnet-4-5", stream=True,
                                            stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "Say ACC-INSPSTREAM"}])
        answers["chat-stream"] = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        with ac.messages.stream(model="chat/gpt-4.1", max_tokens=200, tools=[WEATHER],  # type: ignore[list-item]
                                messages=[{"role": "user", "content": "ACC-INSPTOOLS weather in Paris?"}]) as s:
            answers["messages-tools"] = s.get_final_message()
        msg = ac.messages.create(model="chat/gpt-4.1", max_tokens=200,
                                 messages=[{"role": "user", "content": "Say ACC-INSPMSG"}])
        answers["messages-whole"] = msg.content[0].text  # type: ignore[union-attr]
        identity = oc.chat.completions.create(model="chat/gpt-4.1", stream=True,
                                              messages=[{"role": "user", "content": "Say ACC-INSPSAME"}])
        answers["chat-identity"] = "".join(c.choices[0].delta.content or "" for c in identity if c.choices)
        answers["raw"] = raw_stream(bridge.url, {"model": "anthropic/claude-sonnet-4-5", "stream": True,
                                                 "messages": [{"role": "user", "content": "Say ACC-INSPRAW"}]})
    finally:
        bridge.stop()  # the file is complete once mitmdump has exited
    yield {"flows": read_flows(path), "file": path.read_bytes(), "answers": answers}


def test_summary_of_a_translated_whole_answer(saved: dict[str, Any]) -> None:
    assert saved["answers"]["chat-whole"] == "ACK ACC-INSPWHOLE"
    flow = by_marker(saved["flows"], "ACC-INSPWHOLE")
    s = flow.metadata["bridge"]
    assert s["client"] == {"dialect": "openai-chat", "endpoint": "chat", "stream": False,
                           "model": "anthropic/claude-sonnet-4-5"}
    assert (s["provider"], s["provider_type"], s["account"], s["attempts"]) == (
        "anthropic", "anthropic", "anthropic#0", ["anthropic#0"])
    assert s["upstream"]["dialect"] == "anthropic-messages" and s["upstream"]["model"] == "claude-sonnet-4-5"
    assert s["status"] == 200 and s["identity"] is False
    assert s["tokens"]["input"] > 0 and s["tokens"]["output"] > 0
    lat = s["latency_ms"]
    assert all(lat[k] >= 0 for k in ("request", "response", "added", "upstream_ttfb", "total"))
    assert lat["added"] == pytest.approx(lat["request"] + lat["response"], abs=0.02)
    assert lat["total"] >= lat["upstream_ttfb"]
    assert flow.comment.startswith("chat anthropic/claude-sonnet-4-5 → anthropic/claude-sonnet-4-5 · anthropic#0 · 200")
    # flow.request is the upstream request; the client's is in the metadata, as the client sent it
    assert flow.request.path == "/v1/messages"
    original = flow.metadata["bridge_client_request"]
    assert original["line"] == "POST /v1/chat/completions" and original["dialect"] == "openai-chat"
    assert json.loads(original["body"])["model"] == "anthropic/claude-sonnet-4-5"
    assert original["bytes"] == original["kept"] == len(original["body"].encode())
    assert any(k.lower() == "authorization" and "***(len=" in v for k, v in original["headers"])
    # the raw upstream answer (Anthropic's JSON) beside what the client got (Chat's JSON)
    upstream = flow.metadata["bridge_upstream_answer"]
    assert upstream["line"] == "200 OK" and upstream["dialect"] == "anthropic-messages"
    assert json.loads(upstream["body"])["type"] == "message"
    assert json.loads(flow.response.content or b"")["object"] == "chat.completion"


def test_a_translated_stream_keeps_both_bodies(saved: dict[str, Any]) -> None:
    assert saved["answers"]["chat-stream"] == "ACK ACC-INSPSTREAM"
    flow = by_marker(saved["flows"], "ACC-INSPSTREAM")
    s = flow.metadata["bridge"]
    assert s["client"]["stream"] is True and s["status"] == 200
    assert s["tokens"]["input"] > 0 and s["tokens"]["output"] > 0
    assert s["captured"]["client_bytes"] == len(flow.response.raw_content or b"")
    upstream = flow.metadata["bridge_upstream_answer"]
    assert upstream["body"].startswith("event: message_start")
    assert upstream["bytes"] == upstream["kept"] == s["captured"]["upstream_bytes"]
    assert (flow.response.raw_content or b"").rstrip().endswith(b"data: [DONE]")
    assert "ACK ACC-INSPSTREAM" in "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
        for line in (flow.response.content or b"").decode().split("\n")
        if line.startswith("data: {") and json.loads(line[6:])["choices"])


def test_the_stream_kept_is_exactly_what_the_client_got(saved: dict[str, Any]) -> None:
    flow = by_marker(saved["flows"], "ACC-INSPRAW")
    assert flow.response.raw_content == saved["answers"]["raw"]


def test_anthropic_client_with_a_tool_call(saved: dict[str, Any]) -> None:
    final = saved["answers"]["messages-tools"]
    call = next(b for b in final.content if b.type == "tool_use")
    assert call.name == "get_weather" and call.input == {"city": "Paris"}
    flow = by_marker(saved["flows"], "ACC-INSPTOOLS")
    s = flow.metadata["bridge"]
    assert (s["client"]["dialect"], s["upstream"]["dialect"], s["account"]) == (
        "anthropic-messages", "openai-chat", "chat#0")
    assert flow.request.path == "/v1/chat/completions"
    assert flow.metadata["bridge_client_request"]["line"] == "POST /v1/messages"
    assert '"get_weather"' in flow.metadata["bridge_upstream_answer"]["body"]  # the Chat tool-call chunks
    assert b"event: content_block_start" in (flow.response.raw_content or b"")
    assert s["tokens"]["input"] > 0


def test_anthropic_client_whole_answer(saved: dict[str, Any]) -> None:
    assert saved["answers"]["messages-whole"] == "ACK ACC-INSPMSG"
    flow = by_marker(saved["flows"], "ACC-INSPMSG")
    assert json.loads(flow.metadata["bridge_upstream_answer"]["body"])["object"] == "chat.completion"
    assert json.loads(flow.response.content or b"")["type"] == "message"
    assert flow.metadata["bridge"]["tokens"]["output"] > 0
    assert "chat#0 · 200 ·" in flow.comment


def test_same_dialect_stream_relayed_and_kept(saved: dict[str, Any]) -> None:
    assert saved["answers"]["chat-identity"] == "ACK ACC-INSPSAME"
    flow = by_marker(saved["flows"], "ACC-INSPSAME")
    s = flow.metadata["bridge"]
    assert s["identity"] is True
    # relayed unchanged: the client got the upstream's bytes, but for the usage chunk that the bridge asked for
    # (usage accounting) and the client did not
    upstream = flow.metadata["bridge_upstream_answer"]["body"]
    hidden = [event for event in upstream.split("\n\n") if '"choices":[]' in event and '"usage":{' in event]
    assert len(hidden) == 1
    assert (flow.response.raw_content or b"").decode() == upstream.replace(hidden[0] + "\n\n", "")
    assert s["tokens"]["input"] > 0 and s["tokens"]["output"] > 0


def test_no_secret_in_the_flow_file(saved: dict[str, Any]) -> None:
    assert len(saved["flows"]) == 6
    assert CLIENT_KEY.encode() not in saved["file"]
    assert UPSTREAM_KEY.encode() not in saved["file"]


@pytest.mark.parametrize("cap", [64, 0])
def test_capture_is_capped_and_the_client_still_gets_everything(upstreams: Any, tmp_path: Path, cap: int) -> None:
    path = tmp_path / "flows.mitm"
    bridge = BridgeProcess(bridge_config(upstreams), tmp_path, "-w", str(path),
                           "--set", f"bridge_capture_bytes={cap}")
    try:
        got = raw_stream(bridge.url, {"model": "anthropic/claude-sonnet-4-5", "stream": True,
                                      "messages": [{"role": "user", "content": "Say ACC-INSPCAP"}]})
    finally:
        bridge.stop()
    assert b"ACC-INSPCAP" in got and got.rstrip().endswith(b"data: [DONE]")
    (flow,) = read_flows(path)
    if cap:
        assert flow.response.raw_content == got[:cap]
        upstream = flow.metadata["bridge_upstream_answer"]
        assert upstream["kept"] == cap < upstream["bytes"]
        assert flow.metadata["bridge"]["captured"]["client_bytes"] == len(got)
        assert flow.metadata["bridge_client_request"]["kept"] == cap
    else:
        assert not flow.response.raw_content
        assert "bridge_upstream_answer" not in flow.metadata
        assert flow.metadata["bridge_client_request"]["kept"] == 0
    # the summary does not depend on what was kept
    assert flow.metadata["bridge"]["tokens"]["output"] > 0 and flow.comment


def test_mitmweb_shows_the_bridge_summary(upstreams: Any, tmp_path: Path) -> None:
    """`scripts/bridge --mitmweb`: mitmweb runs the bridge; its web API lists the flow with the bridge's
    comment (a column of the flow list by default) and opens its answer on the "LLM stream" view."""
    web_port, password = free_port(), "inspection-web-password"
    bridge = BridgeProcess(bridge_config(upstreams), tmp_path, "--mitmweb", "--set", f"web_port={web_port}",
                           "--set", "web_open_browser=false", "--set", f"web_password={password}")
    try:
        wait_listening(web_port, bridge.proc)
        oc = openai.OpenAI(base_url=bridge.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)
        oc.chat.completions.create(model="anthropic/claude-sonnet-4-5",
                                   messages=[{"role": "user", "content": "Say ACC-INSPWEB"}])
        web = httpx.Client(base_url=f"http://127.0.0.1:{web_port}", timeout=10,
                           headers={"Authorization": f"Bearer {password}"})
        assert "comment" in web.get("/options").json()["web_columns"]["value"]
        (flow,) = web.get("/flows").json()
        assert flow["comment"].startswith("chat anthropic/claude-sonnet-4-5 → anthropic/claude-sonnet-4-5 · "
                                          "anthropic#0 · 200 · ")
        assert flow["request"]["path"] == "/v1/messages"  # the upstream request
        view = web.get(f"/flows/{flow['id']}/response/content/auto.json").json()
        assert view["view_name"] == "LLM stream"
        assert "━━ Bridge ━━" in view["text"] and "[assistant] ACK ACC-INSPWEB" in view["text"]
        view = web.get(f"/flows/{flow['id']}/request/content/auto.json").json()
        assert "POST /v1/chat/completions" in view["text"] and "[user] Say ACC-INSPWEB" in view["text"]
        # the web UI is protected: no cookie of an earlier login, a wrong password
        assert httpx.get(f"http://127.0.0.1:{web_port}/flows", headers={"Authorization": "Bearer wrong"},
                         timeout=10).status_code == 403
    finally:
        bridge.stop()


def test_saved_flows_read_with_the_view_alone(saved: dict[str, Any], tmp_path: Path) -> None:
    """`-s addons/contentview.py` alone (no bridge, no configuration) shows saved flows on the view."""
    path = tmp_path / "flows.mitm"
    path.write_bytes(saved["file"])
    mitmdump = Path(sys.executable).with_name("mitmdump")
    done = subprocess.run([str(mitmdump), "-n", "-r", str(path), "-s", str(ROOT / "addons" / "contentview.py"),
                           "--flow-detail", "3"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("━━ Bridge ━━") == 6
    assert "→ tool call get_weather" in done.stdout


def test_demo_providers_kept_bodies_hold_no_credential(tmp_path: Path) -> None:
    """`scripts/bridge --demo`, every provider of the demo, streamed: the kept upstream answers (ChatGPT's
    carries a conversation token) show credential-like fields masked, and no key is in the file."""
    path = tmp_path / "flows.mitm"
    bridge = BridgeProcess(None, tmp_path, "-w", str(path), demo=True)
    try:
        oc = openai.OpenAI(base_url=bridge.url + "/v1", api_key="sk-demo", max_retries=0, timeout=30)
        models = sorted({m.id.split("/")[0]: m.id for m in oc.models.list()}.values())
        assert any(m.startswith("chatgpt/") for m in models)
        for model in models:
            chunks = oc.chat.completions.create(model=model, stream=True,
                                                messages=[{"role": "user", "content": "Say ACC-INSPDEMO"}])
            assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "ACK ACC-INSPDEMO"
    finally:
        bridge.stop()
    data = path.read_bytes()
    flows = [f for f in read_flows(path) if "bridge" in f.metadata]  # not the local /v1/models answer
    assert len(flows) == len(models) and all(f.metadata["bridge"]["status"] == 200 for f in flows)
    chatgpt = next(f for f in flows if f.metadata["bridge"]["provider"] == "chatgpt")
    assert '"token": "eyJh***(len=' in chatgpt.metadata["bridge_upstream_answer"]["body"]
    assert b"eyJhbGciOiJFUzI1NiJ9." not in data
    assert b"sk-demo" not in data and b"sk-emulated-upstream" not in data


def test_failover_attempts_in_the_summary(upstreams: Any, tmp_path: Path) -> None:
    """An account answering 429 is left for the next one: the summary names both attempts, the comment
    says so, the kept upstream answer is the one the client's came from, and neither key is in the file."""
    limited = "sk-inspection-account-rate-limited"
    upstreams.emulators["openai-chat"].key_faults[limited] = "429"
    url = f"http://127.0.0.1:{upstreams['openai-chat']}/v1"
    cfg = {"client_keys": [CLIENT_KEY], "default_provider": "pool", "providers": {"pool": {
        "type": "openai-compatible", "base_url": url,
        "accounts": [{"name": "limited", "api_key": limited}, {"name": "second", "api_key": UPSTREAM_KEY}]}}}
    path = tmp_path / "flows.mitm"
    bridge = BridgeProcess(cfg, tmp_path, "-w", str(path))
    try:
        oc = openai.OpenAI(base_url=bridge.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)
        r = oc.chat.completions.create(model="m", messages=[{"role": "user", "content": "Say ACC-INSPFAIL"}])
        assert r.choices[0].message.content == "ACK ACC-INSPFAIL"
    finally:
        bridge.stop()
        upstreams.emulators["openai-chat"].key_faults.pop(limited, None)
    (flow,) = read_flows(path)
    s = flow.metadata["bridge"]
    assert (s["attempts"], s["account"], s["status"]) == (["limited", "second"], "second", 200)
    assert "· second (2 attempts) · 200 ·" in flow.comment
    assert "ACK ACC-INSPFAIL" in flow.metadata["bridge_upstream_answer"]["body"]
    data = path.read_bytes()
    assert limited.encode() not in data and UPSTREAM_KEY.encode() not in data

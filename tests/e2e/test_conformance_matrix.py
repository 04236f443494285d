"""The conformance matrix: every client dialect against every upstream dialect, streaming and not,
with text, parallel tool calls and their results, reasoning and an image, through a real mitmdump."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.clients import CLIENTS
from tests.e2e.clients import PNG
from tests.harness import CLIENT_KEY

UPSTREAMS = {  # model routed to each upstream dialect, and the emulator serving it
    "chat": ("chat/gpt-4.1", "openai-chat"),
    "responses": ("responses/gpt-5-codex", "openai-responses"),
    "anthropic": ("anthropic/claude-sonnet-4-5", "anthropic"),
}
MATRIX = [(c, u, s) for c in CLIENTS for u in UPSTREAMS for s in (False, True)]
IDS = [f"{c}-to-{u}-{'stream' if s else 'whole'}" for c, u, s in MATRIX]


def client_for(name: str, bridge: Any) -> Any:
    return CLIENTS[name](bridge.url, CLIENT_KEY)


@pytest.mark.parametrize("client,upstream,stream", MATRIX, ids=IDS)
def test_text(bridge: Any, client: str, upstream: str, stream: bool) -> None:
    c = client_for(client, bridge)
    ans = c.ask(UPSTREAMS[upstream][0], [c.user("Reply with ACC-MATRIX1 and ACC-MATRIX2.")], stream=stream)
    assert ans.text == "ACK ACC-MATRIX1 ACC-MATRIX2" and not ans.calls
    if stream:
        assert ans.text_deltas >= 2


@pytest.mark.parametrize("client,upstream,stream", MATRIX, ids=IDS)
def test_parallel_tools_and_results(bridge: Any, client: str, upstream: str, stream: bool) -> None:
    c = client_for(client, bridge)
    model = UPSTREAMS[upstream][0]
    history = [c.user("What is the weather in Paris and in Tokyo?")]
    ans = c.ask(model, history, tools=True, stream=stream)
    assert [(n, a) for _, n, a in ans.calls] == [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Tokyo"})]
    assert len({i for i, _, _ in ans.calls}) == 2
    history += c.replay(ans) + c.results(ans, ["ACC-SUN1 sunny", "ACC-RAIN2 rain"])
    final = c.ask(model, history, tools=True, stream=stream)
    assert final.text == "Tool result: ACC-SUN1 sunny | ACC-RAIN2 rain"


@pytest.mark.parametrize("client,upstream,stream", MATRIX, ids=IDS)
def test_reasoning(bridge: Any, client: str, upstream: str, stream: bool) -> None:
    c = client_for(client, bridge)
    model = UPSTREAMS[upstream][0]
    history = [c.user("Think, then reply with ACC-THINK1.")]
    ans = c.ask(model, history, stream=stream, reasoning=True)
    assert ans.text == "ACK ACC-THINK1"
    assert ans.reasoning, "the upstream's reasoning reached the client"
    # the reasoning turn replays into the next request without an error
    history += c.replay(ans) + [c.user("Now reply with ACC-THINK2.")]
    assert c.ask(model, history, stream=stream, reasoning=True).text == "ACK ACC-THINK2"


@pytest.mark.parametrize("client,upstream,stream", MATRIX, ids=IDS)
def test_image_reaches_upstream(bridge: Any, upstreams: Any, client: str, upstream: str, stream: bool) -> None:
    c = client_for(client, bridge)
    model, emulator = UPSTREAMS[upstream]
    token = f"ACC-IMG{len(client)}{len(upstream)}{int(stream)}"
    ans = c.ask(model, [c.user(f"Describe this, then reply {token}.", image=True)], stream=stream)
    assert ans.text == f"ACK {token}"
    sent = [json.loads(r.body) for r in upstreams.emulators[emulator].requests if token.encode() in r.body]
    assert sent and PNG in json.dumps(sent[-1]), "the image was carried to the upstream"

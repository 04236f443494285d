"""`scripts/bridge --demo` as a new user runs it: emulated upstreams, client key sk-demo."""

from __future__ import annotations

from typing import Any

import anthropic
import openai
import pytest

from tests.harness import BridgeProcess


@pytest.fixture()
def demo(demo_bridge: BridgeProcess) -> BridgeProcess:
    return demo_bridge


def test_demo_serves_every_dialect(demo: Any) -> None:
    oa = openai.OpenAI(base_url=demo.url + "/v1", api_key="sk-demo", max_retries=0)
    ids = [m.id for m in oa.models.list()]
    assert "openai/gpt-4.1" in ids and "anthropic/claude-sonnet-4-5" in ids
    for model in ["gpt-4.1", "some-unprefixed-model", *ids]:
        r = oa.chat.completions.create(model=model, messages=[{"role": "user", "content": "Say ACC-DEMO1"}])
        assert r.choices[0].message.content == "ACK ACC-DEMO1", model
    assert oa.responses.create(model="gpt-4.1", input="Say ACC-DEMO2").output_text == "ACK ACC-DEMO2"
    an = anthropic.Anthropic(base_url=demo.url, api_key="sk-demo", max_retries=0)
    m = an.messages.create(model="claude-sonnet-4-5", max_tokens=100,
                           messages=[{"role": "user", "content": "Say ACC-DEMO3"}])
    assert m.content[0].text == "ACK ACC-DEMO3"


def test_demo_rejects_other_keys(demo: Any) -> None:
    oa = openai.OpenAI(base_url=demo.url + "/v1", api_key="sk-not-demo", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        oa.models.list()

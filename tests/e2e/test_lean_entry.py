"""The lean entry point (`scripts/bridge --lean`) serves like mitmdump with the addon."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai

from tests.e2e.conftest import bridge_config
from tests.harness import CLIENT_KEY
from tests.harness import BridgeProcess


def test_lean_entry_serves_every_path(upstreams: Any, tmp_path: Path) -> None:
    bridge = BridgeProcess(bridge_config(upstreams), tmp_path, "--lean")
    try:
        client = openai.OpenAI(base_url=bridge.url + "/v1", api_key=CLIENT_KEY, max_retries=0)
        r = client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "Say ACC-LEAN01"}])
        assert r.choices[0].message.content == "ACK ACC-LEAN01"
        chunks = list(client.chat.completions.create(model="anthropic/claude-sonnet-4-5", stream=True, messages=[
            {"role": "user", "content": "Say ACC-LEAN02"}]))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "ACK ACC-LEAN02"
        try:
            client.chat.completions.create(model="dead/x", messages=[{"role": "user", "content": "x"}])
        except openai.APIStatusError as e:
            assert e.status_code == 502 and e.body["code"] == "upstream_unreachable"
        else:
            raise AssertionError("the dead upstream answered")
    finally:
        bridge.stop()

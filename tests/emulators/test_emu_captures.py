"""Requests captured from real clients (shared/captures) read as the reference server did:
the dialect readers must find the same prompt, tool results and tools, and the script
must take the same decision."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.emulators.script import decide
from scripts.emulators.turns import anthropic_turn
from scripts.emulators.turns import chat_turn
from scripts.emulators.turns import responses_turn

CAPTURES = Path(__file__).resolve().parents[2].parent / "shared" / "captures"
READERS = {"/v1/chat/completions": chat_turn, "/v1/messages": anthropic_turn, "/v1/responses": responses_turn}


def _cases() -> list[tuple[str, dict]]:
    cases = []
    for path in sorted(CAPTURES.glob("*.json")):
        for n, req in enumerate(json.loads(path.read_text())["requests"]):
            if "turn" in req and req["path"] in READERS:
                cases.append((f"{path.stem}#{n}", req))
    return cases


CASES = _cases()


def test_captures_found() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("name,req", CASES, ids=[c[0] for c in CASES])
def test_capture(name: str, req: dict) -> None:
    turn = READERS[req["path"]](req["body"])
    expected = req["turn"]
    assert turn.tools == expected["tools"]
    assert turn.tool_results == expected["tool_results"]
    assert turn.prompt.endswith(expected["prompt"])  # captures keep only the prompt's tail
    decision = decide(turn)
    if decision.kind == "text":
        got = {"kind": "text", "payload": decision.text}
    else:
        got = {"kind": "tools", "payload": [[c.name, c.arguments] for c in decision.calls]}
    assert got == req["decision"]

"""The script against every worked example of shared/emulator/script_vectors.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.emulators.script import Turn
from scripts.emulators.script import decide
from scripts.emulators.script import split_fragments
from scripts.emulators.script import split_text

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "emulator" / "script_vectors.json"
CASES = json.loads(VECTORS.read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_vector(case: dict) -> None:
    t = case["turn"]
    turn = Turn(
        prompt=t["prompt"],
        tool_results=t["tool_results"],
        tools=t["tools"],
        tool_schemas=t["tool_schemas"],
        freeform=set(t["freeform"]),
    )
    decision = decide(turn)
    if decision.kind == "text":
        got = {"kind": "text", "payload": decision.text}
    else:
        got = {"kind": "tools", "payload": [[c.name, c.arguments] for c in decision.calls]}
    assert got == case["expect"]


def test_vectors_cover_every_rule() -> None:
    rules = {c["case"].split(":")[0].split(" needs")[0] for c in CASES}
    assert {f"rule {n}" for n in range(1, 7)} <= rules


def test_tool_results_cut_to_2000() -> None:
    decision = decide(Turn(prompt="x", tool_results=["a" * 3000]))
    assert decision.text == "Tool result: " + "a" * 2000


def test_write_tool_matches_path_case_insensitively() -> None:
    schema = {"properties": {"content": {"type": "string"}, "filePath": {"type": "string"}}}
    turn = Turn(
        prompt="create the file a.txt containing `x`", tools=["write"], tool_schemas={"write": schema}
    )
    assert decide(turn).calls[0].arguments == {"filePath": "a.txt", "content": "x\n"}


def test_tool_call_ids_are_not_part_of_the_decision() -> None:
    # The decision is pure: the same turn gives the same answer every time.
    turn = Turn(prompt="weather in Tokyo and London", tools=["get_weather"])
    assert decide(turn) == decide(turn)
    assert [c.arguments["city"] for c in decide(turn).calls] == ["Tokyo", "London"]


@pytest.mark.parametrize(
    "text",
    [
        "Hello from the scripted upstream.",
        "ACK ACC-CHAT01",
        "Hi",
        "Tool result: ACC-SUNNY22 sunny, 22C | ACC-CLOUDY18 cloudy, 18C",
        "x" * 50,
    ],
)
def test_split_text(text: str) -> None:
    parts = split_text(text)
    assert "".join(parts) == text
    assert len(parts) >= 2 and all(parts)
    assert len(parts) <= 3


@pytest.mark.parametrize(
    "payload",
    [
        '{"city":"Paris"}',
        "{}",
        '{"cmd":"cat notes.txt"}',
        "*** Begin Patch\n*** Add File: a\n+b\n*** End Patch\n",
    ],
)
def test_split_fragments(payload: str) -> None:
    parts = split_fragments(payload)
    assert "".join(parts) == payload
    assert len(parts) >= 2 and all(parts)

"""Shared fixtures for the emulator tests: one set of emulators for the whole session."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from typing import Callable
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from scripts.emulators import Ports  # noqa: E402
from scripts.emulators import serve_in_thread  # noqa: E402

KEY = "sk-emulator-test-0123456789"
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def key() -> str:
    return KEY


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return SHARED


@pytest.fixture(scope="session")
def emu() -> Iterator[Ports]:
    names = {"openai": 0, "openai-chat": 0, "anthropic": 0, "openai-responses": 0, "bench": 0}
    with serve_in_thread(names, key=KEY) as ports:
        yield ports


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that sets a server-wide fault must not leak it into the next test."""
    yield
    if "emu" in request.fixturenames:
        ports: Ports = request.getfixturevalue("emu")
        for emulator in ports.emulators.values():
            emulator.set_fault(None)
            emulator.delay_ms = 0


def parse_sse_text(text: str) -> list[tuple[str | None, str]]:
    """(event name, data) per SSE event; checks the framing is `\\n`-terminated events."""
    assert text.endswith("\n\n"), repr(text[-40:])
    events = []
    for block in text[:-2].split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
            else:
                raise AssertionError(f"unexpected SSE line {line!r}")
        events.append((name, "\n".join(data)))
    return events


@pytest.fixture(scope="session")
def parse_sse() -> Callable[[str], list[tuple[str | None, str]]]:
    return parse_sse_text


@pytest.fixture(scope="session")
def sse_json() -> Callable[[str], list[tuple[str | None, Any]]]:
    """Parsed SSE events with JSON data (Chat's `[DONE]` kept as the string)."""

    def parse(text: str) -> list[tuple[str | None, Any]]:
        return [(n, d if d == "[DONE]" else json.loads(d)) for n, d in parse_sse_text(text)]

    return parse

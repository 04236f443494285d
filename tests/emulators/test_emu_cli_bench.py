"""The CLI (subprocess, ports line on stdout) and the bench protocol."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import openai
import pytest

REPO = Path(__file__).resolve().parents[2]

HTTP = httpx.Client(timeout=10)  # one client: creating one per request costs ~30 ms (TLS setup)


@pytest.fixture(scope="module")
def cli():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scripts.emulators",
            "--host",
            "127.0.0.1",
            "--serve",
            "openai-chat=0",
            "--serve",
            "bench=0",
            "--key",
            "cli-key",
            "--delay-ms",
            "0",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        yield json.loads(line)
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_cli_prints_ports_and_serves(cli):
    assert set(cli) == {"openai-chat", "bench"} and all(isinstance(p, int) and p > 0 for p in cli.values())
    r = HTTP.post(
        f"http://127.0.0.1:{cli['openai-chat']}/v1/chat/completions",
        headers={"authorization": "Bearer cli-key"},
        json={"model": "m", "messages": [{"role": "user", "content": "ACC-CLI001"}]},
    )
    assert r.json()["choices"][0]["message"]["content"] == "ACK ACC-CLI001"


def test_cli_rejects_unknown_protocol():
    out = subprocess.run(
        [sys.executable, "-m", "scripts.emulators", "--serve", "nope=0", "--key", "k"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2 and "NAME=PORT" in out.stderr


def test_bench_non_stream(emu, key):
    with openai.OpenAI(base_url=emu.base_url("bench"), api_key=key, max_retries=0) as client:
        completion = client.chat.completions.create(
            model="bench-model", messages=[{"role": "user", "content": "x"}]
        )
    assert completion.model == "bench-model" and completion.choices[0].message.content
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0


@pytest.mark.parametrize("max_tokens,expected", [(None, 20), (5, 5), (200, 200)])
def test_bench_stream_chunk_count(emu, key, sse_json, max_tokens, expected):
    body = {
        "model": "b",
        "messages": [{"role": "user", "content": "x"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if max_tokens:
        body["max_tokens"] = max_tokens
    r = HTTP.post(
        emu.url("bench") + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}
    )
    events = sse_json(r.text)
    assert events[-1][1] == "[DONE]"
    chunks = [d for _, d in events[:-1]]
    content = [c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert len(content) == expected
    assert (
        chunks[-2]["choices"][0]["finish_reason"] == "stop"
        and chunks[-1]["usage"]["completion_tokens"] == expected
    )


def test_bench_stream_with_sdk_and_auth(emu, key):
    with openai.OpenAI(base_url=emu.base_url("bench"), api_key=key, max_retries=0) as client:
        with client.chat.completions.stream(
            model="b", messages=[{"role": "user", "content": "x"}], max_tokens=7
        ) as stream:
            final = stream.get_final_completion()
    assert final.choices[0].message.content == "tok " * 7
    r = HTTP.post(
        emu.url("bench") + "/v1/chat/completions",
        json={"model": "b", "messages": []},
        headers={"authorization": "Bearer wrong"},
    )
    assert r.status_code == 401

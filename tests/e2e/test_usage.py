"""Usage accounting through a real bridge and emulated upstreams: calls with the openai and anthropic
SDKs (streamed and whole, translated and relayed unchanged) are counted per client key, provider,
account and model with the tokens the client was told; upstream errors count as errors; /metrics
carries the same numbers; the numbers survive a restart and a kill -9; daily limits answer 429 in
the client's dialect."""

from __future__ import annotations

import os
import re
import signal
from collections import defaultdict
from pathlib import Path
from typing import Any
from typing import Iterator

import anthropic
import httpx
import openai
import pytest

from addons.masking import key_id
from tests.e2e.conftest import bridge_config
from tests.harness import CLIENT_KEY
from tests.harness import BridgeProcess
from tests.redis_server import RedisServer
from tests.redis_server import available
from tests.redis_server import redis_server  # noqa: F401

REQUEST_CAPPED = "sk-test-capped-requests-0002"
TOKEN_CAPPED = "sk-test-capped-tokens-0003"
COUNTERS = ("requests", "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "errors")
USER = [{"role": "user", "content": "Say ACC-USAGE01"}]


def config(upstreams: Any) -> dict[str, Any]:
    cfg = bridge_config(upstreams)
    cfg["client_keys"] = [CLIENT_KEY, REQUEST_CAPPED, TOKEN_CAPPED]
    cfg["usage"] = {"key_limits": {key_id(REQUEST_CAPPED): {"daily_requests": 2},
                                   key_id(TOKEN_CAPPED): {"daily_tokens": 1}}}
    return cfg


class Bridge:
    """One bridge on one state directory, restartable."""

    def __init__(self, cfg: dict[str, Any], workdir: Path) -> None:
        self.cfg, self.workdir = cfg, workdir
        self.proc = BridgeProcess(cfg, workdir)

    def restart(self, kill: bool = False) -> None:
        if kill:  # SIGKILL to mitmdump itself (launch.py's child): no shutdown hook runs
            children = Path(f"/proc/{self.proc.proc.pid}/task/{self.proc.proc.pid}/children").read_text().split()
            assert len(children) == 1, children
            assert b"mitmdump" in Path(f"/proc/{children[0]}/cmdline").read_bytes()
            os.kill(int(children[0]), signal.SIGKILL)
            assert self.proc.proc.wait(10) != 0
        self.proc.stop()
        self.proc = BridgeProcess(self.cfg, self.workdir)

    @property
    def url(self) -> str:
        return self.proc.url

    def openai(self, key: str = CLIENT_KEY) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key=key, max_retries=0, timeout=30)

    def anthropic(self, key: str = CLIENT_KEY) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=self.url, api_key=key, max_retries=0, timeout=30)

    def usage(self, key: str = CLIENT_KEY) -> dict[str, Any]:
        r = httpx.get(self.url + "/admin/usage", headers={"authorization": f"Bearer {key}"}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
def bridge(upstreams: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridge]:
    b = Bridge(config(upstreams), tmp_path_factory.mktemp("usage"))
    yield b
    b.proc.stop()


Seen = dict[tuple[str, str, str], dict[str, int]]  # (provider, account, model) -> counters the clients saw


def add(seen: Seen, provider: str, model: str, inp: int, out: int, cached: int = 0, reasoning: int = 0,
        errors: int = 0) -> None:
    row = seen[(provider, f"{provider}#0", model)]
    for name, value in zip(COUNTERS, (1, inp, out, cached, reasoning, errors)):
        row[name] = row.get(name, 0) + value


def calls(b: Bridge) -> Seen:
    """One call of each kind; what each client was told of its usage."""
    seen: Seen = defaultdict(dict)
    oa, an = b.openai(), b.anthropic()

    r = oa.chat.completions.create(model="chat/gpt-4.1", messages=USER, reasoning_effort="low")  # type: ignore
    assert r.usage and r.usage.completion_tokens_details and r.usage.completion_tokens_details.reasoning_tokens
    add(seen, "chat", "chat/gpt-4.1", r.usage.prompt_tokens, r.usage.completion_tokens,
        reasoning=r.usage.completion_tokens_details.reasoning_tokens)

    told = {}
    for model, provider in (("chat/gpt-4.1", "chat"), ("anthropic/claude-sonnet-4-5", "anthropic")):
        chunks = list(oa.chat.completions.create(model=model, messages=USER, stream=True,  # type: ignore
                                                 stream_options={"include_usage": True}))
        u = chunks[-1].usage
        assert u is not None and u.prompt_tokens and u.completion_tokens
        add(seen, provider, model, u.prompt_tokens, u.completion_tokens)
        told[provider] = (u.prompt_tokens, u.completion_tokens)  # the emulator answers USER the same each time
    chunks = list(oa.chat.completions.create(model="chat/gpt-4.1", messages=USER, stream=True))  # type: ignore
    assert chunks and all(c.choices and c.usage is None for c in chunks), "no usage chunk it did not ask for"
    add(seen, "chat", "chat/gpt-4.1", *told["chat"])  # relayed unchanged, yet counted: the bridge asked upstream

    r = oa.chat.completions.create(model="anthropic/claude-sonnet-4-5", messages=USER)  # type: ignore
    assert r.usage and r.usage.prompt_tokens and r.usage.completion_tokens
    add(seen, "anthropic", "anthropic/claude-sonnet-4-5", r.usage.prompt_tokens, r.usage.completion_tokens)

    resp = oa.responses.create(model="responses/gpt-5-codex", input="Say ACC-USAGE02")
    assert resp.usage and resp.usage.input_tokens and resp.usage.output_tokens
    add(seen, "responses", "responses/gpt-5-codex", resp.usage.input_tokens, resp.usage.output_tokens)
    events = list(oa.responses.create(model="chat/gpt-4.1", input="Say ACC-USAGE03", stream=True))
    done = [e for e in events if e.type == "response.completed"]
    assert len(done) == 1 and done[0].response.usage and done[0].response.usage.output_tokens
    add(seen, "chat", "chat/gpt-4.1", done[0].response.usage.input_tokens, done[0].response.usage.output_tokens)

    for model, provider in (("anthropic/claude-sonnet-4-5", "anthropic"), ("chat/gpt-4.1", "chat")):
        m = an.messages.create(model=model, max_tokens=100, messages=USER)  # type: ignore
        assert m.usage.input_tokens and m.usage.output_tokens
        add(seen, provider, model, m.usage.input_tokens, m.usage.output_tokens)
    with an.messages.stream(model="anthropic/claude-sonnet-4-5", max_tokens=100, messages=USER) as s:  # type: ignore
        m = s.get_final_message()
    assert m.usage.input_tokens and m.usage.output_tokens
    add(seen, "anthropic", "anthropic/claude-sonnet-4-5", m.usage.input_tokens, m.usage.output_tokens)

    with pytest.raises(openai.InternalServerError):
        oa.chat.completions.create(model="flaky/gpt-4.1", messages=USER,  # type: ignore
                                   extra_headers={"x-emulator-fault": "500"})
    add(seen, "flaky", "flaky/gpt-4.1", 0, 0, errors=1)
    with pytest.raises(openai.APIError):  # the stream breaks off after its first event
        for _ in oa.chat.completions.create(model="flaky/gpt-4.1", messages=USER, stream=True,  # type: ignore
                                            extra_headers={"x-emulator-fault": "reset"}):
            pass
    add(seen, "flaky", "flaky/gpt-4.1", 0, 0, errors=1)
    with pytest.raises(anthropic.APIStatusError):  # translated: garbage after the first event
        with an.messages.stream(model="flaky/gpt-4.1", max_tokens=100, messages=USER,  # type: ignore
                                extra_headers={"x-emulator-fault": "garbage"}) as s:
            s.get_final_message()
    add(seen, "flaky", "flaky/gpt-4.1", 0, 0, errors=1)
    return seen


def mine(report: dict[str, Any], key: str = CLIENT_KEY) -> Seen:
    out: Seen = defaultdict(dict)
    for row in report["rows"]:
        if row["client_key"] == key_id(key):
            sums = out[(row["provider"], row["account"], row["model"])]
            for c in COUNTERS:
                sums[c] = sums.get(c, 0) + row[c]
    return out


SAMPLE = re.compile(r'^(llm_bridge_[a-z_]+)\{((?:[a-z_]+="(?:[^"\\\n]|\\["\\n])*",?)*)\} (\d+)$')
LABEL = re.compile(r'([a-z_]+)="((?:[^"\\\n]|\\["\\n])*)"')


def parse_metrics(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], int]:
    """Strict reading of the exposition format: HELP/TYPE comments and labelled integer samples only."""
    out = {}
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(LABEL.findall(m.group(2)))
        key = (m.group(1), labels)
        assert key not in out, f"duplicate sample {line!r}"
        out[key] = int(m.group(3))
    return out


def test_usage_is_counted_shown_and_kept(bridge: Bridge) -> None:
    before = mine(bridge.usage())
    seen = calls(bridge)
    after = mine(bridge.usage())
    grew = {g: {c: after[g].get(c, 0) - before.get(g, {}).get(c, 0) for c in COUNTERS} for g in after}
    assert {g: v for g, v in grew.items() if v["requests"]} == dict(seen)

    report = bridge.usage()
    days = report["days"]
    assert days == sorted(days, key=lambda d: d["day"]) and days
    for c in COUNTERS:
        assert sum(d[c] for d in days) == sum(r[c] for r in report["rows"])

    assert httpx.get(bridge.url + "/metrics", timeout=10).status_code == 401  # the key is required by default
    r = httpx.get(bridge.url + "/metrics", headers={"authorization": f"Bearer {CLIENT_KEY}"}, timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = parse_metrics(r.text)
    for (provider, account, model), sums in after.items():
        labels = {("client_key", key_id(CLIENT_KEY)), ("provider", provider), ("account", account), ("model", model)}
        assert samples[("llm_bridge_requests_total", frozenset(labels))] == sums["requests"]
        assert samples[("llm_bridge_errors_total", frozenset(labels))] == sums["errors"]
        for kind in ("input", "output", "cached", "reasoning"):
            key = ("llm_bridge_tokens_total", frozenset(labels | {("kind", kind)}))
            assert samples[key] == sums[f"{kind}_tokens"]
    usable = {dict(labels)["provider"]: v for (name, labels), v in samples.items()
              if name == "llm_bridge_account_usable"}
    assert set(usable) == set(bridge.cfg["providers"]) and set(usable.values()) <= {0, 1}

    bridge.restart()
    assert mine(bridge.usage()) == after, "a restart keeps every number"

    r2 = bridge.openai().chat.completions.create(model="chat/gpt-4.1", messages=USER)  # type: ignore
    assert r2.usage is not None
    bridge.restart(kill=True)
    last = mine(bridge.usage())
    row = last[("chat", "chat#0", "chat/gpt-4.1")]
    was = after[("chat", "chat#0", "chat/gpt-4.1")]
    assert row["requests"] == was["requests"] + 1, "a call answered before kill -9 is on disk"
    assert row["input_tokens"] == was["input_tokens"] + r2.usage.prompt_tokens
    assert row["output_tokens"] == was["output_tokens"] + r2.usage.completion_tokens


def test_daily_request_limit_answers_429_in_each_dialect(bridge: Bridge) -> None:
    oa, an = bridge.openai(REQUEST_CAPPED), bridge.anthropic(REQUEST_CAPPED)
    for _ in range(3):  # refused before reaching an upstream: not counted against the limit
        with pytest.raises(openai.BadRequestError):
            oa.chat.completions.create(model="chat/gpt-4.1", messages=[])
    used = sum(r["requests"] for r in mine(bridge.usage(), REQUEST_CAPPED).values())
    for _ in range(2 - used):
        oa.chat.completions.create(model="chat/gpt-4.1", messages=USER)  # type: ignore
    with pytest.raises(openai.RateLimitError) as oe:
        oa.chat.completions.create(model="chat/gpt-4.1", messages=USER)  # type: ignore
    err = oe.value.body
    assert isinstance(err, dict) and err["code"] == "daily_request_limit_exceeded", err
    assert "daily limit of 2 requests" in err["message"]
    assert 0 < int(oe.value.response.headers["retry-after"]) <= 86400
    with pytest.raises(openai.RateLimitError):
        oa.responses.create(model="responses/gpt-5-codex", input="Say ACC-USAGE04")
    with pytest.raises(anthropic.RateLimitError) as ae:
        an.messages.create(model="anthropic/claude-sonnet-4-5", max_tokens=100, messages=USER)  # type: ignore
    body = ae.value.body
    assert isinstance(body, dict) and body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
    assert 0 < int(ae.value.response.headers["retry-after"]) <= 86400
    assert sum(r["requests"] for r in mine(bridge.usage(), REQUEST_CAPPED).values()) == 2, "refusals are not counted"
    bridge.openai().chat.completions.create(model="chat/gpt-4.1", messages=USER)  # type: ignore  # others go on


def test_daily_token_limit(bridge: Bridge) -> None:
    an = bridge.anthropic(TOKEN_CAPPED)
    if not mine(bridge.usage(), TOKEN_CAPPED):
        an.messages.create(model="anthropic/claude-sonnet-4-5", max_tokens=100, messages=USER)  # type: ignore
    with pytest.raises(anthropic.RateLimitError) as ae:
        an.messages.create(model="anthropic/claude-sonnet-4-5", max_tokens=100, messages=USER)  # type: ignore
    assert "daily limit of 1 tokens" in ae.value.body["error"]["message"]  # type: ignore[index]


def test_public_metrics_and_accounting_off(upstreams: Any, tmp_path: Path) -> None:
    cfg = bridge_config(upstreams)
    cfg["usage"] = {"enabled": False, "metrics_public": True}
    b = Bridge(cfg, tmp_path)
    try:
        b.openai().chat.completions.create(model="chat/gpt-4.1", messages=USER)  # type: ignore
        assert b.usage() == {"rows": [], "days": []}
        r = httpx.get(b.url + "/metrics", timeout=10)  # no key: scraped by Prometheus
        assert r.status_code == 200
        samples = parse_metrics(r.text)
        assert not any(name == "llm_bridge_requests_total" for name, _ in samples)
        assert samples[("llm_bridge_account_usable", frozenset({("provider", "chat"), ("account", "chat#0")}))] == 1
        assert not list(tmp_path.rglob("usage.sqlite3"))
    finally:
        b.proc.stop()


@pytest.mark.skipif(not available(), reason="redis-server is not installed")
def test_usage_goes_to_redis_when_configured(upstreams: Any, tmp_path: Path,
                                             redis_server: RedisServer) -> None:  # noqa: F811
    cfg = bridge_config(upstreams)
    cfg.update(redis_url=redis_server.db(5), redis_prefix="usage-e2e")
    b = Bridge(cfg, tmp_path)
    try:
        r = b.openai().chat.completions.create(model="chat/gpt-4.1", messages=USER)  # type: ignore
        assert r.usage is not None
        row = mine(b.usage())[("chat", "chat#0", "chat/gpt-4.1")]
        assert (row["requests"], row["input_tokens"], row["output_tokens"]) == (
            1, r.usage.prompt_tokens, r.usage.completion_tokens)
        assert not list(tmp_path.rglob("usage.sqlite3"))
    finally:
        b.proc.stop()

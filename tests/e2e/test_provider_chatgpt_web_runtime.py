"""ChatGPT web's runtime (addons/providers/chatgpt_web.py) against the emulated backend over real HTTP:
the steps before each conversation (homepage, sentinel, proof of work, conversation prepare), their
options and failures, direct mode's key check, model discovery, the provider's config from the
environment."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path
from typing import Any
from typing import Iterator

import httpx
import pytest

from addons.pool import Account
from addons.providers.chatgpt_web import Runtime
from addons.providers.chatgpt_web import demo_provider
from addons.settings import load
from scripts.emulators import Ports
from scripts.emulators import serve_in_thread
from tests.harness import free_port
from translators import ir
from translators.errors import TranslationError
from translators.providers.chatgpt_web import CODEC
from translators.providers.chatgpt_web import decode_sse

KEY = "eyJhbGciOiJSUzI1NiI.runtime.sig"
REQ = ir.ChatRequest(model="chatgpt/auto", messages=(ir.Message("user", (ir.Text("Say ACC-RT01"),)),))


@pytest.fixture(scope="module")
def emu() -> Iterator[Ports]:
    with serve_in_thread({"chatgpt": 0}, key=KEY) as ports:
        yield ports


@pytest.fixture(autouse=True)
def _reset(emu: Ports) -> Iterator[None]:
    yield
    emulator = emu.emulators["chatgpt"]
    emulator.__dict__.pop("_take_fault", None)
    emulator.key_faults.clear()
    emulator.protocol.difficulty = "0fffff"


def run(runtime: Runtime, coro: Any) -> Any:
    async def main() -> Any:
        try:
            return await coro
        finally:
            await runtime.close()

    return asyncio.run(main())


def runtime(emu: Ports | str, options: dict[str, Any] | None = None) -> Runtime:
    url = emu if isinstance(emu, str) else emu.url("chatgpt")
    return Runtime("chatgpt", url, options or {}, Path("/nonexistent"))


def account(token: str = KEY, **fields: Any) -> Account:
    return Account("chatgpt", 0, {"api_key": token, **fields})


def routes(emu: Ports, since: int) -> list[str]:
    return [r.route for r in list(emu.emulators["chatgpt"].requests)[since:]]


def jwt(exp: int) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJSUzI1NiI.{payload}.sig"


def test_context_then_conversation(emu: Ports) -> None:
    rt, acc = runtime(emu), account()
    since = len(emu.emulators["chatgpt"].requests)

    async def twice() -> tuple[dict[str, Any], dict[str, Any]]:
        return await rt.context(acc, REQ), await rt.context(acc, REQ)

    ctx, ctx2 = run(rt, twice())
    steps = ["/backend-api/sentinel/chat-requirements/prepare", "/backend-api/sentinel/chat-requirements/finalize",
             *["/backend-api/f/conversation/prepare"] * 3]
    assert routes(emu, since) == ["/", *steps, *steps], "the homepage is read once"
    assert set(ctx["sentinel"]) == {"token", "prepare_token", "proof"} and ctx["conduit_token"].startswith("eyJ")
    assert ctx["device_id"] == ctx2["device_id"] and ctx["session_id"] != ctx2["session_id"]
    call = CODEC.build(REQ, "auto", ctx, ir.Ids(1, "r"))
    r = httpx.post(call.url, content=call.body, headers=dict(call.headers), timeout=10)
    assert r.status_code == 200 and decode_sse(r.content, REQ).content == (ir.Text("ACK ACC-RT01"),)


def test_legacy_flow(emu: Ports) -> None:
    rt = runtime(emu, {"sentinel_flow": "legacy", "conversation": "legacy", "pow_hash": "sha3"})
    since = len(emu.emulators["chatgpt"].requests)
    ctx = run(rt, rt.context(account(), REQ))
    assert set(ctx["sentinel"]) == {"token", "proof"} and "conduit_token" not in ctx
    assert [r for r in routes(emu, since) if r != "/"] == ["/backend-api/sentinel/chat-requirements"]


def test_homepage_failure_uses_default_fingerprint(emu: Ports) -> None:
    emu.emulators["chatgpt"]._take_fault = lambda req: "500" if req.route == "/" else None
    rt = runtime(emu)
    assert run(rt, rt.context(account(), REQ))["sentinel"]["token"]


@pytest.mark.parametrize("difficulty,options", [("000000", {}), ("00ffff", {"pow_max_attempts": 100})])
def test_hard_proof_of_work_is_refused_quickly(emu: Ports, difficulty: str, options: dict[str, Any]) -> None:
    emu.emulators["chatgpt"].protocol.difficulty = difficulty
    rt, started = runtime(emu, options), time.monotonic()
    with pytest.raises(TranslationError) as e:
        run(rt, rt.context(account(), REQ))
    assert time.monotonic() - started < 5
    assert e.value.error.status == 503 and "proof of work" in e.value.error.message


def test_rate_limited_sentinel_names_its_delay(emu: Ports) -> None:
    emu.emulators["chatgpt"].key_faults["limited"] = "429"
    rt = runtime(emu)
    with pytest.raises(TranslationError) as e:
        run(rt, rt.context(account("limited"), REQ))
    assert (e.value.error.status, e.value.error.retry_after) == (429, "1")
    assert e.value.error.message.startswith("ChatGPT sentinel prepare failed (HTTP 429)")


def test_expired_or_missing_token_is_refused_without_a_call(emu: Ports) -> None:
    since = len(emu.emulators["chatgpt"].requests)
    rt = runtime(emu)
    for acc in (account(jwt(1_000_000_000)), Account("chatgpt", 0, {})):
        with pytest.raises(TranslationError) as e:
            run(rt, rt.context(acc, REQ))
        assert e.value.error.kind == "authentication"
    assert routes(emu, since) == []


def test_direct_mode_key_check() -> None:
    assert runtime("http://127.0.0.1:1").account_for_client_key("pre-eyJ") is None  # option off
    rt = runtime("http://127.0.0.1:1", {"raw_token_prefix": ["pre-", "other-"]})
    found = rt.account_for_client_key("other-eyJtoken")
    assert found is not None and found.fields["api_key"] == "eyJtoken" and found.label == "direct"
    assert rt.account_for_client_key("pre-") is None and rt.account_for_client_key("eyJtoken") is None
    assert runtime("http://127.0.0.1:1", {"raw_token_prefix": ""}).prefixes == ()


def test_discover_models_tries_the_next_account(emu: Ports) -> None:
    emu.emulators["chatgpt"].key_faults["limited"] = "429"
    rt = runtime(emu)
    models = run(rt, rt.discover_models([Account("chatgpt", 0, {"api_key": "limited"}),
                                         Account("chatgpt", 1, {"api_key": KEY})]))
    assert models[0] == "auto" and "gpt-5-thinking" in models
    with pytest.raises(TranslationError):
        run(rt, rt.discover_models([Account("chatgpt", 0, {"api_key": "limited"})]))
    assert run(rt, rt.discover_models([])) == []


def test_unreachable_and_proxy(emu: Ports) -> None:
    rt = runtime(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TranslationError) as e:
        run(rt, rt.context(account(), REQ))
    assert e.value.error.kind == "upstream_unreachable" and e.value.error.status == 502
    rt = runtime(emu)
    dead = Account("chatgpt", 0, {"api_key": KEY}, proxy=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TranslationError):
        run(rt, rt.context(dead, REQ))


def test_config_from_environment_and_demo() -> None:
    cfg = load(None, {"CHATGPT_API_KEY": "eyJenv", "CHATGPT_ACCOUNT_ID": "ws-9"})
    p = cfg.providers["chatgpt"]
    assert p.type == "chatgpt" and p.account_fields() == [{"account_id": "ws-9", "api_key": "eyJenv"}]
    assert p.url() == "https://chatgpt.com"
    assert demo_provider("http://127.0.0.1:1", Path("/tmp"), "k") == {
        "type": "chatgpt", "base_url": "http://127.0.0.1:1", "api_key": "k"}

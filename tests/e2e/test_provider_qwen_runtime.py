"""Qwen's runtime (addons/providers/qwen.py) against the emulated chat.qwen.ai over real HTTP: the
chat created per request, password sign-in and token renewal, model discovery, unreachable upstream."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any
from typing import Iterator

import pytest

from addons.pool import Account
from addons.providers.qwen import Runtime
from addons.providers.qwen import demo_provider
from scripts.emulators import Ports
from scripts.emulators import serve_in_thread
from tests.harness import free_port
from translators import ir
from translators.errors import TranslationError

KEY = "sk-qwen-emulated-token"
REQ = ir.ChatRequest(model="qwen/qwen3-235b-a22b", messages=(ir.Message("user", (ir.Text("hi"),)),))


@pytest.fixture(scope="module")
def qwen() -> Iterator[Ports]:
    with serve_in_thread({"qwen": 0}, key=KEY) as ports:
        yield ports


def run(runtime: Runtime, coro: Any) -> Any:
    async def main() -> Any:
        try:
            return await coro
        finally:
            await runtime.close()

    return asyncio.run(main())


def runtime(url: str, options: dict[str, Any] | None = None) -> Runtime:
    return Runtime("qwen", url, options or {}, Path("/nonexistent"))


def expired_jwt() -> str:
    payload = base64.urlsafe_b64encode(b'{"id":"u","exp":1000,"iat":100}').rstrip(b"=").decode()
    return f"eyJhbGciOiJIUzI1NiJ9.{payload}.sig"


def test_context_creates_a_chat(qwen: Ports) -> None:
    rt = runtime(qwen.url("qwen"), {"headers": {"bx-v": "2.5.31"}})
    ctx = run(rt, rt.context(Account("qwen", 0, {"api_key": KEY}), REQ))
    assert ctx["chat_id"] in qwen.emulators["qwen"].protocol.chats and ctx["fid"]
    assert ctx["base_url"] == qwen.url("qwen") and ctx["api_key"] == KEY
    assert ctx["headers"] == {"bx-v": "2.5.31"}
    sent = qwen.emulators["qwen"].requests[-1]
    assert sent.route == "/api/v2/chats/new" and sent.headers["bx-v"] == "2.5.31"


def test_password_sign_in_when_no_token(qwen: Ports) -> None:
    rt = runtime(qwen.url("qwen"))
    account = Account("qwen", 0, {"email": "a@b.c", "password": KEY})
    ctx = run(rt, rt.context(account, REQ))
    assert ctx["api_key"] == KEY and account.fields["api_key"] == KEY and ctx["chat_id"]


def test_expired_jwt_is_renewed(qwen: Ports) -> None:
    rt = runtime(qwen.url("qwen"))
    account = Account("qwen", 0, {"api_key": expired_jwt(), "email": "a@b.c", "password": KEY})
    assert run(rt, rt.context(account, REQ))["api_key"] == KEY


def test_401_signs_in_again_then_retries(qwen: Ports) -> None:
    rt = runtime(qwen.url("qwen"))
    account = Account("qwen", 0, {"api_key": "revoked", "email": "a@b.c", "password": KEY})
    assert run(rt, rt.context(account, REQ))["chat_id"]


def test_401_without_password_is_an_authentication_error(qwen: Ports) -> None:
    rt = runtime(qwen.url("qwen"))
    with pytest.raises(TranslationError) as e:
        run(rt, rt.context(Account("qwen", 0, {"api_key": "revoked"}), REQ))
    assert e.value.error.kind == "authentication"
    assert run(rt, rt.refresh(Account("qwen", 0, {"api_key": "revoked"}))) is False


def test_refresh_with_a_wrong_password(qwen: Ports) -> None:
    rt = runtime(qwen.url("qwen"))
    assert run(rt, rt.refresh(Account("qwen", 0, {"email": "a@b.c", "password": "nope"}))) is False


def test_discover_models(qwen: Ports) -> None:
    rt = runtime(qwen.url("qwen"))
    models = run(rt, rt.discover_models([Account("qwen", 0, {"api_key": KEY})]))
    assert "qwen3-235b-a22b" in models and "wanx-video" not in models


def test_unreachable(qwen: Ports) -> None:
    rt = runtime(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TranslationError) as e:
        run(rt, rt.context(Account("qwen", 0, {"api_key": KEY}), REQ))
    assert e.value.error.kind == "upstream_unreachable" and e.value.error.status == 502


def test_proxy_is_honoured(qwen: Ports) -> None:
    """The chat creation goes through the account's proxy: a dead proxy makes it fail."""
    rt = runtime(qwen.url("qwen"))
    account = Account("qwen", 0, {"api_key": KEY}, proxy=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TranslationError):
        run(rt, rt.context(account, REQ))


def test_demo_provider() -> None:
    assert demo_provider("http://127.0.0.1:1", Path("/tmp"), "k") == {
        "type": "qwen", "base_url": "http://127.0.0.1:1", "api_key": "k"}

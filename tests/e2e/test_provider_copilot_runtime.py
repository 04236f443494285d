"""The Copilot runtime against the emulated GitHub and CAPI: the token exchange and its refresh timing
(injected clock), the device-flow login with slow_down / denied / expired (injected sleep that moves
the emulator's clock), the stored login (0600, reloaded by a new runtime), the login page and its
status, token files, errors, the account's proxy, and the demo's pre-seeded login."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path
from typing import Any
from typing import Iterator

import pytest

from addons.pool import Account
from addons.providers.base import Page
from addons.providers.copilot import Runtime
from addons.providers.copilot import demo_provider
from scripts.emulators import Ports
from scripts.emulators import serve_in_thread
from tests.harness import free_port
from translators import ir
from translators.errors import TranslationError

KEY = "ghu_runtime_test_key"  # the emulator accepts it as a GitHub token
REQ = ir.ChatRequest(model="copilot/gpt-4.1", messages=())


@pytest.fixture(scope="module")
def ports() -> Iterator[Ports]:
    with serve_in_thread({"copilot": 0}, key=KEY) as p:
        yield p


@pytest.fixture()
def proto(ports: Ports) -> Iterator[Any]:
    p = ports.emulators["copilot"].protocol
    yield p
    p.interval = 5.0
    p.no_copilot.clear()


@pytest.fixture()
def base(ports: Ports) -> str:
    return ports.url("copilot")


def runtime(base: str, tmp_path: Path, **options: Any) -> Runtime:
    return Runtime("copilot", None, {"github_url": base, "github_api_url": base, **options}, tmp_path)


def account(**fields: Any) -> Account:
    return Account("copilot", 0, dict(fields), fields.pop("proxy", None))


def token_requests(ports: Ports) -> int:
    return sum(r.path == "/copilot_internal/v2/token" for r in ports.emulators["copilot"].requests)


async def test_context_exchanges_the_token_and_loads_the_catalogue(base: str, tmp_path: Path, ports: Ports,
                                                                   proto: Any) -> None:
    rt = runtime(base, tmp_path, editor_version="vscode/1.200.0", refresh_margin=60)
    first = await rt.context(account(github_token=KEY), REQ)
    second = await rt.context(account(github_token=KEY), REQ)
    await rt.close()
    assert first["copilot_token"] in proto.copilot_tokens and first["api_base"] == base  # endpoints.api
    assert first["copilot_token"] == second["copilot_token"] and first["request_id"] != second["request_id"]
    assert first["interaction_id"] == second["interaction_id"] and first["editor_version"] == "vscode/1.200.0"
    assert {"gpt-4.1", "gpt-5.1-codex", "claude-sonnet-4.5"} <= set(first["models"])
    assert "text-embedding-3-small" not in first["models"] and "claude-opus-41" not in first["models"]
    assert rt.models == list(first["models"])
    token_call = [r for r in ports.emulators["copilot"].requests
                  if r.path == "/copilot_internal/v2/token"][-1]
    assert token_call.headers["authorization"] == f"token {KEY}"
    assert token_call.headers["editor-version"] == "vscode/1.200.0"


async def test_refresh_before_refresh_in_with_an_injected_clock(base: str, tmp_path: Path,
                                                                 ports: Ports) -> None:
    rt = runtime(base, tmp_path)
    now = [1000.0]
    rt.clock = lambda: now[0]
    acc = account(github_token=KEY)
    n = token_requests(ports)
    minted = (await rt.context(acc, REQ))["copilot_token"]
    now[0] = 1000 + 1500 - 60 - 1  # refresh_in 1500 s, renewed 60 s early
    assert (await rt.context(acc, REQ))["copilot_token"] == minted and token_requests(ports) == n + 1
    now[0] = 1000 + 1500 - 60
    renewed = (await rt.context(acc, REQ))["copilot_token"]
    assert renewed != minted and token_requests(ports) == n + 2
    assert await rt.refresh(acc)  # after a 401: minted again on the retry
    assert (await rt.context(acc, REQ))["copilot_token"] != renewed and token_requests(ports) == n + 3
    assert not await rt.refresh(account())  # nothing to mint with
    await rt.close()


async def test_device_login_slow_down_then_token_stored_and_reloaded(base: str, tmp_path: Path,
                                                                     proto: Any) -> None:
    proto.interval = 2.0
    rt = runtime(base, tmp_path)
    slept: list[float] = []
    acc = Account("copilot", 0, {"name": "me"})

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) > 1:  # the first poll comes too early: GitHub says slow_down
            for device in proto.devices.values():
                device.last_poll -= seconds
        if len(slept) == 3:
            proto.authorize(login.user_code)
        await asyncio.sleep(0)

    rt.sleep = sleep
    login = await rt.start_login(acc)
    await asyncio.wait_for(login.task, 5)
    assert slept == [2.0, 7.0, 7.0] and login.state == "done" and login.user == "octocat"
    path = tmp_path / "copilot-copilot-me.json"
    saved = json.loads(path.read_text())
    assert saved["github_token"].startswith("ghu_") and saved["github_token"] in proto.github_tokens
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert (await rt.context(acc, REQ))["copilot_token"] in proto.copilot_tokens
    await rt.close()
    again = runtime(base, tmp_path)  # a restart: the login is loaded from the state directory
    assert again.github_token(acc) == saved["github_token"]
    assert (await again.context(acc, REQ))["copilot_token"] in proto.copilot_tokens
    await again.close()


async def test_denied_and_expired_logins(base: str, tmp_path: Path, proto: Any) -> None:
    proto.interval = 0.0
    rt = runtime(base, tmp_path)
    now = [0.0]

    async def sleep(seconds: float) -> None:
        proto.deny(login.user_code)
        await asyncio.sleep(0)

    rt.sleep = sleep
    login = await rt.start_login(account())
    await asyncio.wait_for(login.task, 5)
    assert login.state == "denied" and "denied" in login.message
    rt.clock = lambda: now[0]
    rt.sleep = lambda seconds: asyncio.sleep(0)
    login = await rt.start_login(account())
    now[0] = login.expires_at
    await asyncio.wait_for(login.task, 5)
    assert login.state == "expired" and not (tmp_path / "copilot-copilot-copilot_0.json").exists()
    await rt.close()


async def test_login_page_and_status(base: str, tmp_path: Path, proto: Any) -> None:
    rt = runtime(base, tmp_path)
    rt.sleep = lambda seconds: asyncio.sleep(3600)
    await rt.discover_models([account(), Account("copilot", 1, {"name": "work"})])
    pages = rt.pages()
    query = {"key": "sk-client-secret"}
    page = await pages["/auth/device"](Page("GET", "/auth/device", query, b""))
    text = page.body.decode()
    login = rt.logins["copilot#0"]
    assert page.status == 200 and login.user_code in text and f'href="{base}/login/device"' in text
    assert "sk-client-secret" not in text  # the script reads the key from the address bar
    assert "logged in already" not in text
    again = await pages["/auth/device"](Page("GET", "/auth/device", query, b""))
    assert login.user_code in again.body.decode()  # a reload keeps the pending code
    answer = await pages["/auth/device/status"](Page("GET", "/auth/device/status", query, b""))
    status = json.loads(answer.body)
    assert status["state"] == "pending" and status["user_code"] == login.user_code
    work = await pages["/auth/device"](Page("GET", "/auth/device", {**query, "account": "work"}, b""))
    other = rt.logins["work"].user_code
    assert other in work.body.decode() and other != login.user_code
    rt.login_path(rt.accounts[1]).write_text(json.dumps({"github_token": KEY, "user": "octocat"}))
    relogin = await pages["/auth/device"](Page("GET", "/auth/device", {"account": "work"}, b""))
    assert "logged in already as octocat" in relogin.body.decode()
    missing = await pages["/auth/device"](Page("GET", "/auth/device", {"account": "nobody"}, b""))
    assert missing.status == 404
    none = await pages["/auth/device/status"](Page("GET", "/auth/device/status", {"account": "nobody"}, b""))
    assert json.loads(none.body) == {"state": "none"}
    await rt.close()


async def test_not_logged_in_names_the_login_page(base: str, tmp_path: Path) -> None:
    rt = runtime(base, tmp_path)
    assert await rt.discover_models([account()]) == []
    with pytest.raises(TranslationError) as e:
        await rt.context(account(), REQ)
    assert e.value.error.kind == "authentication" and "/auth/device" in e.value.error.message
    await rt.close()


async def test_hosts_json_token_file(base: str, tmp_path: Path, proto: Any) -> None:
    hosts = tmp_path / "hosts.json"
    hosts.write_text(json.dumps({"github.com": {"user": "octocat", "oauth_token": KEY}}))
    rt = runtime(base, tmp_path)
    assert (await rt.context(account(token_file=str(hosts)), REQ))["copilot_token"] in proto.copilot_tokens
    await rt.close()


@pytest.mark.parametrize("github,kind,text", [("ghu_revoked", "authentication", "/auth/device"),
                                              (KEY, "permission", "no_copilot_access")])
async def test_token_exchange_failures(base: str, tmp_path: Path, proto: Any, github: str, kind: str,
                                       text: str) -> None:
    proto.no_copilot.add(KEY)
    rt = runtime(base, tmp_path)
    with pytest.raises(TranslationError) as e:
        await rt.context(account(github_token=github), REQ)
    await rt.close()
    assert e.value.error.kind == kind and text in e.value.error.message
    assert github not in e.value.error.message


async def test_account_proxy_is_used(base: str, tmp_path: Path) -> None:
    rt = runtime(base, tmp_path)
    with pytest.raises(TranslationError) as e:
        await rt.context(account(github_token=KEY, proxy=f"http://127.0.0.1:{free_port()}"), REQ)
    await rt.close()
    assert e.value.error.kind == "upstream_unreachable"


def test_demo_provider_pre_seeds_a_login(tmp_path: Path) -> None:
    cfg = demo_provider("http://127.0.0.1:9", tmp_path, "sk-x")
    path = Path(cfg["accounts"][0]["token_file"])
    assert json.loads(path.read_text())["github_token"] == "sk-x"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert cfg["options"] == {"github_url": "http://127.0.0.1:9", "github_api_url": "http://127.0.0.1:9"}
    from addons.settings import Provider

    Provider.model_validate(cfg)

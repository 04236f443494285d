"""The GitHub device-flow login served by the bridge at /auth/device, driven by a real headless Chromium
against the emulated GitHub (github-copilot.md 1.1): the page shows the code and the verification
link, the user authorises on the (emulated) GitHub page, the bridge's page completes by itself, Copilot
answers with the new login, and a restarted bridge keeps it. A denied login offers to start again."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any
from typing import Iterator

import openai
import pytest

from scripts.chromium import ARGS
from scripts.chromium import CHROMIUM
from scripts.emulators import Ports
from scripts.emulators import serve_in_thread
from tests.harness import CLIENT_KEY
from tests.harness import UPSTREAM_KEY
from tests.harness import BridgeProcess

X = [{"role": "user", "content": "Say ACC-DEV1"}]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: the device-flow login is tested in a real browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(tmp_path_factory.mktemp("chromium-profile")),
                                                       executable_path=CHROMIUM, headless=True, args=ARGS)
        yield context
        context.close()


@pytest.fixture(scope="module")
def emu() -> Iterator[Ports]:
    with serve_in_thread({"copilot": 0}, key=UPSTREAM_KEY) as ports:
        ports.emulators["copilot"].protocol.interval = 1.0  # GitHub says 5 s: no need to wait that long
        yield ports


def config(emu: Ports, **provider: Any) -> dict[str, Any]:
    base = emu.url("copilot")
    return {"client_keys": [CLIENT_KEY], "providers": {"copilot": {
        "type": "copilot", "options": {"github_url": base, "github_api_url": base}, **provider}}}


def client(bridge: BridgeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=bridge.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)


def device_codes(emu: Ports) -> int:
    return sum(r.path == "/login/device/code" for r in emu.emulators["copilot"].requests)


def test_device_login_in_a_browser_survives_a_restart(browser: Any, emu: Ports, tmp_path: Path) -> None:
    bridge = BridgeProcess(config(emu), tmp_path)
    try:
        with pytest.raises(openai.AuthenticationError) as e:
            client(bridge).chat.completions.create(model="copilot/gpt-4.1", messages=X)
        assert "/auth/device" in e.value.message  # says where to log in
        page = browser.new_page()
        page.goto(f"{bridge.url}/auth/device?key={CLIENT_KEY}")
        code = page.text_content("#code")
        assert page.get_attribute("#status", "data-state") == "pending" and len(code) == 9
        github = browser.new_page()  # the user follows the link and authorises on (emulated) GitHub
        github.goto(page.get_attribute("#verify", "href"))
        github.fill("input[name=user_code]", code)
        github.click("button[value=authorize]")
        assert "all set" in github.text_content("h1")
        page.wait_for_selector('#status[data-state="done"]', timeout=20000)  # the page completes by itself
        assert "Logged in as octocat" in page.text_content("#status") and page.is_hidden("#code")
        r = client(bridge).chat.completions.create(model="copilot/gpt-4.1", messages=X)
        assert r.choices[0].message.content == "ACK ACC-DEV1"
        assert "copilot/gpt-5.1-codex" in {m.id for m in client(bridge).models.list()}  # listed after login
    finally:
        bridge.stop()
    stored = tmp_path / "state" / "copilot-copilot-copilot_0.json"
    assert stat.S_IMODE(os.stat(stored).st_mode) == 0o600 and '"github_token": "ghu_' in stored.read_text()
    codes = device_codes(emu)
    again = BridgeProcess(config(emu), tmp_path)  # same state directory: no new login needed
    try:
        r = client(again).chat.completions.create(model="copilot/claude-sonnet-4.5", messages=X)
        assert r.choices[0].message.content == "ACK ACC-DEV1" and device_codes(emu) == codes
    finally:
        again.stop()


def test_denied_login_offers_to_start_again(browser: Any, emu: Ports, tmp_path: Path) -> None:
    bridge = BridgeProcess(config(emu, accounts=[{"name": "work"}, {"name": "home"}]), tmp_path)
    try:
        page = browser.new_page()
        page.goto(f"{bridge.url}/auth/device?key={CLIENT_KEY}&account=home")
        assert "account <b>home</b>" in page.content()
        code = page.text_content("#code")
        assert emu.emulators["copilot"].protocol.deny(code)
        page.wait_for_selector('#status[data-state="denied"]', timeout=20000)
        assert "denied" in page.text_content("#status") and page.is_visible("#restart")
        page.click("#restart")
        page.wait_for_selector('#status[data-state="pending"]')
        assert page.text_content("#code") not in ("", code)
    finally:
        bridge.stop()

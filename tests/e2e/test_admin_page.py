"""The admin page at /admin through a real mitmdump: logged in from a real headless Chromium (the key
kept in the tab's sessionStorage, sent as a header, no cookie), an account added on the page is saved
(the old file kept as .bak), applied at once and used for the next call; secrets never show unmasked,
not even in a flow file saved with -w; an empty secret field keeps the stored key, an invalid edit is
refused with the file untouched. The JSON API's edges (no key, wrong key, no config file) over plain HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from typing import Iterator

import httpx
import openai
import pytest

from scripts.chromium import ARGS
from scripts.chromium import CHROMIUM
from scripts.emulators import Ports
from scripts.emulators import serve_in_thread
from tests.harness import CLIENT_KEY
from tests.harness import BridgeProcess

NEW_KEY = "sk-admin-new-account-key-0001"  # the only key the emulated upstream accepts
OLD_KEY = "sk-admin-old-rejected-key-0001"
OTHER_KEY = "sk-admin-other-provider-key-0001"
SECRETS = (CLIENT_KEY, NEW_KEY, OLD_KEY, OTHER_KEY)
HEADERS = {"authorization": f"Bearer {CLIENT_KEY}"}
X = [{"role": "user", "content": "Say ACC-ADMIN1"}]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: the admin page is tested in a real browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def emu() -> Iterator[Ports]:
    with serve_in_thread({"openai-chat": 0}, key=NEW_KEY) as ports:
        yield ports


def config(emu: Ports) -> dict[str, Any]:
    url = f"http://127.0.0.1:{emu['openai-chat']}/v1"
    return {
        "client_keys": [CLIENT_KEY],
        "default_provider": "pool",
        "providers": {
            "pool": {"type": "openai-compatible", "base_url": url, "models": ["gpt-4.1"],
                     "accounts": [{"name": "old", "api_key": OLD_KEY}]},
            "other": {"type": "openai-compatible", "base_url": url, "api_key": OTHER_KEY},
        },
        "aliases": {"fast": "pool/gpt-4.1"},
    }


@pytest.fixture()
def bridge(emu: Ports, tmp_path: Path) -> Iterator[BridgeProcess]:
    proc = BridgeProcess(config(emu), tmp_path)
    yield proc
    proc.stop()


def client(bridge: BridgeProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=bridge.url + "/v1", api_key=CLIENT_KEY, max_retries=0, timeout=30)


STORED_KEY = "sessionStorage.getItem('bridge-admin-key')"


def log_in(browser: Any, bridge: BridgeProcess, key: str = CLIENT_KEY) -> Any:
    page = browser.new_context().new_page()  # a context of its own, which can open a second tab
    page.goto(bridge.url + "/admin")
    page.fill("#key", key)
    page.click("#login-button")
    if key == CLIENT_KEY:
        page.wait_for_selector('tr[data-account="old"] td.uses')  # the page has loaded config and health
    return page


def add_account_and_save(page: Any) -> None:
    """Through the page: a new account `fresh` with NEW_KEY on provider `pool`, saved."""
    accounts = page.locator('.provider-accounts[data-provider="pool"]')
    accounts.locator('input[data-new="name"]').fill("fresh")
    accounts.locator('input[data-new="api_key"]').fill(NEW_KEY)
    accounts.locator('button[data-add-account="pool"]').click()
    page.click("#save")
    page.wait_for_selector('#message[data-state="ok"]')


def assert_masked(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_log_in_add_an_account_and_see_it_used(browser: Any, bridge: BridgeProcess, emu: Ports,
                                               tmp_path: Path) -> None:
    with pytest.raises(openai.AuthenticationError):  # the only account's key is refused upstream
        client(bridge).chat.completions.create(model="gpt-4.1", messages=X)
    original = (tmp_path / "config.yaml").read_text()

    page = log_in(browser, bridge, "sk-not-the-client-key")
    page.wait_for_selector('#error:text("Wrong client key")')
    assert page.is_visible("#key") and not page.is_visible("#app")
    assert page.evaluate(STORED_KEY) is None, "a refused key is not kept"
    page.context.close()

    page = log_in(browser, bridge)
    assert page.is_visible('#providers tr[data-provider="pool"]')
    assert page.is_visible('#providers tr[data-provider="other"]')
    assert page.text_content('tr[data-account="old"] td.usable') == "yes"
    assert page.is_visible('#aliases tr[data-alias="fast"]')
    assert not page.is_visible("#login")
    assert_masked(page.content())
    assert page.context.cookies() == [], "no ambient credential"
    assert page.evaluate(STORED_KEY) == CLIENT_KEY
    other_tab = page.context.new_page()  # sessionStorage is per tab: another one asks for the key
    other_tab.goto(bridge.url + "/admin")
    other_tab.wait_for_selector("#key")
    assert not other_tab.is_visible("#app")
    other_tab.close()

    add_account_and_save(page)
    assert "applied" in page.text_content("#message")
    assert_masked(page.content())

    assert (tmp_path / "config.yaml.bak").read_text() == original
    saved = (tmp_path / "config.yaml").read_text()
    assert "name: fresh" in saved and NEW_KEY in saved and OLD_KEY in saved
    assert OTHER_KEY in saved and CLIENT_KEY in saved, "secrets left empty on the page are kept"

    r = client(bridge).chat.completions.create(model="gpt-4.1", messages=X)  # no reload wait: applied at once
    assert r.choices[0].message.content == "ACK ACC-ADMIN1"
    assert emu.emulators["openai-chat"].requests[-1].headers["authorization"] == f"Bearer {NEW_KEY}"

    page.reload()
    page.wait_for_selector('tr[data-account="fresh"] td.uses:text-is("1")')
    assert page.text_content('tr[data-account="fresh"] td.usable') == "yes"
    bar = page.wait_for_selector("#usage-svg rect.requests")  # today's calls: the refused one and the answered
    assert bar.text_content().startswith(bar.get_attribute("data-day") + ": 2 requests")
    assert page.locator("#usage-rows tbody tr").count() >= 1
    assert_masked(page.content())

    page.click("#logout")
    page.wait_for_selector("#key")
    assert page.evaluate(STORED_KEY) is None and not page.is_visible("#app")
    assert page.locator("#providers tr[data-provider]").count() == 0, "nothing shown stays in the page"
    page.reload()
    page.wait_for_selector("#key")
    assert not page.is_visible("#app")


def test_an_invalid_edit_is_refused_and_the_file_untouched(browser: Any, bridge: BridgeProcess,
                                                           tmp_path: Path) -> None:
    original = (tmp_path / "config.yaml").read_bytes()
    page = log_in(browser, bridge)
    url = page.locator('#providers tr[data-provider="pool"] input[data-field="base_url"]')
    url.fill("ftp://not-an-http-url")
    url.dispatch_event("change")
    page.click("#save")
    page.wait_for_selector('#message[data-state="error"]')
    assert "base_url" in page.text_content("#message") and "http://" in page.text_content("#message")
    assert (tmp_path / "config.yaml").read_bytes() == original and not (tmp_path / "config.yaml.bak").exists()
    assert client(bridge).models.list().data, "the bridge still serves with the old configuration"


def test_api_needs_the_key_and_the_page_holds_no_secret(bridge: BridgeProcess) -> None:
    wrong = {"authorization": "Bearer sk-wrong"}
    for path in ("/admin/api/config", "/admin/api/pools", "/admin/usage", "/admin/login"):
        for headers in ({}, wrong):
            r = httpx.get(bridge.url + path, headers=headers)
            assert r.status_code == 401 and "Authorization: Bearer <key>" in r.json()["error"]["message"]
    for path in ("/admin/api/config", "/admin/api/pools", "/admin/usage"):
        assert httpx.get(bridge.url + path, headers=HEADERS).status_code == 200
    assert set(httpx.get(bridge.url + "/admin/usage", headers=HEADERS).json()) >= {"rows", "days"}
    r = httpx.put(bridge.url + "/admin/api/config", json={"config": {}}, headers=wrong)
    assert r.status_code == 401, "no change without the key"

    page = httpx.get(bridge.url + "/admin")  # the same page for everyone, with or without a key
    assert page.status_code == 200 and 'id="key"' in page.text and "set-cookie" not in page.headers
    assert_masked(page.text)
    csp = page.headers["content-security-policy"]
    assert "script-src 'nonce-" in csp and "form-action 'none'" in csp
    nonce = csp.split("'nonce-", 1)[1].split("'", 1)[0]
    assert f'<script nonce="{nonce}">' in page.text and nonce not in httpx.get(bridge.url + "/admin").text

    view = httpx.get(bridge.url + "/admin/api/config", headers=HEADERS).json()
    assert view["editable"] and view["file"].endswith("config.yaml")
    assert_masked(json.dumps(view))
    edit = view["config"]
    edit["aliases"]["quick"] = "pool/gpt-4.1"
    r = httpx.put(bridge.url + "/admin/api/config", json={"config": edit}, headers=HEADERS)
    assert r.status_code == 200 and r.json()["config"]["aliases"]["quick"] == "pool/gpt-4.1"
    assert "set-cookie" not in r.headers
    assert "quick: pool/gpt-4.1" in (Path(view["file"]).read_text())


def test_api_edits_keep_secrets_and_refuse_bad_ones(bridge: BridgeProcess, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    view = httpx.get(bridge.url + "/admin/api/config", headers=HEADERS).json()["config"]
    masked_old = view["providers"]["pool"]["accounts"][0]["api_key"]
    assert masked_old.startswith("sk-a") and "…" in masked_old

    before = path.read_bytes()
    bad = json.loads(json.dumps(view))
    bad["providers"]["pool"]["accounts"][0]["api_key"] = "sk-a…00000000"  # masked, but of no stored key
    r = httpx.put(bridge.url + "/admin/api/config", headers=HEADERS, json={"config": bad})
    assert r.status_code == 400 and "matches no stored secret" in r.json()["error"]["message"]
    r = httpx.put(bridge.url + "/admin/api/config", headers=HEADERS, content=b"{not json")
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
    bad = json.loads(json.dumps(view))
    bad["default_provider"] = "missing"
    r = httpx.put(bridge.url + "/admin/api/config", headers=HEADERS, json={"config": bad})
    assert r.status_code == 400 and "default_provider" in r.json()["error"]["message"]
    assert path.read_bytes() == before, "refused edits leave the file alone"

    moved = json.loads(json.dumps(view))  # accounts reordered, one key left empty: each keeps its own key
    moved["providers"]["pool"]["accounts"] = [{"name": "new", "api_key": NEW_KEY},
                                              moved["providers"]["pool"]["accounts"][0]]
    moved["providers"]["other"]["api_key"] = ""
    r = httpx.put(bridge.url + "/admin/api/config", headers=HEADERS, json={"config": moved})
    assert r.status_code == 200
    assert_masked(r.text)
    saved = path.read_text()
    assert saved.index(NEW_KEY) < saved.index(OLD_KEY) and OTHER_KEY in saved
    r = httpx.post(bridge.url + "/v1/chat/completions", headers=HEADERS, timeout=30,
                   json={"model": "gpt-4.1", "messages": X})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "ACK ACC-ADMIN1"


def test_without_a_config_file_the_page_is_read_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BRIDGE_CLIENT_KEYS", CLIENT_KEY)
    monkeypatch.setenv("BRIDGE_KEY_FILE", str(tmp_path / "client_key"))
    bridge = BridgeProcess(None, tmp_path)
    try:
        view = httpx.get(bridge.url + "/admin/api/config", headers=HEADERS).json()
        assert view["file"] is None and not view["editable"]
        assert_masked(json.dumps(view))
        r = httpx.put(bridge.url + "/admin/api/config", headers=HEADERS, json={"config": view["config"]})
        assert r.status_code == 409 and "without a configuration file" in r.json()["error"]["message"]
    finally:
        bridge.stop()


def test_the_demo_can_be_administered(demo_bridge: BridgeProcess) -> None:
    view = httpx.get(demo_bridge.url + "/admin/api/config", headers={"authorization": "Bearer sk-demo"}).json()
    assert view["editable"] and Path(view["file"]).parent.name == "demo"
    assert "sk-demo" not in json.dumps(view) and "local" in view["config"]["providers"]


def test_a_whole_browser_session_saved_with_w_keeps_no_secret(browser: Any, emu: Ports, tmp_path: Path) -> None:
    flows = tmp_path / "flows.mitm"
    bridge = BridgeProcess(config(emu), tmp_path, "-w", str(flows))
    try:
        log_in(browser, bridge, "sk-admin-wrong-typed-key-0001").wait_for_selector('#error:text("Wrong client key")')
        page = log_in(browser, bridge)
        add_account_and_save(page)
        page.click("#logout")
        page.wait_for_selector("#key")
    finally:
        bridge.stop()
    assert NEW_KEY in (tmp_path / "config.yaml").read_text()
    saved = flows.read_bytes()
    assert b"PUT" in saved and b"/admin/api/config" in saved and b"/admin/api/pools" in saved
    assert f"Bearer {CLIENT_KEY[:4]}***(len={len(CLIENT_KEY)})".encode() in saved, "the key header, masked"
    for secret in (*SECRETS, "sk-admin-wrong-typed-key-0001"):
        assert secret.encode() not in saved
    for token in (b"cookie", b"csrf"):
        assert token not in saved.lower(), "no session-like token in any request or response"

"""The Gemini Code Assist runtime against the emulated backend: OAuth refresh from the stored token
formats (written back atomically, 0600, in their own format), refresh failures that leave the file
untouched, refresh after a 401, project discovery with onboarding, and the account's proxy."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any
from typing import Iterator

import pytest

from addons.pool import Account
from addons.providers.gemini_code_assist import CLIENT_ID
from addons.providers.gemini_code_assist import Runtime
from addons.providers.gemini_code_assist import demo_provider
from scripts.emulators import Ports
from scripts.emulators import serve_in_thread
from scripts.emulators.gemini_code_assist import PROJECT
from tests.harness import free_port
from translators import ir
from translators.errors import TranslationError

KEY = "sk-gemini-runtime-test"  # the emulator accepts it as refresh token (and as a static bearer)
REQ = ir.ChatRequest(model="gemini-2.5-pro", messages=())


@pytest.fixture(scope="module")
def emu() -> Iterator[Ports]:
    with serve_in_thread({"gemini": 0}, key=KEY) as ports:
        yield ports


@pytest.fixture()
def base(emu: Ports) -> str:
    return emu.url("gemini")


def runtime(base: str, tmp_path: Path, **options: Any) -> Runtime:
    opts = {"token_url": base + "/token", "client_secret": "installed-app-secret",
            "onboard_poll_interval": 0.01, **options}
    return Runtime("gemini", base, opts, tmp_path)


def token_file(tmp_path: Path, data: dict[str, Any], mode: int = 0o600) -> Path:
    path = tmp_path / "oauth_creds.json"
    path.write_text(json.dumps(data))
    path.chmod(mode)
    return path


def expired_ms() -> int:
    return int((time.time() - 60) * 1000)


def account(**fields: Any) -> Account:
    return Account("gemini", 0, dict(fields), fields.pop("proxy", None))


async def test_expired_gemini_cli_token_is_refreshed_and_written_back(base: str, tmp_path: Path) -> None:
    data = {"access_token": "ya29.old", "refresh_token": KEY, "scope": "s", "token_type": "Bearer",
            "id_token": "old.id", "expiry_date": expired_ms()}
    path = token_file(tmp_path, data, 0o644)
    rt = runtime(base, tmp_path)
    try:
        ctx = await rt.context(account(token_file=str(path)), REQ)
    finally:
        await rt.close()
    assert ctx["access_token"].startswith("ya29.a0Emu") and ctx["project"] == PROJECT
    assert ctx["base_url"] == base and not {"client_secret", "refresh_token", "token_file"} & ctx.keys()
    saved = json.loads(path.read_text())
    assert saved["access_token"] == ctx["access_token"] and saved["refresh_token"] == KEY  # not renewed (1.1)
    assert saved["expiry_date"] > (time.time() + 3000) * 1000 and saved["id_token"] != "old.id"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads((tmp_path / "oauth_creds.json.bak").read_text())["access_token"] == "ya29.old"


@pytest.mark.parametrize("fields,error", [
    ({"refresh_token": "1//revoked"}, "invalid_grant"),
    ({"client_id": "someone-else.apps.googleusercontent.com"}, "invalid_client"),
])
async def test_failed_refresh_is_clear_and_leaves_the_file_untouched(
        base: str, tmp_path: Path, fields: dict[str, str], error: str) -> None:
    data = {"access_token": "ya29.old", "refresh_token": KEY, "expiry_date": expired_ms(), **fields}
    path = token_file(tmp_path, data, 0o640)
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    rt = runtime(base, tmp_path)
    try:
        with pytest.raises(TranslationError) as e:
            await rt.context(account(token_file=str(path)), REQ)
    finally:
        await rt.close()
    assert e.value.error.kind == "authentication" and e.value.error.status == 401
    assert error in e.value.error.message
    assert "refreshing the Google access token failed" in e.value.error.message
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640 and not (tmp_path / "oauth_creds.json.bak").exists()
    assert KEY not in e.value.error.message


async def test_missing_client_secret_is_a_clear_error(base: str, tmp_path: Path) -> None:
    rt = Runtime("gemini", base, {"token_url": base + "/token"}, tmp_path)
    with pytest.raises(TranslationError) as e:
        await rt.context(account(refresh_token=KEY), REQ)
    assert "client_secret" in e.value.error.message and e.value.error.kind == "authentication"


async def test_valid_token_is_used_as_is(base: str, tmp_path: Path) -> None:
    path = token_file(tmp_path, {"access_token": KEY, "refresh_token": KEY,
                                 "expiry_date": int((time.time() + 3000) * 1000), "project_id": "p"})
    before = path.read_bytes()
    rt = runtime(base, tmp_path)
    ctx = await rt.context(account(token_file=str(path)), REQ)
    assert ctx["access_token"] == KEY and ctx["project"] == "p" and path.read_bytes() == before
    assert await rt.refresh(account(token_file=str(path)))  # after a 401: renewed whatever the expiry says
    assert json.loads(path.read_text())["access_token"] != KEY
    await rt.close()


async def test_token_close_to_expiry_is_refreshed_early(base: str, tmp_path: Path) -> None:
    rt = runtime(base, tmp_path, project_id="p")
    acc = account(access_token=KEY, refresh_token=KEY, expiry=time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 120)))
    ctx = await rt.context(acc, REQ)
    await rt.close()
    assert ctx["access_token"] != KEY  # inside the 300 s margin


@pytest.mark.parametrize("data,access_key,expiry_key", [
    ({"access_token": "ya29.old", "token_type": "Bearer", "refresh_token": KEY,
      "expiry": "2025-08-09T08:12:33.5+08:00", "expires_in": 0}, "access_token", "expiry"),  # Go oauth2.Token
    ({"client_id": CLIENT_ID, "client_secret": "x", "token": "ya29.old", "refresh_token": KEY,
      "scopes": ["s"], "token_uri": "https://oauth2.googleapis.com/token",
      "expiry": "2025-08-09T07:12:33", "project_id": "proj-from-file"},
     "token", "expiry"),  # python google-auth
])
async def test_other_stored_formats_keep_their_shape(base: str, tmp_path: Path, data: dict[str, Any],
                                                     access_key: str, expiry_key: str) -> None:
    path = token_file(tmp_path, data)
    rt = runtime(base, tmp_path)
    ctx = await rt.context(account(token_file=str(path)), REQ)
    await rt.close()
    saved = json.loads(path.read_text())
    assert set(saved) == set(data) and saved[access_key] == ctx["access_token"]
    assert saved[expiry_key] > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 3000))
    if "project_id" in data:
        assert ctx["project"] == "proj-from-file"


async def test_changed_token_file_is_reread(base: str, tmp_path: Path) -> None:
    path = token_file(tmp_path, {"access_token": KEY, "refresh_token": KEY, "project_id": "p",
                                 "expiry_date": int((time.time() + 3000) * 1000)})
    rt = runtime(base, tmp_path)
    assert (await rt.context(account(token_file=str(path)), REQ))["access_token"] == KEY
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "access_token": "ya29.new-login"}))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert (await rt.context(account(token_file=str(path)), REQ))["access_token"] == "ya29.new-login"
    await rt.close()


async def test_401_during_discovery_refreshes_and_retries(base: str, tmp_path: Path, emu: Ports) -> None:
    emu.emulators["gemini"].protocol.onboarded = False
    rt = runtime(base, tmp_path)
    acc = account(access_token="ya29.revoked-but-not-expired", refresh_token=KEY,
                  expiry=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3000)))
    ctx = await rt.context(acc, REQ)
    await rt.close()
    assert ctx["project"] == PROJECT and ctx["access_token"].startswith("ya29.a0Emu")
    paths = [r.path for r in emu.emulators["gemini"].requests][-6:]
    assert "/token" in paths and any(p.startswith("/v1internal/operations/") for p in paths)


async def test_static_access_token_and_cached_project(base: str, tmp_path: Path, emu: Ports) -> None:
    rt = runtime(base, tmp_path)
    acc = account(access_token=KEY)
    first = await rt.context(acc, REQ)
    n = len(emu.emulators["gemini"].requests)
    second = await rt.context(acc, REQ)
    await rt.close()
    assert first == second and first["access_token"] == KEY and len(emu.emulators["gemini"].requests) == n
    assert not await Runtime("gemini", base, {}, tmp_path).refresh(acc)  # nothing to refresh with


async def test_account_proxy_is_used_for_token_calls(base: str, tmp_path: Path) -> None:
    rt = runtime(base, tmp_path)
    acc = account(refresh_token=KEY, proxy=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TranslationError) as e:
        await rt.context(acc, REQ)
    await rt.close()
    assert e.value.error.kind == "upstream_unreachable" and "token endpoint" in e.value.error.message


def test_demo_provider_writes_an_expired_token_file(tmp_path: Path) -> None:
    cfg = demo_provider("http://127.0.0.1:9", tmp_path, "sk-x")
    path = Path(cfg["accounts"][0]["token_file"])
    data = json.loads(path.read_text())
    assert data["refresh_token"] == "sk-x" and data["expiry_date"] < time.time() * 1000
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert cfg["type"] == "gemini" and cfg["options"]["token_url"] == "http://127.0.0.1:9/token"
    from addons.settings import Provider

    Provider.model_validate(cfg)

"""The operator's admin page at /admin (login with a client key).

A browser logs in once (POST /admin/login) and gets an HttpOnly, SameSite=Strict session cookie: a
random token kept in memory and mapped to the key's key_id, never the key. Its state-changing calls
also carry the session's CSRF token (the page has it; another origin cannot read it). Scripts send a
client key header instead. The API edits the config file: secrets are shown masked and kept when left
empty, an invalid edit is refused with the file untouched, a valid one is written (old one kept as
.bak) and applied at once."""

from __future__ import annotations

import hmac
import html
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from mitmproxy import ctx
from mitmproxy import http

from addons import admin_config
from addons import answers
from addons.atomicfile import write_atomic
from addons.clientauth import key_matches
from addons.clientauth import presented_key
from addons.masking import key_id
from addons.masking import mask
from addons.masking import mask_headers
from addons.pool import status as pool_status
from addons.settings import ConfigError
from translators.errors import TranslationError

COOKIE = "bridge_admin"
SESSION_SECONDS = 12 * 3600
MAX_SESSIONS = 256  # oldest dropped first: a login loop cannot grow memory
PAGE = Path(__file__).with_name("admin_page.html")


@dataclass(slots=True)
class Session:
    key: str  # key_id of the client key that logged in
    csrf: str
    expires: float


SESSIONS: dict[str, Session] = {}


def authorized(flow: http.HTTPFlow, gateway: Any) -> bool:
    """A client key in the API headers (scripts, curl)."""
    return key_matches(presented_key(flow.request), gateway.keys)


def session(flow: http.HTTPFlow, gateway: Any) -> Session | None:
    """The browser's session, while it lasts and its key is still accepted."""
    token = flow.request.cookies.get(COOKIE, "")
    found = SESSIONS.get(token) if token else None
    if found is None:
        return None
    if found.expires < time.monotonic() or found.key not in {key_id(k.decode()) for k in gateway.keys}:
        SESSIONS.pop(token, None)
        return None
    return found


def _cross_site(request: http.Request) -> bool:
    """A browser says where a request comes from; the bridge's own page is same-origin."""
    return request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none")


async def answer(flow: http.HTTPFlow, gateway: Any) -> http.Response:
    req = flow.request
    path, method = req.path.split("?", 1)[0].rstrip("/"), req.method
    token, current, by_header = req.cookies.get(COOKIE, ""), session(flow, gateway), authorized(flow, gateway)
    refused = method not in ("GET", "HEAD") and not _allowed_change(req, current, by_header)
    mask_headers(req.headers)  # what mitmweb shows and saves keeps no key, session or CSRF token
    if path == "/admin/login" and method == "POST":
        return _login(flow, gateway)
    if path == "/admin/logout":
        return _logout(token)
    if path == "/admin" and method in ("GET", "HEAD"):
        return _page(current) if current is not None else _login_page()
    if not by_header and current is None:
        raise TranslationError("Log in at /admin or send a client key as 'Authorization: Bearer <key>'.",
                               kind="authentication", code="invalid_api_key")
    if refused:
        raise TranslationError("Cross-site or token-less change refused: use the admin page.", kind="permission",
                               code="csrf")
    if path == "/admin/usage" and method == "GET":
        return answers.json_response(200, await gateway.usage.report(dict(req.query.items())))  # ?provider=&from=...
    if path == "/admin/api/pools" and method == "GET":
        return answers.json_response(200, await _pools(gateway))
    if path == "/admin/api/config" and method == "GET":
        return answers.json_response(200, _config_view(gateway))
    if path == "/admin/api/config" and method in ("PUT", "POST"):
        return _save(flow, gateway)
    raise TranslationError(f"Unknown admin endpoint {method} {path}.", kind="not_found", code="unknown_url")


def _allowed_change(req: http.Request, current: Session | None, by_header: bool) -> bool:
    if _cross_site(req):
        return False
    if by_header:
        return True  # a key header is never sent by a browser on its own
    token = req.headers.get("x-csrf-token", "")
    return current is not None and bool(token) and hmac.compare_digest(token, current.csrf)


# ------------------------------------------------------------------ login


def _login(flow: http.HTTPFlow, gateway: Any) -> http.Response:
    req = flow.request
    form = req.urlencoded_form
    key = form.get("key", "").strip()
    if key:
        form["key"] = mask(key)  # the flow keeps no key
    if _cross_site(req):
        return _login_page("Cross-site login refused.", 403)
    if not key_matches(key, gateway.keys):
        return _login_page("Wrong client key.", 401)
    now = time.monotonic()
    for token in [t for t, s in SESSIONS.items() if s.expires < now]:
        del SESSIONS[token]
    while len(SESSIONS) >= MAX_SESSIONS:
        SESSIONS.pop(next(iter(SESSIONS)))
    token = secrets.token_urlsafe(32)
    SESSIONS[token] = Session(key_id(key), secrets.token_urlsafe(32), now + SESSION_SECONDS)
    secure = "; Secure" if req.scheme == "https" else ""
    return http.Response.make(303, b"", {
        "location": "/admin", "cache-control": "no-store",
        "set-cookie": f"{COOKIE}={token}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}{secure}"})


def _logout(token: str) -> http.Response:
    SESSIONS.pop(token, None)
    return http.Response.make(303, b"", {"location": "/admin", "cache-control": "no-store",
                                         "set-cookie": f"{COOKIE}=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0"})


# ------------------------------------------------------------------ pages

LOGIN = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>LLM bridge admin: log in</title>
<style nonce="{nonce}">body{{font:15px system-ui,sans-serif;margin:4rem auto;max-width:24rem}}
input{{width:100%;padding:.4rem;margin:.4rem 0}}.error{{color:#b00020}}</style></head><body>
<h1>LLM bridge admin</h1>{error}
<form method="post" action="/admin/login"><label for="key">Client key</label>
<input id="key" name="key" type="password" autocomplete="current-password" autofocus required>
<button type="submit" id="login">Log in</button></form></body></html>"""


def _html(status: int, text: str, nonce: str) -> http.Response:
    csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; "
           "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    return http.Response.make(status, text.encode(), {
        "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "content-security-policy": csp,
        "x-frame-options": "DENY", "referrer-policy": "no-referrer", "x-content-type-options": "nosniff"})


def _login_page(error: str = "", status: int = 200) -> http.Response:
    nonce = secrets.token_urlsafe(16)
    shown = f'<p class="error" id="error">{html.escape(error)}</p>' if error else ""
    return _html(status, LOGIN.format(nonce=nonce, error=shown), nonce)


def _page(current: Session) -> http.Response:
    nonce = secrets.token_urlsafe(16)
    text = PAGE.read_text().replace("{{nonce}}", nonce).replace("{{csrf}}", current.csrf)
    return _html(200, text, nonce)


# ------------------------------------------------------------------ API


async def _pools(gateway: Any) -> dict[str, Any]:
    shared = getattr(gateway, "pool_state", None)  # pools shared between bridges: the latest counts
    if shared is not None:
        await shared.refresh(gateway.pools)
    return {"providers": pool_status(gateway.pools, time.monotonic())}


def _config_path() -> str | None:
    return ctx.options.bridge_config or None


def _stored(path: str) -> tuple[str, dict[str, Any]]:
    text = Path(path).read_text()
    try:
        return text, admin_config.read(text)
    except Exception as e:  # the file was broken by hand since the bridge loaded it
        raise TranslationError(f"{path}: cannot read the configuration file: {e}", kind="api_error") from None


def _config_view(gateway: Any) -> dict[str, Any]:
    """The file's own values (not the environment's overrides, which saving must not write into it),
    secrets masked; without a file, the configuration in force, read-only."""
    path = _config_path()
    if path is None:
        current = gateway.cfg.model_dump(mode="json", exclude_defaults=True) if gateway.cfg else {}
        for i, secret in enumerate(gateway.cfg.client_keys if gateway.cfg else []):
            current["client_keys"][i] = secret.get_secret_value()
        for name, provider in (gateway.cfg.providers.items() if gateway.cfg else ()):
            if provider.api_key is not None:
                current["providers"][name]["api_key"] = provider.api_key.get_secret_value()
        return {"file": None, "editable": False, "config": admin_config.masked(current)}
    return {"file": path, "editable": True, "config": admin_config.masked(_stored(path)[1])}


def _save(flow: http.HTTPFlow, gateway: Any) -> http.Response:
    path = _config_path()
    if path is None:
        raise TranslationError("The bridge runs without a configuration file (--config): there is nothing to "
                               "save to.", kind="invalid_request", status=409, code="no_config_file")
    try:
        edited = orjson.loads(flow.request.get_content(strict=False) or b"")
    except orjson.JSONDecodeError as e:
        raise TranslationError(f"The body is not valid JSON: {e}.", kind="invalid_request") from None
    edited = edited.get("config", edited) if isinstance(edited, dict) else edited
    if not isinstance(edited, dict):
        raise TranslationError("The body must be the configuration as a JSON object.", kind="invalid_request")
    flow.request.content = b"{}"  # the flow keeps no secret the edit carried
    old_text, stored = _stored(path)
    try:
        data = admin_config.with_secrets(edited, stored)
        admin_config.validate(data, path)
    except ConfigError as e:
        raise TranslationError(str(e), kind="invalid_request", code="invalid_config") from None
    write_atomic(path, admin_config.rewritten(old_text, data))  # keeps <file>.bak
    if not gateway._load(path):  # e.g. a provider plug-in that cannot start: the old file goes back
        write_atomic(path, old_text, backup=False)
        gateway._load(path)
        raise TranslationError("The configuration is valid but could not be applied (see the bridge's log); "
                               "the previous one stays.", kind="invalid_request", code="invalid_config")
    return answers.json_response(200, {"saved": path, "backup": path + ".bak", **_config_view(gateway)})

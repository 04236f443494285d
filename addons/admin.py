"""The operator's admin page at /admin.

No secret ever travels in a response, so none can end up in a stored flow (mitmproxy's -w saves the
response the client receives): the page itself is public and holds no secret; its script keeps the
client key typed in in sessionStorage (per tab) and sends it as 'Authorization: Bearer <key>' on every
API call, a request header the bridge masks before the flow is kept. With no cookie (no ambient
credential) another site cannot act as the operator, so there is no CSRF token either. Scripts use the
same API with the same header. The API edits the config file: secrets are shown masked and kept when left
empty, an invalid edit is refused with the file untouched, a valid one is written (old one kept as .bak)
and applied at once."""

from __future__ import annotations

import secrets
import time
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
from addons.masking import mask_headers
from addons.pool import status as pool_status
from addons.settings import ConfigError
from translators.errors import TranslationError

PAGE = Path(__file__).with_name("admin_page.html")


async def answer(flow: http.HTTPFlow, gateway: Any) -> http.Response:
    req = flow.request
    path, method = req.path.split("?", 1)[0].rstrip("/"), req.method
    authorized = key_matches(presented_key(req), gateway.keys)
    mask_headers(req.headers)  # what mitmweb shows and saves keeps no key, right or wrong
    if path == "/admin" and method in ("GET", "HEAD"):
        return _page()
    if not authorized:
        raise TranslationError("Send a client key as 'Authorization: Bearer <key>' (the page at /admin asks "
                               "for it).", kind="authentication", code="invalid_api_key")
    if path == "/admin/usage" and method == "GET":
        return answers.json_response(200, await gateway.usage.report(dict(req.query.items())))  # ?provider=&from=...
    if path == "/admin/api/pools" and method == "GET":
        return answers.json_response(200, await _pools(gateway))
    if path == "/admin/api/config" and method == "GET":
        return answers.json_response(200, _config_view(gateway))
    if path == "/admin/api/config" and method in ("PUT", "POST"):
        return _save(flow, gateway)
    raise TranslationError(f"Unknown admin endpoint {method} {path}.", kind="not_found", code="unknown_url")


def _page() -> http.Response:
    """The same page for everyone: the login form and the editor, shown by its script. form-action
    'none': the key typed in is never submitted as a form (the script sends it as a header)."""
    nonce = secrets.token_urlsafe(16)
    csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; "
           "img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
    return http.Response.make(200, PAGE.read_text().replace("{{nonce}}", nonce).encode(), {
        "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "content-security-policy": csp,
        "x-frame-options": "DENY", "referrer-policy": "no-referrer", "x-content-type-options": "nosniff"})


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

"""Copilot's two credentials (github-copilot.md 1): the GitHub token from the OAuth device flow (1.1)
and the short-lived Copilot token it is exchanged for (1.2). Pure: the calls to send and the parsing
of their answers; the runtime (addons/providers/copilot) sends them and keeps the state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from typing import Literal
from typing import Mapping
from urllib.parse import parse_qsl

import orjson

from translators.errors import TranslationError
from translators.providers.base import UpstreamCall

CLIENT_ID = "Iv1.b507a08c87ecfe98"  # the Copilot GitHub App (1)
GITHUB_URL = "https://github.com"
GITHUB_API_URL = "https://api.github.com"
API_URL = "https://api.githubcopilot.com"  # when the envelope names no endpoints.api (1.2)
SCOPE = "read:user"
GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_STEP = 5.0  # seconds added to the interval on slow_down, for good (1.1 polling rules)
EDITOR_VERSION, PLUGIN_VERSION = "vscode/1.104.3", "copilot-chat/0.26.7"
TOKEN_API_VERSION = "2025-04-01"

PollKind = Literal["token", "pending", "slow_down", "expired", "denied", "error"]


@dataclass(frozen=True, slots=True)
class DeviceCode:
    device_code: str
    user_code: str
    verification_uri: str
    expires_in: float
    interval: float


@dataclass(frozen=True, slots=True)
class Poll:
    kind: PollKind
    token: str | None = None
    interval: float | None = None  # slow_down's new interval, when GitHub names it
    message: str = ""


@dataclass(frozen=True, slots=True)
class CopilotToken:
    token: str
    expires_at: float  # server clock, epoch seconds
    refresh_in: float
    api: str | None  # endpoints.api


def _json_headers() -> dict[str, str]:
    return {"accept": "application/json", "content-type": "application/json"}


def device_code_call(github_url: str, client_id: str = CLIENT_ID) -> UpstreamCall:
    body = orjson.dumps({"client_id": client_id, "scope": SCOPE})
    return UpstreamCall(github_url.rstrip("/") + "/login/device/code", body, _json_headers(), streams=False)


def access_token_call(github_url: str, device_code: str, client_id: str = CLIENT_ID) -> UpstreamCall:
    body = orjson.dumps({"client_id": client_id, "device_code": device_code, "grant_type": GRANT})
    return UpstreamCall(github_url.rstrip("/") + "/login/oauth/access_token", body, _json_headers(),
                        streams=False)


def github_headers(github_token: str, options: Mapping[str, Any]) -> dict[str, str]:
    """1.2: ericc-ch's set (the VS Code extension's); `authorization: token <gh>`."""
    plugin = str(options.get("plugin_version") or PLUGIN_VERSION)
    return {"authorization": f"token {github_token}", "accept": "application/json",
            "content-type": "application/json",
            "editor-version": str(options.get("editor_version") or EDITOR_VERSION),
            "editor-plugin-version": plugin, "user-agent": "GitHubCopilotChat/" + plugin.rpartition("/")[2],
            "x-github-api-version": TOKEN_API_VERSION,
            "x-vscode-user-agent-library-version": "electron-fetch"}


def copilot_token_call(api_url: str, github_token: str, options: Mapping[str, Any]) -> UpstreamCall:
    return UpstreamCall(api_url.rstrip("/") + "/copilot_internal/v2/token", b"",
                        github_headers(github_token, options), method="GET", streams=False)


def user_call(api_url: str, github_token: str, options: Mapping[str, Any]) -> UpstreamCall:
    """`GET /user`: only to show who logged in (1.1, optional)."""
    return UpstreamCall(api_url.rstrip("/") + "/user", b"", github_headers(github_token, options),
                        method="GET", streams=False)


# ---- answers ----


def _object(body: bytes) -> dict[str, Any]:
    """JSON, or the form-encoded answer GitHub gives without `Accept: application/json` (1.1)."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        obj = dict(parse_qsl(body.decode("utf-8", "replace")))
    return obj if isinstance(obj, dict) else {}


def parse_device_code(status: int, body: bytes) -> DeviceCode:
    obj = _object(body)
    try:
        return DeviceCode(str(obj["device_code"]), str(obj["user_code"]), str(obj["verification_uri"]),
                          float(obj.get("expires_in") or 900), max(float(obj.get("interval") or 5), 0.0))
    except (KeyError, TypeError, ValueError):
        detail = obj.get("error_description") or obj.get("error") or body[:200].decode("utf-8", "replace")
        raise TranslationError(f"GitHub refused to start the device login (HTTP {status}): {detail}",
                               kind="authentication" if status in (400, 401, 403) else "api_error",
                               status=None if status in (400, 401, 403) else 502) from None


_POLL_KINDS: dict[str, PollKind] = {"authorization_pending": "pending", "slow_down": "slow_down",
                                    "expired_token": "expired", "access_denied": "denied"}


def parse_access_token(status: int, body: bytes) -> Poll:
    """One poll's answer (GitHub says 200 for pending and errors too, 1.1)."""
    obj = _object(body)
    token = obj.get("access_token")
    if isinstance(token, str) and token:
        return Poll("token", token)
    error = str(obj.get("error") or f"HTTP {status}")
    interval = obj.get("interval")
    if not isinstance(interval, (int, float)) or isinstance(interval, bool):
        interval = None
    return Poll(_POLL_KINDS.get(error, "error"), None, None if interval is None else float(interval),
                str(obj.get("error_description") or error))


def next_interval(current: float, poll: Poll) -> float:
    """slow_down: GitHub's new interval when it names one, and at least 5 s more, permanently (1.1)."""
    if poll.kind != "slow_down":
        return current
    return max(current + SLOW_DOWN_STEP, poll.interval or 0.0)


def parse_copilot_token(status: int, body: bytes) -> CopilotToken:
    """The token envelope (1.2); its error envelopes become clear authentication/permission errors."""
    obj = _object(body)
    if status == 200 and isinstance(obj.get("token"), str):
        endpoints = obj.get("endpoints") if isinstance(obj.get("endpoints"), dict) else {}
        api = endpoints.get("api") if isinstance(endpoints.get("api"), str) else _api_of(obj["token"])
        return CopilotToken(obj["token"], _number(obj.get("expires_at"), 0.0),
                            _number(obj.get("refresh_in"), 1500.0), api)
    details = obj.get("error_details") if isinstance(obj.get("error_details"), dict) else {}
    message = str(details.get("message") or obj.get("message") or body[:200].decode("utf-8", "replace"))
    if status == 401:
        raise TranslationError(f"GitHub rejected the GitHub token ({message}): log in again.",
                               kind="authentication")
    if str(obj.get("message", "")).startswith("API rate limit exceeded"):
        raise TranslationError(f"GitHub: {message}", kind="rate_limit")
    if status in (403, 404):
        reason = details.get("notification_id")
        raise TranslationError(f"GitHub Copilot is not available to this account: {message}"
                               + (f" ({reason})" if reason else ""), kind="permission")
    raise TranslationError(f"The Copilot token exchange failed (HTTP {status}): {message}", kind="api_error",
                           status=502)


def _api_of(token: str) -> str | None:
    """`proxy-ep=proxy.X` in the token -> `https://api.X` when endpoints.api is missing (1.2)."""
    for part in token.split(":", 1)[0].split(";"):
        key, _, value = part.partition("=")
        if key == "proxy-ep" and value.startswith("proxy."):
            return "https://api." + value[len("proxy."):]
    return None


def _number(value: Any, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def refresh_deadline(tok: CopilotToken, fetched_at: float, margin: float = 60.0) -> float:
    """When to mint a new Copilot token, on the local clock: `margin` s before refresh_in runs out
    (ericc-ch), and never after the server's expires_at minus the margin when that is plausible
    (a skewed server clock must not make every token look expired: vscode ignores it)."""
    deadline = fetched_at + max(tok.refresh_in - margin, 0.0)
    if tok.expires_at - margin > fetched_at:
        deadline = min(deadline, tok.expires_at - margin)
    return deadline


def token_from_file(obj: Any) -> str | None:
    """The GitHub token of a stored login: this bridge's `{"github_token"}`, an editor plug-in's
    hosts.json `{"github.com": {"oauth_token"}}` or apps.json `{"github.com:Iv1...": {...}}` (1.1)."""
    if not isinstance(obj, dict):
        return None
    for key in ("github_token", "oauth_token", "access_token"):
        if isinstance(obj.get(key), str) and obj[key]:
            return str(obj[key])
    for host, entry in obj.items():
        if str(host).startswith("github.com") and isinstance(entry, dict):
            found = token_from_file(entry)
            if found:
                return found
    return None


def user_login(status: int, body: bytes) -> str | None:
    obj = _object(body) if status == 200 else {}
    return obj["login"] if isinstance(obj.get("login"), str) else None

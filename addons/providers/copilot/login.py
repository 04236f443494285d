"""The GitHub device-flow login (github-copilot.md 1.1) served by the bridge at /auth/device: the state of
one login, the background poll of GitHub's access_token endpoint, and the page that shows the user code
and completes by itself (it polls /auth/device/status, which answers with Login.status())."""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from typing import Any
from typing import Awaitable
from typing import Callable

from addons.pool import Account
from translators.errors import TranslationError
from translators.providers.copilot.auth import Poll
from translators.providers.copilot.auth import next_interval

logger = logging.getLogger(__name__)

PollOnce = Callable[[], Awaitable[Poll]]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[Any]]
FINAL = {"expired": "expired", "denied": "denied"}


@dataclass(slots=True)
class Login:
    account: Account
    user_code: str
    verification_uri: str
    expires_at: float  # local clock
    interval: float
    state: str = "pending"  # pending | done | expired | denied | error
    message: str = ""
    user: str | None = None
    task: Any = None  # the asyncio.Task polling GitHub

    def status(self, now: float) -> dict[str, Any]:
        return {"state": self.state, "user_code": self.user_code, "verification_uri": self.verification_uri,
                "expires_in": max(0, int(self.expires_at - now)), "interval": self.interval,
                "message": self.message, "user": self.user, "account": self.account.label}


async def poll(login: Login, once: PollOnce, clock: Clock, sleep: Sleep,
               on_token: Callable[[str], Awaitable[None]]) -> None:
    """Poll until GitHub answers for good: wait `interval` before each poll, +5 s for good on
    slow_down (or GitHub's new interval), stop on expired_token / access_denied or when the code's
    lifetime is over (1.1 polling rules). An unreachable GitHub is retried at the next interval."""
    while login.state == "pending":
        await sleep(login.interval)
        if clock() >= login.expires_at:
            login.state, login.message = "expired", "The code expired before it was authorised."
            return
        try:
            answer = await once()
        except TranslationError as e:
            logger.warning("copilot login %s: polling GitHub failed: %s", login.account.label, e)
            continue
        if answer.kind == "pending":
            continue
        if answer.kind == "slow_down":
            login.interval = next_interval(login.interval, answer)
            continue
        if answer.kind == "token" and answer.token:
            await on_token(answer.token)
            login.state = "done"
            return
        login.state, login.message = FINAL.get(answer.kind, "error"), answer.message


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>GitHub Copilot login</title>
<style>body{font:16px system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em}
#code{font:bold 2.4em ui-monospace,monospace;letter-spacing:.1em;margin:.4em 0}
.done{color:#1a7f37}.failed{color:#cf222e}</style></head>
<body><h1>GitHub Copilot login</h1>
<p>Provider <b>__PROVIDER__</b>, account <b>__ACCOUNT__</b>.__ALREADY__</p>
<div id="pending"><p>1. Open __LINK__</p><p>2. Enter this code:</p><div id="code">__CODE__</div>
<p>This page completes by itself once you have authorised the app on GitHub.</p></div>
<p id="status" data-state="__STATE__">__MESSAGE__</p>
<p id="again" hidden><a id="restart" href="#">Start again</a></p>
<script>
const q = location.search;
document.getElementById("restart").href = "/auth/device" + q;
function show(s) {
  const el = document.getElementById("status");
  el.dataset.state = s.state;
  if (s.state === "done") {
    el.className = "done";
    el.textContent = "Logged in" + (s.user ? " as " + s.user : "") +
      ". Copilot is ready: you can close this page.";
    document.getElementById("pending").hidden = true;
  } else if (s.state === "pending") {
    el.textContent = "Waiting for authorisation… (the code expires in " +
      Math.ceil(s.expires_in / 60) + " min)";
  } else {
    el.className = "failed";
    el.textContent = "Login " + s.state + (s.message ? ": " + s.message : "") + ".";
    document.getElementById("pending").hidden = true;
    document.getElementById("again").hidden = false;
  }
  return s.state === "pending";
}
async function tick() {
  try {
    const r = await fetch("/auth/device/status" + q, {cache: "no-store"});
    if (show(await r.json())) setTimeout(tick, 1000);
  } catch (e) { setTimeout(tick, 2000); }
}
if (document.getElementById("status").dataset.state === "pending") setTimeout(tick, 1000);
</script></body></html>
"""


def page(provider: str, login: Login, current_user: str | None = None) -> bytes:
    """The login page; the client key is never written into it (the script reads it from the URL).
    `current_user`: the account is logged in already (as this user, or "" when unknown)."""
    uri = login.verification_uri
    link = (f'<a id="verify" href="{html.escape(uri)}" target="_blank" rel="noopener">{html.escape(uri)}</a>'
            if uri.startswith(("https://", "http://")) else html.escape(uri))
    values = {"__PROVIDER__": provider, "__ACCOUNT__": login.account.label, "__CODE__": login.user_code,
              "__STATE__": login.state, "__MESSAGE__": "Waiting for authorisation…"}
    already = "" if current_user is None else (
        f" It is logged in already{' as ' + html.escape(current_user) if current_user else ''}: "
        "authorise again only to replace that login.")
    out = PAGE.replace("__LINK__", link).replace("__ALREADY__", already)
    for mark, value in values.items():
        out = out.replace(mark, html.escape(value))
    return out.encode()


def error_page(message: str) -> bytes:
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>GitHub Copilot login</title></head>'
            f'<body><h1>GitHub Copilot login</h1><p id="status" data-state="error" class="failed">'
            f'{html.escape(message)}</p></body></html>').encode()


def status_json(login: Login | None, now: float) -> bytes:
    return json.dumps(login.status(now) if login else {"state": "none"}).encode()

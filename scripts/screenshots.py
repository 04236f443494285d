"""Takes the README's mitmweb screenshots from a real demo run: `scripts/screenshots [--out docs]`.

Starts `scripts/bridge --demo --mitmweb` on free ports, makes a few calls with the official SDKs
(whole and streamed, across dialects, one with a tool call), then opens mitmweb in Debian's Chromium
(headless, through Playwright) and saves the flow list (the bridge's comment column) and the detail
of a streamed flow (its answer on the "LLM stream" view) as PNGs."""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.chromium import ARGS  # noqa: E402
from scripts.chromium import CHROMIUM  # noqa: E402
from tests.harness import free_port  # noqa: E402
from tests.harness import wait_listening  # noqa: E402

KEY = "sk-demo"
WEATHER = {"name": "get_weather", "description": "Weather of a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def calls(url: str) -> None:
    """A few typical calls: what the flow list will show."""
    import anthropic
    import openai

    oc = openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0, timeout=30)
    ac = anthropic.Anthropic(base_url=url, api_key=KEY, max_retries=0, timeout=30)
    oc.chat.completions.create(model="claude", messages=[{"role": "user", "content": "Say ACC-HELLO1"}])
    for _ in oc.chat.completions.create(model="anthropic/claude-sonnet-4-5", stream=True,
                                        stream_options={"include_usage": True},
                                        messages=[{"role": "user", "content": "Say ACC-STREAM2"}]):
        pass
    with ac.messages.stream(model="gpt-4.1", max_tokens=300, tools=[WEATHER],  # type: ignore[list-item]
                            messages=[{"role": "user", "content": "What is the weather in Paris?"}]) as s:
        s.until_done()
    oc.responses.create(model="anthropic/claude-haiku-4-5", input="Say ACC-RESP3")
    ac.messages.create(model="fast", max_tokens=200, messages=[{"role": "user", "content": "Say ACC-LOCAL4"}])


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="scripts/screenshots")
    ap.add_argument("--out", default=str(ROOT / "docs"), help="folder for the PNGs (default: docs)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    port, web_port, password = free_port(), free_port(), secrets.token_hex(12)
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "launch.py"), "--demo", "--mitmweb",
                             "-p", str(port), "--set", f"web_port={web_port}", "--set", "web_open_browser=false",
                             "--set", f"web_password={password}"], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, proc)
        wait_listening(web_port, proc)
        calls(f"http://127.0.0.1:{port}")
        shoot(f"http://127.0.0.1:{web_port}/?token={password}", out)
    finally:
        proc.terminate()
        proc.wait(15)
    print(f"saved {out / 'mitmweb-flows.png'} and {out / 'mitmweb-detail.png'}")
    return 0


def shoot(url: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 560})
        page.goto(url)
        rows = page.locator(".flow-table tbody tr")
        rows.nth(4).wait_for()
        for _ in range(50):  # the comment arrives with the flow's last update
            if rows.nth(4).locator("td.col-comment").inner_text().strip():
                break
            time.sleep(0.1)
        for column in ("path", "comment"):  # as a user would: double-click the edge to fit the column
            page.locator(f"th.col-{column} .col-resize-handle").dblclick()
        page.screenshot(path=str(out / "mitmweb-flows.png"))
        page.set_viewport_size({"width": 1700, "height": 1000})
        # the Anthropic client's streamed call with a tool call, served by OpenAI
        rows.filter(has_text="messages gpt-4.1 → openai/gpt-4.1").click()
        page.get_by_text("Response", exact=True).first.click()
        page.get_by_text("━━ Bridge ━━").wait_for()
        page.screenshot(path=str(out / "mitmweb-detail.png"))
        browser.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

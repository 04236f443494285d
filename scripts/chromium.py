"""Debian's Chromium as the tests and scripts start it: headless, and quiet on this closed network
(without the background-networking flags it keeps trying to reach Google's hosts)."""

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

"""Starts mitmdump with the bridge addon: `scripts/bridge [--demo] [--config FILE] [mitmdump options...]`.

Without --demo: validates the configuration (refusing to start on an error), then runs
`mitmdump -s addons/bridge.py --mode reverse:<default provider> --set connection_strategy=lazy`
listening on 127.0.0.1:8080 unless the options say otherwise. In a mode that intercepts TLS (regular,
transparent, local, wireguard...) also `--set confdir=certs` unless set, and `--allow-hosts` for the
configured `intercept_hosts` (scripts/interception.py).
With --demo: also starts the emulated upstreams on free loopback ports and writes a configuration
that routes every provider prefix and every unprefixed model to them, with client key `sk-demo`."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from addons.settings import ConfigError  # noqa: E402
from addons.settings import load  # noqa: E402
from scripts.interception import interception_args  # noqa: E402
from scripts.interception import modes_intercept  # noqa: E402
from scripts.interception import proxy_hint  # noqa: E402

DEMO_KEY = "sk-demo"
DEMO_UPSTREAM_KEY = "sk-emulated-upstream"
EMULATED = ("openai", "openai-chat", "anthropic", "openai-responses")
WEB_COLUMNS = ("icon", "method", "path", "status", "size", "time", "comment")  # comment: the bridge's summary


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="scripts/bridge", add_help=False)
    ap.add_argument("--demo", action="store_true")
    ap.add_argument("--config", default=os.environ.get("BRIDGE_CONFIG"))
    ap.add_argument("--mitmweb", action="store_true", help="run mitmweb instead of mitmdump")
    ap.add_argument("--lean", action="store_true", help="the lean entry point (scripts/leanproxy.py): only the "
                    "addons the bridge needs, about twice the requests per second of mitmdump")
    ap.add_argument("-h", "--help", action="store_true")
    args, rest = ap.parse_known_args(argv)
    if args.help:
        print(__doc__)
        return 0
    emulator = None
    config = args.config
    if args.demo:
        emulator, ports = start_emulators()
        config = write_demo_config(ports)
    try:
        try:
            cfg = load(config)
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return run_mitmdump(config, cfg, rest, args.mitmweb, args.demo, args.lean)
    finally:
        if emulator is not None:
            emulator.terminate()
        if args.demo and config:
            Path(config).unlink(missing_ok=True)
            emulator.wait(5)


def plugin_demos() -> list[str]:
    """Provider types that have both a bridge plug-in and an emulated upstream."""
    from addons.providers import available
    from addons.providers import plugin
    from scripts.emulators.server import PROTOCOLS

    return [t for t in available() if t in PROTOCOLS and getattr(plugin(t).module, "demo_provider", None)]


def start_emulators() -> tuple[subprocess.Popen[str], dict[str, int]]:
    cmd = [sys.executable, "-m", "scripts.emulators", "--key", DEMO_UPSTREAM_KEY]
    for name in (*EMULATED, *plugin_demos()):
        cmd += ["--serve", f"{name}=0"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line:
        proc.wait(5)
        raise SystemExit("error: the emulated upstreams did not start")
    return proc, json.loads(line)


def write_demo_config(ports: dict[str, int]) -> str:
    def url(name: str) -> str:
        return f"http://127.0.0.1:{ports[name]}/v1"

    providers = {
        "openai": {"type": "openai", "base_url": url("openai"), "api_key": DEMO_UPSTREAM_KEY,
                   "models": ["gpt-4.1", "gpt-4.1-mini", "gpt-5.5", "o4-mini"]},
        "local": {"type": "openai-compatible", "base_url": url("openai-chat"), "api_key": DEMO_UPSTREAM_KEY,
                  "models": ["llama-3.3-70b", "deepseek-chat"]},
        "anthropic": {"type": "anthropic", "base_url": url("anthropic"), "api_key": DEMO_UPSTREAM_KEY,
                      "models": ["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"]},
        "responses": {"type": "openai-responses", "base_url": url("openai-responses"),
                      "api_key": DEMO_UPSTREAM_KEY, "models": ["gpt-5-codex"]},
    }
    state = ROOT / "state" / "demo"
    state.mkdir(parents=True, exist_ok=True)
    from addons.providers import plugin

    for ptype in plugin_demos():  # each plug-in says how its demo account looks (token files...)
        found = plugin(ptype)
        providers[ptype] = found.module.demo_provider(f"http://127.0.0.1:{ports[ptype]}", state,  # type: ignore
                                                      DEMO_UPSTREAM_KEY)
    cfg = {"client_keys": [DEMO_KEY], "default_provider": "openai", "providers": providers,
           "aliases": {"fast": "local/llama-3.3-70b", "claude": "anthropic/claude-sonnet-4-5"},
           "key_file": str(state / "client_key")}
    # One file per demo process (removed when it ends): a second demo must not rewrite the first one's
    # configuration, which the first would hot-reload, pointing it at the second's emulators.
    path = state / f"config-{os.getpid()}.yaml"
    path.write_text(json.dumps(cfg, indent=2))  # JSON is YAML
    return str(path)


def run_mitmdump(config: str | None, cfg: object, rest: list[str], web: bool, demo: bool, lean: bool = False) -> int:
    default = getattr(cfg, "default_provider", None)
    providers = getattr(cfg, "providers", {})
    target = providers[default].url() if default else "http://127.0.0.1:9"
    origin = "/".join(target.split("/")[:3])
    opts = set(rest)
    if lean:
        cmd = [sys.executable, str(ROOT / "scripts" / "leanproxy.py")]
    else:
        program = Path(sys.executable).with_name("mitmweb" if web else "mitmdump")
        cmd = [str(program), "-s", str(ROOT / "addons" / "bridge.py")]
    if not opts & {"--mode", "-m"}:
        cmd += ["--mode", f"reverse:{origin}"]
    if not opts & {"--listen-host"}:
        cmd += ["--listen-host", "127.0.0.1"]
    if not opts & {"-p", "--listen-port"}:
        cmd += ["--listen-port", "8080"]
    cmd += ["--set", "connection_strategy=lazy"]
    if web and not any(a.startswith("web_columns=") for a in rest):
        cmd += [arg for col in WEB_COLUMNS for arg in ("--set", f"web_columns={col}")]
    intercepting = interception_args(rest, getattr(cfg, "intercept_hosts", []), scripts=not lean)
    cmd += intercepting
    if config:
        cmd += ["--set", f"bridge_config={config}"]
    cmd += rest
    if demo:
        port = rest[rest.index("-p") + 1] if "-p" in rest else (
            rest[rest.index("--listen-port") + 1] if "--listen-port" in rest else "8080")
        print(f"demo: bridge on http://127.0.0.1:{port}/v1, client key {DEMO_KEY}; emulated upstreams; "
              f"try: curl http://127.0.0.1:{port}/v1/models -H 'Authorization: Bearer {DEMO_KEY}'", flush=True)
        if modes_intercept(rest):
            print(f"demo: {proxy_hint([*intercepting, *rest], port)}, API key {DEMO_KEY}", flush=True)
    proc = subprocess.Popen(cmd, cwd=ROOT)
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        return proc.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

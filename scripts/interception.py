"""mitmdump options for the modes that intercept TLS (regular, transparent, local, wireguard...):
the project's `certs/` as confdir (the CA is created there on first run), TLS decrypted only for the
configured API hosts, and WireGuard keys that only the owner can read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

from mitmproxy.proxy.mode_specs import DnsMode
from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.proxy.mode_specs import ReverseMode
from mitmproxy.proxy.mode_specs import WireGuardMode

from addons.atomicfile import write_atomic

ROOT = Path(__file__).resolve().parent.parent
CERTS = ROOT / "certs"
WIREGUARD_CLIENT_ADDON = ROOT / "addons" / "wireguard_client.py"


def modes(args: Sequence[str]) -> list[ProxyMode]:
    """The proxy modes given on a mitmdump command line (`--mode X`, `-m X`, `--mode=X`)."""
    found = []
    for i, arg in enumerate(args):
        if arg in ("--mode", "-m") and i + 1 < len(args):
            found.append(args[i + 1])
        elif arg.startswith("--mode="):
            found.append(arg.split("=", 1)[1])
    parsed = []
    for spec in found:
        try:
            parsed.append(ProxyMode.parse(spec))
        except ValueError:
            pass  # mitmdump itself says what is wrong with it
    return parsed


def intercepts_tls(mode: ProxyMode) -> bool:
    return not isinstance(mode, (ReverseMode, DnsMode))


def modes_intercept(args: Sequence[str]) -> bool:
    return any(intercepts_tls(m) for m in modes(args))


def proxy_hint(args: Sequence[str], port: str) -> str:
    """How a tool uses the bridge as its HTTPS proxy (for the demo's start-up line)."""
    return (f"intercepting proxy: HTTPS_PROXY=http://127.0.0.1:{port} "
            f"SSL_CERT_FILE={option_set(args, 'confdir')}/mitmproxy-ca-cert.pem")


def option_set(args: Sequence[str], name: str) -> str | None:
    """The value of `--set name=value` (the last one), or None."""
    value = None
    for i, arg in enumerate(args):
        spec = args[i + 1] if arg == "--set" and i + 1 < len(args) else arg[6:] if arg.startswith("--set=") else ""
        key, eq, val = spec.partition("=")
        if eq and key.strip() == name:
            value = val
    return value


def allow_hosts_regex(hosts: Sequence[str]) -> str:
    """mitmproxy matches allow_hosts against `host:port` (address, SNI or Host header)."""
    return "^(" + "|".join(re.escape(h) for h in hosts) + r"):\d+$"


def ensure_wireguard_keys(path: Path) -> None:
    """mitmproxy writes its WireGuard key file with the default umask (world-readable); the same
    file created beforehand by us is 0600, and mitmproxy then just reads it."""
    if path.exists():
        path.chmod(0o600)
        return
    import mitmproxy_rs

    path.parent.mkdir(parents=True, exist_ok=True)
    keys = {"server_key": mitmproxy_rs.wireguard.genkey(), "client_key": mitmproxy_rs.wireguard.genkey()}
    write_atomic(path, json.dumps(keys, indent=4), backup=False)


def interception_args(args: Sequence[str], intercept_hosts: Sequence[str], scripts: bool = True) -> list[str]:
    """Extra mitmdump arguments for the modes in `args`: none in reverse-only mode. `scripts`: whether
    extra addon scripts may be loaded (not in the lean entry point)."""
    found = modes(args)
    if not any(intercepts_tls(m) for m in found):
        return []
    extra = []
    confdir = option_set(args, "confdir")
    if confdir is None:
        confdir = str(CERTS)
        extra += ["--set", f"confdir={confdir}"]
    # Other hosts are tunnelled as they are (not decrypted). Not with a reverse mode beside: its
    # connections go to the upstream's address, which allow_hosts would then tunnel past the bridge.
    user_filters = option_set(args, "allow_hosts") or option_set(args, "ignore_hosts") or any(
        a in ("--allow-hosts", "--ignore-hosts") for a in args)
    if intercept_hosts and not user_filters and not any(isinstance(m, ReverseMode) for m in found):
        extra += ["--allow-hosts", allow_hosts_regex(intercept_hosts)]
    wireguard = [m for m in found if isinstance(m, WireGuardMode)]
    if wireguard and not scripts:
        raise SystemExit("error: WireGuard mode runs without --lean: the lean entry point cannot load the addon "
                         "that keeps the client's private key out of the log")
    for m in wireguard:
        ensure_wireguard_keys(Path(m.data).expanduser() if m.data else Path(confdir).expanduser() / "wireguard.conf")
    if wireguard and scripts:
        extra += ["-s", str(WIREGUARD_CLIENT_ADDON)]
    return extra

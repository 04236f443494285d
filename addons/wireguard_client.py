"""WireGuard mode's client configuration: mitmproxy logs it whole at start, client private key included.
This addon writes it to `<confdir>/wireguard-client-<port>.conf` (0600, ready to import) and lets the
log show it with the key masked. Loaded with `-s` by scripts/bridge in WireGuard mode."""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

_root = str(Path(__file__).resolve().parent.parent)
if _root not in sys.path:  # loaded as a mitmproxy script: only this file's folder is on the path
    sys.path.insert(0, _root)

from mitmproxy import ctx  # noqa: E402

from addons.atomicfile import write_atomic  # noqa: E402
from addons.masking import mask  # noqa: E402

SERVERS_LOGGER = "mitmproxy.proxy.mode_servers"  # where mitmproxy logs the configuration
PRIVATE_KEY = re.compile(r"^(PrivateKey = )(\S+)$", re.MULTILINE)
ENDPOINT_PORT = re.compile(r"^Endpoint = \S+:(\d+)$", re.MULTILINE)


def client_conf_file(message: str, confdir: Path) -> tuple[Path, str] | None:
    """For mitmproxy's start-up message carrying a client configuration: where it goes, and what."""
    if "[Interface]" not in message or not PRIVATE_KEY.search(message):
        return None
    port = ENDPOINT_PORT.search(message)
    conf = message.strip().strip("-").strip() + "\n"
    return confdir / f"wireguard-client-{port.group(1) if port else 'default'}.conf", conf


def masked(message: str) -> str:
    return PRIVATE_KEY.sub(lambda m: m.group(1) + mask(m.group(2)), message)


class ClientConfFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        found = client_conf_file(message, Path(ctx.options.confdir).expanduser())
        if found is not None:
            path, conf = found
            write_atomic(path, conf, backup=False)
            record.msg, record.args = f"{masked(message)}\nWireGuard client configuration: {path}", None
        return True


class WireGuardClientConf:
    def __init__(self) -> None:
        self.filter = ClientConfFilter()

    def load(self, loader: object) -> None:
        logging.getLogger(SERVERS_LOGGER).addFilter(self.filter)

    def done(self) -> None:
        logging.getLogger(SERVERS_LOGGER).removeFilter(self.filter)


addons = [WireGuardClientConf()]

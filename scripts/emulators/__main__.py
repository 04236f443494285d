"""CLI: python -m scripts.emulators --serve openai-chat=0 --serve anthropic=0 --key KEY

Prints one JSON line {"openai-chat": port, ...} on stdout once every port listens, then
serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys

from .faults import FAULT_MODES
from .server import PROTOCOLS
from .server import serve


def _serve_spec(value: str) -> tuple[str, int]:
    name, sep, port = value.partition("=")
    if not sep or name not in PROTOCOLS or not port.isdigit():
        raise argparse.ArgumentTypeError(
            f"expected NAME=PORT with NAME in {sorted(PROTOCOLS)}, got {value!r}"
        )
    return name, int(port)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m scripts.emulators",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument(
        "--serve",
        action="append",
        type=_serve_spec,
        required=True,
        metavar="NAME=PORT",
        help=f"protocol to serve ({', '.join(PROTOCOLS)}); PORT 0 = ephemeral; repeatable",
    )
    p.add_argument("--key", required=True, help="the upstream credential clients must present")
    p.add_argument("--delay-ms", type=int, default=0, help="delay before each streamed event")
    p.add_argument("--fault", choices=FAULT_MODES, help="fault every request (see package docs)")
    return p.parse_args(argv)


async def main(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with serve(
        dict(args.serve), key=args.key, host=args.host, delay_ms=args.delay_ms, fault=args.fault
    ) as ports:
        sys.stdout.write(json.dumps(dict(ports)) + "\n")
        sys.stdout.flush()
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))

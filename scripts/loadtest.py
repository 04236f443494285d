"""Load test: many concurrent streaming clients through a real mitmdump with the bridge, for a
bounded time, counting malformed streams and lost requests; and memory over many requests.

    scripts/loadtest [--clients 500] [--seconds 30] [--requests 20000]

Everything runs on 127.0.0.1: the emulated upstream (paced streams), the bridge, the clients.
Exit status 1 when any stream was malformed or any request lost."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
KEY, UPSTREAM_KEY = "sk-load", "sk-load-upstream"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def mitmdump_pid(launcher: subprocess.Popen[bytes]) -> int:
    """The launcher execs nothing: mitmdump is its child."""
    for _ in range(100):
        out = subprocess.run(["pgrep", "-P", str(launcher.pid), "-f", "mitmdump"], capture_output=True, text=True)
        if out.stdout.strip():
            return int(out.stdout.split()[0])
        time.sleep(0.1)
    raise RuntimeError("mitmdump did not start")


async def wait_port(port: int) -> None:
    for _ in range(300):
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


class Tally:
    def __init__(self) -> None:
        self.ok = self.malformed = self.lost = 0
        self.errors: dict[str, int] = {}

    def lose(self, why: str) -> None:
        self.lost += 1
        self.errors[why] = self.errors.get(why, 0) + 1


def well_formed(body: str, token: str) -> bool:
    """Every event is complete JSON, the text is the scripted answer, [DONE] ends it."""
    frames = [f for f in body.split("\n\n") if f.strip()]
    if not frames or frames[-1] != "data: [DONE]":
        return False
    text = ""
    for frame in frames[:-1]:
        if not frame.startswith("data: "):
            return False
        chunk = json.loads(frame[6:])
        for choice in chunk.get("choices") or ():
            text += choice.get("delta", {}).get("content") or ""
    return text == f"ACK {token}"


async def stream_client(n: int, url: str, deadline: float, tally: Tally, ramp: float = 0.0) -> None:
    await asyncio.sleep(ramp)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=1)) as client:
        i = 0
        while time.monotonic() < deadline:
            token = f"ACC-L{n:04d}{i:05d}"
            i += 1
            try:
                r = await client.post(url, headers={"authorization": f"Bearer {KEY}"}, json={
                    "model": "gpt-4.1", "stream": True, "messages": [{"role": "user", "content": f"Say {token}"}]})
            except httpx.HTTPError as e:
                tally.lose(f"{type(e).__name__} on request {'1' if i == 1 else 'n'}")
                continue
            if r.status_code != 200:
                tally.lose(f"HTTP {r.status_code}")
            elif well_formed(r.text, token):
                tally.ok += 1
            else:
                tally.malformed += 1


async def plain_requests(url: str, count: int, concurrency: int = 32) -> int:
    done = 0
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as client:
        async def worker() -> None:
            nonlocal done
            while done < count:
                done += 1
                await client.post(url, headers={"authorization": f"Bearer {KEY}"}, json={
                    "model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]})
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


async def main(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="bridge-load-"))
    emulator = subprocess.Popen([sys.executable, "-m", "scripts.emulators", "--key", UPSTREAM_KEY, "--delay-ms",
                                 str(args.delay_ms), "--serve", "openai-chat=0"], cwd=ROOT, stdout=subprocess.PIPE)
    upstream = json.loads(emulator.stdout.readline())["openai-chat"]  # type: ignore[union-attr]
    port = free_port()
    config = work / "config.yaml"
    config.write_text(json.dumps({"client_keys": [KEY], "default_provider": "up", "providers": {"up": {
        "type": "openai-compatible", "base_url": f"http://127.0.0.1:{upstream}/v1", "api_key": UPSTREAM_KEY}}}))
    bridge = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "launch.py"), "--config", str(config), "-p",
                               str(port), "--set", "termlog_verbosity=info", "--set", "flow_detail=0"], cwd=ROOT,
                              stdout=(work / "bridge.log").open("wb"), stderr=subprocess.STDOUT)
    try:
        await wait_port(port)
        pid = mitmdump_pid(bridge)
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        tally = Tally()
        start = time.monotonic()
        ramp = args.ramp / args.clients
        await asyncio.gather(*(stream_client(n, url, start + args.seconds, tally, n * ramp)
                               for n in range(args.clients)))
        took = time.monotonic() - start
        print(f"{args.clients} concurrent streaming clients for {took:.0f} s: {tally.ok} well-formed streams, "
              f"{tally.malformed} malformed, {tally.lost} lost {tally.errors or ''}")
        await plain_requests(url, 2000)
        at_2k = rss_kib(pid)
        await plain_requests(url, args.requests - 2000)
        at_end = rss_kib(pid)
        growth = (at_end - at_2k) / at_2k * 100
        print(f"memory: {at_2k} KiB after 2k requests, {at_end} KiB after {args.requests // 1000}k ({growth:+.1f}%)")
        return 0 if tally.malformed == 0 and tally.lost == 0 else 1
    finally:
        for proc in (bridge, emulator):
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--ramp", type=float, default=0.0, help="seconds over which the clients start")
    ap.add_argument("--delay-ms", type=int, default=100, help="upstream pacing between streamed events")
    sys.exit(asyncio.run(main(ap.parse_args())))

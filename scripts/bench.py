"""Benchmark: the bridge against plain mitmdump pass-through, as RATIOS measured in the same run
against the same fast local upstream (the `bench` emulator, a separate process).

    scripts/bench [--quick] [--json FILE] [--rounds N] [--variants plain,bridge,lean]

Variants (each a separate process, all listening on 127.0.0.1, all with -q):
  plain   mitmdump --mode reverse:<bench> --set stream_large_bodies=1       (no script)
  bridge  mitmdump -s addons/bridge.py --mode reverse:<bench> --set bridge_config=... lazy
  lean    scripts/leanproxy.py, same options as bridge (when that file exists)
The bridge's client key and its provider's upstream key are the same, so every variant gets the
very same request bytes (plain passes the Authorization header through, the bridge replaces it).

Measurements:
  a. non-streamed req/s, 32 concurrent keep-alive connections, fixed duration after a warm-up
  b. proxy CPU time per request during (a) (utime+stime of the proxy from /proc/<pid>/stat)
  c. streamed SSE events ("chunks") per second, 64 concurrent streams of 200 tokens each
     (2 streams one after the other on each of the 64 connections, so that a round lasts)
  d. time to first body byte of a streamed answer, sequential requests on one keep-alive connection
  e. peak RSS (VmHWM, reset first through /proc/<pid>/clear_refs) with 500 slow streams open at once
     (fresh process; the emulator paces the events through its per-request delay header)
  f. RSS after 2k vs after 20k non-streamed requests on a fresh process, as a percentage
(a), (c) and (d) run in interleaved rounds (variant order rotated); the best round is reported
(max throughput, min CPU/request, min latency): noise on a shared machine only ever slows a round.
(e) and (f) measure memory, not speed: they run for all variants at once, to save time.

The load client is asyncio on raw sockets (hand-made HTTP/1.1, minimal content-length / chunked
parsing) so that it is not the bottleneck; its CPU share is printed with (a) and (c).
A report, not a test: exits 0 whenever the measurements completed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
MITMDUMP = str(Path(PY).with_name("mitmdump"))
KEY = "sk-bench-key"  # client key of the bridge AND upstream key of the emulator
MODEL = "bench-model"
CLK = os.sysconf("SC_CLK_TCK")
try:
    sys.path.insert(0, str(ROOT))
    from scripts.emulators.faults import DELAY_HEADER
except Exception:  # noqa: BLE001 - the emulator package may be mid-change; this is its documented name
    DELAY_HEADER = "x-emulator-delay-ms"


@dataclass
class Sizes:
    rounds: int = 3
    warmup: float = 1.0
    duration: float = 4.0
    conns: int = 32
    streams: int = 64
    stream_tokens: int = 200
    stream_waves: int = 2  # streams per connection, one after the other, in one (c) measurement
    ttfc_requests: int = 200
    slow_streams: int = 500
    slow_delay_ms: int = 300
    slow_tokens: int = 12
    mem_first: int = 2_000
    mem_total: int = 20_000


QUICK = Sizes(rounds=1, warmup=0.5, duration=2.0, streams=16, stream_tokens=50, stream_waves=1,
              ttfc_requests=50, slow_streams=100, slow_delay_ms=200, slow_tokens=8, mem_first=300,
              mem_total=3_000)


# ---------------------------------------------------------------------------------------------- client

@dataclass(slots=True)
class Result:
    status: int
    t_first: float  # first body byte (or end of head when there is no body)
    t_done: float
    events: int  # SSE "data: " events in the body (counted only when asked)


class Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; one request at a time; minimal response parsing."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.fut: asyncio.Future[Result] | None = None
        self.count_events = False
        self.lost = False

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.fut is not None and not self.fut.done():
            self.fut.set_exception(ConnectionError(f"connection lost: {exc}"))

    def data_received(self, data: bytes) -> None:
        if self.fut is None:
            return
        self.buf += data
        now = time.perf_counter()
        if self.t_first == 0.0 and self.phase != 0:
            self.t_first = now
        try:
            self._parse(now)
        except Exception as e:  # noqa: BLE001 - a parse error fails the request, not the loop
            if not self.fut.done():
                self.fut.set_exception(e)
            self.transport.close()  # type: ignore[union-attr]

    # request/response
    def request(self, data: bytes, count_events: bool = False) -> asyncio.Future[Result]:
        loop = asyncio.get_running_loop()
        self.fut = loop.create_future()
        self.count_events = count_events
        self.phase = 0  # 0 head, 1 content-length body, 2 chunk size line, 3 chunk data, 4 trailers
        self.status = 0
        self.remaining = 0
        self.t_first = 0.0
        self.body = bytearray() if count_events else None
        if self.lost:
            self.fut.set_exception(ConnectionError("connection closed"))
        else:
            self.transport.write(data)  # type: ignore[union-attr]
        return self.fut

    def _finish(self, now: float) -> None:
        events = self.body.count(b"data: ") if self.body is not None else 0
        fut, self.fut = self.fut, None
        if fut is not None and not fut.done():
            fut.set_result(Result(self.status, self.t_first or now, now, events))

    def _parse(self, now: float) -> None:
        buf = self.buf
        pos = 0
        while self.fut is not None:
            if self.phase == 0:
                end = buf.find(b"\r\n\r\n", pos)
                if end < 0:
                    break
                head = bytes(buf[pos:end]).lower()
                pos = end + 4
                self.status = int(head[9:12])
                if pos < len(buf):
                    self.t_first = now
                if b"transfer-encoding: chunked" in head:
                    self.phase = 2
                else:
                    i = head.find(b"content-length:")
                    n = int(head[i + 15:].split(b"\r\n", 1)[0]) if i >= 0 else 0
                    if n == 0:
                        self._finish(now)
                        break
                    self.phase, self.remaining = 1, n
            elif self.phase == 1:
                take = min(self.remaining, len(buf) - pos)
                if self.body is not None:
                    self.body += buf[pos:pos + take]
                pos += take
                self.remaining -= take
                if self.remaining:
                    break
                self._finish(now)
            elif self.phase == 2:
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    break
                size = int(bytes(buf[pos:end]).split(b";", 1)[0], 16)
                pos = end + 2
                if size == 0:
                    self.phase = 4
                else:
                    self.phase, self.remaining = 3, size + 2  # data + CRLF
            elif self.phase == 3:
                take = min(self.remaining, len(buf) - pos)
                if self.body is not None:
                    self.body += buf[pos:pos + take]
                pos += take
                self.remaining -= take
                if self.remaining:
                    break
                self.phase = 2
            else:  # trailers: none expected; the empty line ends the body
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    break
                line_empty = end == pos
                pos = end + 2
                if line_empty:
                    self._finish(now)
        del buf[:pos]


async def connect(port: int) -> Conn:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(Conn, "127.0.0.1", port)
    return proto


def make_request(port: int, *, stream: bool = False, tokens: int = 0, delay_ms: int = 0) -> bytes:
    body: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": "Say hello."}]}
    if stream:
        body.update(stream=True, max_tokens=tokens)
    data = json.dumps(body, separators=(",", ":")).encode()
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n")
    if delay_ms:
        head += f"{DELAY_HEADER}: {delay_ms}\r\n"
    return (head + "\r\n").encode() + data


# ---------------------------------------------------------------------------------------------- /proc

def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime, stime (fields 14, 15)


def status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_peak(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------- loads

async def load_duration(port: int, pid: int, emu_pid: int, sz: Sizes) -> dict[str, float]:
    """(a)+(b): sz.conns keep-alive connections as fast as they go; count only the measured window."""
    req = make_request(port)
    conns = [await connect(port) for _ in range(sz.conns)]
    state = {"measuring": False, "stop": False, "ok": 0, "bad": 0}

    async def worker(c: Conn) -> None:
        while not state["stop"]:
            try:
                r = await c.request(req)
            except ConnectionError:
                state["bad"] += 1 if state["measuring"] else 0
                return
            if state["measuring"]:
                state["ok" if r.status == 200 else "bad"] += 1

    tasks = [asyncio.ensure_future(worker(c)) for c in conns]
    await asyncio.sleep(sz.warmup)
    cpu0, emu0, me0, t0 = cpu_seconds(pid), cpu_seconds(emu_pid), time.process_time(), time.perf_counter()
    state["measuring"] = True
    await asyncio.sleep(sz.duration)
    state["measuring"] = False
    cpu1, emu1, me1, t1 = cpu_seconds(pid), cpu_seconds(emu_pid), time.process_time(), time.perf_counter()
    state["stop"] = True
    await asyncio.wait(tasks, timeout=10)
    for c in conns:
        c.transport.close()  # type: ignore[union-attr]
    el = t1 - t0
    ok = state["ok"]
    return {"rps": ok / el, "cpu_us_per_req": (cpu1 - cpu0) / max(ok, 1) * 1e6,
            "proxy_cpu_pct": (cpu1 - cpu0) / el * 100, "client_cpu_pct": (me1 - me0) / el * 100,
            "upstream_cpu_pct": (emu1 - emu0) / el * 100, "errors": state["bad"], "requests": ok}


async def load_count(port: int, total: int, nconn: int) -> int:
    """Exactly `total` non-streamed requests over nconn keep-alive connections; returns the errors."""
    req = make_request(port)
    left = [total]
    bad = [0]

    async def worker() -> None:
        c = await connect(port)
        try:
            while left[0] > 0:
                left[0] -= 1
                r = await c.request(req)
                if r.status != 200:
                    bad[0] += 1
        finally:
            c.transport.close()  # type: ignore[union-attr]

    await asyncio.gather(*(worker() for _ in range(nconn)))
    return bad[0]


async def load_streams(port: int, pid: int, sz: Sizes) -> dict[str, float]:
    """(c): sz.streams concurrent connections, each streaming sz.stream_waves answers of
    sz.stream_tokens tokens one after the other; SSE events received per second."""
    req = make_request(port, stream=True, tokens=sz.stream_tokens)
    expected = sz.stream_tokens + 3  # role, tokens, finish, [DONE]
    conns = [await connect(port) for _ in range(sz.streams)]
    warm = await asyncio.gather(*(c.request(make_request(port, stream=True, tokens=1), True) for c in conns))
    bad = sum(1 for r in warm if r.status != 200)
    events = 0

    async def one(c: Conn) -> None:
        nonlocal bad, events
        for _ in range(sz.stream_waves):
            try:
                r = await c.request(req, True)
            except ConnectionError:
                bad += 1
                return
            events += r.events
            bad += r.status != 200 or r.events != expected

    cpu0, me0, t0 = cpu_seconds(pid), time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(c) for c in conns))
    el, cpu, me = time.perf_counter() - t0, cpu_seconds(pid) - cpu0, time.process_time() - me0
    for c in conns:
        c.transport.close()  # type: ignore[union-attr]
    return {"chunks_per_s": events / el, "cpu_us_per_chunk": cpu / max(events, 1) * 1e6,
            "stream_cpu_pct": cpu / el * 100, "stream_client_cpu_pct": me / el * 100,
            "events": events, "errors": bad, "seconds": el}


async def load_ttfc(port: int, sz: Sizes) -> dict[str, float]:
    """(d): sequential streamed requests on one keep-alive connection; send -> first body byte."""
    req = make_request(port, stream=True, tokens=2)
    c = await connect(port)
    for _ in range(5):  # warm the connection pair (client->proxy->upstream)
        await c.request(req)
    samples, bad = [], 0
    for _ in range(sz.ttfc_requests):
        t0 = time.perf_counter()
        r = await c.request(req)
        if r.status != 200:
            bad += 1
        samples.append((r.t_first - t0) * 1000)
    c.transport.close()  # type: ignore[union-attr]
    samples.sort()
    return {"ttfc_median_ms": statistics.median(samples),
            "ttfc_p90_ms": samples[min(len(samples) - 1, int(len(samples) * 0.9))], "errors": bad}


async def load_slow_streams(port: int, pid: int, sz: Sizes) -> dict[str, float]:
    """(e): sz.slow_streams slow streams open at once; peak RSS of the proxy meanwhile."""
    req = make_request(port, stream=True, tokens=sz.slow_tokens, delay_ms=sz.slow_delay_ms)
    base = status_kb(pid, "VmRSS")
    reset_ok = reset_peak(pid)
    state = {"open": 0, "max_open": 0, "bad": 0, "done": 0}
    peak_sampled = [base]

    async def one(c: Conn) -> None:
        state["open"] += 1
        state["max_open"] = max(state["max_open"], state["open"])
        try:
            r = await c.request(req, True)
            if r.status != 200 or r.events != sz.slow_tokens + 3:
                state["bad"] += 1
        except ConnectionError:
            state["bad"] += 1
        finally:
            state["open"] -= 1
            state["done"] += 1
            c.transport.close()  # type: ignore[union-attr]

    async def sampler() -> None:
        while True:
            peak_sampled[0] = max(peak_sampled[0], status_kb(pid, "VmRSS"))
            await asyncio.sleep(0.1)

    samp = asyncio.ensure_future(sampler())
    tasks = []
    t0 = time.perf_counter()
    for i in range(0, sz.slow_streams, 50):  # batches: stay within the listen backlog
        conns = await asyncio.gather(*(connect(port) for _ in range(min(50, sz.slow_streams - i))))
        tasks += [asyncio.ensure_future(one(c)) for c in conns]
    await asyncio.wait(tasks, timeout=120)
    el = time.perf_counter() - t0
    samp.cancel()
    hwm = status_kb(pid, "VmHWM") if reset_ok else peak_sampled[0]
    peak = max(hwm, peak_sampled[0])
    return {"idle_rss_mb": base / 1024, "peak_rss_mb": peak / 1024,
            "kb_per_stream": (peak - base) / max(state["max_open"], 1), "max_open": state["max_open"],
            "errors": state["bad"] + (sz.slow_streams - state["done"]), "seconds": el, "hwm_reset": reset_ok}


async def memory_growth(port: int, pid: int, sz: Sizes) -> dict[str, float]:
    """(f): on a fresh process: RSS after mem_first requests, then after mem_total."""
    bad = await load_count(port, sz.mem_first, 32)
    rss1 = status_kb(pid, "VmRSS")
    bad += await load_count(port, sz.mem_total - sz.mem_first, 32)
    rss2 = status_kb(pid, "VmRSS")
    return {"rss_first_mb": rss1 / 1024, "rss_total_mb": rss2 / 1024,
            "growth_pct": (rss2 - rss1) / rss1 * 100, "errors": bad}


# ---------------------------------------------------------------------------------------------- processes

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


@dataclass
class Proc:
    name: str
    cmd: list[str]
    port: int
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self) -> None:
        self.starts += 1
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(self.cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL)

    def stop(self) -> None:
        p, self.popen = self.popen, None
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


async def wait_ready(proc: Proc, timeout: float = 30.0) -> None:
    req = make_request(proc.port)
    deadline = time.monotonic() + timeout
    while True:
        if proc.popen is None or proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited at start-up:\n{proc.log.read_text()[-2000:]}")
        try:
            c = await connect(proc.port)
            r = await asyncio.wait_for(c.request(req), 5)
            c.transport.close()  # type: ignore[union-attr]
            if r.status == 200:
                return
            log = proc.log.read_text()[-2000:]
            raise RuntimeError(f"{proc.name} answered {r.status} at start-up:\n{log}")
        except (OSError, asyncio.TimeoutError):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{proc.name} not ready after {timeout}s:\n{proc.log.read_text()[-2000:]}")
            await asyncio.sleep(0.2)


def start_upstream(tmp: Path) -> tuple[subprocess.Popen[str], int]:
    p = subprocess.Popen([PY, "-m", "scripts.emulators", "--serve", "bench=0", "--key", KEY], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=open(tmp / "upstream.log", "wb"), text=True,
                         stdin=subprocess.DEVNULL)
    line = p.stdout.readline() if p.stdout else ""
    if not line:
        p.wait(5)
        log = (tmp / "upstream.log").read_text()[-2000:]
        raise SystemExit(f"error: the bench emulator did not start: {log}")
    return p, int(json.loads(line)["bench"])


def proxies(upstream: int, tmp: Path, variants: list[str]) -> list[Proc]:
    cfg = tmp / "bridge.yaml"
    cfg.write_text(json.dumps({  # JSON is YAML
        "client_keys": [KEY], "default_provider": "bench", "key_file": str(tmp / "client_key"),
        "providers": {"bench": {"type": "openai-compatible", "base_url": f"http://127.0.0.1:{upstream}/v1",
                                "api_key": KEY, "models": [MODEL]}}}))
    quiet = ["-q", "--set", "termlog_verbosity=error", "--set", "flow_detail=0"]
    out = []
    for name in variants:
        port = free_port()
        common = ["--mode", f"reverse:http://127.0.0.1:{upstream}", "--listen-host", "127.0.0.1",
                  "--listen-port", str(port), *quiet]
        bridge_opts = ["--set", f"bridge_config={cfg}", "--set", "connection_strategy=lazy"]
        if name == "plain":
            cmd = [MITMDUMP, *common, "--set", "stream_large_bodies=1"]
        elif name == "bridge":
            cmd = [MITMDUMP, "-s", str(ROOT / "addons" / "bridge.py"), *common, *bridge_opts]
        elif name == "lean":
            cmd = [PY, str(ROOT / "scripts" / "leanproxy.py"), *common, *bridge_opts]
        elif name == "lean-O":  # not run by default: the lean entry with Python's -O (no asserts, no
            # mitmproxy __debug__ type checks on every Request/Response)
            cmd = [PY, "-O", str(ROOT / "scripts" / "leanproxy.py"), *common, *bridge_opts]
        else:
            raise SystemExit(f"unknown variant {name}")
        out.append(Proc(name, cmd, port, tmp / f"{name}.log"))
    return out


# ---------------------------------------------------------------------------------------------- report

LOWER, HIGHER = "lower", "higher"
ROWS = [  # key, label, fmt, better, target kind, target value
    ("rps", "a. non-stream req/s", "{:.0f}", HIGHER, "ratio>=", 0.8),
    ("cpu_us_per_req", "b. proxy CPU us/request", "{:.0f}", LOWER, None, None),
    ("proxy_cpu_pct", "   proxy CPU % of a core in (a)", "{:.0f}", None, None, None),
    ("client_cpu_pct", "   load-client CPU % in (a)", "{:.0f}", None, None, None),
    ("upstream_cpu_pct", "   upstream CPU % in (a)", "{:.0f}", None, None, None),
    ("chunks_per_s", "c. stream chunks/s", "{:.0f}", HIGHER, "ratio>=", 0.7),
    ("cpu_us_per_chunk", "   proxy CPU us/chunk", "{:.1f}", LOWER, None, None),
    ("stream_cpu_pct", "   proxy CPU % of a core in (c)", "{:.0f}", None, None, None),
    ("stream_client_cpu_pct", "   load-client CPU % in (c)", "{:.0f}", None, None, None),
    ("ttfc_median_ms", "d. TTFC median (ms)", "{:.2f}", LOWER, "plus<=", 2.0),
    ("ttfc_p90_ms", "   TTFC p90 (ms)", "{:.2f}", LOWER, None, None),
    ("idle_rss_mb", "e. RSS before slow streams (MB)", "{:.1f}", None, None, None),
    ("peak_rss_mb", "e. peak RSS, slow streams (MB)", "{:.1f}", LOWER, None, None),
    ("kb_per_stream", "   RSS per open stream (KB)", "{:.0f}", LOWER, None, None),
    ("max_open", "   slow streams open at once", "{:.0f}", None, None, None),
    ("rss_first_mb", "f. RSS after first requests (MB)", "{:.1f}", None, None, None),
    ("rss_total_mb", "f. RSS after all requests (MB)", "{:.1f}", None, None, None),
    ("growth_pct", "f. RSS growth first->all (%)", "{:+.1f}", LOWER, "abs<=", 5.0),
    ("errors", "   errors (all phases)", "{:.0f}", LOWER, "eq", 0),
]


def verdict(kind: str | None, target: float | None, v: float | None, plain: float | None) -> str:
    if kind is None or v is None:
        return ""
    if kind == "ratio>=":
        return "" if plain is None else ("ok" if v >= target * plain else "MISS")
    if kind == "plus<=":
        return "" if plain is None else (f"{'ok' if v <= plain + target else 'MISS'} ({v - plain:+.2f})")
    if kind == "abs<=":
        return "ok" if abs(v) <= target else "MISS"
    if kind == "eq":
        return "ok" if v == target else "ERR"
    return ""


def target_text(kind: str | None, target: float | None) -> str:
    if kind == "ratio>=":
        return f">= {target}x plain"
    if kind == "plus<=":
        return f"<= plain + {target:g} ms"
    if kind == "abs<=":
        return f"within {target:g}%"
    if kind == "eq":
        return f"{target:g}"
    return ""


def render(summary: dict[str, dict[str, float]], variants: list[str]) -> str:
    others = [v for v in variants if v != "plain"]
    cols = ["metric", *variants] + [f"{v}/plain" for v in others if "plain" in variants] + ["target"] + \
        [f"{v} ok?" for v in others]
    rows = []
    for key, label, fmt, _better, kind, target in ROWS:
        vals = {v: summary.get(v, {}).get(key) for v in variants}
        row = [label] + [fmt.format(vals[v]) if vals[v] is not None else "n/a" for v in variants]
        if "plain" in variants:
            for v in others:
                p, x = vals["plain"], vals[v]
                ratio = p not in (None, 0) and x is not None and key != "errors"
                row.append(f"{x / p:.2f}x" if ratio else "")
        row.append(target_text(kind, target))
        for v in others:
            row.append(verdict(kind, target, vals[v], vals.get("plain")))
        rows.append(row)
    widths = [max(len(str(r[i])) for r in [cols, *rows]) for i in range(len(cols))]
    line = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)  # noqa: E731
                               for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(cols), line(["-" * w for w in widths]), *map(line, rows)])


# ---------------------------------------------------------------------------------------------- main

async def measure_fresh(p: Proc, measure: Any, sz: Sizes) -> dict[str, float]:
    await wait_ready(p)
    return await measure(p.port, p.pid, sz)


async def one_round(p: Proc, upstream_pid: int, sz: Sizes) -> dict[str, Any]:
    """(a)+(b), (c), (d) on one running variant."""
    rec: dict[str, Any] = {}
    rec.update(await load_duration(p.port, p.pid, upstream_pid, sz))
    errors = rec.pop("errors")
    for part in (await load_streams(p.port, p.pid, sz), await load_ttfc(p.port, sz)):
        errors += part.pop("errors")
        rec.update(part)
    rec["errors"] = errors
    return rec


async def run(args: argparse.Namespace) -> dict[str, Any]:
    sz = QUICK if args.quick else Sizes()
    if args.rounds:
        sz.rounds = args.rounds
    variants = [v for v in args.variants.split(",") if v]
    if not (ROOT / "scripts" / "leanproxy.py").exists():
        variants = [v for v in variants if not v.startswith("lean")]
    raise_fd_limit()
    tmp = Path(tempfile.mkdtemp(prefix="bridge-bench-"))
    t_start = time.perf_counter()
    upstream, up_port = start_upstream(tmp)
    procs = proxies(up_port, tmp, variants)
    raw: dict[str, dict[str, Any]] = {v: {"rounds": []} for v in variants}
    failed: dict[str, str] = {}
    load_average = os.getloadavg()[0]
    print(f"bench: {os.cpu_count()} CPUs, load average {load_average:.2f}, upstream :{up_port}, "
          f"variants {', '.join(variants)}{' (quick)' if args.quick else ''}", flush=True)
    try:
        # (e), then (f): all variants at once (they measure memory, not speed, and this halves the
        # time on two cores), each on fresh processes; the processes of (f) stay up for the rounds
        # of (a), (c), (d), which want warm ones
        for phase, measure in (("slow", load_slow_streams), ("memory", memory_growth)):
            live = [p for p in procs if p.name not in failed]
            for p in live:
                p.start()
            results = await asyncio.gather(*(measure_fresh(p, measure, sz) for p in live),
                                           return_exceptions=True)
            for p, res in zip(live, results):
                if isinstance(res, BaseException):  # report the variant as failed, measure the others
                    failed[p.name] = f"{phase}: {type(res).__name__}: {res}"
                    print(f"  {p.name}: FAILED: {failed[p.name]}", flush=True)
                    p.stop()
                else:
                    raw[p.name][phase] = res
                    if phase == "slow":
                        p.stop()
            print(f"  {'(e) slow streams' if phase == 'slow' else '(f) memory growth'} done "
                  f"({time.perf_counter() - t_start:.0f}s)", flush=True)
        live = [p for p in procs if p.name not in failed]
        for r in range(sz.rounds):
            order = live[r % len(live):] + live[:r % len(live)] if live else []
            for p in order:
                if p.name in failed:
                    continue
                try:
                    raw[p.name]["rounds"].append(await one_round(p, upstream.pid, sz))
                except Exception as e:  # noqa: BLE001 - report the variant as failed, measure the others
                    failed[p.name] = f"round {r + 1}: {type(e).__name__}: {e}"
                    print(f"  {p.name}: FAILED: {failed[p.name]}", flush=True)
            print(f"  round {r + 1}/{sz.rounds} done ({time.perf_counter() - t_start:.0f}s)", flush=True)
    finally:
        for p in procs:
            p.stop()
        upstream.terminate()
        try:
            upstream.wait(10)
        except subprocess.TimeoutExpired:
            upstream.kill()

    summary: dict[str, dict[str, float]] = {}
    for v in variants:
        if v in failed:
            continue
        rounds = raw[v]["rounds"]
        s: dict[str, float] = {}
        if rounds:
            for key in rounds[0]:
                vals = [rd[key] for rd in rounds]
                better = next((row[3] for row in ROWS if row[0] == key), None)
                pick = {HIGHER: max, LOWER: min}.get(better, statistics.median)  # type: ignore[arg-type]
                s[key] = pick(vals)
            best = max(rounds, key=lambda rd: rd["rps"])  # CPU shares go with the best round
            for key in ("proxy_cpu_pct", "client_cpu_pct", "upstream_cpu_pct"):
                s[key] = best[key]
            best_c = max(rounds, key=lambda rd: rd["chunks_per_s"])
            for key in ("stream_cpu_pct", "stream_client_cpu_pct"):
                s[key] = best_c[key]
            s["errors"] = sum(rd["errors"] for rd in rounds)
        mem, slow = raw[v].get("memory", {}), raw[v].get("slow", {})
        s.update({k: mem[k] for k in ("rss_first_mb", "rss_total_mb", "growth_pct") if k in mem})
        s.update({k: slow[k] for k in ("idle_rss_mb", "peak_rss_mb", "kb_per_stream", "max_open")
                  if k in slow})
        s["errors"] = s.get("errors", 0) + mem.get("errors", 0) + slow.get("errors", 0)
        summary[v] = s
    return {"sizes": sz.__dict__, "variants": variants, "failed": failed, "raw": raw, "summary": summary,
            "seconds": time.perf_counter() - t_start, "logs": str(tmp), "load_average": load_average,
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    ap.add_argument("--json", metavar="FILE", help="also save the results (raw rounds included) as JSON")
    ap.add_argument("--rounds", type=int, default=0, help="rounds of (a), (c), (d) (default 3, quick 1)")
    ap.add_argument("--variants", default="plain,bridge,lean",
                    help="comma-separated, from plain,bridge,lean,lean-O (lean-O: lean under python -O)")
    args = ap.parse_args(argv)
    res = asyncio.run(run(args))
    sz = res["sizes"]
    print()
    print(f"(a) {sz['conns']} conns x {sz['duration']:g}s after {sz['warmup']:g}s warm-up; "
          f"(c) {sz['streams']} concurrent streams x {sz['stream_tokens']} tokens, {sz['stream_waves']} per "
          f"connection; (d) {sz['ttfc_requests']} sequential requests;\n(e) {sz['slow_streams']} slow "
          f"streams ({sz['slow_tokens'] + 3} events {sz['slow_delay_ms']} ms apart); (f) RSS after "
          f"{sz['mem_first']} vs {sz['mem_total']} requests; (a)-(d): best of {sz['rounds']} interleaved "
          "round(s)")
    print(render(res["summary"], [v for v in res["variants"] if v not in res["failed"]]))
    checked = ["proxy_cpu_pct"] + ([] if args.quick else ["stream_cpu_pct"])  # quick (c) is too short
    starved = [v for v, s in res["summary"].items() if min(s.get(k, 100) for k in checked) < 85]
    if starved:
        print(f"\nnote: {', '.join(starved)} got less than 85% of a core in (a) or (c) although the load "
              f"kept it busy: the machine is\nbusy (load average at start {res['load_average']:.2f}), so "
              "the req/s and chunks/s ratios are unreliable; the CPU-per-request\nand CPU-per-chunk ratios "
              "hold better under contention.")
    for name, err in res["failed"].items():
        print(f"\n{name} FAILED: {err}")
    if res["failed"]:
        print(f"proxy logs in {res['logs']}")
    else:
        shutil.rmtree(res["logs"], ignore_errors=True)
    print(f"\ntotal {res['seconds']:.0f}s")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

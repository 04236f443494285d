"""The hand-written HTTP/1.1 server: keep-alive, bodies, real streaming, abrupt closes."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from scripts.emulators import serve
from scripts.emulators.httpserver import AbortConnection
from scripts.emulators.httpserver import HTTPServer
from scripts.emulators.httpserver import RawResponse
from scripts.emulators.httpserver import Request
from scripts.emulators.httpserver import Response


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


async def echo(req: Request):
    if req.route == "/stream":

        async def chunks():
            for i in range(3):
                yield b"data: %d\n\n" % i
                await asyncio.sleep(0.1)

        return Response(200, {"content-type": "text/event-stream"}, chunks())
    if req.route == "/bare":

        async def bare():
            yield b"data: bare\n\n"

        return bare()
    if req.route == "/abort":

        async def broken():
            yield b"data: first\n\n"
            raise AbortConnection()

        return Response(200, {"content-type": "text/event-stream"}, broken())
    if req.route == "/raw":

        async def raw(reader, writer):
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
            await writer.drain()

        return RawResponse(raw)
    if req.route == "/stall":
        await asyncio.sleep(60)
    if req.route == "/boom":
        raise RuntimeError("bug")
    text = f"{req.method} {req.path} {req.query} {len(req.body)} {req.headers.get('x-test', '')}"
    return Response(200, {"content-type": "text/plain"}, text.encode())


async def started() -> HTTPServer:
    server = HTTPServer(echo)
    await server.start()
    return server


async def exchange(port: int, raw: bytes, until: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    data = b""
    while until not in data:
        try:
            chunk = await reader.read(65536)
        except ConnectionResetError:  # what AbortConnection looks like from the client
            break
        if not chunk:
            break
        data += chunk
    writer.close()
    return data


def test_keep_alive_and_bodies():
    async def scenario():
        server = await started()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
                a = await client.post("/a?x=1", content=b"12345", headers={"X-Test": "yes"})
                b = await client.get("/b")
            assert a.text == "POST /a?x=1 {'x': '1'} 5 yes" and b.text == "GET /b {} 0 "
            assert len(server._conns) <= 1  # both requests used one connection
            # a chunked request body and two pipelined requests on one socket
            raw = (
                b"POST /c HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
                b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                b"GET /d HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
            )
            data = await exchange(server.port, raw, b"GET /d")
            assert data.count(b"HTTP/1.1 200 OK") == 2 and b"POST /c {} 5" in data
        finally:
            await server.close()

    run(scenario())


def test_streaming_is_real_and_chunked():
    async def scenario():
        server = await started()
        try:
            async with httpx.AsyncClient() as client:
                async with client.stream("GET", f"http://127.0.0.1:{server.port}/stream") as r:
                    assert r.headers["transfer-encoding"] == "chunked"
                    t0, arrivals = time.monotonic(), []
                    async for chunk in r.aiter_raw():
                        arrivals.append((time.monotonic() - t0, chunk))
                bare = await client.get(f"http://127.0.0.1:{server.port}/bare")
            assert [c for _, c in arrivals] == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"]
            assert arrivals[0][0] < 0.09 and arrivals[2][0] >= 0.15  # sent as produced, not buffered
            assert bare.text == "data: bare\n\n" and bare.headers["content-type"].startswith(
                "text/event-stream"
            )
        finally:
            await server.close()

    run(scenario())


def test_abort_and_raw_escape_hatch():
    async def scenario():
        server = await started()
        try:
            data = await exchange(server.port, b"GET /abort HTTP/1.1\r\nhost: x\r\n\r\n", b"never")
            assert data.endswith(b"data: first\n\n\r\n") and b"0\r\n\r\n" not in data.split(b"\r\n\r\n", 1)[1]
            async with httpx.AsyncClient() as client:
                with pytest.raises(httpx.RemoteProtocolError):
                    await client.get(f"http://127.0.0.1:{server.port}/raw")
        finally:
            await server.close()

    run(scenario())


def test_errors_and_close_with_stalled_handler():
    async def scenario():
        server = await started()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            assert (await client.get("/boom")).status_code == 500
            bad = await exchange(server.port, b"NONSENSE\r\n\r\n", b"\r\n\r\n")
            assert bad.startswith(b"HTTP/1.1 400")
            bad = await exchange(server.port, b"GET / HTTP/1.1\r\ncontent-length: x\r\n\r\n", b"\r\n\r\n")
            assert bad.startswith(b"HTTP/1.1 400")
            stalled = asyncio.create_task(client.get("/stall", timeout=30))
            await asyncio.sleep(0.1)
            t0 = time.monotonic()
            await server.close()
            assert time.monotonic() - t0 < 2
            with pytest.raises(httpx.HTTPError):
                await stalled

    run(scenario())


def test_serve_async_api():
    async def scenario():
        async with serve({"openai-chat": 0, "anthropic": 0}, key="k") as ports:
            assert set(ports) == {"openai-chat", "anthropic"} and all(ports.values())
            async with httpx.AsyncClient() as client:
                r = await client.post(
                    ports.base_url("openai-chat") + "/chat/completions",
                    headers={"authorization": "Bearer k"},
                    json={"model": "m", "messages": [{"role": "user", "content": "ACC-ASYNC1"}]},
                )
            assert r.json()["choices"][0]["message"]["content"] == "ACK ACC-ASYNC1"
        with pytest.raises(ValueError):
            async with serve({"nope": 0}, key="k"):
                pass

    run(scenario())

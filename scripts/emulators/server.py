"""Running emulators: in-process (`serve`, `serve_in_thread`) or from the CLI (__main__)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import threading
from typing import AsyncIterator
from typing import Iterator
from typing import Mapping

from .anthropic_messages import AnthropicMessages
from .app import Emulator
from .app import WireProtocol
from .bench import Bench
from .httpserver import HTTPServer
from .openai_chat import OpenAIChat
from .openai_platform import OpenAIPlatform
from .openai_responses import OpenAIResponses

PROTOCOLS: dict[str, type[WireProtocol]] = {
    "openai": OpenAIPlatform,
    "openai-chat": OpenAIChat,
    "anthropic": AnthropicMessages,
    "openai-responses": OpenAIResponses,
    "bench": Bench,
}
# Providers with a wire format of their own: name -> (module, class), each in a module of its own.
PROVIDER_PROTOCOLS = {
    "codegpt": (".codegpt", "CodeGPT"),
    "codegeex": (".codegeex", "CodeGeeX"),
    "qwen": (".qwen", "Qwen"),
    "gemini": (".gemini_code_assist", "GeminiCodeAssist"),
    "copilot": (".copilot", "Copilot"),
    "chatgpt": (".chatgpt_web", "ChatGPTWeb"),
}
for _name, (_module, _cls) in PROVIDER_PROTOCOLS.items():
    try:
        PROTOCOLS[_name] = getattr(importlib.import_module(_module, __package__), _cls)
    except ModuleNotFoundError:
        pass


class Ports(dict):  # dict[str, int]: protocol name -> listening port
    """The ports of running emulators, plus handles to drive them from tests."""

    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host
        self.emulators: dict[str, Emulator] = {}

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self[name]}"

    def base_url(self, name: str) -> str:
        """What an SDK is configured with: OpenAI SDKs want `/v1`, Anthropic's does not."""
        return self.url(name) if name == "anthropic" else self.url(name) + "/v1"


@contextlib.asynccontextmanager
async def serve(
    protocols: Mapping[str, int],
    *,
    key: str,
    host: str = "127.0.0.1",
    delay_ms: int = 0,
    fault: str | None = None,
    fault_times: int | None = None,
) -> AsyncIterator[Ports]:
    """Serve each protocol on its port (0 = ephemeral) in the running loop:
    `async with serve({"openai-chat": 0}, key="k") as ports: ports["openai-chat"]`."""
    unknown = set(protocols) - set(PROTOCOLS)
    if unknown:
        raise ValueError(f"unknown protocol(s) {sorted(unknown)}; known: {sorted(PROTOCOLS)}")
    ports = Ports(host)
    servers: list[HTTPServer] = []
    try:
        for name, port in protocols.items():
            emulator = Emulator(PROTOCOLS[name](key), delay_ms=delay_ms, fault=fault, fault_times=fault_times)
            server = HTTPServer(emulator, host, port)
            servers.append(server)
            ports[name] = await server.start()
            ports.emulators[name] = emulator
        yield ports
    finally:
        await asyncio.gather(*(s.close() for s in servers), return_exceptions=True)


@contextlib.contextmanager
def serve_in_thread(protocols: Mapping[str, int], **options: object) -> Iterator[Ports]:
    """`serve` on a background thread with its own loop, for synchronous tests and clients."""
    ready = threading.Event()
    found: dict[str, object] = {}
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def main() -> None:
        try:
            async with serve(protocols, **options) as ports:  # type: ignore[arg-type]
                found["ports"] = ports
                ready.set()
                await stop.wait()
        except BaseException as e:  # surface start-up errors in the caller's thread
            found["error"] = e
            ready.set()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True, name="emulators")
    thread.start()
    ready.wait()
    if "error" in found:
        thread.join()
        raise found["error"]  # type: ignore[misc]
    try:
        yield found["ports"]  # type: ignore[misc]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        loop.close()

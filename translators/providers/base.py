"""The contract of a provider's pure half.

A provider module exposes `CODEC`, an object with these members. It never does I/O: whatever it
needs from the outside (tokens, a project id, a chat id created beforehand) arrives in `ctx`, built
by the provider's runtime in addons/providers/<name>.py."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Callable
from typing import Mapping
from typing import Protocol
from typing import Sequence

from translators import ir
from translators.codec import StreamDecoder
from translators.errors import BridgeError


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """One HTTP request to the upstream."""

    url: str  # absolute: scheme://host[:port]/path?query
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    method: str = "POST"
    streams: bool = True  # the answer is text/event-stream (decoded by stream_decoder)


class ProviderCodec(Protocol):
    name: str
    native_tools: bool  # False: the shell describes tools in the prompt (translators.transforms.prompt_tools)

    def build(self, req: ir.ChatRequest, model: str, ctx: Mapping[str, Any], ids: ir.Ids) -> UpstreamCall:
        """The upstream request for this turn. `ctx` holds the account's fields and runtime values."""
        ...

    def stream_decoder(self, req: ir.ChatRequest) -> StreamDecoder:
        """Upstream SSE events -> IR events. Must turn in-band errors (even with status 200) into
        ir.StreamError, and end with MessageDelta + MessageStop (or StreamError) in flush()."""
        ...

    def parse_response(self, body: bytes) -> ir.ChatResponse:
        """A non-streamed 200 answer; raises TranslationError for an error carried with status 200."""
        ...

    def parse_error(self, status: int, headers: Mapping[str, str], body: bytes) -> BridgeError: ...

    def models(self, options: Mapping[str, Any]) -> list[str]:
        """Model ids (without prefix) to list in /v1/models when the config names none."""
        ...


@dataclass(frozen=True, slots=True)
class ModuleCodec:
    """A ProviderCodec assembled from the functions of a provider's modules (build in request.py, the
    decoder and error parsing beside it): the usual case, so each provider only names its parts."""

    name: str
    native_tools: bool
    build: Callable[[ir.ChatRequest, str, Mapping[str, Any], ir.Ids], UpstreamCall]
    stream_decoder: Callable[[ir.ChatRequest], StreamDecoder]
    parse_response: Callable[[bytes], ir.ChatResponse]
    parse_error: Callable[[int, Mapping[str, str], bytes], BridgeError]
    default_models: Sequence[str] = ()
    models_from_options: Callable[[Mapping[str, Any]], list[str]] | None = None

    def models(self, options: Mapping[str, Any]) -> list[str]:
        if self.models_from_options is not None:
            return self.models_from_options(options)
        return list(self.default_models)

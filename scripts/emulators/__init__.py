"""Emulated LLM upstreams for the bridge's tests, demo mode and benchmark.

Every emulator answers by the deterministic script of shared/emulator/SCRIPT.md
(`script.py`), speaking one provider's wire protocol:

* ``openai``            api.openai.com: all of ``openai-chat`` and ``openai-responses`` on one port
* ``openai-chat``       POST /v1/chat/completions, GET /v1/models
* ``anthropic``         POST /v1/messages, POST /v1/messages/count_tokens, GET /v1/models
* ``openai-responses``  POST /v1/responses, GET /v1/models
* ``bench``             POST /v1/chat/completions, fixed answer / N chunks, as fast as possible

Credential: ``Authorization: Bearer KEY`` (Anthropic also ``x-api-key: KEY``); wrong or
missing -> the provider's real 401 body.

Fault injection: request header ``x-emulator-fault: MODE``, or a server-wide fault
(``--fault``, ``Emulator.set_fault(mode, times)``, ``POST /_emulator/fault``
``{"fault": MODE|null, "times": N|null}``). MODE is one of:
``429`` (Retry-After: 1 + provider rate-limit body), ``500`` (provider server error),
``reset`` (headers + first event, or half a JSON body, then TCP reset),
``stall`` (same, then 60 s of silence), ``garbage`` (200 text/event-stream, non-JSON data
lines), ``error200`` (200 with the provider's error JSON body).
Pacing: ``delay_ms`` (``--delay-ms``, or header ``x-emulator-delay-ms``) sleeps before each
streamed event (once before a non-stream answer).
Control API (no credential): ``GET|DELETE /_emulator/requests`` (request log),
``POST /_emulator/fault``, ``GET /_emulator/health``.
"""

from .faults import FAULT_HEADER
from .faults import FAULT_MODES
from .script import Decision
from .script import ToolCall
from .script import Turn
from .script import decide
from .server import PROTOCOLS
from .server import Ports
from .server import serve
from .server import serve_in_thread

__all__ = [
    "FAULT_HEADER",
    "FAULT_MODES",
    "PROTOCOLS",
    "Decision",
    "Ports",
    "ToolCall",
    "Turn",
    "decide",
    "serve",
    "serve_in_thread",
]

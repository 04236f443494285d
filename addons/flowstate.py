"""Per-flow state of the bridge: what an upstream attempt is (Plan) and what the response side
needs to know about a bridged flow (FlowState)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from mitmproxy import http

from addons.endpoints import Endpoint
from addons.pool import Account
from addons.routing import Route
from addons.streaming import Relay
from addons.streaming import StreamAdapter
from translators import ir
from translators.pipeline import StreamPipeline
from translators.providers.base import UpstreamCall


@dataclass(slots=True)
class Plan:
    """One upstream attempt: where it goes and how its answer is read."""

    route: Route
    account: Account
    upstream: Any  # DialectUpstream or a provider codec
    identity: bool
    call: UpstreamCall
    transforms: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class FlowState:
    """What the response side needs to know about a bridged flow."""

    endpoint: Endpoint
    route: Route
    upstream: Any  # DialectUpstream or a provider codec
    identity: bool
    req: ir.ChatRequest | None
    ids: ir.Ids
    stream: bool
    account: Account | None = None
    transforms: list[Any] = field(default_factory=list)
    pipeline: StreamPipeline | None = None
    body: dict[str, Any] | None = None  # the client's request, for failover attempts
    raw: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    tried: list[Account] = field(default_factory=list)
    started: float = 0.0
    flow: http.HTTPFlow | None = None
    relay: Relay | StreamAdapter | None = None  # set once the answer streams; knows the last chunk's time
    idle: bool = False  # given up by the idle watchdog
    pinged: float = 0.0
    direct: bool = False  # the account came with the client's key: no other account may serve the flow
    record: Any = None  # addons.inspection.Record: what mitmweb shows of the flow beyond its two messages
    client_key: str = ""  # masking.key_id of the key the client presented: usage is accounted per key
    usage: ir.Usage | None = None  # of a translated whole answer (streams count in their pipeline)

    def adopt(self, plan: Plan) -> None:
        self.route, self.account, self.upstream = plan.route, plan.account, plan.upstream
        self.identity, self.transforms = plan.identity, plan.transforms
        self.tried.append(plan.account)

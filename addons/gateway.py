"""Gateway: the bridge's request/response cycle for the client-facing API endpoints.

request: classify the endpoint, check the client key, answer local endpoints, pick the route and
an account, and either patch the body for a same-dialect upstream (identity path) or translate it
through the IR; then re-target the flow. responseheaders: stream SSE answers for real (translated
when needed). response/error: translate buffered answers and upstream errors into the client's
dialect, and cool down accounts that were rate limited."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import secrets
import time
from pathlib import Path
from typing import Any

from mitmproxy import ctx
from mitmproxy import exceptions
from mitmproxy import http
from mitmproxy.proxy.mode_specs import ReverseMode
from mitmproxy.utils import asyncio_utils

from addons import admin
from addons import answers
from addons import error_page
from addons import inspection
from addons import local_views
from addons import watchdog
from addons.clientauth import key_matches
from addons.clientauth import load_or_create_key
from addons.clientauth import presented_key
from addons.connections import raise_listen_backlog
from addons.endpoints import Endpoint
from addons.endpoints import classify
from addons.endpoints import intercepted_path
from addons.endpoints import unknown_message
from addons.failover import RETRYABLE
from addons.failover import Sender
from addons.flowstate import FlowState
from addons.flowstate import Plan
from addons.masking import key_id
from addons.masking import mask_headers
from addons.pool import Account
from addons.pool import Pool
from addons.pool import parse_retry_after
from addons.pool_state import PoolState
from addons.providers import plugin
from addons.providers.base import Runtime
from addons.proxy_guard import refuse_open_proxy
from addons.proxy_guard import watch_file
from addons.response_store import ResponseStore
from addons.routing import Route
from addons.routing import models_body
from addons.routing import resolve
from addons.settings import BridgeConfig
from addons.settings import ConfigError
from addons.settings import load
from addons.streaming import Relay
from addons.streaming import StreamAdapter
from addons.upstream import apply
from addons.upstream import dialect_call
from addons.upstream_side import DialectUpstream
from addons.upstream_side import decode_whole_stream
from addons.usage import UsageMeter
from translators import ir
from translators import validate
from translators.errors import BridgeError
from translators.errors import TranslationError
from translators.events import response_events
from translators.jsonutil import dumps
from translators.jsonutil import load_object
from translators.pipeline import StreamPipeline
from translators.providers.base import UpstreamCall
from translators.registry import codec

logger = logging.getLogger(__name__)

# Reasoning the bridge relayed from another provider, replayed by the client: the upstream of the
# client's own dialect would reject it, so such a request takes the IR path, which drops it.
# Upstream response headers never relayed (openai-passthrough.md 4): its session cookies (secrets,
# and useless for the upstream's domain) and Alt-Svc (it would advertise HTTP/3 for the bridge).
UPSTREAM_ONLY = ("set-cookie", "alt-svc")
FOREIGN_REASONING = (b"~bridge:", b"llm-bridge.v1:", b'"signature":""', b'"signature": ""')


def file_digest(path: str) -> bytes | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).digest()
    except OSError:
        return None


def usage_hidden(st: FlowState) -> bool:
    """A Chat Completions stream relayed unchanged whose client did not ask for usage: the bridge asks the
    upstream for it all the same (usage accounting) and keeps its extra `choices: []` chunk from the client."""
    opts = st.body.get("stream_options") if st.body is not None else None
    return (st.endpoint.dialect == "openai-chat" and st.stream
            and not (isinstance(opts, dict) and opts.get("include_usage")))


class Gateway:
    def __init__(self) -> None:
        self.cfg: BridgeConfig | None = None
        self.keys: list[bytes] = []
        self.flows: dict[str, FlowState] = {}
        self.store = ResponseStore(1000)
        self.pools: dict[str, Pool] = {}
        self.pool_state = PoolState()  # shared through Redis when redis_url is set
        self.runtimes: dict[str, Runtime] = {}
        self.sender = Sender()
        self.usage = UsageMeter()
        self.applied_digest: bytes | None = None  # of the config file last applied

    def load(self, loader: Any) -> None:
        loader.add_option("bridge_config", str, "", "Path to the bridge's YAML configuration file (see README).")
        error_page.install()

    def configure(self, updated: set[str]) -> None:
        if updated & {"mode", "listen_host", "proxyauth"}:
            proxyauth = ctx.options.proxyauth if "proxyauth" in ctx.options else None  # lean entry: no auth addon
            refuse_open_proxy(ctx.options.mode, ctx.options.listen_host, proxyauth)
        if "bridge_config" not in updated and self.cfg is not None:
            return
        self._load(ctx.options.bridge_config or None)

    def _load(self, path: str | None) -> bool:
        """Load and apply the configuration; an invalid one is refused at start (OptionsError) and,
        on a reload, logged while the previous one stays in force."""
        digest = file_digest(path) if path else None  # read first: a later change is then seen as new
        try:
            cfg = load(path)
        except ConfigError as e:
            if self.cfg is None:
                raise exceptions.OptionsError(str(e)) from None
            logger.error("configuration not reloaded, the previous one stays: %s", e)
            return False
        try:
            self._apply(cfg)
        except exceptions.OptionsError as e:
            if self.cfg is None:
                raise
            logger.error("configuration not reloaded, the previous one stays: %s", e)
            return False
        self.applied_digest = digest
        return True

    def _apply(self, cfg: BridgeConfig) -> None:
        runtimes = {}
        state_dir = Path(cfg.key_file).parent
        for name, p in cfg.providers.items():
            found = plugin(p.type) if p.is_plugin else None
            if p.is_plugin and found is None:
                raise exceptions.OptionsError(f"provider {name!r}: type {p.type!r} is not available")
            if found is not None:
                runtimes[name] = found.runtime(name, p.base_url, dict(p.options), state_dir)
        keys = [k.get_secret_value() for k in cfg.client_keys] or [load_or_create_key(cfg.key_file)]
        self.usage.configure(cfg, state_dir)  # may refuse the configuration (unusable store): before it applies
        self.cfg, self.keys = cfg, [k.encode() for k in keys]
        self.store.capacity = cfg.responses_store_size
        # In-flight flows keep the route and account objects they started with: nothing is dropped.
        self.pools = {name: Pool([Account(name, i, f, f.pop("proxy", None) or p.proxy)
                                  for i, f in enumerate(p.account_fields())]) for name, p in cfg.providers.items()}
        if not self.pool_state.serves(cfg.redis_url, cfg.redis_prefix):
            old, self.pool_state = self.pool_state, PoolState(cfg.redis_url, cfg.redis_prefix)
            if old.redis is not None:
                asyncio_utils.create_task(old.close(), name="bridge-redis-close", keep_ref=True)
        self.runtimes = runtimes

    async def done(self) -> None:
        await self.usage.close()  # at shutdown: the store ends cleanly (SQLite checkpoints its WAL)

    def running(self) -> None:
        # Reverse mode would connect to its target before any hook could re-route (design note 3.3).
        if ctx.options.connection_strategy != "lazy":
            ctx.options.update(connection_strategy="lazy")
        for name, runtime in self.runtimes.items():
            asyncio_utils.create_task(self._discover(name, runtime), name=f"bridge-models-{name}", keep_ref=True)
        asyncio_utils.create_task(watchdog.watch(self.flows, lambda: self.cfg), name="bridge-idle-watchdog",
                                  keep_ref=True)
        asyncio_utils.create_task(self._backlog(), name="bridge-listen-backlog", keep_ref=True)
        if ctx.options.bridge_config:  # hot reload
            path = ctx.options.bridge_config
            asyncio_utils.create_task(watch_file(path, lambda: self._reload(path)), name="bridge-config-reload",
                                      keep_ref=True)

    async def _backlog(self) -> None:
        for _ in range(50):  # the proxy's servers start listening shortly after `running`
            if raise_listen_backlog():
                return
            await asyncio.sleep(0.1)

    def _reload(self, path: str) -> None:
        if file_digest(path) == self.applied_digest:
            return  # applied already (the admin page applies what it saves at once)
        if self._load(path):
            logger.info("configuration reloaded from %s", path)

    async def _discover(self, name: str, runtime: Runtime) -> None:
        try:
            runtime.models = await runtime.discover_models(self.pools[name].accounts)
        except Exception as e:  # a listing is a convenience: never fatal
            logger.warning("provider %s: could not list models: %s", name, e)

    def model_details(self, model_id: str) -> dict[str, Any]:
        name, _, model = model_id.partition("/")
        runtime = self.runtimes.get(name)
        return runtime.model_details(model) if runtime is not None and model else {}

    def discovered_models(self) -> dict[str, list[str]]:
        out = {}
        for name, runtime in self.runtimes.items():
            found = plugin(self.cfg.providers[name].type) if self.cfg else None
            out[name] = runtime.models or (found.codec.models(runtime.options) if found else [])
        return out

    # ------------------------------------------------------------------ request side

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live or self.cfg is None:
            return
        req = flow.request
        if not self._ours(flow, self.cfg):
            return
        if not isinstance(flow.client_conn.proxy_mode, ReverseMode):  # e.g. Copilot's /chat/completions
            req.path = intercepted_path(req.pretty_host, req.path)
        ep = classify(req.method, req.path, "anthropic-version" in req.headers)
        if req.method == "OPTIONS" and self.cfg.cors:
            flow.response = answers.preflight(req)
            return
        try:
            await self._request(flow, ep, self.cfg)
        except TranslationError as e:
            self._answer_error(flow, ep.dialect, e.error)
        except Exception:
            logger.exception("bridge failed on flow %s", flow.id)
            self._answer_error(flow, ep.dialect, BridgeError.of("api_error", "The bridge failed on this request."))

    @staticmethod
    def _ours(flow: http.HTTPFlow, cfg: BridgeConfig) -> bool:
        """In reverse mode every request is for the bridge; when intercepting (regular, transparent,
        local...), only calls to the configured API hosts are: all other traffic passes untouched."""
        if isinstance(flow.client_conn.proxy_mode, ReverseMode):
            return True
        return flow.request.pretty_host in cfg.intercept_hosts

    async def _request(self, flow: http.HTTPFlow, ep: Endpoint, cfg: BridgeConfig) -> None:
        if ep.name == "unknown":
            raise TranslationError(unknown_message(flow.request.method, flow.request.path), kind="not_found",
                                   code="unknown_url")
        if ep.name == "admin":  # its page is public; its API checks the client key itself
            return self._answer(flow, await admin.answer(flow, self))
        if ep.name == "metrics" and cfg.usage.metrics_public:  # Prometheus scrapes without a client key
            return await self._metrics(flow)
        key, direct = presented_key(flow.request, browser=ep.name == "page"), None
        if not key_matches(key, self.keys):
            direct = self._direct_account(flow, ep, cfg, key)
            if direct is None:
                raise TranslationError("Invalid API key. Send the bridge's client key as 'Authorization: Bearer "
                                       "<key>' or 'x-api-key: <key>'.", kind="authentication")
        mask_headers(flow.request.headers)
        if ep.name == "models":
            self._answer(flow, answers.json_response(200, models_body(
                cfg, int(time.time()), self.discovered_models(), self.model_details)))
        elif ep.name == "model":
            self._answer_model(flow, cfg, flow.request.path.split("/models/", 1)[1].split("?")[0])
        elif ep.name == "page":
            self._answer(flow, await local_views.page(flow, self.runtimes))
        elif ep.name == "metrics":
            await self._metrics(flow)
        elif ep.name == "pools":
            await self.pool_state.refresh(self.pools)
            self._answer(flow, answers.json_response(200, local_views.pools_view(self.pools)))
        elif ep.name == "acc_tokens":
            await self.pool_state.refresh(self.pools)
            self._answer(flow, answers.json_response(200, local_views.acc_tokens(self.pools, cfg)))
        elif ep.name == "passthrough":
            await self._passthrough(flow, ep, cfg)
        else:
            await self._bridge(flow, ep, cfg, direct, key_id(key) if key else "")

    async def _metrics(self, flow: http.HTTPFlow) -> None:
        await self.pool_state.refresh(self.pools)  # pools shared between bridges: their latest health
        self._answer(flow, await self.usage.metrics(self.pools))

    def _direct_account(self, flow: http.HTTPFlow, ep: Endpoint, cfg: BridgeConfig,
                        key: str | None) -> Account | None:
        """A provider credential presented as the client key (ChatGPT's `raw_token_prefix` option): the
        account for this one request, when the model routes to a provider whose runtime accepts the key."""
        if not key or ep.name not in ("chat", "responses", "messages"):
            return None
        if len(flow.request.raw_content or b"") > cfg.max_body_bytes:
            return None
        try:
            model = load_object(flow.request.get_content(strict=False) or b"").get("model")
        except TranslationError:
            return None
        route = resolve(cfg, model) if isinstance(model, str) and model else None
        runtime = self.runtimes.get(route.provider_name) if route is not None else None
        account = runtime.account_for_client_key(key) if runtime is not None else None
        if account is not None and route is not None:
            account.proxy = account.proxy or route.provider.proxy
        return account

    async def _bridge(self, flow: http.HTTPFlow, ep: Endpoint, cfg: BridgeConfig,
                      direct: Account | None = None, client_key: str = "") -> None:
        if len(flow.request.raw_content or b"") > cfg.max_body_bytes:
            raise TranslationError(f"Request body exceeds {cfg.max_body_bytes} bytes.", kind="request_too_large")
        raw = flow.request.get_content(strict=False) or b""
        body = load_object(raw)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise TranslationError("Missing required parameter: 'model'.", param="model")
        route = resolve(cfg, model)
        if route is None:
            raise TranslationError(f"The model `{model}` does not exist: no provider prefix matches and no "
                                   "default provider is configured.", kind="not_found", param="model")
        ids = ir.Ids(int(time.time()), secrets.token_hex(6))
        if ep.name == "count_tokens":
            return await self._count_tokens(flow, route, body, ids)
        await self.usage.admit(client_key)  # 429 once the key reached a daily limit
        st = FlowState(ep, route, None, False, None, ids, body.get("stream") is True, body=body, raw=raw,
                       headers=dict(flow.request.headers.items()), started=time.monotonic(), flow=flow,
                       direct=direct is not None, client_key=client_key)
        st.record = inspection.Record.of(flow.request)  # the client's request, before it becomes the upstream's
        try:
            plan = await self._first_plan(st, route, direct or await self._pick_account(route.provider_name))
        except BaseException:
            self.usage.unadmit(client_key)  # never bridged: it does not count against the daily limit
            raise
        st.adopt(plan)
        self.flows[flow.id] = st
        apply(flow, plan.call, plan.account.proxy)
        st.record.forwarded = time.time()

    async def _first_plan(self, st: FlowState, route: Route, account: Account) -> Plan:
        """_plan, moving on to the next account when preparing the call itself failed in a way
        another account may not (a provider's chat creation or token refresh answered 429/401/5xx)."""
        assert self.cfg is not None
        pool, tried = self.pools[route.provider_name], [account]
        while True:
            try:
                return await self._plan(st, route, account)
            except TranslationError as e:
                if st.direct or e.error.status not in RETRYABLE or len(tried) >= self.cfg.failover.max_attempts:
                    raise
                if e.error.status == 429:
                    await self.pool_state.cooldown(pool, account, parse_retry_after(e.error.retry_after))
                logger.warning("preparing a call on %s failed (%s); trying another account", account.label,
                               e.error.status)
                nxt = await self.pool_state.pick(pool, tuple(tried))
                if nxt is None:
                    raise
                account = nxt
                tried.append(account)

    async def _plan(self, st: FlowState, route: Route, account: Account) -> Plan:
        """The upstream call for this route and account: identity (body patched) or via the IR."""
        assert st.body is not None
        ep, provider = st.endpoint, route.provider
        if provider.is_plugin:
            return await self._plan_plugin(st, route, account)
        natives = provider.native_dialects()
        up_dialect = ep.dialect if ep.dialect in natives else natives[0]
        body = st.body
        identity = (up_dialect == ep.dialect and not body.get("functions") and not body.get("function_call")
                    and not any(mark in st.raw for mark in FOREIGN_REASONING))
        if isinstance(body.get("previous_response_id"), str):
            identity = identity and body["previous_response_id"] not in self.store
        if identity:  # parsed for validation only: bad input gets the bridge's clear 400
            checked = codec(ep.dialect).parse_request(body)
            if checked.previous_response_id is None:  # else the history lives upstream
                validate.check(checked)
            up_body = {**body, "model": route.upstream_model}
            if usage_hidden(st):  # accounting needs the usage the client did not ask for
                up_body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        else:
            up_body = codec(up_dialect).render_request(self._ir(st), route.upstream_model)
        call = dialect_call(provider, up_dialect, dumps(up_body), st.headers, ep.dialect, account)
        return Plan(route, account, DialectUpstream(up_dialect), identity, call)

    async def _plan_plugin(self, st: FlowState, route: Route, account: Account) -> Plan:
        found = plugin(route.provider.type)
        assert found is not None
        req = self._ir(st)
        up_req, transforms = req, []
        if not found.codec.native_tools:
            from translators.transforms import prompt_tools

            up_req = prompt_tools.apply_to_request(req)
            if req.tools:
                transforms.append(prompt_tools.PromptToolStream(req, st.ids))
        context = await self.runtimes[route.provider_name].context(account, up_req)
        call = found.codec.build(up_req, route.upstream_model, context, st.ids)
        return Plan(route, account, found.codec, False, call, transforms)

    def _ir(self, st: FlowState) -> ir.ChatRequest:
        """The client's request in the IR, parsed once per flow."""
        if st.req is None:
            assert st.body is not None
            st.req = validate.check(self._expand(codec(st.endpoint.dialect).parse_request(st.body)))
        return st.req

    async def _pick_account(self, provider: str) -> Account:
        pool = self.pools[provider]
        account = await self.pool_state.pick(pool)
        if account is None:
            wait = max(1, math.ceil(pool.soonest_recovery(time.monotonic())))
            raise TranslationError(f"Every account of provider '{provider}' is rate limited; retry in {wait}s.",
                                   kind="rate_limit", retry_after=str(wait))
        return account

    def _expand(self, req: ir.ChatRequest) -> ir.ChatRequest:
        """Responses' previous_response_id, served from the bridge's own store of answers."""
        if req.previous_response_id is None:
            return req
        expanded = self.store.expand(req)
        if expanded is None:
            raise TranslationError(f"Previous response with id '{req.previous_response_id}' not found.",
                                   param="previous_response_id", kind="not_found",
                                   code="previous_response_not_found")
        return expanded

    def _remember(self, st: FlowState, response_id: str | None, resp: ir.ChatResponse | None) -> None:
        if (st.endpoint.name == "responses" and st.req is not None and response_id and resp is not None
                and st.req.extra.get("store") is not False):
            self.store.put(response_id, st.req, resp)

    async def _count_tokens(self, flow: http.HTTPFlow, route: Route, body: dict[str, Any], ids: ir.Ids) -> None:
        if "anthropic-messages" in route.provider.native_dialects():
            account = await self._pick_account(route.provider_name)
            self.flows[flow.id] = FlowState(Endpoint("count_tokens", "anthropic-messages"), route,
                                            DialectUpstream("anthropic-messages"), True, None, ids, False, account)
            apply(flow, dialect_call(route.provider, "count_tokens", dumps({**body, "model": route.upstream_model}),
                                     dict(flow.request.headers.items()), "anthropic-messages", account), account.proxy)
            return
        anthropic = codec("anthropic-messages")
        req = anthropic.parse_count_tokens(body)  # type: ignore[attr-defined]
        self._answer(flow, answers.json_response(200, anthropic.render_count_tokens(  # type: ignore[attr-defined]
            anthropic.estimate_tokens(req))))  # type: ignore[attr-defined]

    async def _passthrough(self, flow: http.HTTPFlow, ep: Endpoint, cfg: BridgeConfig) -> None:
        """Other /v1 endpoints (embeddings, files...) go untouched to an OpenAI-type default provider."""
        name = cfg.default_provider
        provider = cfg.providers.get(name) if name else None
        if name is None or provider is None or provider.type not in ("openai", "openai-compatible"):
            raise TranslationError(unknown_message(flow.request.method, flow.request.path), kind="not_found",
                                   code="unknown_url")
        path = flow.request.path[3:]  # strip /v1: the provider's base URL carries its own prefix
        account = await self._pick_account(name)
        self.flows[flow.id] = FlowState(ep, Route(name, provider, ""), DialectUpstream("openai-chat"), True, None,
                                        ir.Ids(int(time.time())), False, account)
        call = dialect_call(provider, path, flow.request.raw_content or b"", dict(flow.request.headers.items()),
                            ep.dialect, account)
        apply(flow, UpstreamCall(call.url, call.body, call.headers, flow.request.method), account.proxy)

    def _answer_model(self, flow: http.HTTPFlow, cfg: BridgeConfig, model_id: str) -> None:
        for m in models_body(cfg, int(time.time()), self.discovered_models(), self.model_details)["data"]:
            if m["id"] == model_id:
                return self._answer(flow, answers.json_response(200, m))
        raise TranslationError(f"The model `{model_id}` does not exist.", kind="not_found", param="model")

    def _answer(self, flow: http.HTTPFlow, response: http.Response) -> None:
        answers.add_cors(flow.request, response)
        flow.response = response

    def _answer_error(self, flow: http.HTTPFlow, dialect: str, err: BridgeError) -> None:
        self._answer(flow, answers.error_response(dialect, err))

    # ------------------------------------------------------------------ response side

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        st = self.flows.get(flow.id)
        resp = flow.response
        if st is None or resp is None:
            return
        mask_headers(flow.request.headers)  # the request has left: keep no upstream secret in the flow
        for name in UPSTREAM_ONLY:  # the upstream's cookies and HTTP/3 offers mean nothing to the client
            resp.headers.pop(name, None)
        answers.add_cors(flow.request, resp)
        is_sse = resp.headers.get("content-type", "").startswith("text/event-stream")
        if resp.status_code != 200 or not is_sse or not st.stream:
            return  # buffered: translated in response()
        if flow.request.is_http11:  # chunked, so that a broken-off stream can still be ended well
            resp.headers.pop("content-length", None)
            resp.headers["transfer-encoding"] = "chunked"
        if st.identity:
            client = codec(st.endpoint.dialect)
            resp.stream = st.relay = Relay(lambda reason: client.render_stream_error(
                BridgeError.of("api_error", f"The upstream stream broke off: {reason}.", status=502)),
                hide_usage=usage_hidden(st))
            return
        assert st.req is not None
        st.pipeline = StreamPipeline(st.upstream.stream_decoder(st.req),
                                     codec(st.endpoint.dialect).stream_encoder(st.req, st.ids), st.transforms)
        resp.headers.pop("content-encoding", None)
        resp.stream = st.relay = StreamAdapter(st.pipeline, flow.id)

    async def response(self, flow: http.HTTPFlow) -> None:
        st = self.flows.pop(flow.id, None)
        resp = flow.response
        if st is None or resp is None:
            return
        refreshed = await self._account_outcome(st, resp) if st.account is not None else False
        if not resp.stream and resp.status_code in RETRYABLE and st.body is not None:
            resp = flow.response = await self._failover(st, resp, refreshed) or resp
        self._finish(flow, st, resp)
        await self._finished(flow, st)

    async def _finished(self, flow: http.HTTPFlow, st: FlowState) -> None:
        """A bridged flow is over (answered, failed or broken off): account for it and annotate it."""
        await self.usage.record(flow, st)
        inspection.annotate(flow, st)

    def _finish(self, flow: http.HTTPFlow, st: FlowState, resp: http.Response) -> None:
        """The client's answer from the upstream's (the first attempt's or a retried one)."""
        inspection.keep_upstream_answer(st, resp)
        if resp.stream:
            if st.pipeline is not None:
                result = getattr(st.pipeline.encoder, "result", None)
                self._remember(st, result.id if result else None, result)
            return
        try:
            if resp.status_code >= 300:
                self._upstream_error(flow, st, resp)
            elif not st.identity:
                self._translate_body(flow, st, resp)
        except TranslationError as e:
            self._answer_error(flow, st.endpoint.dialect, e.error)
        except Exception:
            logger.exception("bridge failed translating the answer of flow %s", flow.id)
            self._answer_error(flow, st.endpoint.dialect,
                               BridgeError.of("api_error", "The bridge failed to translate the upstream answer."))

    async def _account_outcome(self, st: FlowState, resp: http.Response | None) -> bool:
        """Report an attempt's outcome to the pool. True when the same account may be tried again
        (its credential was just refreshed after a 401)."""
        assert st.account is not None
        pool = self.pools.get(st.route.provider_name)
        if pool is None:
            return False
        status = resp.status_code if resp is not None else 502
        if status == 429:
            retry = self._retry_after(st, resp) if resp is not None else None
            await self.pool_state.cooldown(pool, st.account, retry)
            logger.warning("account %s rate limited; cooling down for %ss", st.account.label,
                           retry if retry is not None else "default")
        elif status == 401 and st.route.provider_name in self.runtimes and st.tried.count(st.account) == 1:
            return await self.runtimes[st.route.provider_name].refresh(st.account)
        elif status < 400:
            await self.pool_state.succeeded(pool, st.account)
        return False

    @staticmethod
    def _retry_after(st: FlowState, resp: http.Response) -> float | None:
        """The upstream's Retry-After header, else the delay its error body names (Google's RetryInfo)."""
        header = parse_retry_after(resp.headers.get("retry-after"))
        if header is not None:
            return header
        try:
            err = st.upstream.parse_error(resp.status_code, resp.headers, resp.get_content(strict=False) or b"")
        except Exception:  # a body we cannot read names no delay
            return None
        return parse_retry_after(err.retry_after)

    def _candidates(self, st: FlowState) -> list[Route]:
        """The flow's own route, then the configured fallbacks of its model or provider."""
        assert self.cfg is not None and st.body is not None
        model = str(st.body.get("model"))
        names = self.cfg.fallbacks.get(model) or self.cfg.fallbacks.get(st.route.provider_name) or []
        routes = [st.route] + [r for r in (resolve(self.cfg, n) for n in names) if r is not None]
        return routes

    async def _failover(self, st: FlowState, resp: http.Response | None,
                        retry_same: bool = False) -> http.Response | None:
        """Try other accounts, then fallback routes, until one answers or attempts/time run out;
        `retry_same`: the failed account's credential was refreshed, so it may go again first.
        Returns the last upstream answer (None if nothing answered at all)."""
        assert self.cfg is not None
        if st.direct:  # the client's own credential: the pool's accounts are not the client's to use
            return resp
        limits, last = self.cfg.failover, resp
        for route in self._candidates(st):
            pool = self.pools[route.provider_name]
            while len(st.tried) < limits.max_attempts and time.monotonic() - st.started < limits.budget_seconds:
                exclude = tuple(a for a in st.tried if not (retry_same and a is st.account))
                account = await self.pool_state.pick(pool, exclude)
                retry_same = False
                if account is None:
                    break
                try:
                    plan = await self._plan(st, route, account)
                except TranslationError:
                    break  # this route cannot carry the request: next route
                st.adopt(plan)
                try:
                    last = await self.sender.send(plan.call, account.proxy)
                except Exception as e:
                    logger.warning("failover attempt on %s failed: %s", account.label, e)
                    await self._account_outcome(st, None)
                    continue
                retry_same = await self._account_outcome(st, last)
                if last.status_code not in RETRYABLE:
                    return last
        return last

    def _upstream_error(self, flow: http.HTTPFlow, st: FlowState, resp: http.Response) -> None:
        is_json = resp.headers.get("content-type", "").startswith("application/json")
        if st.identity and is_json:
            return  # the client's own dialect already
        body = resp.get_content(strict=False) or b""
        err = st.upstream.parse_error(resp.status_code, resp.headers, body)
        retry = resp.headers.get("retry-after")
        if retry:
            err = BridgeError.of(err.kind, err.message, param=err.param, code=err.code, status=err.status,
                                 retry_after=retry)
        self._answer_error(flow, st.endpoint.dialect, err)

    def _translate_body(self, flow: http.HTTPFlow, st: FlowState, resp: http.Response) -> None:
        assert st.req is not None
        body = resp.get_content(strict=False) or b""
        if resp.headers.get("content-type", "").startswith("text/event-stream"):
            parsed = decode_whole_stream(st.upstream, st.req, body, st.transforms)
        else:
            parsed = st.upstream.parse_response(body)
            if st.transforms:
                from translators.transforms import prompt_tools

                parsed = prompt_tools.parse_response(parsed, st.req, st.ids)
        st.usage = parsed.usage
        client = codec(st.endpoint.dialect)
        if st.stream:  # asked to stream, the upstream answered whole: stream it anyway
            enc = client.stream_encoder(st.req, st.ids)
            chunks = [c for ev in response_events(parsed) for c in enc.feed(ev)] + enc.flush()
            flow.response = http.Response.make(200, b"".join(chunks), {"content-type": "text/event-stream"})
            self._remember(st, getattr(enc, "result", None) and enc.result.id, parsed)  # type: ignore[attr-defined]
        else:
            rendered = client.render_response(parsed, st.req, st.ids)
            self._remember(st, rendered.get("id"), parsed)
            flow.response = answers.json_response(200, rendered)
        answers.add_cors(flow.request, flow.response)

    def _end_broken_stream(self, flow: http.HTTPFlow, st: FlowState, reason: str) -> None:
        """The answer was streaming when the upstream broke off, stalled or the client left: end the
        client's stream with an error event in its dialect rather than a silently cut body."""
        kind = "timeout" if st.idle else "api_error"
        err = BridgeError.of(kind, f"The upstream stream broke off before the answer was complete: {reason}",
                             status=504 if st.idle else 502)
        logger.warning("flow %s: stream from %s broke off: %s", flow.id, st.route.provider_name, reason)
        if st.pipeline is not None:
            tail = b"".join(st.pipeline.fail(err))
        else:
            tail = codec(st.endpoint.dialect).render_stream_error(err)
        if tail:
            error_page.register_tail(flow.request, tail)

    async def error(self, flow: http.HTTPFlow) -> None:
        st = self.flows.pop(flow.id, None)
        if st is None:
            return
        await self._error(flow, st)
        await self._finished(flow, st)

    async def _error(self, flow: http.HTTPFlow, st: FlowState) -> None:
        mask_headers(flow.request.headers)
        reason = "the upstream was silent for too long" if st.idle else (flow.error.msg if flow.error else "")
        if flow.response is not None and flow.response.stream:
            self._end_broken_stream(flow, st, reason)
            return
        if flow.response is None and flow.error is not None:
            if st.account is not None:
                await self._account_outcome(st, None)
            retried = await self._failover(st, None) if st.body is not None else None
            if retried is not None:  # another account or route answered: that is the client's answer
                flow.response = retried
                self._finish(flow, st, retried)
                error_page.register(flow.request, flow.response)
                return
            msg = reason
            err = BridgeError.of("timeout" if st.idle else "upstream_unreachable",
                                 f"The upstream of provider '{st.route.provider_name}' could not be reached: {msg}")
            logger.warning("flow %s: upstream %s unreachable: %s", flow.id, st.route.provider_name, msg)
            response = answers.error_response(st.endpoint.dialect, err)
            answers.add_cors(flow.request, response)
            error_page.register(flow.request, response)

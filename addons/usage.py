"""Usage accounting per client key, provider, account and model: one record per finished model call
(requests, tokens, errors), kept in a UsageStore; served as JSON (/admin/usage) and Prometheus text
(/metrics); daily limits per client key."""

from __future__ import annotations

import logging
from datetime import datetime
from datetime import timezone
from pathlib import Path
from typing import Any
from typing import Mapping

from mitmproxy import exceptions
from mitmproxy import http
from mitmproxy.utils import asyncio_utils

from addons import usage_metrics
from addons.pool import Pool
from addons.settings import BridgeConfig
from addons.settings import UsageSettings
from addons.streaming import Relay
from addons.usage_limits import DailyLimiter
from addons.usage_limits import utc_day
from addons.usage_read import usage_of
from addons.usage_store import COUNTERS
from addons.usage_store import UsageRecord
from addons.usage_store import UsageStore
from translators import ir
from translators.errors import TranslationError

logger = logging.getLogger(__name__)

MODEL_CALLS = ("chat", "responses", "messages")  # count_tokens and pass-through calls are not accounted
FILTERS = ("client_key", "provider", "account", "model")  # /admin/usage?provider=...&from=...&to=...


def store_location(cfg: BridgeConfig, state_dir: Path) -> tuple[str, str, str] | None:
    """Where usage goes: (kind, URL or path, key prefix). Redis when the bridge shares state through it,
    else a SQLite file in the state directory; None when accounting is off."""
    if not cfg.usage.enabled:
        return None
    if cfg.redis_url:
        return ("redis", cfg.redis_url, cfg.redis_prefix)
    return ("sqlite", str((state_dir / cfg.usage.path).resolve()), "")


def open_store(location: tuple[str, str, str]) -> UsageStore:
    kind, where, prefix = location
    if kind == "redis":
        from addons.usage_redis import RedisUsageStore

        return RedisUsageStore(where, prefix)
    from addons.usage_sqlite import SqliteUsageStore

    return SqliteUsageStore(where)


class UsageMeter:
    def __init__(self) -> None:
        self.store: UsageStore | None = None
        self.location: tuple[str, str, str] | None = None
        self.settings = UsageSettings()
        self.limiter = DailyLimiter()

    def configure(self, cfg: BridgeConfig, state_dir: Path) -> None:
        """(Re)apply the `usage` settings; the open store is kept while its location stays the same."""
        location = store_location(cfg, state_dir)
        if location != self.location:
            try:
                store = open_store(location) if location is not None else None
            except Exception as e:  # refused like any bad configuration: at start, or kept on reload
                where = location[1] if location and location[0] == "sqlite" else "in Redis"  # a URL may hold a password
                raise exceptions.OptionsError(f"usage store {where}: {e}") from None
            old, self.store, self.location = self.store, store, location
            self.limiter.forget()
            if old is not None:
                asyncio_utils.create_task(old.close(), name="bridge-usage-close", keep_ref=True)
        self.settings = self.limiter.settings = cfg.usage

    async def close(self) -> None:
        store, self.store, self.location = self.store, None, None
        if store is not None:
            await store.close()

    async def admit(self, client_key: str, now: datetime | None = None) -> None:
        """Raises TranslationError (429) when the key reached a daily limit."""
        if self.store is None:
            return
        try:
            await self.limiter.admit(client_key, self.store, now or datetime.now(timezone.utc))
        except TranslationError:
            raise
        except Exception as e:  # a store that cannot be read does not stop the bridge: no limit then
            logger.warning("daily limit not checked, the usage store failed: %s", e)

    def unadmit(self, client_key: str) -> None:
        self.limiter.unadmit(client_key)

    async def record(self, flow: http.HTTPFlow, st: Any) -> None:
        """Never raises: accounting must not break an answer."""
        store = self.store
        if store is None or st.endpoint.name not in MODEL_CALLS:
            return
        try:
            rec = build_record(flow, st, utc_day(datetime.now(timezone.utc)))
            await store.add(rec)
            self.limiter.counted(rec)
        except Exception:
            logger.exception("usage of flow %s was not recorded", flow.id)

    async def report(self, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        """{"rows": [every group with its counters], "days": [counters summed per day]}; `query` filters
        by client_key, provider, account, model and a day range (from, to: YYYY-MM-DD, inclusive)."""
        rows = await self.store.rows() if self.store is not None else []
        rows = [r for r in rows if _selected(r, query or {})]
        days: dict[str, dict[str, Any]] = {}
        for r in rows:
            day = days.setdefault(str(r["day"]), {"day": r["day"], **{c: 0 for c in COUNTERS}})
            for c in COUNTERS:
                day[c] += int(r[c])
        return {"rows": rows, "days": [days[d] for d in sorted(days)]}

    async def metrics(self, pools: dict[str, Pool] | None = None) -> http.Response:
        rows = await self.store.rows() if self.store is not None else []
        text = usage_metrics.render(rows, pools)
        return http.Response.make(200, text.encode(), {"content-type": usage_metrics.CONTENT_TYPE})


def _selected(row: Mapping[str, Any], query: Mapping[str, str]) -> bool:
    if any(query.get(k) not in (None, "", row[k]) for k in FILTERS):
        return False
    day = str(row["day"])
    return day >= query.get("from", "") and day <= (query.get("to") or "9999")


def build_record(flow: http.HTTPFlow, st: Any, day: str) -> UsageRecord:
    model = st.body.get("model") if isinstance(st.body, dict) else None
    used = tokens_of(flow, st)
    return UsageRecord(day=day, client_key=st.client_key, provider=st.route.provider_name,
                       account=st.account.label if st.account is not None else "",
                       model=model if isinstance(model, str) else "",
                       input_tokens=used.input, output_tokens=used.output, cached_tokens=used.cache_read,
                       reasoning_tokens=used.reasoning, errors=int(failed(flow, st)))


def failed(flow: http.HTTPFlow, st: Any) -> bool:
    """The client got an error status, nothing at all, or a stream that broke off."""
    resp = flow.response
    if resp is None or resp.status_code >= 400:
        return True
    if flow.error is not None and resp.stream:
        return True
    if st.pipeline is not None and st.pipeline.failed:  # an error event ended the translated stream
        return True
    return isinstance(st.relay, Relay) and st.relay.done


def tokens_of(flow: http.HTTPFlow, st: Any) -> ir.Usage:
    """Translated streams count in their pipeline, translated whole answers were parsed by the gateway
    (st.usage); answers relayed unchanged are read here from the upstream's JSON."""
    if st.pipeline is not None:
        return st.pipeline.usage
    if st.usage is not None:
        return st.usage
    if not st.identity:
        return ir.Usage()
    if isinstance(st.relay, Relay):
        return usage_of(st.endpoint.dialect, [p for p in (st.relay.usage_first, st.relay.usage_last) if p])
    resp = flow.response
    if (resp is not None and resp.status_code < 300 and not resp.stream
            and resp.headers.get("content-type", "").startswith("application/json")):
        return usage_of(st.endpoint.dialect, [resp.get_content(strict=False) or b""])
    return ir.Usage()

"""Per client key daily limits (requests, tokens per UTC day). Each key's totals of the day are read
from the store once, then kept in memory: admitting a request costs no I/O after the first one."""

from __future__ import annotations

import math
from datetime import datetime
from datetime import timedelta
from datetime import timezone

from addons.settings import DailyLimits
from addons.settings import UsageSettings
from addons.usage_store import UsageRecord
from addons.usage_store import UsageStore
from translators.errors import TranslationError


def utc_day(now: datetime) -> str:
    return now.astimezone(timezone.utc).date().isoformat()


def seconds_to_midnight(now: datetime) -> int:
    utc = now.astimezone(timezone.utc)
    midnight = datetime.combine(utc.date() + timedelta(days=1), datetime.min.time(), timezone.utc)
    return max(1, math.ceil((midnight - utc).total_seconds()))


class DailyLimiter:
    def __init__(self) -> None:
        self.settings = UsageSettings()
        self._day = ""
        self._totals: dict[str, list[int]] = {}  # key id -> [requests, tokens] of self._day

    def limits_for(self, key_id: str) -> DailyLimits:
        return self.settings.key_limits.get(key_id) or self.settings

    def forget(self) -> None:
        """The store changed: totals are read again from the new one."""
        self._day, self._totals = "", {}

    async def admit(self, key_id: str, store: UsageStore, now: datetime) -> None:
        """Count a request against its key's day, or refuse it (429) when a limit is reached.
        A request counts when it is admitted, so concurrent requests cannot overshoot the limit."""
        limits = self.limits_for(key_id)
        if limits.daily_requests is None and limits.daily_tokens is None:
            return
        day = utc_day(now)
        if day != self._day:
            self._day, self._totals = day, {}
        totals = self._totals.get(key_id)
        if totals is None:
            loaded = list(await store.day_totals(key_id, day))
            totals = self._totals.setdefault(key_id, loaded)  # a concurrent first request may have loaded it
        if limits.daily_requests is not None and totals[0] >= limits.daily_requests:
            self._refuse(f"the daily limit of {limits.daily_requests} requests", "daily_request_limit_exceeded", now)
        if limits.daily_tokens is not None and totals[1] >= limits.daily_tokens:
            self._refuse(f"the daily limit of {limits.daily_tokens} tokens", "daily_token_limit_exceeded", now)
        totals[0] += 1

    def unadmit(self, key_id: str) -> None:
        """An admitted request that failed before it was bridged (bad input, no usable account)."""
        totals = self._totals.get(key_id)
        if totals is not None and totals[0] > 0:
            totals[0] -= 1

    def counted(self, rec: UsageRecord) -> None:
        """A finished flow's tokens (its request was counted when admitted)."""
        totals = self._totals.get(rec.client_key) if rec.day == self._day else None
        if totals is not None:
            totals[1] += rec.input_tokens + rec.output_tokens

    @staticmethod
    def _refuse(what: str, code: str, now: datetime) -> None:
        wait = seconds_to_midnight(now)
        raise TranslationError(f"This API key has reached {what} (UTC day); it resets at 00:00 UTC, in {wait}s.",
                               kind="rate_limit", code=code, retry_after=str(wait))

"""The usage meter over a real SQLite store: report filters and per-day sums, daily limits (with the
clock passed in), Prometheus text escaping, reading usage from relayed answers, where the store goes."""

from __future__ import annotations

import asyncio
from datetime import datetime
from datetime import timezone
from pathlib import Path

import orjson
import pytest

from addons import usage_metrics
from addons.settings import BridgeConfig
from addons.settings import UsageSettings
from addons.usage import UsageMeter
from addons.usage import store_location
from addons.usage_limits import DailyLimiter
from addons.usage_limits import seconds_to_midnight
from addons.usage_read import usage_of
from addons.usage_sqlite import SqliteUsageStore
from addons.usage_store import UsageRecord
from translators import ir
from translators.errors import TranslationError


def rec(day: str, key: str, provider: str, tokens: int = 0, errors: int = 0) -> UsageRecord:
    return UsageRecord(day, key, provider, f"{provider}#0", f"{provider}/m", input_tokens=tokens,
                       output_tokens=1, errors=errors)


def test_report_sums_days_and_filters(tmp_path: Path) -> None:
    async def run() -> None:
        meter = UsageMeter()
        meter.store = SqliteUsageStore(tmp_path / "u.sqlite3")
        for r in (rec("2026-12-05", "k1", "chat", 10), rec("2026-12-06", "k1", "chat", 5, errors=1),
                  rec("2026-12-06", "k2", "anthropic", 7), rec("2026-12-07", "k2", "chat", 1)):
            await meter.store.add(r)
        report = await meter.report()
        assert [d["day"] for d in report["days"]] == ["2026-12-05", "2026-12-06", "2026-12-07"]
        assert report["days"][1] == {"day": "2026-12-06", "requests": 2, "input_tokens": 12, "output_tokens": 2,
                                     "cached_tokens": 0, "reasoning_tokens": 0, "errors": 1}
        assert len(report["rows"]) == 4
        only = await meter.report({"provider": "chat", "from": "2026-12-06"})
        assert [(r["day"], r["client_key"]) for r in only["rows"]] == [("2026-12-06", "k1"), ("2026-12-07", "k2")]
        assert [(r["day"], r["client_key"]) for r in (await meter.report({"to": "2026-12-05"}))["rows"]] == [
            ("2026-12-05", "k1")]
        assert (await meter.report({"client_key": "nobody"})) == {"rows": [], "days": []}
        await meter.store.close()

    asyncio.run(run())


def test_daily_limits_count_admissions_and_reset_at_midnight(tmp_path: Path) -> None:
    async def run() -> None:
        store = SqliteUsageStore(tmp_path / "u.sqlite3")
        await store.add(rec("2026-12-06", "k1", "chat", 10))  # a request before the bridge (re)started
        limiter = DailyLimiter()
        limiter.settings = UsageSettings(daily_requests=3, key_limits={"k2": {"daily_tokens": 20}})
        noon = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
        await limiter.admit("k1", store, noon)
        limiter.unadmit("k1")  # failed before it was bridged
        await limiter.admit("k1", store, noon)
        await limiter.admit("k1", store, noon)
        with pytest.raises(TranslationError) as e:
            await limiter.admit("k1", store, noon)
        assert e.value.error.status == 429 and e.value.error.code == "daily_request_limit_exceeded"
        assert e.value.error.retry_after == str(12 * 3600)
        await limiter.admit("k1", store, datetime(2026, 12, 7, 0, 0, 1, tzinfo=timezone.utc))  # a new day

        await limiter.admit("k2", store, noon)  # its own limit replaces the default: no request limit
        limiter.counted(rec("2026-12-06", "k2", "chat", 19))  # 19 + 1 output tokens
        for _ in range(5):
            with pytest.raises(TranslationError) as e:
                await limiter.admit("k2", store, noon)
        assert e.value.error.code == "daily_token_limit_exceeded"
        await store.close()

    asyncio.run(run())


def test_seconds_to_midnight_is_never_zero() -> None:
    assert seconds_to_midnight(datetime(2026, 12, 6, 23, 59, 59, 999000, tzinfo=timezone.utc)) == 1
    assert seconds_to_midnight(datetime(2026, 12, 6, 0, 0, tzinfo=timezone.utc)) == 86400


def test_metrics_escape_label_values_and_sum_days() -> None:
    rows = [{"day": d, "client_key": 'k"1\\', "provider": "p", "account": "a\nb", "model": "m", "requests": 1,
             "input_tokens": 2, "output_tokens": 3, "cached_tokens": 0, "reasoning_tokens": 0, "errors": 1}
            for d in ("2026-12-05", "2026-12-06")]
    text = usage_metrics.render(rows)
    labels = 'client_key="k\\"1\\\\",provider="p",account="a\\nb",model="m"'
    assert f"llm_bridge_requests_total{{{labels}}} 2\n" in text
    assert f'llm_bridge_tokens_total{{{labels},kind="output"}} 6\n' in text
    assert f"llm_bridge_errors_total{{{labels}}} 2\n" in text
    assert "# TYPE llm_bridge_requests_total counter" in text


def test_usage_read_from_relayed_answers() -> None:
    def j(o: object) -> bytes:
        return orjson.dumps(o)

    anthropic = [j({"type": "message_start", "message": {"usage": {"input_tokens": 7, "cache_read_input_tokens": 3,
                                                                   "output_tokens": 1}}}),
                 j({"type": "message_delta", "usage": {"output_tokens": 12}})]
    assert usage_of("anthropic-messages", anthropic) == ir.Usage(input=10, output=12, cache_read=3)
    chat = [j({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 4,
                                        "completion_tokens_details": {"reasoning_tokens": 2}}})]
    assert usage_of("openai-chat", chat) == ir.Usage(input=5, output=4, reasoning=2)
    completed = [j({"type": "response.completed", "response": {"usage": {"input_tokens": 8, "output_tokens": 9}}})]
    assert usage_of("openai-responses", completed) == ir.Usage(input=8, output=9)
    assert usage_of("openai-chat", [b"not json", j([1])]) == ir.Usage()


def test_store_location(tmp_path: Path) -> None:
    assert store_location(BridgeConfig(), tmp_path) == ("sqlite", str(tmp_path / "usage.sqlite3"), "")
    assert store_location(BridgeConfig(usage={"enabled": False}), tmp_path) is None
    assert store_location(BridgeConfig(redis_url="redis://127.0.0.1:1/0"), tmp_path) == (
        "redis", "redis://127.0.0.1:1/0", "llm-bridge")


def test_configure_keeps_the_store_until_its_location_changes(tmp_path: Path) -> None:
    async def run() -> None:
        meter = UsageMeter()
        meter.configure(BridgeConfig(), tmp_path)
        first = meter.store
        assert isinstance(first, SqliteUsageStore)
        meter.configure(BridgeConfig(usage={"daily_requests": 5}), tmp_path)  # limits change, store stays
        assert meter.store is first and meter.limiter.settings.daily_requests == 5
        meter.configure(BridgeConfig(usage={"path": "other.sqlite3"}), tmp_path)
        assert isinstance(meter.store, SqliteUsageStore) and meter.store.path == tmp_path / "other.sqlite3"
        for _ in range(100):  # the old store closes in a task of its own
            if first._db is None:
                break
            await asyncio.sleep(0.01)
        assert first._db is None
        meter.configure(BridgeConfig(usage={"enabled": False}), tmp_path)
        assert meter.store is None
        await meter.admit("any")  # nothing counted, nothing refused

    asyncio.run(run())


def test_unusable_store_refuses_the_configuration(tmp_path: Path) -> None:
    from mitmproxy import exceptions

    (tmp_path / "file").write_text("")
    meter = UsageMeter()
    with pytest.raises(exceptions.OptionsError, match="usage store"):
        meter.configure(BridgeConfig(usage={"path": "file/usage.sqlite3"}), tmp_path)
    assert meter.store is None


def test_usage_settings_from_the_environment() -> None:
    from addons.settings import ConfigError
    from addons.settings import load

    cfg = load(None, env={"BRIDGE_USAGE__DAILY_REQUESTS": "5", "BRIDGE_USAGE__METRICS_PUBLIC": "true"})
    assert cfg.usage.daily_requests == 5 and cfg.usage.metrics_public and cfg.usage.daily_tokens is None
    with pytest.raises(ConfigError, match="usage.daily_tokens"):
        load(None, env={"BRIDGE_USAGE__DAILY_TOKENS": "-1"})
    with pytest.raises(ConfigError, match="usage.key_limits"):
        load(None, env={"BRIDGE_USAGE__KEY_LIMITS__K__DAILY_REQUEST": "1"})


def test_a_failing_store_admits_requests(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def run() -> None:
        meter = UsageMeter()
        meter.configure(BridgeConfig(usage={"daily_requests": 0}), tmp_path)
        assert meter.store is not None
        with pytest.raises(TranslationError):
            await meter.admit("k1")
        await meter.store.close()  # the store now fails every call
        await meter.admit("k2")
        assert "daily limit not checked" in caplog.text

    asyncio.run(run())

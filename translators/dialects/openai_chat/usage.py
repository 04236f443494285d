"""Chat Completions usage objects and finish reasons <-> IR."""

from __future__ import annotations

from typing import Any

from translators import ir

FINISH_TO_STOP: dict[str, ir.StopReason] = {
    "stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use",
    "content_filter": "content_filter",
}
STOP_TO_FINISH: dict[str, str] = {
    "end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
    "content_filter": "content_filter", "refusal": "content_filter", "pause_turn": "stop", "error": "stop",
}


def finish_reason(stop: ir.StopReason | None, legacy: bool) -> str:
    reason = STOP_TO_FINISH.get(stop or "end_turn", "stop")
    return "function_call" if legacy and reason == "tool_calls" else reason


def parse_usage(u: Any) -> ir.Usage | None:
    if not isinstance(u, dict):
        return None
    pd = u.get("prompt_tokens_details") or {}
    cd = u.get("completion_tokens_details") or {}
    cached = pd.get("cached_tokens") or u.get("prompt_cache_hit_tokens") or 0  # DeepSeek's top-level form
    return ir.Usage(
        input=u.get("prompt_tokens") or 0,
        output=u.get("completion_tokens") or 0,
        cache_read=cached,
        cache_write=pd.get("cache_write_tokens") or 0,
        reasoning=cd.get("reasoning_tokens") or 0,
    )


def render_usage(u: ir.Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": u.input,
        "completion_tokens": u.output,
        "total_tokens": u.input + u.output,
        "prompt_tokens_details": {"cached_tokens": u.cache_read, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }

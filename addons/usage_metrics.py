"""Usage and pool health as Prometheus text (exposition format 0.0.4), totals over all days."""

from __future__ import annotations

import time
from typing import Any
from typing import Iterable

from addons.pool import Pool
from addons.pool import status

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LABELS = ("client_key", "provider", "account", "model")
TOKEN_KINDS = {"input": "input_tokens", "output": "output_tokens", "cached": "cached_tokens",
               "reasoning": "reasoning_tokens"}


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    return "{" + ",".join(f'{name}="{escape(str(value))}"' for name, value in pairs) + "}"


def _totals(rows: list[dict[str, Any]]) -> dict[tuple[str, ...], dict[str, int]]:
    out: dict[tuple[str, ...], dict[str, int]] = {}
    for row in rows:
        sums = out.setdefault(tuple(str(row[k]) for k in LABELS), {})
        for name, value in row.items():
            if name not in LABELS and name != "day":
                sums[name] = sums.get(name, 0) + int(value)
    return out


def render(rows: list[dict[str, Any]], pools: dict[str, Pool] | None = None) -> str:
    totals = _totals(rows)
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[tuple[str, int]]) -> None:
        lines.extend([f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"])
        lines.extend(f"{name}{labels} {value}" for labels, value in samples)

    family("llm_bridge_requests_total", "counter", "Bridged requests per client key, provider, account and model.",
           [(_labels(zip(LABELS, g)), c.get("requests", 0)) for g, c in totals.items()])
    family("llm_bridge_tokens_total", "counter", "Tokens per kind: input, output, cached (input read from cache), "
           "reasoning (part of output).",
           [(_labels([*zip(LABELS, g), ("kind", kind)]), c.get(col, 0))
            for g, c in totals.items() for kind, col in TOKEN_KINDS.items()])
    family("llm_bridge_errors_total", "counter", "Requests answered with an error or whose stream broke off.",
           [(_labels(zip(LABELS, g)), c.get("errors", 0)) for g, c in totals.items()])
    if pools:
        view = status(pools, time.monotonic())
        family("llm_bridge_account_usable", "gauge", "1 when the account is not cooling down after a rate limit.",
               [(_labels([("provider", p), ("account", a["account"])]), int(a["usable"]))
                for p, pool in view.items() for a in pool["accounts"]])
    return "\n".join(lines) + "\n"

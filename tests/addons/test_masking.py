from __future__ import annotations

from mitmproxy import http

from addons.masking import mask
from addons.masking import mask_headers


def test_mask() -> None:
    assert mask("sk-1234567890") == "sk-1***(len=13)" and mask(None) == ""


def test_secret_headers_masked_others_kept() -> None:
    h = http.Headers(authorization="Bearer sk-secret-value", code_token="tok-abcdef", x_goog_api_key="AIzaXYZ",
                     cookie="session=abc", content_type="application/json", anthropic_version="2023-06-01")
    mask_headers(h)
    assert h["authorization"] == "Bearer sk-s***(len=15)"
    assert h["code-token"] == "tok-***(len=10)" and h["x-goog-api-key"].startswith("AIza***")
    assert "abc" not in h["cookie"]
    assert h["content-type"] == "application/json" and h["anthropic-version"] == "2023-06-01"
    mask_headers(h)
    assert h["authorization"] == "Bearer sk-s***(len=15)", "idempotent"

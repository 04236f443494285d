"""Tool-call ids for Gemini function calls, carrying what the next request must send back.

Gemini 2.x returns function calls without ids (gemini-code-assist.md 8.4), and the
`thoughtSignature` of a functionCall part must come back on that same part in the history (8.6;
gemini.md 5: Gemini 3 answers 400 without it). The bridge has no side store a pure codec could use,
and every client dialect replays tool-call ids verbatim, so the id is the carrier:

    <base>[__ts<variant><signature>]

- base: `gid_<id>` when Gemini gave the call an id (sent back as functionCall.id /
  functionResponse.id), else a fresh `call_...` id of our own (never sent to Gemini).
- variant `0`/`1`/`2`: a standard base64 signature with `+/` spelled `-_` and that many `=` of
  padding stripped; `x`: any other signature as unpadded URL-safe base64 of its UTF-8 bytes.
Only `[A-Za-z0-9_-]` is used: Anthropic validates tool_use ids against that set."""

from __future__ import annotations

import base64
import binascii
import re

SIG_MARK = "__ts"
GEMINI_ID_PREFIX = "gid_"
_STD_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def make_call_id(base: str, gemini_id: str | None, signature: str | None) -> str:
    """The IR id of a call: Gemini's own id when it is usable, else `base`; plus the signature."""
    if gemini_id and _SAFE_ID.fullmatch(gemini_id) and "__" not in gemini_id:
        base = GEMINI_ID_PREFIX + gemini_id
    return base + (SIG_MARK + _encode(signature) if signature else "")


def split_call_id(call_id: str) -> tuple[str | None, str | None]:
    """IR id -> (Gemini's own call id or None, thought signature or None)."""
    base, mark, code = call_id.partition(SIG_MARK)
    signature = _decode(code) if mark else None
    gemini_id = base[len(GEMINI_ID_PREFIX):] if base.startswith(GEMINI_ID_PREFIX) else None
    return gemini_id or None, signature


def _encode(sig: str) -> str:
    if _STD_B64.fullmatch(sig):
        stripped = sig.rstrip("=")
        return str(len(sig) - len(stripped)) + stripped.replace("+", "-").replace("/", "_")
    return "x" + base64.urlsafe_b64encode(sig.encode()).decode().rstrip("=")


def _decode(code: str) -> str | None:
    if not code:
        return None
    variant, body = code[0], code[1:]
    if variant in "012":
        return body.replace("-", "+").replace("_", "/") + "=" * int(variant)
    if variant == "x":
        try:
            return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
    return None

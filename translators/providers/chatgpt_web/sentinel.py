"""ChatGPT's sentinel (chatgpt-web.md 3): the requirements token `p` (3.1), the answers of
chat-requirements (3.2, 3.3) and the proof of work (3.5).

Pure: the runtime supplies the browser values, the clock and the randomness (a Fingerprint), and
runs `solve_pow` off the event loop. The work is bounded: a difficulty that would need more
attempts than allowed is refused at once, with an error that says so."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any
from typing import Callable
from typing import Mapping

from translators.errors import TranslationError

REQUIREMENTS_PREFIX = "gAAAAAC"  # 3.1
PROOF_PREFIX = "gAAAAAB"  # 3.5
SUFFIX = "~S"  # chat2api appends it, xqdoo00o does not (3.1)
# 3.5: the bridges give up after 500 000 attempts. Pure Python hashes ~10 000 FNV attempts a second,
# so the bridge's default limit is lower (10 s at worst; observed difficulties need < 2 000 attempts).
MAX_ATTEMPTS = 100_000
# Refused up front when the expected number of attempts exceeds max_attempts / SAFETY: the search
# would then fail too often to be worth the CPU (e^-SAFETY chance of failing at the limit).
SAFETY = 4
HASHES = ("fnv", "sha3")  # 3.5: chat2api 2026 (FNV-1a + finalizer), legacy (SHA3-512)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The browser values of the 25-element config array (3.1)."""

    date: str  # JS Date.toString(), e.g. "Mon Jun 22 2026 10:01:02 GMT-0700 (Pacific Daylight Time)"
    user_agent: str
    script: str  # a <script src> of the homepage
    build: str  # the homepage's data-build (`c/<id>/_`)
    perf_now: float  # performance.now()
    time_origin: float  # performance.timeOrigin (epoch ms)
    device_id: str
    navigator_key: str = "clipboard\u2212[object Clipboard]"
    document_key: str = "location"
    window_key: str = "fetch"
    screen: int = 3000
    heap_limit: int = 4294967296
    language: str = "en-US"
    languages: str = "en-US,en"
    search: str = ""
    cores: int = 16


@dataclass(frozen=True, slots=True)
class Requirements:
    """An answer of chat-requirements (legacy 3.3) or chat-requirements/prepare (3.2)."""

    token: str | None
    prepare_token: str | None = None
    pow_seed: str | None = None
    pow_difficulty: str | None = None
    turnstile_required: bool = False
    so_required: bool = False
    persona: str | None = None

    @property
    def pow_required(self) -> bool:
        return self.pow_seed is not None and self.pow_difficulty is not None


def config(fp: Fingerprint, nonce: int | float, elapsed: int | float) -> list[Any]:
    """3.1's array; index 3 is the attempt counter and index 9 the elapsed ms for the PoW (3.5)."""
    return [fp.screen, fp.date, fp.heap_limit, nonce, fp.user_agent, fp.script, fp.build, fp.language,
            fp.languages, elapsed, fp.navigator_key, fp.document_key, fp.window_key, fp.perf_now,
            fp.device_id, fp.search, fp.cores, fp.time_origin, 0, 0, 0, 0, 0, 0, 0]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def requirements_token(fp: Fingerprint, nonce: int | float, elapsed: int | float, suffix: bool = True) -> str:
    """The `p` of chat-requirements: `gAAAAAC` + base64(JSON(config)) [+ `~S`] (3.1)."""
    return REQUIREMENTS_PREFIX + _b64(_json(config(fp, nonce, elapsed))) + (SUFFIX if suffix else "")


# ---- the answers of chat-requirements ----


def parse_requirements(obj: Any, step: str = "chat-requirements") -> Requirements:
    """3.2 / 3.3. `force_login` and `arkose.required` cannot be answered by a bridge (3.2)."""
    if not isinstance(obj, dict):
        raise _broken(f"ChatGPT's {step} answer is not a JSON object.")
    if obj.get("force_login") is True:
        raise TranslationError(f"ChatGPT's {step} asks this account to log in again (force_login); "
                               "renew its access token.", kind="authentication")
    if _required(obj.get("arkose")):
        raise TranslationError(f"ChatGPT's {step} requires an Arkose challenge, which the bridge cannot "
                               "solve; try another account or later.", kind="permission",
                               code="arkose_required")
    pow_ = obj.get("proofofwork")
    seed = difficulty = None
    if _required(pow_):
        seed, difficulty = pow_.get("seed"), pow_.get("difficulty")
        if not isinstance(seed, str) or not isinstance(difficulty, str) or not seed:
            raise _broken(f"ChatGPT's {step} requires a proof of work but names no seed/difficulty.")
    return Requirements(_str(obj.get("token")), _str(obj.get("prepare_token")), seed, difficulty,
                        _required(obj.get("turnstile")), _required(obj.get("so")), _str(obj.get("persona")))


def parse_finalize(obj: Any) -> str:
    """`{"persona": ..., "token": ..., "expire_after": 540}` (3.2) -> the requirements token."""
    token = obj.get("token") if isinstance(obj, dict) else None
    if not isinstance(token, str) or not token:
        raise _broken("ChatGPT's chat-requirements/finalize answer carries no token.")
    return token


def _required(section: Any) -> bool:
    return isinstance(section, Mapping) and section.get("required") is True


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _broken(message: str) -> TranslationError:
    return TranslationError(message, kind="api_error", status=502, code="sentinel_failed")


# ---- proof of work (3.5) ----


def fnv_hash(text: str) -> str:
    """chat2api's hash: 32-bit FNV-1a over the code points, then murmur3's finalizer, 8 hex digits."""
    h = 2166136261
    for c in map(ord, text):
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return "%08x" % fmix32(h)


def fmix32(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)


def sha3_hash(text: str) -> str:
    """The legacy hash (xqdoo00o, <= 2025): SHA3-512 as lowercase hex."""
    return hashlib.sha3_512(text.encode()).hexdigest()


HASH_FUNCTIONS: dict[str, Callable[[str], str]] = {"fnv": fnv_hash, "sha3": sha3_hash}


def expected_attempts(difficulty: str) -> float:
    """A hash's hex prefix is <= difficulty with probability (d + 1) / 16^len: the mean attempts."""
    return 16 ** len(difficulty) / (int(difficulty, 16) + 1)


def check_difficulty(difficulty: str, max_attempts: int) -> None:
    """Refuse a malformed or too hard difficulty before spending any CPU on it."""
    if not difficulty or len(difficulty) > 16 or any(c not in "0123456789abcdefABCDEF" for c in difficulty):
        raise _broken(f"ChatGPT asked for a proof of work with an unreadable difficulty {difficulty!r}.")
    expected = expected_attempts(difficulty)
    if expected * SAFETY > max_attempts:
        raise TranslationError(
            f"ChatGPT asked for a proof of work of difficulty {difficulty} (about {expected:,.0f} attempts), "
            f"more than this bridge allows (pow_max_attempts={max_attempts:,}); try again later or with "
            "another account.", kind="overloaded", retry_after="60")


def solve_pow(seed: str, difficulty: str, fp: Fingerprint, *, hash_name: str = "fnv",
              max_attempts: int = MAX_ATTEMPTS, suffix: bool = True) -> str:
    """The proof token: the first attempt whose hash has a hex prefix <= difficulty (3.5).
    Index 9 (elapsed ms) is estimated from the attempt count: translators cannot read the clock."""
    check_difficulty(difficulty, max_attempts)
    hasher = HASH_FUNCTIONS.get(hash_name)
    if hasher is None:
        raise TranslationError(f"Unknown proof-of-work hash {hash_name!r}; expected one of {HASHES}.",
                               kind="invalid_request", status=500)
    target, n = difficulty.lower(), len(difficulty)
    # the JSON around the two numbers that change, built once (the rest is fixed per request)
    values = config(fp, 0, 0)
    head = _json(values[:3])[:-1] + ","
    middle = "," + _json(values[4:9])[1:-1] + ","
    tail = "," + _json(values[10:])[1:]
    for attempt in range(max_attempts):
        encoded = _b64(f"{head}{attempt}{middle}{attempt // 10}{tail}")
        if hasher(seed + encoded)[:n] <= target:
            return PROOF_PREFIX + encoded + (SUFFIX if suffix else "")
    raise TranslationError(f"No proof of work of difficulty {difficulty} found in {max_attempts:,} attempts; "
                           "try again.", kind="overloaded", retry_after="5")


def verify_pow(answer: str, seed: str, difficulty: str, hash_name: str = "fnv") -> bool:
    """Whether `answer` proves `difficulty` for `seed` (for tests and for reading a capture)."""
    body = answer[len(PROOF_PREFIX):] if answer.startswith(PROOF_PREFIX) else ""
    body = body[: -len(SUFFIX)] if body.endswith(SUFFIX) else body
    hasher = HASH_FUNCTIONS.get(hash_name)
    return bool(body) and hasher is not None and hasher(seed + body)[: len(difficulty)] <= difficulty.lower()


# ---- browser values the runtime picks from (3.1) ----

NAVIGATOR_KEYS = ("clipboard\u2212[object Clipboard]", "webdriver\u2212false", "hardwareConcurrency\u221216",
                  "onLine\u2212true", "pdfViewerEnabled\u2212true", "cookieEnabled\u2212true")
DOCUMENT_KEYS = ("location", "_reactListeningq4e2lg6k2l", "closure_lm_184788")
WINDOW_KEYS = ("fetch", "onbeforeinstallprompt", "__reactRouterContext", "webkitRequestFileSystem", "chrome")
DEFAULT_SCRIPT = "https://cdn.oaistatic.com/assets/i5bamk05qmvsi6c3.js"
DEFAULT_BUILD = "c/fCUcSNQ5ZZDI_EqkwdxaD/_"
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def js_date(epoch: float) -> str:
    """JS `Date.toString()` of a UTC clock:
    `Mon Jun 22 2026 17:01:02 GMT+0000 (Coordinated Universal Time)`."""
    days, rest = divmod(int(epoch), 86400)
    y, m, d = _civil(days)
    weekday = _DAYS[(days + 3) % 7]  # 1970-01-01 was a Thursday
    hh, mm, ss = rest // 3600, rest % 3600 // 60, rest % 60
    return (f"{weekday} {_MONTHS[m - 1]} {d:02d} {y} {hh:02d}:{mm:02d}:{ss:02d} GMT+0000 "
            "(Coordinated Universal Time)")


def _civil(days: int) -> tuple[int, int, int]:
    """Days since 1970-01-01 -> (year, month, day) (H. Hinnant's algorithm)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, d

"""Fast JSON in and out (orjson), with errors turned into TranslationError."""

from __future__ import annotations

from typing import Any

import orjson

from translators.errors import TranslationError


def loads(body: bytes | str, what: str = "request body") -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise TranslationError(f"The {what} is not valid JSON: {e}") from None


def load_object(body: bytes | str, what: str = "request body") -> dict[str, Any]:
    obj = loads(body, what)
    if not isinstance(obj, dict):
        raise TranslationError(f"The {what} must be a JSON object.")
    return obj


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def dumps_str(obj: Any) -> str:
    return orjson.dumps(obj).decode()

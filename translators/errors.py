"""The one error type translators raise, and the dialect-neutral error the shell renders.

Anything else raised inside translators/ is a bug; the shell turns it into a 500 in the client's
dialect (see addons/)."""

from __future__ import annotations

from dataclasses import dataclass

# Neutral error kinds, each rendered by a dialect into its own `type` strings and status.
KIND_STATUS = {
    "invalid_request": 400,
    "authentication": 401,
    "permission": 403,
    "not_found": 404,
    "request_too_large": 413,
    "rate_limit": 429,
    "api_error": 500,
    "upstream_unreachable": 502,
    "overloaded": 503,
    "timeout": 504,
}


@dataclass(frozen=True, slots=True)
class BridgeError:
    """An error on its way to the client: `kind` is one of KIND_STATUS, `status` the HTTP status."""

    kind: str
    message: str
    status: int
    param: str | None = None
    code: str | None = None
    retry_after: str | None = None

    @classmethod
    def of(cls, kind: str, message: str, *, param: str | None = None, code: str | None = None,
           status: int | None = None, retry_after: str | None = None) -> BridgeError:
        return cls(kind, message, status or KIND_STATUS[kind], param, code, retry_after)


def kind_for_status(status: int) -> str:
    """The neutral kind for an upstream HTTP status (used when an upstream error is re-rendered)."""
    for kind, st in KIND_STATUS.items():
        if st == status:
            return kind
    if status == 529:
        return "overloaded"
    return "api_error" if status >= 500 else "invalid_request"


class TranslationError(Exception):
    """Bad or unsupported input, found while translating. Carries the error to show the client."""

    def __init__(self, message: str, *, param: str | None = None, kind: str = "invalid_request",
                 code: str | None = None, status: int | None = None, retry_after: str | None = None) -> None:
        super().__init__(message)
        if kind not in KIND_STATUS:
            kind = kind_for_status(status or 500)
        self.error = BridgeError.of(kind, message, param=param, code=code, status=status, retry_after=retry_after)

    @classmethod
    def of(cls, err: BridgeError) -> TranslationError:
        """An upstream error found while reading an answer, raised as is."""
        return cls(err.message, kind=err.kind, param=err.param, code=err.code, status=err.status,
                   retry_after=err.retry_after)

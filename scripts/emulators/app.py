"""What every emulated upstream does around its protocol: routing, credential check,
fault injection, pacing, a request log and a small control API.

A protocol module subclasses `WireProtocol` (routes, auth, error bodies); `Emulator` wraps
one protocol instance into an `httpserver` handler.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any
from typing import Callable

from . import faults
from .httpserver import Request
from .httpserver import Response
from .wire import json_response

RouteHandler = Callable[[Request], Response]
CONTROL_PREFIX = "/_emulator/"


class WireProtocol:
    """Base of a protocol module: subclasses fill `routes` and the error body shape."""

    name = "base"
    garbage_event: str | None = None  # `event:` name used by the `garbage` fault
    extra_headers: dict[str, str] = {}  # sent on every answer of the real service (cookies, Alt-Svc)
    log_requests = True

    def __init__(self, key: str) -> None:
        self.key = key
        self.routes: dict[tuple[str, str], RouteHandler] = {}

    def route(self, method: str, path: str) -> RouteHandler | None:
        return self.routes.get((method, path))

    def authenticate(self, req: Request) -> Response | None:
        """None when the credential is right, else the provider's 401."""
        raise NotImplementedError

    def error(self, status: int, message: str, kind: str = "invalid_request") -> Response:
        """The provider's error answer. kind: invalid_request, auth, not_found,
        rate_limit, server."""
        raise NotImplementedError

    def rate_limited(self) -> Response:
        resp = self.error(429, "Rate limit reached (emulated). Please try again in 1s.", "rate_limit")
        resp.headers["retry-after"] = "1"
        return resp

    def server_error(self) -> Response:
        return self.error(500, "The server had an error while processing your request (emulated).", "server")

    def json_body(self, req: Request) -> dict[str, Any] | Response:
        """The parsed JSON object, or the provider's 400."""
        try:
            body = json.loads(req.body or b"null")
        except ValueError:
            return self.error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict):
            return self.error(400, "The request body must be a JSON object.")
        return body


class Emulator:
    """One protocol served with faults, pacing and a request log (one per listening port)."""

    def __init__(
        self,
        protocol: WireProtocol,
        *,
        delay_ms: int = 0,
        fault: str | None = None,
        fault_times: int | None = None,
        log_size: int = 200,
    ) -> None:
        self.protocol = protocol
        self.delay_ms = delay_ms
        self.fault: str | None = None
        self.fault_times: int | None = None
        self.requests: deque[Request] = deque(maxlen=log_size)
        # credential -> fault: emulates one account of a pool misbehaving (e.g. always 429)
        self.key_faults: dict[str, str] = {}
        self.set_fault(fault, fault_times)

    def set_fault(self, mode: str | None, times: int | None = None) -> None:
        """Fault every following request (times=None) or only the next `times` ones."""
        if mode is not None and mode not in faults.FAULT_MODES:
            raise ValueError(f"unknown fault {mode!r}; expected one of {faults.FAULT_MODES}")
        self.fault, self.fault_times = mode, times

    def _take_fault(self, req: Request) -> str | None:
        if faults.FAULT_HEADER in req.headers:
            return req.headers[faults.FAULT_HEADER].strip() or None
        if self.key_faults:
            return self.key_faults.get(_credential(req))
        mode = self.fault
        if mode is not None and self.fault_times is not None:
            self.fault_times -= 1
            if self.fault_times <= 0:
                self.fault, self.fault_times = None, None
        return mode

    async def __call__(self, req: Request) -> Response:
        path = req.route
        if path.startswith(CONTROL_PREFIX):
            return self._control(req, path[len(CONTROL_PREFIX) :])
        proto = self.protocol
        if proto.log_requests:
            self.requests.append(req)
        handler = proto.route(req.method, path)
        if handler is None:
            return proto.error(404, f"Invalid URL ({req.method} {path})", "not_found")
        mode = self._take_fault(req)
        denied = None if mode is not None and _credential(req) in self.key_faults else proto.authenticate(req)
        if denied is not None:
            return denied
        if mode is not None and mode not in faults.FAULT_MODES:
            return Response(
                400, {"content-type": "text/plain"}, f"unknown {faults.FAULT_HEADER}: {mode}\n".encode()
            )
        if mode == "429":
            return proto.rate_limited()
        if mode == "500":
            return proto.server_error()
        if mode == "error200":
            resp = proto.server_error()
            resp.status = 200
            return resp
        if mode == "garbage":
            return faults.garbage(proto.garbage_event)
        resp = handler(req)
        if isinstance(resp, Response):
            resp.headers = {**proto.extra_headers, **resp.headers}
        if mode in ("reset", "stall"):
            return faults.cut_short(resp, mode)
        delay = int(req.headers.get(faults.DELAY_HEADER) or self.delay_ms)
        if delay and not faults.is_stream(resp):
            await asyncio.sleep(delay / 1000)
        return faults.with_delay(resp, delay)

    def _control(self, req: Request, action: str) -> Response:
        """`GET|DELETE /_emulator/requests`, `POST /_emulator/fault`, `GET /_emulator/health`
        - for tests that drive the emulator from another process (no credential needed)."""
        if action == "requests" and req.method == "GET":
            return json_response(200, {"requests": [request_record(r) for r in self.requests]})
        if action == "requests" and req.method == "DELETE":
            self.requests.clear()
            return json_response(200, {"ok": True})
        if action == "fault" and req.method == "POST":
            try:
                spec = json.loads(req.body or b"{}")
                self.set_fault(spec.get("fault"), spec.get("times"))
            except (ValueError, AttributeError) as e:
                return json_response(400, {"ok": False, "error": str(e)})
            return json_response(200, {"ok": True, "fault": self.fault, "times": self.fault_times})
        if action == "health":
            return json_response(200, {"ok": True, "protocol": self.protocol.name})
        return json_response(404, {"ok": False, "error": f"unknown control {req.method} {action}"})


def _credential(req: Request) -> str:
    auth = req.headers.get("authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else req.headers.get("x-api-key", "")


def request_record(req: Request) -> dict[str, Any]:
    """A logged request as JSON: the body parsed when it is JSON."""
    try:
        body: Any = json.loads(req.body) if req.body else None
    except ValueError:
        body = req.body.decode("utf-8", "replace")
    return {"method": req.method, "path": req.path, "headers": req.headers, "body": body}

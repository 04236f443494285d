"""Emulated Google Code Assist, Gemini CLI's backend (gemini-code-assist.md; gemini.md for the body).

POST /token                                    Google OAuth refresh (1.1): form body, issues ya29 tokens
POST /v1internal:loadCodeAssist                project / tier discovery (2.1)
POST /v1internal:onboardUser                   long-running operation, done on the next poll
GET  /v1internal/operations/<id>               the operation
POST /v1internal:generateContent               {model, project, request} -> {response, traceId}
POST /v1internal:streamGenerateContent?alt=sse CRLF-framed SSE, no [DONE], usage on the last event
POST /v1internal:countTokens

Credential: `Authorization: Bearer` with a token issued by /token and not expired (3599 s), or the
emulator key itself (a static token, like GOOGLE_CLOUD_ACCESS_TOKEN); else 401 UNAUTHENTICATED.
/token wants the gemini-cli client id, a client secret, and the emulator key as refresh token.
Quirks kept: Google's compact JSON style (`": "`, no space after commas), `\\r\\n\\r\\n` framing,
intermediate usage `{"trafficType": ...}`, whole function calls with a `thoughtSignature` on the
first one, no function-call ids, finishReason STOP after calls, 429 with RetryInfo in the body and
no Retry-After header, 400 for unknown schema keys in `parameters` and type lists, 400 for a
Gemini 3 history whose first functionCall lost its signature, free tier refusing a project.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any
from typing import Iterator
from urllib.parse import parse_qsl

from .app import WireProtocol
from .httpserver import Request
from .httpserver import Response
from .script import Decision
from .script import Turn
from .script import decide
from .script import split_text
from .wire import estimate_tokens
from .wire import hex_id
from .wire import new_id
from .wire import reasoning_text

CLIENT_ID = "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com"
PROJECT = "brave-lattice-4k2qp"
TOKEN_LIFETIME = 3599
SIG_PREFIX = b"emu-sig:"
SENTINELS = ("skip_thought_signature_validator", "context_engineering_is_the_way_to_go")
SCOPES = ("https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/cloud-platform "
          "https://www.googleapis.com/auth/userinfo.profile openid")
SSE_HEADERS = {"content-type": "text/event-stream", "content-disposition": "attachment",
               "vary": "Origin, X-Origin, Referer", "x-xss-protection": "0", "x-frame-options": "SAMEORIGIN",
               "x-content-type-options": "nosniff", "server": "ESF"}
SCHEMA_KEYS = frozenset({
    "type", "format", "description", "nullable", "enum", "items", "properties", "required", "minItems",
    "maxItems", "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "minimum", "maximum",
    "anyOf", "propertyOrdering", "default", "example", "title"})
GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
FREE_TIER = {"id": "free-tier", "name": "Gemini Code Assist for individuals", "isDefault": True,
             "userDefinedCloudaicompanionProject": False}
STANDARD_TIER = {"id": "standard-tier", "name": "Gemini Code Assist",
                 "userDefinedCloudaicompanionProject": True}
RPC = "type.googleapis.com/google.rpc."
INVALID = "Invalid JSON payload received."


def oauth_error(status: int, error: str, description: str) -> Response:
    """1.1: the token endpoint answers OAuth errors `{error, error_description}`, not Google API ones."""
    return gjson(status, {"error": error, "error_description": description})


def gdumps(obj: Any) -> bytes:
    """Google's compact style: `": "` after keys, no space after commas (5)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ": ")).encode()


def gjson(status: int, obj: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(obj, ensure_ascii=False, indent=2).encode()
    return Response(status, {"content-type": "application/json; charset=UTF-8", **(headers or {})}, body)


def signature() -> str:
    """Standard base64 with padding, like Google's bytes fields (the bridge must keep `+/=` intact)."""
    return base64.b64encode(SIG_PREFIX + b"\xfb\xff" + secrets.token_bytes(31)).decode()


def valid_signature(sig: Any) -> bool:
    if sig in SENTINELS:
        return True
    try:
        return isinstance(sig, str) and base64.b64decode(sig, validate=True).startswith(SIG_PREFIX)
    except ValueError:
        return False


class GeminiCodeAssist(WireProtocol):
    name = "gemini"

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.tokens: dict[str, float] = {}  # issued access token -> expiry (epoch seconds)
        self.onboarded = False
        self.operations: dict[str, bool] = {}  # operation name -> polled once already
        self.routes.update({
            ("POST", "/token"): self.token,
            ("POST", "/v1internal:loadCodeAssist"): self.load_code_assist,
            ("POST", "/v1internal:onboardUser"): self.onboard_user,
            ("POST", "/v1internal:generateContent"): lambda r: self.generate(r, stream=False),
            ("POST", "/v1internal:streamGenerateContent"): lambda r: self.generate(r, stream=True),
            ("POST", "/v1internal:countTokens"): self.count_tokens,
        })

    def route(self, method: str, path: str) -> Any:
        if method == "GET" and path.startswith("/v1internal/operations/"):
            return self.operation
        return super().route(method, path)

    # ---------------------------------------------------------------- errors and credentials

    def error(self, status: int, message: str, kind: str = "invalid_request",
              details: list[dict[str, Any]] | None = None) -> Response:
        err: dict[str, Any] = {"code": status, "message": message,
                               "status": GOOGLE_STATUS.get(status, "UNKNOWN")}
        if details:
            err["details"] = details
        return gjson(status, {"error": err}, {"server": "ESF"})

    def rate_limited(self) -> Response:
        """6: the wait is in RetryInfo; Google sends no Retry-After header."""
        details = [{"@type": RPC + "ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
                    "domain": "cloudcode-pa.googleapis.com",
                    "metadata": {"uiMessage": "true", "quotaResetDelay": "1539.477544ms"}},
                   {"@type": RPC + "RetryInfo", "retryDelay": "1.539477544s"}]
        message = "You have exhausted your capacity on this model. Your quota will reset after 2s."
        return self.error(429, message, "rate_limit", details)

    def server_error(self) -> Response:
        return self.error(500, "Internal error encountered.", "server")

    def authenticate(self, req: Request) -> Response | None:
        if req.route == "/token":
            return None
        value = req.headers.get("authorization", "")
        token = value[7:].strip() if value[:7].lower() == "bearer " else ""
        if token == self.key or self.tokens.get(token, 0) > time.time():
            return None
        reason = "ACCESS_TOKEN_EXPIRED" if token else "CREDENTIALS_MISSING"
        details = [{"@type": RPC + "ErrorInfo", "reason": reason, "domain": "googleapis.com",
                    "metadata": {"service": "cloudcode-pa.googleapis.com"}}]
        message = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login "
                   "cookie or other valid authentication credential. See "
                   "https://developers.google.com/identity/sign-in/web/devconsole-project.")
        return self.error(401, message, "auth", details)

    def token(self, req: Request) -> Response:
        """1.1: refresh_token grant; failures are OAuth errors, not Google API errors."""
        form = dict(parse_qsl(req.body.decode("utf-8", "replace")))
        if form.get("grant_type") != "refresh_token":
            return oauth_error(400, "unsupported_grant_type", "Invalid grant_type.")
        if form.get("client_id") != CLIENT_ID or not form.get("client_secret"):
            return oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if form.get("refresh_token") != self.key:
            return oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        access = "ya29.a0Emu" + new_id("", 40)
        self.tokens[access] = time.time() + TOKEN_LIFETIME
        return gjson(200, {"access_token": access, "expires_in": TOKEN_LIFETIME, "scope": SCOPES,
                           "token_type": "Bearer", "id_token": "eyJhbGciOiJSUzI1NiIs." + new_id("", 20)})

    # ---------------------------------------------------------------- project discovery (2.1)

    def load_code_assist(self, req: Request) -> Response:
        body = self.json_body(req)
        if isinstance(body, Response):
            return body
        if not self.onboarded:
            return gjson(200, {"allowedTiers": [FREE_TIER, STANDARD_TIER]})
        tier = {**FREE_TIER, "hasAcceptedTos": True, "hasOnboardedPreviously": True}
        return gjson(200, {"currentTier": tier, "allowedTiers": [FREE_TIER, STANDARD_TIER],
                           "cloudaicompanionProject": PROJECT})

    def onboard_user(self, req: Request) -> Response:
        body = self.json_body(req)
        if isinstance(body, Response):
            return body
        if body.get("tierId") == "free-tier" and body.get("cloudaicompanionProject"):
            return self.error(400, "Precondition Failed")
        if body.get("tierId") not in ("free-tier", "standard-tier", "legacy-tier"):
            return self.error(400, "Invalid tier id.")
        name = "operations/" + hex_id("onboard-", 8)
        self.operations[name] = False
        return gjson(200, {"name": name, "done": False})

    def operation(self, req: Request) -> Response:
        name = req.route[len("/v1internal/"):]
        if name not in self.operations:
            return self.error(404, "Requested entity was not found.")
        self.onboarded = True
        return gjson(200, {"name": name, "done": True, "response": {
            "cloudaicompanionProject": {"id": PROJECT, "name": "Gemini Code Assist project"}}})

    # ---------------------------------------------------------------- generation

    def count_tokens(self, req: Request) -> Response:
        return gjson(200, {"totalTokens": estimate_tokens(req.body)})

    def generate(self, req: Request, stream: bool) -> Response:
        envelope = self.json_body(req)
        if isinstance(envelope, Response):
            return envelope
        problem = self.check_envelope(envelope)
        if problem is not None:
            return problem
        body = envelope["request"]
        thinking = (body.get("generationConfig") or {}).get("thinkingConfig") or {}
        thoughts = bool(thinking.get("includeThoughts"))
        answer = Answer(str(envelope["model"]), decide(turn_of(body)), thoughts, estimate_tokens(req.body))
        if stream and req.query.get("alt") == "sse":
            return Response(200, dict(SSE_HEADERS), list(answer.sse()))
        if stream:  # without alt=sse: one JSON array of envelopes (5)
            return gjson(200, [json.loads(e[len(b"data: "):]) for e in answer.sse()])
        return gjson(200, answer.envelope(answer.whole()))

    def check_envelope(self, env: dict[str, Any]) -> Response | None:
        model, body = env.get("model"), env.get("request")
        if not isinstance(model, str) or not model.startswith("gemini-"):
            return self.error(404, "Requested entity was not found.", "not_found")
        if not env.get("project"):
            return self.error(400, "Invalid project: a cloudaicompanion project is required.")
        if env["project"] != PROJECT:
            return self.error(403, f"Permission denied on resource project {env['project']}.", "permission")
        if not isinstance(body, dict) or not isinstance(body.get("contents"), list) or not body["contents"]:
            return self.error(400, "* GenerateContentRequest.contents: contents is not specified")
        for check in (check_contents, check_tools):
            message = check(body)
            if message:
                return self.error(400, message)
        if model.startswith("gemini-3"):
            message = check_signatures(body["contents"])
            if message:
                return self.error(400, message)
        return None


def check_contents(body: dict[str, Any]) -> str | None:
    contents = body["contents"]
    for i, c in enumerate(contents):
        if not isinstance(c, dict) or c.get("role") not in ("user", "model") or not c.get("parts"):
            return f"* GenerateContentRequest.contents[{i}]: role must be user or model, with parts"
    if contents[-1]["role"] != "user":
        return "Please ensure that the conversation ends with a user turn."
    for prev, cur in zip(contents, contents[1:]):
        calls = sum("functionCall" in p for p in prev["parts"])
        answers = sum("functionResponse" in p for p in cur["parts"])
        if prev["role"] == "model" and calls and calls != answers:
            return ("Please ensure that the number of function response parts is equal to the number of "
                    "function call parts of the function call turn.")
    return None


def check_tools(body: dict[str, Any]) -> str | None:
    """gemini.md 2.5: unknown keys and type lists in `parameters` fail the whole request."""
    problems: list[str] = []
    for t, tool in enumerate(body.get("tools") or []):
        for d, decl in enumerate(tool.get("functionDeclarations") or []):
            if "parameters" in decl:
                where = f"request.tools[{t}].function_declarations[{d}].parameters"
                _schema_problems(decl["parameters"], where, problems)
    return "\n".join(problems[:20]) or None


def _schema_problems(node: Any, where: str, out: list[str]) -> None:
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key not in SCHEMA_KEYS:
            out.append(f"{INVALID} Unknown name \"{key}\" at '{where}': Cannot find field.")
        elif key == "type" and not isinstance(value, str):
            out.append(f"{INVALID} Unknown name \"type\" at '{where}': Proto field is not repeating, "
                       "cannot start list.")
        elif key == "enum" and str(node.get("type", "STRING")).upper() != "STRING":
            out.append(f"* {where}.enum: only allowed for STRING type")
    for name, prop in (node.get("properties") or {}).items():
        _schema_problems(prop, f"{where}.properties[{name}].value", out)
    _schema_problems(node.get("items"), f"{where}.items", out)
    for i, variant in enumerate(node.get("anyOf") or []):
        _schema_problems(variant, f"{where}.any_of[{i}]", out)


def check_signatures(contents: list[dict[str, Any]]) -> str | None:
    """gemini.md 5: in the current turn, each step's first functionCall part needs its signature."""
    start = max((i for i, c in enumerate(contents) if c["role"] == "user"
                 and not any("functionResponse" in p for p in c["parts"])), default=0)
    for pos, c in enumerate(contents[start:], start):
        first = next((p for p in c["parts"] if "functionCall" in p), None) if c["role"] == "model" else None
        if first is not None and not valid_signature(first.get("thoughtSignature")):
            name = first["functionCall"].get("name")
            return ("Function call is missing a thought_signature in functionCall parts. This is required "
                    "for tools to work correctly, and missing thought_signature may lead to degraded model "
                    f"performance. Additional data, function call `default_api:{name}` , position {pos + 1}. "
                    "Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more "
                    "details.")
    return None


def turn_of(body: dict[str, Any]) -> Turn:
    """SCRIPT.md's neutral view: the last user text, trailing functionResponse outputs, declared tools."""
    contents = body["contents"]
    turn = Turn()
    for c in reversed(contents):
        texts = [p["text"] for p in c["parts"] if isinstance(p.get("text"), str) and not p.get("thought")]
        if c["role"] == "user" and any(texts):
            turn.prompt = "\n".join(texts)
            break
    last = contents[-1]["parts"]
    turn.tool_results = [_result_text(p["functionResponse"]) for p in last if "functionResponse" in p]
    for tool in body.get("tools") or []:
        for decl in tool.get("functionDeclarations") or []:
            schema = decl.get("parameters") or decl.get("parametersJsonSchema") or {}
            turn.tools.append(decl["name"])
            turn.tool_schemas[decl["name"]] = _lower_types(schema)
    return turn


def _result_text(fr: dict[str, Any]) -> str:
    resp = fr.get("response") or {}
    for key in ("output", "result", "error", "content"):
        if isinstance(resp.get(key), str):
            return resp[key]
    return json.dumps(resp)


def _lower_types(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: v.lower() if k == "type" and isinstance(v, str) else _lower_types(v)
                for k, v in schema.items()}
    return schema


class Answer:
    """One scripted answer as Code Assist envelopes: streamed events or one whole response."""

    def __init__(self, model: str, decision: Decision, thoughts: bool, prompt_tokens: int) -> None:
        self.model, self.decision, self.thoughts = model, decision, thoughts
        self.reasoning = reasoning_text(decision) if thoughts else ""
        self.response_id, self.trace_id = new_id("", 23), secrets.token_hex(8)
        self.create_time = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        produced = decision.text if decision.text is not None else "".join(c.payload for c in decision.calls)
        thought_tokens = estimate_tokens(self.reasoning) if thoughts else 0
        self.usage = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": estimate_tokens(produced),
                      "totalTokenCount": prompt_tokens + estimate_tokens(produced) + thought_tokens,
                      "trafficType": "PROVISIONED_THROUGHPUT",
                      "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}]}
        if thoughts:
            self.usage["thoughtsTokenCount"] = thought_tokens

    def part_groups(self) -> list[list[dict[str, Any]]]:
        """The parts, one list per streamed event: thought, text pieces or whole calls."""
        groups: list[list[dict[str, Any]]] = []
        if self.reasoning:
            groups.append([{"text": self.reasoning, "thought": True}])
        if self.decision.text is not None:
            groups += [[{"text": piece}] for piece in split_text(self.decision.text)]
            if self.thoughts:  # thinking models sign text turns on a final empty part (4.2 rule 6)
                groups.append([{"text": "", "thoughtSignature": signature()}])
        for i, call in enumerate(self.decision.calls):
            part: dict[str, Any] = {"functionCall": {"name": call.name, "args": call.arguments}}
            if i == 0:  # only the first call of a step is signed (gemini.md 5)
                part["thoughtSignature"] = signature()
            groups.append([part])
        return groups

    def envelope(self, candidate: dict[str, Any], usage: dict[str, Any] | None = None) -> dict[str, Any]:
        response = {"candidates": [candidate], "usageMetadata": usage or self.usage,
                    "modelVersion": self.model, "createTime": self.create_time,
                    "responseId": self.response_id}
        return {"response": response, "traceId": self.trace_id, "metadata": {}}

    def whole(self) -> dict[str, Any]:
        """A unary answer has the text in one part (the pieces are a streaming thing)."""
        parts: list[dict[str, Any]] = []
        for p in (p for group in self.part_groups() for p in group):
            if parts and set(p) == {"text"} == set(parts[-1]):
                parts[-1] = {"text": parts[-1]["text"] + p["text"]}
            else:
                parts.append(p)
        return {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "avgLogprobs": -0.41}

    def sse(self) -> Iterator[bytes]:
        groups = self.part_groups()
        for i, parts in enumerate(groups):
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
            last = i == len(groups) - 1
            if last:
                candidate["finishReason"] = "STOP"
            usage = self.usage if last else {"trafficType": "PROVISIONED_THROUGHPUT"}
            yield b"data: " + gdumps(self.envelope(candidate, usage)) + b"\r\n\r\n"

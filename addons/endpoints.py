"""Which client-facing endpoint a request is, and so which dialect its errors must use."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str  # chat | responses | messages | count_tokens | models | model | passthrough | admin | metrics | unknown
    dialect: str  # the client dialect, for answers and errors


CHAT = Endpoint("chat", "openai-chat")
RESPONSES = Endpoint("responses", "openai-responses")
MESSAGES = Endpoint("messages", "anthropic-messages")
COUNT_TOKENS = Endpoint("count_tokens", "anthropic-messages")

POST_PATHS = {
    "/chat/completions": CHAT,
    "/responses": RESPONSES,
    "/messages": MESSAGES,
    "/messages/count_tokens": COUNT_TOKENS,
}


GEMINI_HOST = "generativelanguage.googleapis.com"
GEMINI_OPENAI = "/v1beta/openai/"  # Gemini's OpenAI-compatible API
COPILOT_HOST = "api.githubcopilot.com"  # serves /chat/completions, /responses, /models without /v1


def intercepted_path(host: str, path: str) -> str:
    """An intercepted API call's path as the reverse endpoint knows it (/v1/...)."""
    if host == GEMINI_HOST and path.startswith(GEMINI_OPENAI):
        return "/v1/" + path[len(GEMINI_OPENAI):]
    if host == COPILOT_HOST and not path.startswith("/v1/"):
        return "/v1" + path
    return path


def unknown_message(method: str, path: str) -> str:
    bare = path.split("?", 1)[0]
    if ":" in bare.rsplit("/", 1)[-1]:  # /v1beta/models/<model>:generateContent and its kin
        return (f"{method} {bare} is Gemini's native API, which the bridge does not speak: call the OpenAI-"
                f"compatible {GEMINI_OPENAI}chat/completions, or remove {GEMINI_HOST} from intercept_hosts.")
    return f"Unknown endpoint {method} {path}."


def classify(method: str, path: str, headers_has_anthropic: bool) -> Endpoint:
    bare = path.split("?", 1)[0].rstrip("/")
    p = bare[3:] if bare.startswith("/v1/") else bare
    dialect = "anthropic-messages" if headers_has_anthropic else "openai-chat"
    if method == "POST" and p in POST_PATHS:
        return POST_PATHS[p]
    if method == "GET" and p == "/accTokens":
        return Endpoint("acc_tokens", dialect)
    if method == "GET" and bare == "/_bridge/pools":
        return Endpoint("pools", dialect)
    if bare == "/admin" or bare.startswith("/admin/"):
        return Endpoint("admin", dialect)
    if method == "GET" and bare == "/metrics":
        return Endpoint("metrics", dialect)
    if path.startswith("/auth/"):
        return Endpoint("page", dialect)
    if method == "GET" and p == "/models":
        return Endpoint("models", dialect)
    if method == "GET" and p.startswith("/models/"):
        return Endpoint("model", dialect)
    if path.startswith("/v1/"):
        return Endpoint("passthrough", dialect)
    return Endpoint("unknown", dialect)

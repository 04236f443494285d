"""The CodeGeeX chat request: one `prompt` plus paired `history`, identity fields from the account
(codegeex.md 2, 3, 8 and 9).

CodeGeeX has no message list and no system role: the conversation becomes user/assistant pairs and the
current user turn; every system/developer text is gathered into a `[System]` section at the head of
the prompt, followed by `[User]` and the user's text (the emulated upstream reads the same layout)."""

from __future__ import annotations

import uuid
from typing import Any
from typing import Mapping

import orjson

from translators import ir
from translators.errors import TranslationError
from translators.providers.base import UpstreamCall

DEFAULT_BASE_URL = "https://codegeex.cn"
CHAT_PATH = "/prod/code/chatCodeSseV3/chat"  # streams SSE; `?stream=false` answers JSON (section 2)
MODELS_PATH = "/prod/v3/chat/model"
# Both public bridges imitate VS Code's Electron shell (section 2); whether the server checks it is unknown.
USER_AGENT = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Code/1.102.0 Chrome/134.0.6998.205 Electron/35.6.0 Safari/537.36")
SYSTEM_HEAD, USER_HEAD = "[System]\n", "[User]\n"
# The prompt is required (section 3): a conversation ending with an assistant turn asks to go on.
CONTINUE = "Continue."
TOKEN_FIELDS = ("api_key", "code_token", "token")  # the code-token, under any of these account fields
# Identity fields (section 3) and what a request carries when the account does not set them: the
# values the Worker bridge sends, which the server accepts.
IDENTITY_DEFAULTS: Mapping[str, Any] = {"user_id": "", "user_role": 0, "ide": "VSCode", "ide_version": "",
                                        "plugin_version": "", "machine_id": "", "locale": "en"}
_NAMESPACE = uuid.UUID("6f1c2a8e-3b4d-5e6f-8a9b-0c1d2e3f4a5b")  # ours: ids -> UUID-shaped ids (uuid5)


def build(req: ir.ChatRequest, model: str, ctx: Mapping[str, Any], ids: ir.Ids) -> UpstreamCall:
    token = code_token(ctx)
    if not token:
        raise TranslationError("The CodeGeeX provider has no code-token: set `api_key` (or `code_token`) for "
                               "the account, or CODEGEEX_API_KEY.", kind="api_error")
    history, prompt = conversation(req, ids)
    body = render_body(prompt, history, model, ctx, ids)
    base = str(ctx.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
    headers = {"accept": "text/event-stream", "content-type": "application/json", "code-token": token,
               "user-agent": str(ctx.get("user_agent") or USER_AGENT)}
    # Always streamed upstream, as every bridge does (section 9); whole answers are assembled from it.
    return UpstreamCall(base + CHAT_PATH, orjson.dumps(body), headers)


def code_token(ctx: Mapping[str, Any]) -> str:
    return next((str(ctx[f]) for f in TOKEN_FIELDS if ctx.get(f)), "")


def render_body(prompt: str, history: list[dict[str, str]], model: str, ctx: Mapping[str, Any],
                ids: ir.Ids) -> dict[str, Any]:
    """The field list of section 3, in its order."""
    ident = {k: ctx.get(k) if ctx.get(k) is not None else v for k, v in IDENTITY_DEFAULTS.items()}
    return {
        "user_id": str(ident["user_id"]),
        "user_role": _int(ident["user_role"]),
        "ide": str(ident["ide"]),
        "ide_version": str(ident["ide_version"]),
        "plugin_version": str(ident["plugin_version"]),
        "prompt": prompt,
        "machineId": str(ident["machine_id"]),
        # a fresh talk per request, as the bridges do (section 2): the history travels in full anyway
        "talkId": str(ctx.get("talk_id") or new_uuid(ids)),
        "locale": str(ident["locale"]),
        "model": model,
        "agent": None,
        "candidates": {"candidate_msg_id": "", "candidate_type": "", "selected_candidate": ""},
        "history": history,
    }


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise TranslationError(f"CodeGeeX account field user_role must be an integer, not {value!r}.",
                               kind="api_error") from None


def new_uuid(ids: ir.Ids) -> str:
    """A UUID-shaped id (the shape the bridges send) made from the bridge's id source, so translators
    stay deterministic."""
    return str(uuid.uuid5(_NAMESPACE, ids.new("codegeex-")))


# ---- the conversation ----


def conversation(req: ir.ChatRequest, ids: ir.Ids) -> tuple[list[dict[str, str]], str]:
    """(history pairs, prompt): consecutive turns of one role merged, the last user turn as the prompt."""
    system = [b.text for b in req.system if isinstance(b, ir.Text) and b.text]
    turns: list[list[str]] = []  # [role, text]
    for msg in req.messages:
        text = message_text(msg)
        if msg.role in ("system", "developer"):  # position is lost: CodeGeeX has one place for it
            system += [text] if text else []
        elif turns and turns[-1][0] == msg.role:
            turns[-1][1] = _join(turns[-1][1], text)
        else:
            turns.append([msg.role, text])
    prompt = turns.pop()[1] if turns and turns[-1][0] == "user" else CONTINUE
    history: list[dict[str, str]] = []
    query: str | None = None
    for role, text in turns:
        if role == "user":
            query = text
        else:  # an assistant turn with no user turn before it gets an empty query
            history.append({"query": query or "", "answer": text, "id": new_uuid(ids)})
            query = None
    if system:
        prompt = SYSTEM_HEAD + "\n\n".join(system) + "\n\n" + USER_HEAD + prompt
    return history, prompt


def message_text(msg: ir.Message) -> str:
    """The text CodeGeeX can carry: text parts and text documents. Images and audio are dropped
    (section 9); reasoning is not replayed. Tool traffic arrives already written as text by
    translators.transforms.prompt_tools (this provider has no native tools)."""
    parts: list[str] = []
    for b in msg.content:
        if isinstance(b, ir.Text):
            parts.append(b.text)
        elif isinstance(b, ir.Document) and b.text is not None:
            parts.append(f"[{b.filename}]\n{b.text}" if b.filename else b.text)
        elif isinstance(b, ir.ToolResult):  # not expected after prompt_tools; kept rather than lost
            parts += [c.text for c in b.content if isinstance(c, ir.Text)]
    return "\n".join(p for p in parts if p)


def _join(a: str, b: str) -> str:
    return f"{a}\n\n{b}" if a and b else a or b

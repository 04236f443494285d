"""IR request -> the Code Assist call: `{model, project, request: GenerateContentRequest}` posted to
`<base>/v1internal:streamGenerateContent?alt=sse` or `:generateContent` (gemini-code-assist.md 2, 3, 9).

ctx (built by addons/providers/gemini_code_assist.py): `access_token`, `project`, `base_url`,
and the provider options `api_version`, `user_agent`, `tool_schema`."""

from __future__ import annotations

from typing import Any
from typing import Mapping

from translators import ir
from translators.dialects.common import FREEFORM_KEY
from translators.dialects.common import builtin_tool_type
from translators.dialects.common import effort_to_budget
from translators.errors import TranslationError
from translators.jsonutil import dumps
from translators.providers.base import UpstreamCall
from translators.providers.gemini_code_assist.contents import contents
from translators.providers.gemini_code_assist.contents import system_instruction
from translators.providers.gemini_code_assist.schema import gemini_schema

DEFAULT_BASE_URL = "https://cloudcode-pa.googleapis.com"
API_VERSION = "v1internal"
USER_AGENT = "GeminiCLI/0.1.21 (linux; x64)"
MAX_STOP_SEQUENCES = 5  # gemini.md 2.4
TOOL_CHOICE_MODE = {"auto": "AUTO", "none": "NONE", "required": "ANY", "tool": "ANY"}
FLASH_MAX_BUDGET, PRO_MAX_BUDGET, PRO_MIN_BUDGET = 24576, 32768, 128  # gemini.md 2.4 thinkingConfig


def build(req: ir.ChatRequest, model: str, ctx: Mapping[str, Any], ids: ir.Ids) -> UpstreamCall:
    token, project = ctx.get("access_token"), ctx.get("project")
    if not token:
        raise TranslationError("No Google access token for Gemini Code Assist.", kind="authentication")
    if not project:
        raise TranslationError("No Code Assist project: set `project_id` or let the bridge discover it.",
                               kind="api_error")
    model = model.removeprefix("models/")
    envelope = {"model": model, "project": project, "request": render_request(req, model, ctx)}
    method = "streamGenerateContent?alt=sse" if req.stream else "generateContent"
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json",
               "user-agent": str(ctx.get("user_agent") or USER_AGENT),
               "accept": "text/event-stream" if req.stream else "application/json"}
    return UpstreamCall(method_url(ctx, method), dumps(envelope), headers, "POST", req.stream)


def api_base(ctx: Mapping[str, Any]) -> str:
    """`<base_url>/<version>`; a base URL that already names the version is kept as it is."""
    base = str(ctx.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
    version = str(ctx.get("api_version") or API_VERSION)
    return base if base.endswith("/" + version) else f"{base}/{version}"


def method_url(ctx: Mapping[str, Any], method: str) -> str:
    """`<base>/<version>:<method>`: a colon, not a slash (2)."""
    return f"{api_base(ctx)}:{method}"


def render_request(req: ir.ChatRequest, model: str, ctx: Mapping[str, Any]) -> dict[str, Any]:
    json_schema = ctx.get("tool_schema") == "json_schema"
    out: dict[str, Any] = {"contents": contents(req)}
    system = system_instruction(req)
    if system:
        out["systemInstruction"] = system
    decls = declarations(req, json_schema)
    if decls:
        out["tools"] = [{"functionDeclarations": decls}]
        config = tool_config(req.tool_choice)
        if config:
            out["toolConfig"] = config
    gen = generation_config(req, model, json_schema)
    if gen:
        out["generationConfig"] = gen
    return out


def declarations(req: ir.ChatRequest, json_schema: bool) -> list[dict[str, Any]]:
    """Function tools only (built-in tools of other providers cannot run here). A tool choice that
    allows a subset without forcing a call narrows the list: allowedFunctionNames needs mode ANY."""
    choice = req.tool_choice
    allowed = set(choice.allowed) if choice and choice.allowed and choice.mode == "auto" else None
    return [declaration(t, json_schema) for t in req.tools
            if builtin_tool_type(t) is None and (allowed is None or t.name in allowed)]


def declaration(tool: ir.Tool, json_schema: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"name": tool.name}
    if tool.description:
        out["description"] = tool.description
    if tool.kind == "custom":  # freeform: a function taking the raw text (common.FREEFORM_KEY)
        schema: Mapping[str, Any] = {"type": "object", "properties": {FREEFORM_KEY: {"type": "string"}},
                                     "required": [FREEFORM_KEY]}
    else:
        schema = tool.parameters or {}
    if json_schema:
        out["parametersJsonSchema"] = dict(schema) or {"type": "object"}
    else:
        params = gemini_schema(schema)
        if params.get("properties"):  # an OBJECT without properties is refused: no parameters at all
            out["parameters"] = params
    return out


def tool_config(choice: ir.ToolChoice | None) -> dict[str, Any] | None:
    if choice is None:
        return None
    config: dict[str, Any] = {"mode": TOOL_CHOICE_MODE[choice.mode]}
    if choice.mode == "tool" and choice.name:
        config["allowedFunctionNames"] = [choice.name]
    elif choice.mode == "required" and choice.allowed:
        config["allowedFunctionNames"] = list(choice.allowed)
    return {"functionCallingConfig": config}


def generation_config(req: ir.ChatRequest, model: str, json_schema: bool) -> dict[str, Any]:
    s = req.sampling
    pairs = (("temperature", s.temperature), ("topP", s.top_p), ("topK", s.top_k),
             ("presencePenalty", s.presence_penalty), ("frequencyPenalty", s.frequency_penalty),
             ("seed", s.seed), ("maxOutputTokens", req.max_output_tokens))
    out: dict[str, Any] = {k: v for k, v in pairs if v is not None}
    if req.stop:
        out["stopSequences"] = list(req.stop[:MAX_STOP_SEQUENCES])
    fmt = req.response_format
    if fmt is not None and fmt.type != "text":
        out["responseMimeType"] = "application/json"
        if fmt.type == "json_schema" and fmt.schema:
            if json_schema:
                out["responseJsonSchema"] = dict(fmt.schema)
            else:
                out["responseSchema"] = gemini_schema(fmt.schema)
    thinking = thinking_config(req.reasoning, model)
    if thinking:
        out["thinkingConfig"] = thinking
    return out


def thinking_config(r: ir.Reasoning | None, model: str) -> dict[str, Any] | None:
    """gemini.md 2.4: Gemini 3 takes a level; 2.5 a budget (0 = off, Flash only; Pro needs >= 128).
    `includeThoughts` makes the thought summaries come back as reasoning."""
    if r is None:
        return None
    off = r.mode == "disabled" or (r.effort or "").lower() == "none"
    pro = "pro" in model
    if model.startswith("gemini-3"):
        low = off or (r.effort or "") in ("minimal", "low") or (r.budget is not None and r.budget <= 4096)
        level = {"thinkingLevel": "LOW" if low else "HIGH"}
        return level if off else {**level, "includeThoughts": True}
    if off:
        return {"thinkingBudget": PRO_MIN_BUDGET if pro else 0}
    if r.budget is not None:
        budget = max(PRO_MIN_BUDGET if pro else 0, min(r.budget, PRO_MAX_BUDGET if pro else FLASH_MAX_BUDGET))
    elif r.effort:
        budget = min(effort_to_budget(r.effort), PRO_MAX_BUDGET if pro else FLASH_MAX_BUDGET)
    else:
        budget = -1  # adaptive: Gemini's dynamic thinking
    return {"thinkingBudget": budget, "includeThoughts": True}

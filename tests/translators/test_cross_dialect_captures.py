"""Every captured client request, in every dialect, translated to every upstream dialect: whatever
the target can carry arrives (checked by parsing the rendered body back into the IR)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.captures import requests_for
from translators import ir
from translators.registry import codec

SOURCES = {"/chat/completions": "openai-chat", "/responses": "openai-responses", "/messages": "anthropic-messages"}
CASES = [(SOURCES[suffix], name, body) for suffix in SOURCES for name, body in requests_for(suffix)]
TARGETS = ["openai-chat", "openai-responses", "anthropic-messages"]


def all_blocks(req: ir.ChatRequest) -> list[ir.Block]:
    out: list[ir.Block] = list(req.system)
    for m in req.messages:
        for b in m.content:
            out.append(b)
            if isinstance(b, ir.ToolResult):
                out.extend(b.content)
    return out


def texts(req: ir.ChatRequest) -> str:
    return "\n".join(b.text for b in all_blocks(req) if isinstance(b, ir.Text))


def args(a: str) -> Any:
    try:
        value = json.loads(a or "{}")
    except ValueError:
        return a  # freeform input
    if isinstance(value, dict) and list(value) == ["input"] and isinstance(value["input"], str):
        return value["input"]  # a freeform call carried as a function (Anthropic)
    return value


def carried(req: ir.ChatRequest, target: str) -> dict[str, Any]:
    blocks = all_blocks(req)
    function_tools = [t for t in req.tools if "type" not in t.extra]  # built-ins are dialect-specific
    return {
        "tool_uses": [(b.id, b.name, args(b.arguments)) for b in blocks if isinstance(b, ir.ToolUse)],
        "tool_results": [(b.tool_use_id, "\n".join(x.text for x in b.content if isinstance(x, ir.Text)))
                         for b in blocks if isinstance(b, ir.ToolResult)],
        "images": [(b.data, b.url) for b in blocks if isinstance(b, ir.Image)],
        # Anthropic has no freeform tools: they travel as a function taking {"input": string}
        "tools": [(t.name, t.parameters if t.kind == "function" and not freeform_as_function(t, target) else None)
                  for t in function_tools],
        # "auto" is the default wherever tools are offered
        "tool_choice": req.tool_choice.mode if req.tool_choice and function_tools
        and req.tool_choice.mode != "auto" else None,
        "max_output_tokens": req.max_output_tokens,
        "temperature": req.sampling.temperature,
        "top_p": req.sampling.top_p,
        "stop": req.stop,
        "stream": req.stream,
        "reasoning": req.reasoning is not None and req.reasoning.mode != "disabled",
    }


def freeform_as_function(t: ir.Tool, target: str) -> bool:
    return target == "anthropic-messages" and (t.kind == "custom" or t.parameters == {
        "type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]})


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source,name,body", CASES, ids=[f"{s}:{n}" for s, n, _ in CASES])
def test_capture_translates_without_loss(source: str, name: str, body: dict[str, Any], target: str) -> None:
    req = codec(source).parse_request(body)
    wire = codec(target).render_request(req, "upstream-model")
    back = codec(target).parse_request(json.loads(json.dumps(wire)))
    want, got = carried(req, target), carried(back, target)
    if want["max_output_tokens"] is None:
        got["max_output_tokens"] = None  # targets that require a limit add a default
    if target == "openai-responses" and want["max_output_tokens"] is not None:
        want["max_output_tokens"] = max(16, want["max_output_tokens"])  # OpenAI's minimum
    assert got == want
    for line in texts(req).splitlines():
        assert line in texts(back), f"text lost: {line[:80]!r}"

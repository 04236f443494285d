"""Checks on a parsed request that no single codec owns: every tool result must answer a tool call
made earlier in the conversation (OpenAI and Anthropic both refuse such a request; a bridge that
forwarded it would get a confusing upstream error, or a wrong answer from a lenient one)."""

from __future__ import annotations

from translators import ir
from translators.errors import TranslationError


def check(req: ir.ChatRequest) -> ir.ChatRequest:
    calls: set[str] = set()
    for i, m in enumerate(req.messages):
        for b in m.content:
            if isinstance(b, ir.ToolUse):
                calls.add(b.id)
            elif isinstance(b, ir.ToolResult) and b.tool_use_id not in calls:
                raise TranslationError(
                    f"The tool result for '{b.tool_use_id}' in message {i} answers no earlier tool call.",
                    param=f"messages[{i}]", code="tool_result_without_call")
    return req

"""Request side of prompt-based tool calling: the tool instructions appended to the system prompt,
and tool calls/results in the history rewritten as text (chatgpt-web.md 10.1 and 10.3, qwen.md,
codegpt.md 9, codegeex.md 9)."""

from __future__ import annotations

import dataclasses
from typing import Iterable
from typing import Sequence

from translators import ir
from translators.errors import TranslationError
from translators.transforms.prompt_markup import BLOCK_CLOSE
from translators.transforms.prompt_markup import BLOCK_OPEN
from translators.transforms.prompt_markup import TRIGGER
from translators.transforms.prompt_markup import cdata
from translators.transforms.prompt_markup import render_tool_uses
from translators.transforms.prompt_markup import to_json


def apply_to_request(req: ir.ChatRequest) -> ir.ChatRequest:
    """`req` for an upstream without native tools: no tools, their description and the call markup
    in the system prompt, tool traffic in the history as text. Unchanged when there is nothing to do."""
    has_traffic = any(isinstance(b, (ir.ToolUse, ir.ToolResult)) for m in req.messages for b in m.content)
    if not req.tools and not has_traffic:
        return req
    messages = rewrite_history(req.messages) if has_traffic else req.messages
    if not req.tools:
        return dataclasses.replace(req, messages=messages, tool_choice=None, parallel_tool_calls=None)
    system = _append_text(req.system, instructions(req))
    return dataclasses.replace(req, messages=messages, system=system, tools=(), tool_choice=None,
                               parallel_tool_calls=None)


# ---- history ----


def rewrite_history(messages: Sequence[ir.Message]) -> tuple[ir.Message, ...]:
    names = {b.id: b.name for m in messages for b in m.content if isinstance(b, ir.ToolUse)}
    return tuple(_rewrite(m, names) for m in messages)


def _rewrite(msg: ir.Message, names: dict[str, str]) -> ir.Message:
    if not any(isinstance(b, (ir.ToolUse, ir.ToolResult)) for b in msg.content):
        return msg
    out: list[ir.Block] = []
    run: list[ir.ToolUse] = []  # consecutive calls share one markup block (parallel calls)
    for block in msg.content:
        if isinstance(block, ir.ToolUse):
            run.append(block)
            continue
        if run:
            out.append(ir.Text(render_tool_uses(run)))
            run = []
        out += _result(block, names) if isinstance(block, ir.ToolResult) else [block]
    if run:
        out.append(ir.Text(render_tool_uses(run)))
    # joined into one text: simple upstreams concatenate text parts, and the trigger needs its own line
    sep = "\n" if msg.role == "assistant" else "\n\n"
    return dataclasses.replace(msg, content=_merge_texts(out, sep))


def _result(res: ir.ToolResult, names: dict[str, str]) -> list[ir.Block]:
    """`<tool_result id=".." name="..">text</tool_result>`; media in the result follow it as blocks."""
    texts, media = [], []
    for b in res.content:
        if isinstance(b, ir.Text):
            texts.append(b.text)
        elif isinstance(b, ir.Document) and b.text is not None:
            texts.append(b.text)
        elif not isinstance(b, (ir.Thinking, ir.RedactedThinking)):
            media.append(b)
    attrs = f' id="{_attr(res.tool_use_id)}"'
    name = res.name or names.get(res.tool_use_id)
    if name:
        attrs += f' name="{_attr(name)}"'
    if res.is_error:
        attrs += ' error="true"'
    body = "\n".join(texts)
    return [ir.Text(f"<tool_result{attrs}>\n{body}\n</tool_result>"), *media]


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _merge_texts(blocks: Iterable[ir.Block], sep: str) -> tuple[ir.Block, ...]:
    out: list[ir.Block] = []
    for b in blocks:
        prev = out[-1] if out else None
        if isinstance(b, ir.Text) and isinstance(prev, ir.Text):
            out[-1] = ir.Text(prev.text + sep + b.text if prev.text else b.text, prev.extra)
        else:
            out.append(b)
    return tuple(out)


def _append_text(system: tuple[ir.Block, ...], text: str) -> tuple[ir.Block, ...]:
    last = system[-1] if system else None
    if isinstance(last, ir.Text):
        return system[:-1] + (ir.Text(f"{last.text}\n\n{text}" if last.text else text, last.extra),)
    return system + (ir.Text(text),)


# ---- the instructions ----

_HOW = f"""How to call tools:
- Start a new line with exactly {TRIGGER} (alone on its line), then immediately write one {BLOCK_OPEN} \
block holding one <function_call> element per call, like this:
{TRIGGER}
{BLOCK_OPEN}
<function_call>
<tool>TOOL_NAME</tool>
<args_json>{cdata('{"argument_name": "value"}')}</args_json>
</function_call>
{BLOCK_CLOSE}
- <tool> holds the exact name of one of the tools above.
- <args_json> holds the arguments as ONE JSON object, with exactly the parameter names of the tool's \
schema ({{}} when it takes none), wrapped in <![CDATA[ and ]]>.
- For a tool that takes free-form text, write <input><![CDATA[the raw text]]></input> instead of \
<args_json>.
- You may write a short text before the markup, but write nothing after {BLOCK_CLOSE}: stop there; \
the results come back in the next message.
- Never invent tool results, and never write {TRIGGER} for any other purpose."""


def instructions(req: ir.ChatRequest) -> str:
    tools = "\n\n".join(_describe(n, t) for n, t in enumerate(req.tools, 1))
    rules = [_parallel_rule(req), *_choice_rules(req)]
    return (f"# Tools\n\nYou can use the tools below. The only way to call a tool is the markup described "
            f"after the list. Results of earlier calls appear as <tool_result id=\"...\" name=\"...\">..."
            f"</tool_result>.\n\n{tools}\n\n{_HOW}\n" + "".join(f"- {r}\n" for r in rules)).rstrip()


def _describe(n: int, tool: ir.Tool) -> str:
    lines = [f'{n}. <tool name="{tool.name}">',
             "Description: " + (tool.description.strip() if tool.description else "(none)")]
    if tool.kind == "custom":
        lines.append("Input: free-form raw text (not JSON), written in <input> instead of <args_json>.")
        lines += _format_lines(tool)
    else:
        schema = tool.parameters or {"type": "object", "properties": {}}
        lines.append("Arguments (JSON schema): " + to_json(schema))
    return "\n".join(lines + ["</tool>"])


def _format_lines(tool: ir.Tool) -> list[str]:
    fmt = tool.format or {}
    if fmt.get("type") == "grammar" and isinstance(fmt.get("definition"), str):
        syntax = f" {fmt['syntax']}" if isinstance(fmt.get("syntax"), str) else ""
        return [f"The input must follow this{syntax} grammar:", fmt["definition"]]
    if fmt and fmt.get("type") != "text":
        return ["Input format: " + to_json(fmt)]
    return []


def _parallel_rule(req: ir.ChatRequest) -> str:
    if req.parallel_tool_calls is False:
        return "Call at most ONE tool per reply: a single <function_call> element."
    return "To call several tools at once, put one <function_call> per call in the same block."


def _choice_rules(req: ir.ChatRequest) -> list[str]:
    tc = req.tool_choice
    if tc is None or tc.mode == "auto":
        rules = []
    elif tc.mode == "none":
        return ["In this reply you must NOT call any tool: answer with text only."]
    elif tc.mode == "required":
        rules = ["In this reply you MUST call at least one tool."]
    else:
        if tc.name not in {t.name for t in req.tools}:
            raise TranslationError(f"tool_choice names the tool {tc.name!r}, which is not in tools.",
                                   param="tool_choice")
        return [f"In this reply you MUST call the tool {tc.name} (and no other tool)."]
    if tc is not None and tc.allowed is not None:
        rules.append("You may only call these tools: " + ", ".join(tc.allowed) + ".")
    return rules

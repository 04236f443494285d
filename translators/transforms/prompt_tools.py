"""Prompt-based tool calling for upstreams without native tools (CodeGPT, CodeGeeX, Qwen, ChatGPT web),
the Toolify / chat2api approach (chatgpt-web.md 10.3; qwen.md, codegpt.md 9, codegeex.md 9).

Request: `apply_to_request` removes the tools, appends to the system prompt a "# Tools" section that
lists them (name, description, JSON schema; freeform tools as taking raw text) and teaches the markup
below, and rewrites tool calls/results in the history as text. Answer: `PromptToolStream` (stream) and
`parse_response` (whole answer) turn the markup in the model's text back into ToolUse blocks.

THE MARKUP (emulated upstreams answer in it; they must not import translators, so here it is exactly)
------------------------------------------------------------------------------------------------------
A reply that calls tools is: optional text, then a line holding exactly TRIGGER, then one block:

    Let me check both cities.
    <Function_bridge_Start/>
    <function_calls>
    <function_call>
    <tool>get_weather</tool>
    <args_json><![CDATA[{"city":"Paris"}]]></args_json>
    </function_call>
    <function_call>
    <tool>apply_patch</tool>
    <input><![CDATA[*** Begin Patch
    ...raw text...]]></input>
    </function_call>
    </function_calls>

1. TRIGGER is `<Function_bridge_Start/>` (fixed, see prompt_markup.TRIGGER), alone on its line.
2. `<function_calls>` holds one `<function_call>` per call, in call order; several calls in one block
   are parallel calls. `<tool>` holds the declared tool name, exactly.
3. Function tools: `<args_json>` holds ONE JSON object (`{}` for no arguments) inside CDATA.
   Freeform (custom) tools: `<input>` holds the raw input text inside CDATA.
   In CDATA, `]]>` is written `]]]]><![CDATA[>` (two sections, joined when read).
4. Nothing may follow `</function_calls>`: the bridge drops whatever does.
The bridge itself writes earlier calls exactly so (history): `TRIGGER + "\n<function_calls>\n"`, then per
call `"<function_call>\n<tool>NAME</tool>\n<args_json><![CDATA[" + compact JSON + "]]></args_json>\n"
"</function_call>\n"` (`<input>` for custom tools), then `"</function_calls>"`, on a new line after the
assistant's text. Tool results come back as user text:

    <tool_result id="call_1" name="get_weather">
    Sunny, 26°C
    </tool_result>

(` error="true"` is added after the name when the tool failed.)
The instructions (wherever the upstream puts system text) start with a line `# Tools`; each tool is
listed as `N. <tool name="NAME">`, `Description: ...`, then `Arguments (JSON schema): <compact JSON>`
or `Input: free-form raw text ...`, then `</tool>`. tool_choice adds one of the lines
`- In this reply you must NOT call any tool: answer with text only.`,
`- In this reply you MUST call at least one tool.`,
`- In this reply you MUST call the tool NAME (and no other tool).`;
parallel_tool_calls=false adds `- Call at most ONE tool per reply: a single <function_call> element.`

What the parser also accepts (models drift): a code fence around the whole markup or inside the block
(dropped), any whitespace, arguments without CDATA or in a ```json fence, with trailing commas or
Python-style single quotes, `<tool_call>` for `<function_call>`, `<name>` or a `name="..."` attribute
for `<tool>`, `<args><key>value</key>...</args>`, a JSON body `{"name":..., "arguments":{...}}`, and a
missing `</function_calls>` at the very end of the answer. A block naming an unknown (or, by
tool_choice, forbidden) tool, or with unparsable arguments, stays text, verbatim, and the search goes
on after it. With parallel_tool_calls=false only the first call of a block is kept. Once calls were
emitted the stop reason is "tool_use". The text before the trigger streams out at once, except the
tail that could still start [whitespace][```lang line][whitespace]TRIGGER (so that whitespace and a
fence opener before the markup are dropped); that tail is at most ~200 characters.
"""

from __future__ import annotations

import dataclasses

from translators import ir
from translators.transforms.prompt_markup import TRIGGER
from translators.transforms.prompt_markup import ParsedCall
from translators.transforms.prompt_markup import callable_tools
from translators.transforms.prompt_request import apply_to_request
from translators.transforms.prompt_scanner import CallScanner
from translators.transforms.prompt_scanner import Piece

__all__ = ["TRIGGER", "PromptToolStream", "apply_to_request", "parse_response"]


def _scanner(req: ir.ChatRequest) -> CallScanner | None:
    """None when no tool may be called: the answer then needs no parsing at all."""
    tools = callable_tools(req)
    return CallScanner(tools, single=req.parallel_tool_calls is False) if tools else None


def _tool_use(call: ParsedCall, ids: ir.Ids) -> ir.ToolUse:
    return ir.ToolUse(ids.new("call_"), call.name, call.arguments, call.kind)


def parse_response(resp: ir.ChatResponse, req: ir.ChatRequest, ids: ir.Ids) -> ir.ChatResponse:
    """A whole answer: tool-call markup in its text becomes ToolUse blocks. `req` has the tools."""
    scanner = _scanner(req)
    if scanner is None:
        return resp
    content: list[ir.Block] = []
    for block in resp.content:
        if isinstance(block, ir.Text) and _scanned(block):
            _add(content, scanner.feed(block.text), ids)
        else:
            content.append(block)
    _add(content, scanner.finish(), ids)
    if not any(isinstance(b, ir.ToolUse) for b in content):
        return dataclasses.replace(resp, content=tuple(content))
    return dataclasses.replace(resp, content=tuple(content), stop_reason="tool_use", stop_sequence=None)


def _add(content: list[ir.Block], pieces: list[Piece], ids: ir.Ids) -> None:
    for piece in pieces:
        if not isinstance(piece, str):
            content += [_tool_use(call, ids) for call in piece]
        elif content and isinstance(content[-1], ir.Text) and not content[-1].extra:
            content[-1] = ir.Text(content[-1].text + piece)
        else:
            content.append(ir.Text(piece))


def _scanned(block: ir.Block | None) -> bool:
    # plain text only: a refusal (Text with extra) is passed on as it is
    return isinstance(block, ir.Text) and not block.extra


class PromptToolStream:
    """StreamTransform (IR -> IR) for one flow: text deltas go through the scanner; other blocks pass
    on renumbered, since calls add blocks and upstream text blocks are regrouped."""

    def __init__(self, req: ir.ChatRequest, ids: ir.Ids) -> None:
        self.ids = ids
        self.scanner = _scanner(req)
        self.next_index = 0
        self.index: dict[int, int] = {}  # upstream index -> our index, for passed-on blocks
        self.text_in: set[int] = set()  # upstream text blocks, read through the scanner
        self.text_out: int | None = None  # our open text block
        self.calls = 0

    def feed(self, ev: ir.StreamEvent) -> list[ir.StreamEvent]:
        if self.scanner is None:
            return [ev]
        if isinstance(ev, ir.BlockDelta):
            if ev.index in self.text_in:
                return self._pieces(self.scanner.feed(ev.value)) if ev.kind == "text" else []
            return [dataclasses.replace(ev, index=self.index.get(ev.index, ev.index))]
        if isinstance(ev, ir.BlockStart):
            return self._start(ev)
        if isinstance(ev, ir.BlockStop):
            return [] if ev.index in self.text_in else [ir.BlockStop(self.index.get(ev.index, ev.index))]
        if isinstance(ev, ir.MessageDelta):
            out = self.flush()
            if self.calls:
                return out + [ir.MessageDelta("tool_use", ev.usage, None)]
            return out + [ev]
        if isinstance(ev, (ir.MessageStop, ir.StreamError)):
            return self.flush() + [ev]
        return [ev]

    def flush(self) -> list[ir.StreamEvent]:
        """End of the content: what the scanner still holds, then the open text block closes."""
        if self.scanner is None:
            return []
        return self._pieces(self.scanner.finish()) + self._close_text()

    def _start(self, ev: ir.BlockStart) -> list[ir.StreamEvent]:
        if _scanned(ev.block):
            self.text_in.add(ev.index)
            return []
        out = self._close_text()
        self.index[ev.index] = self._new_index()
        return out + [ir.BlockStart(self.index[ev.index], ev.block)]

    def _pieces(self, pieces: list[Piece]) -> list[ir.StreamEvent]:
        out: list[ir.StreamEvent] = []
        for piece in pieces:
            if isinstance(piece, str):
                if self.text_out is None:
                    self.text_out = self._new_index()
                    out.append(ir.BlockStart(self.text_out, ir.Text("")))
                out.append(ir.BlockDelta(self.text_out, "text", piece))
            else:
                out += self._close_text()
                for call in piece:
                    out += self._call(call)
        return out

    def _call(self, call: ParsedCall) -> list[ir.StreamEvent]:
        self.calls += 1
        index = self._new_index()
        use = _tool_use(call, self.ids)
        out: list[ir.StreamEvent] = [ir.BlockStart(index, dataclasses.replace(use, arguments=""))]
        if call.arguments:
            out.append(ir.BlockDelta(index, "tool_args", call.arguments))
        return out + [ir.BlockStop(index)]

    def _close_text(self) -> list[ir.StreamEvent]:
        if self.text_out is None:
            return []
        index, self.text_out = self.text_out, None
        return [ir.BlockStop(index)]

    def _new_index(self) -> int:
        self.next_index += 1
        return self.next_index - 1

"""A whole answer as the stream of IR events that would have produced it (for upstreams that answer
a streaming request with one JSON body, and for synthesised streams)."""

from __future__ import annotations

from translators import ir


def response_events(resp: ir.ChatResponse) -> list[ir.StreamEvent]:
    out: list[ir.StreamEvent] = [ir.MessageStart(resp.id, resp.model, ir.Usage(input=resp.usage.input))]
    index = 0
    for block in resp.content:
        if isinstance(block, ir.Text):
            out += [ir.BlockStart(index, ir.Text("", block.extra)), ir.BlockDelta(index, "text", block.text)]
        elif isinstance(block, ir.Thinking):
            out += [ir.BlockStart(index, ir.Thinking("", None, block.origin, block.extra)),
                    ir.BlockDelta(index, "thinking", block.text)]
            if block.signature:
                out.append(ir.BlockDelta(index, "signature", block.signature))
        elif isinstance(block, ir.RedactedThinking):
            out.append(ir.BlockStart(index, block))
        elif isinstance(block, ir.ToolUse):
            out += [ir.BlockStart(index, ir.ToolUse(block.id, block.name, "", block.kind, block.extra)),
                    ir.BlockDelta(index, "tool_args", block.arguments)]
        else:
            continue
        out.append(ir.BlockStop(index))
        index += 1
    out += [ir.MessageDelta(resp.stop_reason, resp.usage, resp.stop_sequence), ir.MessageStop()]
    return out

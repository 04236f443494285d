"""Prompt-based tool calling (translators/transforms/prompt_tools.py): request rewriting, the markup
parser on streams cut at every position, non-stream parsing, and a full trip to a Chat client."""

from __future__ import annotations

import orjson
import pytest

from translators import ir
from translators.dialects.openai_chat import CODEC as CHAT
from translators.errors import TranslationError
from translators.transforms.prompt_markup import render_calls
from translators.transforms.prompt_tools import TRIGGER
from translators.transforms.prompt_tools import PromptToolStream
from translators.transforms.prompt_tools import apply_to_request
from translators.transforms.prompt_tools import parse_response

WEATHER = ir.Tool("get_weather", "Get the weather of a city",
                  {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
TIME = ir.Tool("get_time", "Current time in a zone",
               {"type": "object", "properties": {"tz": {"type": "string"}}})
PATCH = ir.Tool("apply_patch", "Edit files with a patch", kind="custom",
                format={"type": "grammar", "syntax": "lark", "definition": "start: patch"})
USER = ir.Message("user", (ir.Text("Weather in Paris and time in Tokyo?"),))
REQ = ir.ChatRequest(model="m", messages=(USER,), system=(ir.Text("Be brief."),),
                     tools=(WEATHER, TIME, PATCH), stream=True)

CALLS = render_calls([("get_weather", {"city": "Paris"}), ("get_time", {"tz": "Asia/Tokyo"})])
TEXT_TWO_CALLS = "Let me check both.\n" + CALLS + "\nThe weather is sunny."  # the tail is invented: dropped


# ---- helpers ----


def stream(parts: list[str], req: ir.ChatRequest = REQ, stop: ir.StopReason = "end_turn",
           ) -> list[ir.StreamEvent]:
    t = PromptToolStream(req, ir.Ids(0))
    out = t.feed(ir.MessageStart("up1", "up-model")) + t.feed(ir.BlockStart(0, ir.Text("")))
    for p in parts:
        out += t.feed(ir.BlockDelta(0, "text", p))
    out += t.feed(ir.BlockStop(0)) + t.feed(ir.MessageDelta(stop, ir.Usage(5, 7))) + t.feed(ir.MessageStop())
    return out + t.flush()


def merged(events: list[ir.StreamEvent]) -> list[ir.StreamEvent]:
    """Consecutive deltas of one block joined: how the text was split must not matter."""
    out: list[ir.StreamEvent] = []
    for ev in events:
        prev = out[-1] if out else None
        if isinstance(ev, ir.BlockDelta) and isinstance(prev, ir.BlockDelta) and (prev.index, prev.kind) == (
                ev.index, ev.kind):
            out[-1] = ir.BlockDelta(ev.index, ev.kind, prev.value + ev.value)
        else:
            out.append(ev)
    return out


def check_blocks(events: list[ir.StreamEvent]) -> None:
    """Indices contiguous from 0, blocks never overlap, every block stopped once, no empty delta."""
    expected, open_ = 0, None
    for ev in events:
        if isinstance(ev, ir.BlockStart):
            assert open_ is None and ev.index == expected
            open_, expected = ev.index, expected + 1
        elif isinstance(ev, ir.BlockDelta):
            assert ev.index == open_ and ev.value
        elif isinstance(ev, ir.BlockStop):
            assert ev.index == open_
            open_ = None
    assert open_ is None


def blocks(events: list[ir.StreamEvent]) -> list[tuple]:
    """(kind, content) per block: text, or (name, arguments, kind) for tool uses."""
    out: list[tuple] = []
    for ev in merged(events):
        if isinstance(ev, ir.BlockStart):
            b = ev.block
            out.append(("tool", b.name, "", b.kind) if isinstance(b, ir.ToolUse) else (type(b).__name__, ""))
        elif isinstance(ev, ir.BlockDelta):
            out[-1] = out[-1][:-2] + (out[-1][-2] + ev.value, out[-1][-1]) if out[-1][0] == "tool" else (
                out[-1][0], out[-1][1] + ev.value)
    return out


def stop_of(events: list[ir.StreamEvent]) -> ir.MessageDelta:
    return next(e for e in events if isinstance(e, ir.MessageDelta))


def with_choice(choice: ir.ToolChoice | None, parallel: bool | None = None) -> ir.ChatRequest:
    return ir.ChatRequest(model="m", messages=(USER,), tools=(WEATHER, TIME, PATCH), tool_choice=choice,
                          parallel_tool_calls=parallel)


# ---- request ----


def test_tools_described_in_system_prompt_and_removed() -> None:
    out = apply_to_request(REQ)
    assert out.tools == () and out.tool_choice is None and out.parallel_tool_calls is None
    assert len(out.system) == 1 and out.system[0].text.startswith("Be brief.\n\n# Tools\n")
    text = out.system[0].text
    assert '1. <tool name="get_weather">\nDescription: Get the weather of a city\n' in text
    assert ('Arguments (JSON schema): {"type":"object","properties":{"city":{"type":"string"}},'
            '"required":["city"]}') in text
    assert '3. <tool name="apply_patch">' in text and "free-form raw text (not JSON)" in text
    assert "The input must follow this lark grammar:\nstart: patch" in text
    assert f"Start a new line with exactly {TRIGGER}" in text and "<args_json><![CDATA[" in text
    assert "put one <function_call> per call in the same block" in text  # parallel calls allowed
    assert out.messages == REQ.messages and out.model == "m" and out.stream


def test_no_system_prompt_gets_one() -> None:
    out = apply_to_request(with_choice(None))
    assert len(out.system) == 1 and out.system[0].text.startswith("# Tools\n")


def test_tool_without_parameters_or_description() -> None:
    req = ir.ChatRequest(model="m", messages=(USER,), tools=(ir.Tool("ping"),))
    text = apply_to_request(req).system[0].text
    assert 'Description: (none)\nArguments (JSON schema): {"type":"object","properties":{}}' in text


@pytest.mark.parametrize("choice, parallel, wanted", [
    (ir.ToolChoice("none"), None, "you must NOT call any tool"),
    (ir.ToolChoice("required"), None, "you MUST call at least one tool"),
    (ir.ToolChoice("tool", "get_time"), None, "you MUST call the tool get_time (and no other tool)"),
    (ir.ToolChoice("auto", allowed=("get_time",)), None, "You may only call these tools: get_time."),
    (None, False, "Call at most ONE tool per reply"),
])
def test_tool_choice_and_parallel_rules(choice: ir.ToolChoice | None, parallel: bool | None,
                                        wanted: str) -> None:
    assert wanted in apply_to_request(with_choice(choice, parallel)).system[0].text


def test_forced_unknown_tool_is_rejected() -> None:
    with pytest.raises(TranslationError) as e:
        apply_to_request(with_choice(ir.ToolChoice("tool", "nope")))
    assert e.value.error.param == "tool_choice"


def test_no_tools_and_no_tool_history_is_unchanged() -> None:
    req = ir.ChatRequest(model="m", messages=(USER,), system=(ir.Text("x"),))
    assert apply_to_request(req) is req


HISTORY = (
    USER,
    ir.Message("assistant", (ir.Text("Checking."), ir.ToolUse("call_1", "get_weather", '{"city": "Paris"}'),
                             ir.ToolUse("call_2", "apply_patch", "a ]]> b\n", kind="custom"))),
    ir.Message("user", (ir.ToolResult("call_1", (ir.Text("Sunny"), ir.Text("26°C"))),
                        ir.ToolResult("call_2", (ir.Text("bad patch"),), is_error=True),
                        ir.ToolResult("call_9", (ir.Image("image/png", "AAAA"),)),
                        ir.Text("Thanks!"))),
)
ASSISTANT_TEXT = (
    "Checking.\n" + TRIGGER + "\n<function_calls>\n"
    "<function_call>\n<tool>get_weather</tool>\n<args_json><![CDATA[{\"city\":\"Paris\"}]]></args_json>\n"
    "</function_call>\n"
    "<function_call>\n<tool>apply_patch</tool>\n<input><![CDATA[a ]]]]><![CDATA[> b\n]]></input>\n"
    "</function_call>\n</function_calls>")
RESULTS_TEXT = ('<tool_result id="call_1" name="get_weather">\nSunny\n26°C\n</tool_result>\n\n'
                '<tool_result id="call_2" name="apply_patch" error="true">\nbad patch\n</tool_result>\n\n'
                '<tool_result id="call_9">\n\n</tool_result>')


@pytest.mark.parametrize("tools", [(WEATHER, PATCH), ()])
def test_history_tool_calls_and_results_become_text(tools: tuple[ir.Tool, ...]) -> None:
    req = ir.ChatRequest(model="m", messages=HISTORY, tools=tools)
    out = apply_to_request(req)
    assert out.messages[0] is USER
    assert out.messages[1].content == (ir.Text(ASSISTANT_TEXT),)
    # the image of the orphan result follows its text; the user's own text stays last
    assert out.messages[2].content == (ir.Text(RESULTS_TEXT), ir.Image("image/png", "AAAA"),
                                       ir.Text("Thanks!"))
    assert bool(out.system) == bool(tools) and out.tools == ()


def test_history_markup_is_what_the_parser_reads() -> None:
    history_text = apply_to_request(ir.ChatRequest(model="m", messages=HISTORY)).messages[1].content[0].text
    resp = parse_response(ir.ChatResponse("r", "m", (ir.Text(history_text),)), REQ, ir.Ids(0))
    assert resp.content == (ir.Text("Checking."), ir.ToolUse("call_00001", "get_weather", '{"city":"Paris"}'),
                            ir.ToolUse("call_00002", "apply_patch", "a ]]> b\n", "custom"))


# ---- stream ----

EXPECTED_TWO = [("Text", "Let me check both."), ("tool", "get_weather", '{"city":"Paris"}', "function"),
                ("tool", "get_time", '{"tz":"Asia/Tokyo"}', "function")]


def test_text_then_two_calls() -> None:
    events = stream([TEXT_TWO_CALLS])
    check_blocks(events)
    assert blocks(events) == EXPECTED_TWO
    assert events[0] == ir.MessageStart("up1", "up-model")
    assert events[3:5] == [ir.BlockStop(0), ir.BlockStart(1, ir.ToolUse("call_00001", "get_weather", ""))]
    assert stop_of(events) == ir.MessageDelta("tool_use", ir.Usage(5, 7))
    assert events[-1] == ir.MessageStop()


def test_every_cut_point_gives_the_same_events() -> None:
    whole = merged(stream([TEXT_TWO_CALLS]))
    for cut in range(len(TEXT_TWO_CALLS) + 1):
        events = stream([TEXT_TWO_CALLS[:cut], TEXT_TWO_CALLS[cut:]])
        check_blocks(events)
        assert merged(events) == whole, cut
    for size in range(1, 8):  # many small deltas
        parts = [TEXT_TWO_CALLS[i:i + size] for i in range(0, len(TEXT_TWO_CALLS), size)]
        assert merged(stream(parts)) == whole, size


def test_text_streams_at_once_but_never_a_partial_trigger() -> None:
    t = PromptToolStream(REQ, ir.Ids(0))
    t.feed(ir.BlockStart(0, ir.Text("")))
    assert t.feed(ir.BlockDelta(0, "text", "Hello")) == [ir.BlockStart(0, ir.Text("")),
                                                          ir.BlockDelta(0, "text", "Hello")]
    assert t.feed(ir.BlockDelta(0, "text", " wor")) == [ir.BlockDelta(0, "text", " wor")]
    assert t.feed(ir.BlockDelta(0, "text", "ld\n<Function_br")) == [ir.BlockDelta(0, "text", "ld")]
    assert t.feed(ir.BlockDelta(0, "text", "idge")) == []
    assert t.feed(ir.BlockDelta(0, "text", "d")) == [ir.BlockDelta(0, "text", "\n<Function_bridged")]


def test_call_without_text() -> None:
    events = stream([CALLS[:10], CALLS[10:]])
    check_blocks(events)
    assert isinstance(events[1], ir.BlockStart) and isinstance(events[1].block, ir.ToolUse)
    assert events[1].index == 0
    assert blocks(events) == EXPECTED_TWO[1:]


def test_parallel_calls_disabled_keeps_the_first() -> None:
    events = stream([TEXT_TWO_CALLS], with_choice(None, parallel=False))
    assert blocks(events) == EXPECTED_TWO[:2]


def test_freeform_tool_call() -> None:
    patch = "*** Begin Patch\n*** Add File: a.txt\n+hi ]]> there\n*** End Patch"
    text = "Patching.\n" + render_calls([("apply_patch", patch)])
    for cut in range(0, len(text) + 1, 7):
        events = stream([text[:cut], text[cut:]])
        check_blocks(events)
        assert blocks(events) == [("Text", "Patching."), ("tool", "apply_patch", patch, "custom")]


def test_freeform_input_without_cdata_and_as_json() -> None:
    text = (f"{TRIGGER}\n<function_calls>\n<function_call>\n<tool>apply_patch</tool>\n"
            "<input>\nline 1\nline 2\n</input>\n</function_call>\n<function_call><tool>apply_patch</tool>"
            '<args_json>{"input": "x"}</args_json></function_call></function_calls>')
    assert blocks(stream([text])) == [("tool", "apply_patch", "line 1\nline 2", "custom"),
                                      ("tool", "apply_patch", "x", "custom")]


@pytest.mark.parametrize("markup", [
    # a code fence around everything, arguments without CDATA
    f"```xml\n{TRIGGER}\n<function_calls>\n  <function_call>\n    <tool> get_weather </tool>\n"
    '    <args_json>{"city": "Paris"}</args_json>\n  </function_call>\n</function_calls>\n```\n',
    # the fence inside the block, arguments in a json fence
    f"{TRIGGER}\n```xml\n<function_calls><function_call><tool>get_weather</tool><args_json>\n```json\n"
    '{"city": "Paris"}\n```\n</args_json></function_call></function_calls>\n```',
    # single quotes and a trailing comma
    f"{TRIGGER}\n<function_calls><function_call><tool>get_weather</tool><args_json>{{'city': 'Paris',}}"
    "</args_json></function_call></function_calls>",
    # Hermes/Qwen-style JSON body in <tool_call>, closing tag missing at the end of the answer
    f'{TRIGGER}\n<function_calls>\n<tool_call>\n{{"name": "get_weather", "arguments": {{"city": "Paris"}}}}\n'
    "</tool_call>",
    # name attribute and <args> with one element per argument
    f'{TRIGGER}<function_calls><function_call name="get_weather"><args><city>Paris</city></args>'
    "</function_call></function_calls>",
    # no <function_call> around the one call
    f'{TRIGGER}\n<function_calls>\n<tool>get_weather</tool>\n<args_json>{{"city":"Paris"}}</args_json>\n'
    "</function_calls>",
])
def test_tolerated_markup(markup: str) -> None:
    for cut in range(len(markup) + 1):
        events = stream(["I'll look.\n\n" + markup[:cut], markup[cut:]])
        check_blocks(events)
        assert blocks(events) == [("Text", "I'll look."),
                                  ("tool", "get_weather", '{"city":"Paris"}', "function")]


@pytest.mark.parametrize("text", [
    # unknown tool
    "Hm.\n" + render_calls([("get_weather", {"city": "Paris"}), ("launch_rockets", {})]) + "\nafter",
    # unparsable arguments
    f"Hm.\n{TRIGGER}\n<function_calls><function_call><tool>get_weather</tool><args_json>{{city: Paris"
    "</args_json></function_call></function_calls> after",
    # arguments that are not an object
    f"Hm. {TRIGGER}<function_calls><function_call><tool>get_weather</tool><args_json>[1]</args_json>"
    "</function_call></function_calls>",
    # the trigger merely mentioned
    f"The marker is {TRIGGER} and nothing else.",
    # a block cut off before its call closed
    f"Hm.\n{TRIGGER}\n<function_calls><function_call><tool>get_weather</tool><args_json><![CDATA[{{\"ci",
    # a fence that is not markup, and a partial trigger
    "```python\nprint('<Function_b')\n```\n<Function",
])
def test_malformed_markup_stays_text_verbatim(text: str) -> None:
    for cut in range(len(text) + 1):
        events = stream([text[:cut], text[cut:]])
        check_blocks(events)
        assert blocks(events) == [("Text", text)], cut
        assert stop_of(events).stop_reason == "end_turn"


def test_failed_block_then_valid_block() -> None:
    bad = render_calls([("nope", {})])
    text = "A\n" + bad + "\nB\n" + render_calls([("get_time", {})]) + " tail"
    assert blocks(stream([text])) == [("Text", "A\n" + bad + "\nB"), ("tool", "get_time", "{}", "function")]


def test_forbidden_tool_by_choice_stays_text() -> None:
    req = with_choice(ir.ToolChoice("tool", "get_time"))
    text = "x\n" + render_calls([("get_weather", {"city": "Paris"})])
    assert blocks(stream([text], req)) == [("Text", text)]
    none = with_choice(ir.ToolChoice("none"))
    assert stream([text], none) == stream([text], ir.ChatRequest(model="m", messages=(USER,)))


def test_thinking_and_refusal_pass_through_renumbered() -> None:
    t = PromptToolStream(REQ, ir.Ids(0))
    events = [ir.BlockStart(0, ir.Thinking("")), ir.BlockDelta(0, "thinking", "hmm"),
              ir.BlockDelta(0, "signature", "sig"), ir.BlockStop(0),
              ir.BlockStart(1, ir.Text("")), ir.BlockDelta(1, "text", "Sure.\n" + CALLS[:30]),
              ir.BlockDelta(1, "text", CALLS[30:]), ir.BlockStop(1),
              ir.BlockStart(2, ir.Thinking("")), ir.BlockDelta(2, "thinking", "more"), ir.BlockStop(2),
              ir.MessageDelta("end_turn")]
    out = [o for ev in events for o in t.feed(ev)] + t.flush()
    check_blocks(out)
    assert out[:5] == [ir.BlockStart(0, ir.Thinking("")), ir.BlockDelta(0, "thinking", "hmm"),
                       ir.BlockDelta(0, "signature", "sig"), ir.BlockStop(0), ir.BlockStart(1, ir.Text(""))]
    assert blocks(out) == [("Thinking", "hmmsig"), ("Text", "Sure."), *EXPECTED_TWO[1:], ("Thinking", "more")]
    refusal = PromptToolStream(REQ, ir.Ids(0))
    ev = ir.BlockStart(0, ir.Text("", {"refusal": True}))
    assert refusal.feed(ev) == [ev] and refusal.feed(ir.BlockDelta(0, "text", TRIGGER)) == [
        ir.BlockDelta(0, "text", TRIGGER)]


def test_stream_error_releases_held_text() -> None:
    t = PromptToolStream(REQ, ir.Ids(0))
    out = t.feed(ir.BlockStart(0, ir.Text(""))) + t.feed(ir.BlockDelta(0, "text", "ok <Func"))
    out += t.feed(ir.StreamError(502, "api_error", "cut"))
    assert blocks(out) == [("Text", "ok <Func")]
    assert out[-2:] == [ir.BlockStop(0), ir.StreamError(502, "api_error", "cut")]


# ---- non-stream ----


def test_parse_response() -> None:
    resp = ir.ChatResponse("r1", "up", (ir.Thinking("hmm", "sig"), ir.Text(TEXT_TWO_CALLS)), "end_turn",
                           usage=ir.Usage(3, 4))
    out = parse_response(resp, REQ, ir.Ids(0))
    assert out.content == (ir.Thinking("hmm", "sig"), ir.Text("Let me check both."),
                           ir.ToolUse("call_00001", "get_weather", '{"city":"Paris"}'),
                           ir.ToolUse("call_00002", "get_time", '{"tz":"Asia/Tokyo"}'))
    assert out.stop_reason == "tool_use" and out.usage == ir.Usage(3, 4) and out.id == "r1"


def test_parse_response_without_calls_keeps_text() -> None:
    resp = ir.ChatResponse("r1", "up", (ir.Text("Plain answer, mentioning <function_calls>."),), "max_tokens")
    out = parse_response(resp, REQ, ir.Ids(0))
    assert out == resp
    assert parse_response(resp, ir.ChatRequest(model="m", messages=(USER,)), ir.Ids(0)) is resp


def test_parse_response_matches_stream() -> None:
    for text in (TEXT_TWO_CALLS, "x\n" + render_calls([("nope", {})]), render_calls([("apply_patch", "p")])):
        resp = parse_response(ir.ChatResponse("r", "m", (ir.Text(text),)), REQ, ir.Ids(0))
        assert [("tool", b.name, b.arguments, b.kind) if isinstance(b, ir.ToolUse) else ("Text", b.text)
                for b in resp.content] == blocks(stream([text]))


# ---- full trip: upstream text -> PromptToolStream -> Chat Completions client ----


def test_chat_client_gets_tool_call_deltas() -> None:
    client_req = ir.ChatRequest(model="gpt-client", messages=(USER,), tools=(WEATHER, TIME), stream=True)
    transform, encoder = PromptToolStream(client_req, ir.Ids(0)), CHAT.stream_encoder(client_req, ir.Ids(0))
    upstream = [ir.MessageStart("up1", "qwen"), ir.BlockStart(0, ir.Text(""))]
    upstream += [ir.BlockDelta(0, "text", TEXT_TWO_CALLS[i:i + 5]) for i in range(0, len(TEXT_TWO_CALLS), 5)]
    upstream += [ir.BlockStop(0), ir.MessageDelta("end_turn"), ir.MessageStop()]
    frames = [f for ev in upstream for out in transform.feed(ev) for f in encoder.feed(out)]
    frames += [f for out in transform.flush() for f in encoder.feed(out)] + encoder.flush()
    assert frames[-1] == b"data: [DONE]\n\n"
    chunks = [orjson.loads(f[len(b"data: "):]) for f in frames[:-1]]
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert "".join(d.get("content") or "" for d in deltas) == "Let me check both."
    calls = [tc for d in deltas for tc in d.get("tool_calls", ())]
    assert calls == [
        {"index": 0, "id": "call_00001", "type": "function",
         "function": {"name": "get_weather", "arguments": ""}},
        {"index": 0, "function": {"arguments": '{"city":"Paris"}'}},
        {"index": 1, "id": "call_00002", "type": "function",
         "function": {"name": "get_time", "arguments": ""}},
        {"index": 1, "function": {"arguments": '{"tz":"Asia/Tokyo"}'}},
    ]
    assert [c["choices"][0]["finish_reason"] for c in chunks].count("tool_calls") == 1
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert all(TRIGGER not in (d.get("content") or "") for d in deltas)


def test_docstring_example_parses() -> None:
    """The format emulators copy from the module docstring is the one the parser reads."""
    import textwrap

    from translators.transforms import prompt_tools

    doc = prompt_tools.__doc__ or ""
    example = textwrap.dedent(doc[doc.index("    Let me check"):doc.index("</function_calls>") + 17])
    events = stream([example])
    assert blocks(events) == [("Text", "Let me check both cities."),
                              ("tool", "get_weather", '{"city":"Paris"}', "function"),
                              ("tool", "apply_patch", "*** Begin Patch\n...raw text...", "custom")]
    for choice, parallel, line in [
            (ir.ToolChoice("none"), None,
             "- In this reply you must NOT call any tool: answer with text only."),
            (ir.ToolChoice("required"), None, "- In this reply you MUST call at least one tool."),
            (ir.ToolChoice("tool", "NAME"), None,
             "- In this reply you MUST call the tool NAME (and no other tool)."),
            (None, False, "- Call at most ONE tool per reply: a single <function_call> element.")]:
        assert f"`{line}`" in doc
        req = ir.ChatRequest(model="m", messages=(USER,), tools=(ir.Tool("NAME"),), tool_choice=choice,
                             parallel_tool_calls=parallel)
        assert f"\n{line}" in apply_to_request(req).system[0].text


def test_stream_pipeline_from_chat_upstream_bytes() -> None:
    """Upstream Chat SSE whose content carries the markup, through StreamPipeline with the transform,
    cut every few bytes: the client always gets the same tool calls."""
    from translators.pipeline import StreamPipeline

    client_req = ir.ChatRequest(model="gpt-client", messages=(USER,), tools=(WEATHER, TIME), stream=True)
    pieces = [TEXT_TWO_CALLS[i:i + 9] for i in range(0, len(TEXT_TWO_CALLS), 9)]
    chunks = [{"id": "u1", "model": "up", "choices": [{"index": 0, "delta": {"content": p}}]} for p in pieces]
    chunks.append({"id": "u1", "model": "up", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    body = b"".join(b"data: " + orjson.dumps(c) + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"

    def client_bytes(step: int) -> bytes:
        pipe = StreamPipeline(CHAT.stream_decoder(client_req), CHAT.stream_encoder(client_req, ir.Ids(0)),
                              [PromptToolStream(client_req, ir.Ids(0))])
        out = [f for i in range(0, len(body), step) for f in pipe.feed(body[i:i + step])] + pipe.flush()
        return b"".join(out)

    whole = client_bytes(len(body))
    for step in (1, 7, 64):
        assert client_bytes(step) == whole
    frames = [orjson.loads(f[6:]) for f in whole.split(b"\n\n") if f.startswith(b"data: {")]
    calls = [tc for f in frames for tc in f["choices"][0]["delta"].get("tool_calls", ())]
    assert [c.get("function", {}).get("name") for c in calls if "id" in c] == ["get_weather", "get_time"]
    assert frames[-1]["choices"][0]["finish_reason"] == "tool_calls"

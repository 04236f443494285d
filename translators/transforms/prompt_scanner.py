"""Finds tool-call markup in a model's text as it streams: the one parser behind both the stream
transform and the non-stream parse (prompt_tools.py).

Text in (any split), pieces out: `str` to show as text, or a tuple of ParsedCall for one complete,
valid block. The output does not depend on how the text was split (chatgpt-web.md 10.3 Streaming)."""

from __future__ import annotations

import re
from typing import Literal
from typing import Mapping

from translators import ir
from translators.transforms.prompt_markup import TRIGGER
from translators.transforms.prompt_markup import ParsedCall
from translators.transforms.prompt_markup import parse_block

Piece = str | tuple[ParsedCall, ...]

# Whitespace, fence language and padding are bounded, so a held-back tail is at most _REACH
# characters long and each delta costs the same whatever was said before.
_WS, _LANG, _PAD = r"\s{0,64}", r"[\w.+-]{0,32}", r"[ \t]{0,16}"
_TRIGGER_PREFIX = "|".join(re.escape(TRIGGER[:k]) for k in range(len(TRIGGER) - 1, 0, -1))
# The longest tail that could still grow into [whitespace][```lang line][whitespace]TRIGGER: held
# back, so that a fence around the markup and the whitespace before it never reach the client.
_FENCE_START = rf"`{{1,2}}|```{_LANG}{_PAD}(?:\r|\r?\n{_WS}(?:{_TRIGGER_PREFIX})?)?"
_HOLD = re.compile(rf"{_WS}(?:{_FENCE_START}|(?:{_TRIGGER_PREFIX}))?\Z")
# What is dropped in front of a complete trigger: every prefix of it matches _HOLD, so none of it
# was shown yet, whatever the split.
_LEAD = re.compile(rf"{_WS}(?:```{_LANG}{_PAD}\r?\n{_WS})?\Z")
_REACH = 64 + 3 + 32 + 16 + 2 + 64 + len(TRIGGER)
# The end of a block, or the start of a CDATA section (inside which tags do not count). The closing
# tag is bounded so that rescanning the last _OVERLAP characters finds one cut by a delta boundary.
_MARK = re.compile(r"<!\[CDATA\[|</function_calls\s{0,20}>")
_OVERLAP = 40


class CallScanner:
    def __init__(self, tools: Mapping[str, ir.Tool], single: bool = False) -> None:
        self.tools, self.single = tools, single
        self.state: Literal["text", "block", "done"] = "text"
        self.buf = ""  # text: the held-back tail
        # block state: its text after the trigger (in chunks: arguments may be long and come in tiny
        # deltas), the part of it not searched for the closing tag yet, and where that part starts
        self.chunks: list[str] = []
        self.unscanned, self.pos, self.in_cdata = "", 0, False
        self.lead = ""  # block: the whitespace/fence before the trigger and the trigger (shown if it fails)
        self.opened = False  # block: a tag follows the trigger (it was not a mere mention)

    def feed(self, text: str) -> list[Piece]:
        if self.state == "block":
            self.chunks.append(text)
            self.unscanned += text
        elif self.state == "text":
            self.buf += text
        return self._run(final=False)

    def finish(self) -> list[Piece]:
        """The text ended: show what was held, parse an unterminated block (or show it raw)."""
        out = self._run(final=True)
        self.state, self.buf = "text", ""
        return out

    def _run(self, final: bool) -> list[Piece]:
        out: list[Piece] = []
        progressed = True
        # nothing after a block of calls is kept (chatgpt-web.md 10.3): "done" reads no further
        while progressed and self.state != "done":
            progressed = self._text(out, final) if self.state == "text" else self._block(out, final)
        return out

    def _text(self, out: list[Piece], final: bool) -> bool:
        i = self.buf.find(TRIGGER)
        if i < 0:
            cut = len(self.buf) if final else _hold_start(self.buf)
            _show(out, self.buf[:cut])
            self.buf = self.buf[cut:]
            return False
        cut = _LEAD.search(self.buf, max(0, i - _REACH), i).start()  # type: ignore[union-attr]
        _show(out, self.buf[:cut])
        self.lead, rest, self.buf = self.buf[cut:i + len(TRIGGER)], self.buf[i + len(TRIGGER):], ""
        self.state, self.opened, self.chunks = "block", False, [rest]
        self.unscanned, self.pos, self.in_cdata = rest, 0, False
        return True

    def _block(self, out: list[Piece], final: bool) -> bool:
        if not self.opened:
            opened = _opens_block("".join(self.chunks))
            if opened is None and not final:
                return False
            if opened is False:  # the trigger was only mentioned: it is text, scan on after it
                return self._fail(out, 0)
            self.opened = True
        end = self._find_end()
        if end is None and not final:
            return False
        text = "".join(self.chunks)
        calls = parse_block(text[:end[0]] if end else text, self.tools)
        if calls is None:
            return self._fail(out, end[1] if end else len(text))
        out.append(tuple(calls[:1] if self.single else calls))  # parallel_tool_calls=false: the first only
        self.state, self.chunks = "done", []
        return True

    def _fail(self, out: list[Piece], upto: int) -> bool:
        """Not a valid block: its raw text is shown (nothing is lost) and scanning goes on after it."""
        text = "".join(self.chunks)
        _show(out, self.lead + text[:upto])
        self.buf, self.state, self.chunks = text[upto:], "text", []
        return True

    def _find_end(self) -> tuple[int, int] | None:
        """The span of `</function_calls>` outside CDATA, searched in the new text only."""
        s = self.unscanned
        at = 0
        while True:
            if self.in_cdata:
                j = s.find("]]>", at)
                if j < 0:
                    self._scanned(max(at, len(s) - 2))
                    return None
                at, self.in_cdata = j + 3, False
            m = _MARK.search(s, at)
            if m is None:
                self._scanned(max(at, len(s) - _OVERLAP))
                return None
            if not m.group().startswith("<!"):
                return self.pos + m.start(), self.pos + m.end()
            at, self.in_cdata = m.end(), True

    def _scanned(self, upto: int) -> None:
        self.pos += upto
        self.unscanned = self.unscanned[upto:]


def _hold_start(text: str) -> int:
    return _HOLD.search(text, max(0, len(text) - _REACH)).start()  # type: ignore[union-attr]


def _opens_block(text: str) -> bool | None:
    """Whether the text after a trigger starts with a tag (optionally inside a code fence); None
    while it cannot tell yet."""
    s = text.lstrip()
    if s.startswith("```"):
        newline = s.find("\n")
        if newline < 0:
            return None
        s = s[newline + 1:].lstrip()
    elif "```".startswith(s):  # nothing yet, or the start of a fence
        return None
    return None if not s else s[0] == "<"


def _show(out: list[Piece], text: str) -> None:
    if not text:
        return
    if out and isinstance(out[-1], str):
        out[-1] += text
    else:
        out.append(text)

"""The emulated ChatGPT answer stream (chatgpt-web.md 5), in both formats.

v1 (5.1): `event: delta_encoding` / `"v1"`, typed events without an `event:` line, `event: delta`
operations: root `add` per message (system echo, user echo, then optional thoughts, reasoning recap,
internal `bio` tool call and its tool message, then the answer), appends to
`/message/content/parts/0` in the short form `{"v": ...}`, a final `patch` batch, then
`message_stream_complete` and `[DONE]`. Cumulative (5.3): the whole document each time, `parts[0]`
growing. Both with Python-style separators, \\u escapes and trailing spaces on some data lines.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from typing import Iterator

from .script import Decision
from .script import split_fragments
from .script import split_text
from .wire import reasoning_text

FINISH = {"type": "stop", "stop_tokens": [200002]}
TRAILING = "     "  # the run of spaces some captured data lines end with (5.3)


def _dumps(obj: Any) -> str:
    """The captures' JSON: `", "` / `": "` separators and \\uXXXX escapes (5.1)."""
    return json.dumps(obj, ensure_ascii=True)


def data(obj: Any, trailing: str = "") -> bytes:
    return f"data: {_dumps(obj)}{trailing}\n\n".encode()


def delta(op: dict[str, Any]) -> bytes:
    return f"event: delta\ndata: {_dumps(op)}\n\n".encode()


class Answer:
    def __init__(self, model: str, last: dict[str, Any], decision: Decision, text: str, *,
                 thinking: bool, memory: bool) -> None:
        self.model, self.last, self.text = model, last, text
        self.slug = "gpt-5-2" if model == "auto" else model  # the model actually used (4, field notes)
        self.conversation_id = str(uuid.uuid4())
        self.reasoning = reasoning_text(decision) if thinking else ""
        self.memory = memory
        # markup cut anywhere (as a model's tokens would be), text at spaces (SCRIPT.md)
        self.pieces = split_fragments(text, 5) if decision.calls else split_text(text)
        self.now = time.time()

    # ---- the messages of the turn ----

    def message(self, role: str, content: dict[str, Any], status: str = "finished_successfully",
                end_turn: bool | None = None, recipient: str = "all", metadata: dict[str, Any] | None = None,
                name: str | None = None, mid: str | None = None) -> dict[str, Any]:
        return {"id": mid or str(uuid.uuid4()), "author": {"role": role, "name": name, "metadata": {}},
                "create_time": self.now if role != "system" else None, "update_time": None,
                "content": content, "status": status, "end_turn": end_turn,
                "weight": 0.0 if role == "system" else 1.0,
                "metadata": metadata if metadata is not None else {}, "recipient": recipient, "channel": None}

    def doc(self, message: dict[str, Any]) -> dict[str, Any]:
        return {"message": message, "conversation_id": self.conversation_id, "error": None,
                "error_code": None}

    def _meta(self) -> dict[str, Any]:
        return {"citations": [], "content_references": [], "message_type": "next", "model_slug": self.slug,
                "default_model_slug": "auto", "parent_id": self.last.get("id"), "model_switcher_deny": []}

    def _echoes(self) -> list[dict[str, Any]]:
        system = self.message("system", {"content_type": "text", "parts": [""]}, end_turn=True,
                              metadata={"is_visually_hidden_from_conversation": True})
        user = self.message("user", dict(self.last["content"]), mid=self.last.get("id"))
        return [system, user]

    def _side_messages(self) -> list[tuple[dict[str, Any], str, str]]:
        """(message as added, path of its growing text, that text): thoughts, recap, bio call."""
        out = []
        if self.reasoning:
            thoughts = {"content_type": "thoughts", "thoughts": [
                {"summary": "Reading the script", "content": "", "chunks": [], "finished": False}],
                "source_analysis_msg_id": str(uuid.uuid4())}
            out.append((self.message("assistant", thoughts, "in_progress", metadata=self._meta()),
                        "/message/content/thoughts/0/content", self.reasoning))
            recap = {"content_type": "reasoning_recap", "content": "Thought for 2s"}
            out.append((self.message("assistant", recap, metadata=self._meta()), "", ""))
        if self.memory:  # ChatGPT's own memory tool: a call and its result, both to be skipped (5.2)
            call = {"content_type": "code", "language": "unknown", "text": ""}
            tool_call = self.message("assistant", call, "in_progress", recipient="bio", metadata=self._meta())
            out.append((tool_call, "/message/content/text", "The user asked to remember something."))
            result = {"content_type": "text", "parts": ["Model set context updated."]}
            out.append((self.message("tool", result, name="bio", metadata={}), "", ""))
        return out

    def _answer(self) -> dict[str, Any]:
        return self.message("assistant", {"content_type": "text", "parts": [""]}, "in_progress",
                            metadata=self._meta())

    # ---- v1 (5.1) ----

    def v1(self) -> Iterator[bytes]:
        cid = self.conversation_id
        yield b'event: delta_encoding\ndata: "v1"\n\n'
        yield data({"type": "resume_conversation_token", "kind": "conduit", "token": "eyJhbGciOiJFUzI1NiJ9."
                    + uuid.uuid4().hex, "conversation_id": cid}, " ")
        system, user = self._echoes()
        yield delta({"p": "", "o": "add", "v": self.doc(system), "c": 0})
        yield delta({"v": self.doc(user), "c": 1})  # short form: p and o of the previous event
        yield data({"type": "input_message", "input_message": user, "conversation_id": cid})
        count = 2
        for message, path, text in self._side_messages():
            yield delta({"p": "", "o": "add", "v": self.doc(message), "c": count})
            count += 1
            if path:
                yield from self._grow(path, split_text(text), last=None)
                yield delta({"p": "", "o": "patch", "v": [
                    {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
                    {"p": "/message/end_turn", "o": "replace", "v": False}]})
        answer = self._answer()
        yield delta({"p": "", "o": "add", "v": self.doc(answer), "c": count})
        yield data({"type": "message_marker", "conversation_id": cid, "message_id": answer["id"],
                    "marker": "user_visible_token", "event": "first"})
        yield from self._grow("/message/content/parts/0", self.pieces[:-1], last=self.pieces[-1:])
        yield data({"type": "server_ste_metadata", "metadata": {
            "plan_type": "plus", "model_slug": self.slug, "message_id": answer["id"],
            "turn_exchange_id": str(uuid.uuid4()), "resume_with_websockets": False}, "conversation_id": cid})
        yield data({"type": "message_stream_complete", "conversation_id": cid})
        yield b"data: [DONE]\n\n"

    def _grow(self, path: str, pieces: list[str], last: list[str] | None) -> Iterator[bytes]:
        """Appends to `path` (the first with p/o, the rest in the short form), a title midway; with
        `last`, the final batch appends it and ends the message (end_turn true, finish_details)."""
        for i, piece in enumerate(pieces):
            yield delta({"p": path, "o": "append", "v": piece} if i == 0 else {"v": piece})
            if i == 0 and last is not None:
                yield data({"type": "title_generation", "title": "Emulated Conversation",
                            "conversation_id": self.conversation_id})
        if last is not None:
            ops = [{"p": path, "o": "append", "v": p} for p in last]
            yield delta({"p": "", "o": "patch", "v": ops + [
                {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
                {"p": "/message/end_turn", "o": "replace", "v": True},
                {"p": "/message/metadata", "o": "append", "v": {"finish_details": FINISH,
                                                                "is_complete": True}}]})

    # ---- cumulative (5.3) ----

    def cumulative(self) -> Iterator[bytes]:
        for message, path, text in self._side_messages():
            yield from self._snapshots(message, path, split_text(text) if path else [], end_turn=False)
        yield from self._snapshots(self._answer(), "/message/content/parts/0", self.pieces, end_turn=True)
        yield data({"type": "title_generation", "title": "Emulated Conversation",
                    "conversation_id": self.conversation_id})
        yield b"data: [DONE]\n\n"

    def _snapshots(self, message: dict[str, Any], path: str, pieces: list[str],
                   end_turn: bool) -> Iterator[bytes]:
        """The whole message after each piece; the last one finished (5.3)."""
        yield data(self.doc(message), TRAILING)
        sent = ""
        for i, piece in enumerate(pieces):
            sent += piece
            _set(message, path, sent)
            if i == len(pieces) - 1:
                message.update(status="finished_successfully", end_turn=end_turn)
                if end_turn:
                    message["metadata"] = {**message["metadata"], "finish_details": FINISH,
                                           "is_complete": True}
            yield data(self.doc(message), TRAILING if i % 2 == 0 else "")
        if not pieces and message["status"] != "finished_successfully":
            message.update(status="finished_successfully", end_turn=end_turn)
            yield data(self.doc(message))


def _set(message: dict[str, Any], path: str, text: str) -> None:
    """Write `text` at one of the three paths the answers grow at."""
    content = message["content"]
    if path.endswith("parts/0"):
        content["parts"] = [text]
    elif path.endswith("thoughts/0/content"):
        content["thoughts"] = [{**content["thoughts"][0], "content": text, "finished": True}]
    else:
        content["text"] = text

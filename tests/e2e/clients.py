"""One adapter per client dialect, each driving its official SDK: ask a question (text, tools,
reasoning, image), stream or not, and read the answer back into a dialect-neutral Answer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import anthropic
import openai

# A 1x1 transparent PNG.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


@dataclass
class Answer:
    text: str = ""
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (id, name, args)
    reasoning: str = ""
    text_deltas: int = 0
    raw: Any = None  # what the client needs to replay the assistant turn


class ChatClient:
    name = "chat"

    def __init__(self, base_url: str, key: str) -> None:
        self.sdk = openai.OpenAI(base_url=base_url + "/v1", api_key=key, max_retries=0, timeout=30)

    def user(self, prompt: str, image: bool = False) -> dict[str, Any]:
        if not image:
            return {"role": "user", "content": prompt}
        return {"role": "user", "content": [{"type": "text", "text": prompt}, {
            "type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]}

    def ask(self, model: str, messages: list[Any], *, tools: bool = False, stream: bool = False,
            reasoning: bool = False) -> Answer:
        kw: dict[str, Any] = {"model": model, "messages": messages}
        if tools:
            kw["tools"] = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}}]
        if reasoning:
            kw["reasoning_effort"] = "low"
        if not stream:
            r = self.sdk.chat.completions.create(**kw)
            m = r.choices[0].message
            calls = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in m.tool_calls or []]
            return Answer(m.content or "", calls, getattr(m, "reasoning_content", None) or "", 0, m)
        ans, acc = Answer(), {}
        for chunk in self.sdk.chat.completions.create(stream=True, **kw):
            for ch in chunk.choices:
                d = ch.delta
                if d.content:
                    ans.text += d.content
                    ans.text_deltas += 1
                ans.reasoning += getattr(d, "reasoning_content", None) or ""
                for tc in d.tool_calls or []:
                    call = acc.setdefault(tc.index, {"id": tc.id, "name": tc.function.name, "args": ""})
                    call["args"] += tc.function.arguments or ""
        ans.calls = [(c["id"], c["name"], json.loads(c["args"])) for c in acc.values()]
        return ans

    def replay(self, ans: Answer) -> list[Any]:
        calls = [{"id": i, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
                 for i, n, a in ans.calls]
        return [{"role": "assistant", "content": ans.text or None, **({"tool_calls": calls} if calls else {})}]

    def results(self, ans: Answer, texts: list[str]) -> list[Any]:
        return [{"role": "tool", "tool_call_id": c[0], "content": t} for c, t in zip(ans.calls, texts)]


class ResponsesClient:
    name = "responses"

    def __init__(self, base_url: str, key: str) -> None:
        self.sdk = openai.OpenAI(base_url=base_url + "/v1", api_key=key, max_retries=0, timeout=30)

    def user(self, prompt: str, image: bool = False) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "input_text", "text": prompt}]
        if image:
            content.append({"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"})
        return {"role": "user", "content": content}

    def ask(self, model: str, messages: list[Any], *, tools: bool = False, stream: bool = False,
            reasoning: bool = False) -> Answer:
        kw: dict[str, Any] = {"model": model, "input": messages}
        if tools:
            kw["tools"] = [{"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA, "strict": False}]
        if reasoning:
            kw["reasoning"] = {"effort": "low", "summary": "auto"}
        deltas = 0
        if stream:
            with self.sdk.responses.stream(**kw) as s:
                for ev in s:
                    deltas += ev.type == "response.output_text.delta"
                r = s.get_final_response()
        else:
            r = self.sdk.responses.create(**kw)
        ans = Answer(text_deltas=deltas, raw=r)
        for item in r.output:
            if item.type == "message":
                ans.text += "".join(p.text for p in item.content if p.type == "output_text")
            elif item.type == "function_call":
                ans.calls.append((item.call_id, item.name, json.loads(item.arguments)))
            elif item.type == "reasoning":
                ans.reasoning += "".join(s.text for s in item.summary)
        return ans

    def replay(self, ans: Answer) -> list[Any]:
        return [item.model_dump(exclude_none=True) for item in ans.raw.output if item.type != "message"] + [
            item.model_dump(exclude_none=True) for item in ans.raw.output if item.type == "message"]

    def results(self, ans: Answer, texts: list[str]) -> list[Any]:
        return [{"type": "function_call_output", "call_id": c[0], "output": t} for c, t in zip(ans.calls, texts)]


class MessagesClient:
    name = "messages"

    def __init__(self, base_url: str, key: str) -> None:
        self.sdk = anthropic.Anthropic(base_url=base_url, api_key=key, max_retries=0, timeout=30)

    def user(self, prompt: str, image: bool = False) -> dict[str, Any]:
        if not image:
            return {"role": "user", "content": prompt}
        return {"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "text", "text": prompt}]}

    def ask(self, model: str, messages: list[Any], *, tools: bool = False, stream: bool = False,
            reasoning: bool = False) -> Answer:
        kw: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": 4096}
        if tools:
            kw["tools"] = [{"name": "get_weather", "description": "Weather.", "input_schema": WEATHER_SCHEMA}]
        if reasoning:
            kw["thinking"] = {"type": "enabled", "budget_tokens": 2048}
        deltas = 0
        if stream:
            with self.sdk.messages.stream(**kw) as s:
                for ev in s:
                    deltas += ev.type == "content_block_delta" and ev.delta.type == "text_delta"
                m = s.get_final_message()
        else:
            m = self.sdk.messages.create(**kw)
        ans = Answer(text_deltas=deltas, raw=m)
        for b in m.content:
            if b.type == "text":
                ans.text += b.text
            elif b.type == "tool_use":
                ans.calls.append((b.id, b.name, b.input))
            elif b.type == "thinking":
                ans.reasoning += b.thinking
        return ans

    def replay(self, ans: Answer) -> list[Any]:
        return [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in ans.raw.content]}]

    def results(self, ans: Answer, texts: list[str]) -> list[Any]:
        return [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": c[0], "content": t}
                                             for c, t in zip(ans.calls, texts)]}]


CLIENTS = {"chat": ChatClient, "responses": ResponsesClient, "messages": MessagesClient}

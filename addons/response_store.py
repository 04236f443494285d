"""Recent Responses-API answers, so `previous_response_id` works whatever the upstream.

In memory and bounded: past `capacity` entries the oldest is forgotten, and a request naming it
gets the 404 `previous_response_not_found` OpenAI itself gives for an unknown id. Answers asked
with `store: false` are not kept (as OpenAI does)."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict

from translators import ir


class ResponseStore:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, tuple[ir.Message, ...]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, response_id: object) -> bool:
        return response_id in self._items

    def put(self, response_id: str, req: ir.ChatRequest, resp: ir.ChatResponse) -> None:
        """Keep the whole conversation up to and including this answer."""
        turn = (ir.Message("assistant", resp.content),) if resp.content else ()
        self._items[response_id] = req.messages + turn
        self._items.move_to_end(response_id)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def expand(self, req: ir.ChatRequest) -> ir.ChatRequest | None:
        """The request with the stored conversation in front, or None when the id is unknown."""
        assert req.previous_response_id is not None
        prior = self._items.get(req.previous_response_id)
        if prior is None:
            return None
        self._items.move_to_end(req.previous_response_id)
        return dataclasses.replace(req, messages=prior + req.messages, previous_response_id=None)

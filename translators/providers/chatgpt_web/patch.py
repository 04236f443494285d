"""The `v1` delta encoding (chatgpt-web.md 5.1 (b)): JSON-Patch-like operations on a per-stream
document `{"message": {...}, "conversation_id": ..., "error": null}`.

`p` is a JSON-pointer path (`""` = the whole document), `o` one of add / replace / append / patch /
truncate / remove, `v` the value. A missing `p` or `o` reuses the previous operation's (the short
forms `{"v": " more text"}` and `{"v": {"message": ...}, "c": 2}`). Malformed operations are ignored:
a stream keeps going past what it cannot apply, as the web app does."""

from __future__ import annotations

from typing import Any

OPS = ("add", "replace", "append", "patch", "truncate", "remove")
MAX_DEPTH = 16  # nested `patch` batches


class Document:
    """The document a v1 stream builds. `added` counts root adds: each starts a new message."""

    __slots__ = ("value", "path", "op", "added")

    def __init__(self) -> None:
        self.value: Any = None
        self.path, self.op = "", "add"
        self.added = 0

    def apply(self, event: dict[str, Any]) -> None:
        """One delta event; its `p`/`o` become the defaults of the next one."""
        path, op = event.get("p", self.path), event.get("o", self.op)
        if not isinstance(path, str) or op not in OPS:
            return
        self.path, self.op = path, op
        self._apply(path, op, event.get("v"), 0)

    def _apply(self, path: str, op: str, value: Any, depth: int) -> None:
        if op == "patch":  # a batch; its operations carry their own p/o (or reuse the batch's)
            if isinstance(value, list) and depth < MAX_DEPTH:
                sub_path, sub_op = path, "add"
                for item in value:
                    if isinstance(item, dict):
                        sub_path, sub_op = item.get("p", sub_path), item.get("o", sub_op)
                        if isinstance(sub_path, str) and sub_op in OPS:
                            self._apply(sub_path, sub_op, item.get("v"), depth + 1)
            return
        keys = pointer(path)
        if not keys:
            self._root(op, value)
            return
        parent = _container(self.value, keys[:-1], create=op != "remove")
        if parent is not None:
            _operate(parent, keys[-1], op, value)

    def _root(self, op: str, value: Any) -> None:
        if op in ("add", "replace"):
            self.value = value
            self.added += op == "add"
        elif op == "append" and isinstance(self.value, dict) and isinstance(value, dict):
            self.value.update(value)


def pointer(path: str) -> list[str]:
    """`/message/content/parts/0` -> ["message", "content", "parts", "0"] (RFC 6901 escapes)."""
    if not path or path == "/":
        return []
    return [k.replace("~1", "/").replace("~0", "~") for k in path.lstrip("/").split("/")]


def _container(doc: Any, keys: list[str], create: bool) -> Any:
    """The object or list `keys` lead to; missing objects are created for writes."""
    node = doc
    for key in keys:
        if isinstance(node, dict):
            if not isinstance(node.get(key), (dict, list)):
                if not create:
                    return None
                node[key] = {}
            node = node[key]
        elif isinstance(node, list):
            i = _index(key, len(node))
            if i is None or i >= len(node):
                return None
            node = node[i]
        else:
            return None
    return node if isinstance(node, (dict, list)) else None


def _index(key: str, size: int) -> int | None:
    if key == "-":
        return size
    if key.isdigit():
        return int(key)
    return None


def _operate(parent: dict[str, Any] | list[Any], key: str, op: str, value: Any) -> None:
    if isinstance(parent, dict):
        if op in ("add", "replace"):
            parent[key] = value
        elif op == "append":
            parent[key] = _appended(parent.get(key), value)
        elif op == "truncate" and isinstance(value, int) and isinstance(parent.get(key), (str, list)):
            parent[key] = parent[key][:value]
        elif op == "remove":
            parent.pop(key, None)
        return
    i = _index(key, len(parent))
    if i is None or i > len(parent):
        return
    if op == "add":
        parent.insert(i, value)
    elif i == len(parent):
        if op in ("replace", "append"):
            parent.append(value)
    elif op == "replace":
        parent[i] = value
    elif op == "append":
        parent[i] = _appended(parent[i], value)
    elif op == "truncate" and isinstance(value, int) and isinstance(parent[i], (str, list)):
        parent[i] = parent[i][:value]
    elif op == "remove":
        del parent[i]


def _appended(current: Any, value: Any) -> Any:
    """String concatenation, list extension, or a shallow merge for objects (`/message/metadata`)."""
    if isinstance(current, str) and isinstance(value, str):
        return current + value
    if isinstance(current, list):
        return current + (value if isinstance(value, list) else [value])
    if isinstance(current, dict) and isinstance(value, dict):
        return {**current, **value}
    if current is None:
        return value
    return current

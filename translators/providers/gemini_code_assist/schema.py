"""JSON Schema -> the OpenAPI subset Gemini accepts in `parameters` / `responseSchema`.

gemini.md 2.5: an unknown key anywhere fails the WHOLE request with 400 INVALID_ARGUMENT
("Unknown name ... Cannot find field"), a `type` array fails with "Proto field is not repeating",
`enum` is only allowed on strings and string `format`s other than `enum`/`date-time` are refused.
So the schema is rebuilt from a whitelist, translating what has an equivalent: `$ref` inlined,
`allOf` merged, `oneOf` -> `anyOf`, `const` -> one-value `enum`, `["string","null"]` ->
`type` + `nullable`. Pure function, never mutates its input."""

from __future__ import annotations

from typing import Any
from typing import Mapping

# Keys kept as they are (the SDK's Schema type, gemini.md 2.5); the structural ones are rebuilt below.
PLAIN_KEYS = frozenset({
    "description", "title", "nullable", "minItems", "maxItems", "minProperties", "maxProperties",
    "minLength", "maxLength", "pattern", "minimum", "maximum", "default", "example", "propertyOrdering",
})
STRING_FORMATS = frozenset({"enum", "date-time"})
NUMBER_FORMATS = frozenset({"float", "double", "int32", "int64"})
GEMINI_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})
MAX_DEPTH = 32  # recursive `$ref`s are cut off here rather than expanded forever

Schema = dict[str, Any]


def gemini_schema(schema: Mapping[str, Any] | None) -> Schema:
    """A copy of `schema` that Gemini's `parameters` field accepts."""
    if not isinstance(schema, Mapping):
        return {"type": "OBJECT"}
    defs = {**_as_dict(schema.get("definitions")), **_as_dict(schema.get("$defs"))}
    return _clean(schema, defs, 0)


def _as_dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _clean(node: Mapping[str, Any], defs: dict[str, Any], depth: int) -> Schema:
    if depth > MAX_DEPTH:
        return {"type": "OBJECT"}
    node = _resolve(node, defs, depth)
    node = _merge_all_of(node, defs, depth)
    out: Schema = {k: v for k, v in node.items() if k in PLAIN_KEYS}
    _types(node, out, defs, depth)
    _enum(node, out)
    _format(node, out)
    examples = node.get("examples")
    if isinstance(examples, list) and examples and "example" not in out:
        out["example"] = examples[0]
    _children(node, out, defs, depth)
    return out


def _resolve(node: Mapping[str, Any], defs: dict[str, Any], depth: int) -> Mapping[str, Any]:
    """`{"$ref": "#/$defs/X", ...siblings}` -> the definition with the siblings laid over it."""
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    target = defs.get(ref.rsplit("/", 1)[-1])
    siblings = {k: v for k, v in node.items() if k != "$ref"}
    if not isinstance(target, Mapping) or depth >= MAX_DEPTH:
        return {"type": "object", **siblings}
    return {**_resolve(target, defs, depth + 1), **siblings}


def _merge_all_of(node: Mapping[str, Any], defs: dict[str, Any], depth: int) -> Mapping[str, Any]:
    """allOf has no equivalent: its members' properties and required lists are merged into the node."""
    parts = node.get("allOf")
    if not isinstance(parts, list):
        return node
    merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
    props = dict(_as_dict(merged.get("properties")))
    required = list(merged.get("required") or [])
    for part in parts:
        if not isinstance(part, Mapping):
            continue
        part = _merge_all_of(_resolve(part, defs, depth + 1), defs, depth + 1)
        props.update(_as_dict(part.get("properties")))
        required += [r for r in part.get("required") or [] if r not in required]
        for k, v in part.items():
            if k not in ("properties", "required"):
                merged.setdefault(k, v)
    if props:
        merged["properties"] = props
    if required:
        merged["required"] = required
    return merged


def _types(node: Mapping[str, Any], out: Schema, defs: dict[str, Any], depth: int) -> None:
    """`type` as one upper-case name; a list of types becomes `nullable` and/or `anyOf`."""
    typ = node.get("type")
    if isinstance(typ, str):
        if typ.lower() in GEMINI_TYPES:
            out["type"] = typ.upper()
        return
    if not isinstance(typ, list):
        if "type" not in out and "anyOf" not in node and "oneOf" not in node:
            if "properties" in node:
                out["type"] = "OBJECT"
            elif "items" in node:
                out["type"] = "ARRAY"
        return
    names = [t.lower() for t in typ if isinstance(t, str) and t.lower() in GEMINI_TYPES]
    if "null" in names and len(names) > 1:
        out["nullable"] = True
        names = [t for t in names if t != "null"]
    if len(names) == 1:
        out["type"] = names[0].upper()
    elif names:
        rest = {k: v for k, v in node.items() if k != "type"}
        out["anyOf"] = [_clean({**rest, "type": t}, defs, depth + 1) for t in names]


def _enum(node: Mapping[str, Any], out: Schema) -> None:
    values = node.get("enum")
    if "const" in node and not isinstance(values, list):
        values = [node["const"]]
    if not isinstance(values, list):
        return
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, str) for v in present):
        out["enum"] = present
        out["type"] = "STRING"
        if None in values:
            out["nullable"] = True
    elif present:  # enum is string-only: say the allowed values in the description instead
        listed = ", ".join(str(v) for v in present)
        desc = out.get("description")
        out["description"] = f"{desc} (one of: {listed})" if desc else f"One of: {listed}"


def _format(node: Mapping[str, Any], out: Schema) -> None:
    fmt = node.get("format")
    allowed = STRING_FORMATS if out.get("type") == "STRING" else NUMBER_FORMATS
    if isinstance(fmt, str) and out.get("type") in ("STRING", "NUMBER", "INTEGER") and fmt in allowed:
        out["format"] = fmt


def _children(node: Mapping[str, Any], out: Schema, defs: dict[str, Any], depth: int) -> None:
    props = node.get("properties")
    if isinstance(props, Mapping):
        out["properties"] = {str(k): _clean(v if isinstance(v, Mapping) else {}, defs, depth + 1)
                             for k, v in props.items()}
        required = [r for r in node.get("required") or [] if isinstance(r, str) and r in out["properties"]]
        if required:  # Gemini refuses a required name that is not a property
            out["required"] = required
    items = node.get("items")
    if isinstance(items, list):  # tuple validation: the first item type is the best approximation
        items = items[0] if items else {}
    if isinstance(items, Mapping):
        out["items"] = _clean(items, defs, depth + 1)
    elif out.get("type") == "ARRAY":
        out["items"] = {"type": "STRING"}  # Gemini requires items on an array
    variants = node.get("anyOf") if isinstance(node.get("anyOf"), list) else node.get("oneOf")
    if isinstance(variants, list) and "anyOf" not in out:
        cleaned = [_clean(v, defs, depth + 1) for v in variants if isinstance(v, Mapping)]
        nulls = [v for v in cleaned if v.get("type") == "NULL"]
        cleaned = [v for v in cleaned if v.get("type") != "NULL"]
        if nulls:
            out["nullable"] = True
        if len(cleaned) == 1 and "type" not in out:
            out.update({k: v for k, v in cleaned[0].items() if k not in out})
        elif cleaned:
            out["anyOf"] = cleaned

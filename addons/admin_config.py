"""The configuration as the admin page sees and edits it: secrets shown by a stable non-secret name,
an edit's secrets resolved back to the stored values (left empty or unchanged = kept), validation as
at load time, and the YAML file rewritten with its comments kept. Pure: no I/O."""

from __future__ import annotations

import io
import os
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.comments import CommentedSeq
from ruamel.yaml.scalarbool import ScalarBoolean

from addons.masking import is_secret_header
from addons.masking import key_id
from addons.settings import BridgeConfig
from addons.settings import ConfigError
from addons.settings import _explain
from addons.settings import apply_env

# Containers whose entries are names and targets, never credentials (an alias named "monkey" is not a key).
PLAIN = frozenset({"aliases", "model_map", "fallbacks", "models", "intercept_hosts", "dialects"})
NOT_SECRET_SUFFIXES = ("_file", "_url", "_path", "_dir")  # key_file, token_file: where, not what
MASK_MARKS = ("…", "***(len=")  # key_id's and masking.mask's shapes


def is_secret_field(name: str) -> bool:
    return is_secret_header(name) and not name.lower().endswith(NOT_SECRET_SUFFIXES)


def _walk(node: Any, name: str, on_secret: Any, path: tuple[Any, ...] = ()) -> Any:
    """A copy of node with every secret string replaced by on_secret(value, path)."""
    if isinstance(node, dict):
        if name in PLAIN:
            return dict(node)
        return {k: _walk(v, str(k), on_secret, (*path, k)) for k, v in node.items()}
    if isinstance(node, list):
        if name in PLAIN:
            return list(node)
        return [_walk(v, name, on_secret, (*path, i)) for i, v in enumerate(node)]
    if isinstance(node, str) and is_secret_field(name):
        return on_secret(node, path)
    return node


def shown(secret: str) -> str:
    """A secret as the page shows it: its key_id, stable so an edit can refer to it (a short secret
    shows no prefix, which would be most of it)."""
    name = key_id(secret)
    return name if len(secret) >= 12 else name[name.index("…"):]


def masked(raw: dict[str, Any]) -> dict[str, Any]:
    """The configuration with each secret replaced by how the page shows it."""
    return _walk(raw, "", lambda value, _: shown(value) if value else value)


def stored_secrets(raw: dict[str, Any]) -> tuple[dict[str, str], dict[tuple[Any, ...], str]]:
    """Every stored secret by its key_id, and by where it is."""
    by_id: dict[str, str] = {}
    by_path: dict[tuple[Any, ...], str] = {}

    def note(value: str, path: tuple[Any, ...]) -> str:
        if value:
            by_id[shown(value)], by_path[path] = value, value
        return value

    _walk(raw, "", note)
    return by_id, by_path


DROP = object()  # an empty secret with nothing stored at its place: the field is left out


def with_secrets(edited: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """The edited configuration with its secrets resolved: a key_id stands for that stored secret (it may
    have moved, e.g. accounts reordered); an empty value keeps the secret stored at the same place;
    anything else is a new secret. Raises ConfigError for a masked value that names no stored secret."""
    by_id, by_path = stored_secrets(stored)

    def resolve(value: str, path: tuple[Any, ...]) -> Any:
        if not value.strip():
            return by_path.get(path, DROP)
        if value in by_id:
            return by_id[value]
        if any(mark in value for mark in MASK_MARKS):
            where = ".".join(str(p) for p in path)
            raise ConfigError(f"{where}: the masked value {value!r} matches no stored secret; enter the secret again")
        return value.strip()

    return _drop(_walk(edited, "", resolve))


def _drop(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _drop(v) for k, v in node.items() if v is not DROP}
    if isinstance(node, list):
        return [_drop(v) for v in node if v is not DROP]
    return node


def validate(data: dict[str, Any], source: str, env: dict[str, str] | None = None) -> BridgeConfig:
    """What settings.load checks, on data not yet written: environment overrides, then the model."""
    merged = apply_env(data, dict(os.environ) if env is None else env)
    try:
        return BridgeConfig.model_validate(merged)
    except ValidationError as e:
        raise ConfigError(_explain(e, source, {})) from None
    except ValueError as e:
        raise ConfigError(f"{source}: {e}") from None


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096  # long URLs and keys stay on one line
    return yaml


def read(text: str) -> dict[str, Any]:
    """The file's data as plain dicts and lists (what settings.load reads, before the environment)."""
    doc = _yaml().load(io.StringIO(text)) if text.strip() else None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError("the top level must be a mapping")
    return _plain(doc)


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, (bool, ScalarBoolean)):
        return bool(node)
    for kind in (str, int, float):  # ruamel's scalar subclasses, which JSON cannot carry
        if isinstance(node, kind):
            return kind(node)
    return node


def rewritten(old_text: str, data: dict[str, Any]) -> str:
    """The new file: the old document updated in place, so its comments and layout stay where the
    values did not change."""
    yaml = _yaml()
    doc = yaml.load(io.StringIO(old_text)) if old_text.strip() else None
    # A flow-style (JSON) file has no comments to keep: it becomes block-style YAML.
    doc = _update(doc, data) if isinstance(doc, CommentedMap) and not doc.fa.flow_style() else data
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def _update(node: Any, new: Any) -> Any:
    if isinstance(node, CommentedMap) and isinstance(new, dict):
        for k in [k for k in node if str(k) not in new]:
            del node[k]
        keys = {str(k): k for k in node}
        for k, v in new.items():
            if k in keys:
                node[keys[k]] = _update(node[keys[k]], v)
            else:
                node[k] = v
        return node
    if isinstance(node, CommentedSeq) and isinstance(new, list):
        for i, v in enumerate(new):
            if i < len(node):
                node[i] = _update(node[i], v)
            else:
                node.append(v)
        del node[len(new):]
        return node
    return node if node == new and type(node) is type(new) else new

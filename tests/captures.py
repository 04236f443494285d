"""The real client requests in ../shared/captures, by endpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CAPTURES = Path(__file__).resolve().parent.parent.parent / "shared" / "captures"


def requests_for(path_suffix: str) -> list[tuple[str, dict[str, Any]]]:
    """(id, body) of every captured POST whose path ends with path_suffix."""
    out = []
    for f in sorted(CAPTURES.glob("*.json")):
        data = json.loads(f.read_text())
        for i, r in enumerate(data.get("requests", [])):
            if r.get("method") == "POST" and r["path"].split("?")[0].endswith(path_suffix) and isinstance(
                    r.get("body"), dict):
                out.append((f"{f.stem}#{i}", r["body"]))
    return out

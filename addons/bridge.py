"""Entry point: `mitmdump -s addons/bridge.py --mode reverse:<default upstream>`.

Builds the addon list in pipeline order; no logic here. The project root is put on sys.path so the
script loads from a plain checkout (mitmproxy adds only this file's folder)."""

import sys
from pathlib import Path

_root = str(Path(__file__).resolve().parent.parent)
if _root not in sys.path:
    sys.path.insert(0, _root)

from addons.gateway import Gateway  # noqa: E402
from addons.inspection import Inspection  # noqa: E402

addons = [Gateway(), Inspection()]  # Inspection after Gateway: it sees the stream relay Gateway set

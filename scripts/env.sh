#!/usr/bin/env bash
# Sourced by the other scripts: finds Python 3.12, creates .venv and installs the project on first use
# (again whenever pyproject.toml changes). Exports ROOT and PY.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BRIDGE_VENV:-$ROOT/.venv}"

find_python312() {
  local c
  for c in "${BRIDGE_PYTHON:-}" "$(command -v python3.12 || true)" \
           "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.12*/bin/python3.12 \
           /root/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12; do
    if [ -n "$c" ] && [ -x "$c" ] && "$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
      echo "$c"; return 0
    fi
  done
  return 1
}

stamp="$VENV/.installed-$(sha1sum "$ROOT/pyproject.toml" | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  base="$(find_python312)" || { echo "error: Python 3.12 not found (mitmproxy 12 needs it); set BRIDGE_PYTHON" >&2; exit 1; }
  [ -x "$VENV/bin/python" ] || "$base" -m venv "$VENV" >&2
  echo "installing the bridge into $VENV (first run only)..." >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[test]" >&2 2> >(grep -v "^WARNING: Location" >&2)
  rm -f "$VENV"/.installed-* && touch "$stamp"
fi
PY="$VENV/bin/python"
export ROOT PY

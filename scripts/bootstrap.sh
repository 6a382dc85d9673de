#!/usr/bin/env bash
# Create .venv and install image-search with its development tools, once (re-run after
# pyproject.toml changes). Needs python3 >= 3.11 with venv; everything else comes from PyPI.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
stamp="$here/.venv/.installed"
if [ -f "$stamp" ] && [ "$stamp" -nt "$here/pyproject.toml" ]; then
  exit 0
fi
python3 -m venv "$here/.venv"
"$here/.venv/bin/python" -m pip install --quiet --upgrade pip
"$here/.venv/bin/python" -m pip install --quiet -e "$here[dev]"
touch "$stamp"

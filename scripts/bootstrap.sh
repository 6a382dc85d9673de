#!/usr/bin/env bash
# Create .venv and install image-search with its development tools, once (re-run after
# pyproject.toml changes). Needs python3 >= 3.11 with venv; everything else comes from PyPI.
# Then, when Node.js >= 20.19 and npm are present, build the web UI into src/image_search/web
# (again after changes to the UI or to the Python API its types come from); without them the
# command line still works and the server explains how to build the UI.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
stamp="$here/.venv/.installed"
if ! { [ -f "$stamp" ] && [ "$stamp" -nt "$here/pyproject.toml" ]; }; then
  python3 -m venv "$here/.venv"
  "$here/.venv/bin/python" -m pip install --quiet --upgrade pip
  "$here/.venv/bin/python" -m pip install --quiet -e "$here[dev]"
  touch "$stamp"
fi

ui="$here/ui"
built="$here/src/image_search/web/index.html"
[ -f "$ui/package.json" ] || exit 0

node_version="$(node --version 2>/dev/null || echo none)"
if ! command -v npm >/dev/null 2>&1 || ! node -e '
  const [major, minor] = process.versions.node.split(".").map(Number);
  process.exit(major > 20 || (major === 20 && minor >= 19) ? 0 : 1);' 2>/dev/null; then
  echo "bootstrap: the web UI needs Node.js >= 20.19 with npm (found: $node_version);" \
    "not building it. The command line works without it; install Node.js and run" \
    "scripts/bootstrap.sh again for the UI." >&2
  exit 0
fi

if [ ! -d "$ui/node_modules" ] || [ "$ui/package-lock.json" -nt "$ui/node_modules" ]; then
  # `npm install --no-save` installs the locked versions and leaves the lock alone. Not `npm ci`:
  # npm 11 writes only this platform's optional binaries (rollup, esbuild) into the lock, and
  # `npm ci` then refuses that same lock as out of sync with package.json.
  echo "bootstrap: installing the web UI's packages (npm install from the lock)" >&2
  (cd "$ui" && npm install --no-save --no-audit --no-fund --loglevel=error >&2)
  touch "$ui/node_modules"
fi

stale() {
  [ ! -f "$built" ] && return 0
  [ -n "$(find "$ui/src" "$ui/static" "$ui/package.json" "$ui/package-lock.json" \
    "$ui/svelte.config.js" "$ui/vite.config.ts" -newer "$built" -print -quit 2>/dev/null)" ] \
    && return 0
  # The UI's API types are generated from the Python sources (npm run gen:api).
  [ -n "$(find "$here/src/image_search" -path "$here/src/image_search/web" -prune \
    -o -name '*.py' -newer "$built" -print -quit)" ]
}
if stale; then
  echo "bootstrap: building the web UI (npm run build)" >&2
  (cd "$ui" && npm run build >&2)
fi

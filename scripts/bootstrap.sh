#!/usr/bin/env bash
# Create or update the project's virtual environment in .venv (idempotent, fast when nothing changed).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
stamp=.venv/.medkg-installed
want=$(cat pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "== installing medkg and its dependencies into .venv (torch==2.13.0 is ~3 GB on a cold cache)"
  if ! .venv/bin/pip install -e ".[dev]" > .venv/install.log 2>&1; then
    tail -25 .venv/install.log >&2
    echo "error: pip could not install medkg's dependencies (full log: .venv/install.log)" >&2
    exit 1
  fi
  .venv/bin/python -c "import torch, sys; v=torch.__version__.split('+')[0]; sys.exit(0 if v=='2.13.0' else f'torch {v} replaced the 2.13.0 pin')"
  echo "$want" > "$stamp"
fi

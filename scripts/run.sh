#!/usr/bin/env bash
# Set up (first run only) and start the workbench: app on http://127.0.0.1:8501, API on :8000
# `scripts/run.sh demo` instead runs the CLI on the bundled demo sources, fully offline.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "${1:-}" = "demo" ]; then
  shift
  exec .venv/bin/python -m pipeline demo "$@"
fi
# One process: the coordinator (database, jobs, speech model), the HTTP API (default
# http://127.0.0.1:8000) and the Streamlit app, which uses the same coordinator.
exec .venv/bin/python scripts/workbench.py --host "${VIDEOMAP_HOST:-127.0.0.1}" \
  --port "${VIDEOMAP_PORT:-8501}" "$@"

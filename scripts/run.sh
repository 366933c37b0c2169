#!/usr/bin/env bash
# Set up (first run only) and start the workbench on http://127.0.0.1:8501
# `scripts/run.sh demo` instead runs the CLI on the bundled demo sources, fully offline.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "${1:-}" = "demo" ]; then
  shift
  exec .venv/bin/python -m pipeline demo "$@"
fi
exec .venv/bin/streamlit run app.py --server.address "${VIDEOMAP_HOST:-127.0.0.1}" \
  --server.port "${VIDEOMAP_PORT:-8501}" --server.headless true --browser.gatherUsageStats false "$@"

#!/usr/bin/env bash
# Create .venv and install the pinned requirements (idempotent; re-runs only when a
# requirements file changed). Usage: scripts/setup.sh [dev]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
want=requirements.txt
[ "${1:-}" = "dev" ] && want=requirements-dev.txt
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.installed-$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)-$(basename $want .txt)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$want"
  touch "$stamp"
fi
# Build the offline gazetteer index now (one-off, about 20 s; under a second when it is
# already built for this data version), so that the first analysis starts at once.
.venv/bin/python -c "from pipeline.geo.gazetteer import get_gazetteer; get_gazetteer()"

#!/usr/bin/env bash
# Set up everything the tests need (venv, pinned dev requirements, Debian's chromium for the
# browser test) and run the whole suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
    || echo "warning: could not install chromium; the browser test will be skipped" >&2
fi
.venv/bin/ruff check pipeline pages app.py tests scripts
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# Set up everything the tests need (venv, pinned dev requirements, Debian's chromium for the
# browser test, Debian's redis-server for the scale-out tests) and run the whole suite.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium chromium-driver)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
    || echo "warning: could not install ${missing[*]}; the browser test is skipped, the scale-out tests fail" >&2
fi
.venv/bin/ruff check pipeline pages app.py tests scripts
.venv/bin/lint-imports
exec .venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# The distributed mode on one machine: Redis (Debian's redis-server on 127.0.0.1, installed if
# missing), one Celery worker per queue (fetch, asr, extract, geocode, maintenance), Beat,
# Flower on http://127.0.0.1:5555 and the workbench with VIDEOMAP_DISPATCHER=celery.
#
#   scripts/cluster.sh          the app on http://127.0.0.1:8501 (API on :8000); Ctrl-C stops all
#   scripts/cluster.sh demo     the bundled demo through Redis and the workers, then stops
#
# Everything it started is stopped on exit. Settings (VIDEOMAP_*) apply to every process.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "error: redis-server is missing; install Debian's redis-server (sudo apt-get install redis-server)" >&2
    exit 1
  fi
fi

port=${VIDEOMAP_REDIS_PORT:-6379}
run_dir=${VIDEOMAP_CLUSTER_DIR:-data/cluster}
mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd)  # absolute: redis-server changes into --dir before it opens --logfile
export VIDEOMAP_DISPATCHER=celery
export VIDEOMAP_BROKER_URL=${VIDEOMAP_BROKER_URL:-redis://127.0.0.1:$port/0}
pids=()
stop() {
  trap - INT TERM EXIT
  echo "stopping the cluster ..." >&2
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop INT TERM EXIT

if redis-cli -p "$port" ping >/dev/null 2>&1; then
  echo "using the Redis already answering on 127.0.0.1:$port" >&2
else
  redis-server --port "$port" --bind 127.0.0.1 --dir "$run_dir" --appendonly yes \
    --logfile "$run_dir/redis.log" &
  pids+=($!)
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
    echo "error: redis-server did not start on 127.0.0.1:$port; see $run_dir/redis.log" >&2
    exit 1
  fi
fi

for queue in fetch asr extract geocode maintenance; do
  .venv/bin/python -m pipeline worker --queues "$queue" >"$run_dir/worker-$queue.log" 2>&1 &
  pids+=($!)
done
.venv/bin/python -m pipeline beat --schedule "$run_dir/beat-schedule" >"$run_dir/beat.log" 2>&1 &
pids+=($!)
.venv/bin/python -m celery --broker "$VIDEOMAP_BROKER_URL" flower --address=127.0.0.1 --port=5555 \
  >"$run_dir/flower.log" 2>&1 &
pids+=($!)
for queue in fetch asr extract geocode maintenance; do  # the workers say "ready" once connected
  for _ in $(seq 600); do grep -q " ready\." "$run_dir/worker-$queue.log" 2>/dev/null && break; sleep 0.1; done
done
echo "Redis 127.0.0.1:$port, workers: fetch asr extract geocode maintenance, Beat, Flower http://127.0.0.1:5555" >&2
echo "logs in $run_dir/" >&2

if [ "${1:-}" = "demo" ]; then
  shift
  .venv/bin/python -m pipeline serve --port 0 >"$run_dir/coordinator.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 600); do grep -q "workbench API on" "$run_dir/coordinator.log" 2>/dev/null && break; sleep 0.1; done
  # the CLI finds the coordinator through the address file next to the database
  .venv/bin/python -m pipeline demo "$@"
  exit $?
fi
.venv/bin/python scripts/workbench.py --host "${VIDEOMAP_HOST:-127.0.0.1}" --port "${VIDEOMAP_PORT:-8501}" "$@" &
pids+=($!)
wait "${pids[-1]}"

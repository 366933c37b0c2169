"""Crash recovery on this machine (results go to BENCHMARKS.md).

    .venv/bin/python scripts/bench_recovery.py [--repeats 6]

Runs ``python -m pipeline analyze`` on a real speech recording, kills it with SIGKILL once the
transcription has started, then runs the same command again and reports: how long the second
process took to open the database and re-queue the orphaned job, how long until the job ran
again, and the time to the finished result.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SPEECH = ROOT / "tests" / "data" / "librispeech-2300-131720-0000.wav"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=6, help="5-second clips in the recording")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-recovery-"))
    clip = tmp / "talk.wav"
    with wave.open(str(SPEECH)) as src:
        params, frames = src.getparams(), src.readframes(src.getnframes())
    with wave.open(str(clip), "wb") as dst:
        dst.setparams(params)
        for _ in range(args.repeats):
            dst.writeframes(frames)
        # a few ms of silence, different each run: new content, so the ASR cache cannot answer
        dst.writeframes(b"\0" * params.sampwidth * (1 + int(time.time() * 1000) % 997))
    db = tmp / "wb.duckdb"
    env = {**os.environ, "VIDEOMAP_MEDIA_DIR": str(tmp / "media")}
    command = [sys.executable, "-m", "pipeline", "analyze", "--offline", "--db", str(db), str(clip)]
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while True:
        line = first.stderr.readline()
        if "transcription" in line or (not line and first.poll() is not None):
            break
    if first.poll() is not None:
        print("the first run ended before its transcription started", file=sys.stderr)
        return 1
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    started = time.time()
    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    finished = time.time()
    if second.returncode != 0:
        print(second.stderr, file=sys.stderr)
        return 1

    from pipeline.storage import Storage

    storage = Storage(db, read_only=True)
    [job] = storage.list_jobs(limit=1)
    events = {e["event"]: e["ts"] for e in storage.job_events(job["job_id"])}
    print("| measurement | result |")
    print("|---|---|")
    print(f"| second run started -> orphaned job re-queued | {events['requeued'] - started:.2f} s |")
    restarted = max(e["ts"] for e in storage.job_events(job["job_id"]) if e["event"] == "started")
    print(f"| second run started -> job running again | {restarted - started:.2f} s |")
    print(f"| second run started -> result ({args.repeats * 5} s of speech) | {finished - started:.1f} s |")
    print(f"| final status | {job['status']} |")
    storage.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

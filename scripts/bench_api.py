"""HTTP API figures on this machine (results go to BENCHMARKS.md; not a timed test).

    .venv/bin/python scripts/bench_api.py [--seconds 5] [--clip-repeats 24]

Starts a coordinator with a temporary database and the API on a free loopback port, then
measures: /health latency while the real speech model transcribes a long clip; GET /api/jobs/{id}
requests per second (one client, then four); submit-to-202 latency for new subtitle files; and
the cached-result 200 latency. Every figure comes from the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SPEECH = ROOT / "tests" / "data" / "librispeech-2300-131720-0000.wav"
SRT = """1
00:00:01,000 --> 00:00:04,000
We start the day in Lisbon, then drive north to Porto.

2
00:00:05,000 --> 00:00:09,000
Next week we fly to Madrid and, number {n}, on to Barcelona.
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def long_clip(folder: Path, repeats: int) -> Path:
    with wave.open(str(SPEECH)) as src:
        params, frames = src.getparams(), src.readframes(src.getnframes())
    out = folder / "long.wav"
    with wave.open(str(out), "wb") as dst:
        dst.setparams(params)
        for _ in range(repeats):
            dst.writeframes(frames)
        # a few ms of silence, different each run: new content, so the ASR cache cannot answer
        dst.writeframes(b"\0" * params.sampwidth * (1 + int(time.time() * 1000) % 997))
    return out


def until(predicate, what: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput run")
    parser.add_argument("--clip-repeats", type=int, default=24, help="5-second speech clips in the long clip")
    parser.add_argument("--submits", type=int, default=30)
    args = parser.parse_args()

    from pipeline.api import Workbench
    from pipeline.config import Settings
    from pipeline.service import ApiServer

    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    settings = Settings(db_path=tmp / "wb.duckdb", cache_dir=ROOT / "data" / "cache", media_dir=tmp / "media",
                        offline=True, api_submit_rate_per_minute=100000)
    bench = Workbench(settings)
    server = ApiServer(bench, port=0).start()
    rows: list[tuple[str, str]] = []
    try:
        media = Path(settings.media_dir)
        media.mkdir(parents=True, exist_ok=True)
        http = httpx.Client(base_url=server.url, timeout=30)

        # -- /health while the model transcribes
        clip = long_clip(media, args.clip_repeats)
        answer = http.post("/api/videos/analyze", json={"source": str(clip), "options": {"force": True}})
        job_id = answer.json()["job_id"]
        until(lambda: http.get(f"/api/jobs/{job_id}").json()["phase"] == "transcription", "the transcription")
        until(lambda: http.get("/health").json()["model_loaded"], "the model to load")
        health_ms: list[float] = []
        while True:
            started = time.perf_counter()
            http.get("/health")
            health_ms.append((time.perf_counter() - started) * 1000)
            job = http.get(f"/api/jobs/{job_id}").json()
            if job["phase"] != "transcription" or job["status"] not in ("running", "queued"):
                break
            time.sleep(0.02)
        rows.append(("/health while transcribing (p50 / p95 / max)",
                     f"{pct(health_ms, .5):.1f} / {pct(health_ms, .95):.1f} / {max(health_ms):.1f} ms "
                     f"({len(health_ms)} requests during {args.clip_repeats * 5} s of audio)"))
        until(lambda: http.get(f"/api/jobs/{job_id}").json()["status"] not in ("running", "queued"), "the job")

        # -- GET /api/jobs/{id} throughput
        def hammer(count: list[int], until: float) -> None:
            with httpx.Client(base_url=server.url, timeout=30) as c:
                while time.perf_counter() < until:
                    c.get(f"/api/jobs/{job_id}").raise_for_status()
                    count[0] += 1

        for clients in (1, 4):
            counts = [[0] for _ in range(clients)]
            stop_at = time.perf_counter() + args.seconds
            threads = [threading.Thread(target=hammer, args=(c, stop_at)) for c in counts]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            rows.append((f"GET /api/jobs/{{id}} ({clients} client{'s' if clients > 1 else ''})",
                         f"{sum(c[0] for c in counts) / args.seconds:.0f} requests/s"))

        # -- submit to 202, and the cached 200
        accepted_ms, cached_ms, sources = [], [], []
        for n in range(args.submits):
            path = media / f"trip-{n}.srt"
            path.write_text(SRT.format(n=n), encoding="utf-8")
            started = time.perf_counter()
            answer = http.post("/api/videos/analyze", json={"source": str(path)})
            accepted_ms.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 202, answer.text
            sources.append((str(path), answer.json()["job_id"]))
        for _, jid in sources:
            until(lambda jid=jid: http.get(f"/api/jobs/{jid}").json()["status"] not in ("running", "queued"), jid)
        for path, _ in sources:
            started = time.perf_counter()
            answer = http.post("/api/videos/analyze", json={"source": path})
            cached_ms.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200 and answer.json()["cached"], answer.text
        rows.append(("submit -> 202 (p50 / p95)", f"{pct(accepted_ms, .5):.1f} / {pct(accepted_ms, .95):.1f} ms"))
        rows.append(("cached result -> 200 (p50 / p95)", f"{pct(cached_ms, .5):.1f} / {pct(cached_ms, .95):.1f} ms"))
        rows.append(("mean of all submits", f"{statistics.mean(accepted_ms + cached_ms):.1f} ms"))
    finally:
        server.stop()
        bench.shutdown(wait=False)

    print("| measurement | result |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

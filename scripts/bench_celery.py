"""Scale-out figures on this machine (results go to BENCHMARKS.md).

    .venv/bin/python scripts/bench_celery.py [--videos 24] [--latency 0.3] [--workers 1,2,4]

Real Redis (Debian's redis-server on a free loopback port) and real worker processes:

1. throughput (videos per minute) of subtitle jobs whose extract and geocode stages are
   I/O-bound (the LLM extractor against a loopback OpenAI-compatible stub and Nominatim
   against a loopback stub, each answering after ``--latency`` seconds), with 1, 2 and 4
   extract+geocode workers, and the scaling efficiency per added worker;
2. the per-job overhead of the Celery executor against threads for a subtitle-only job
   (offline extractor and gazetteer), median of sequential jobs;
3. recovery after ``kill -9`` of the ASR worker mid-transcription, with a second ASR worker:
   seconds until the task has started again on the other worker (Beat's maintenance every 1 s,
   task heartbeats every 0.5 s here), and until the job is done.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from cluster import Cluster, RedisServer  # noqa: E402
from media import repeated_speech  # noqa: E402
from stubs import NominatimStub, OpenAIStub, StubResponse  # noqa: E402

from pipeline.api import Workbench  # noqa: E402
from pipeline.config import Settings  # noqa: E402

UA = "video-map-workbench-bench/0.1 (bench@example.org)"
NAMES = re.compile(r"\b(?:Alvor|Braga|Tavira)\d+\b")


def coordinator(folder: Path, redis_url: str | None, **overrides) -> Workbench:
    fields = dict(db_path=folder / "wb.duckdb", cache_dir=folder / "cache", media_dir=folder / "media",
                  offline=True, job_workers=4, worker_heartbeat_s=0.5)
    if redis_url:
        fields |= dict(dispatcher="celery", broker_url=redis_url, celery_jobs_in_flight=32)
    return Workbench(Settings(**(fields | overrides)))


def subtitle_files(folder: Path, count: int, tag: str) -> list[str]:
    paths = []
    for i in range(count):
        path = folder / f"{tag}-{i}.srt"
        path.write_text(f"1\n00:00:01,000 --> 00:00:06,000\nDay {i} of {tag}: from Alvor{i} to Braga{i}, "
                        f"then on to Tavira{i}.\n", encoding="utf-8")
        paths.append(str(path))
    return paths


def llm_answer(request) -> StubResponse:
    names = sorted(set(NAMES.findall(request.body.decode("utf-8", "replace"))))
    places = [{"name": n, "description": "a stop", "tags": [], "marker": "city", "evidence": n,
               "confidence": 0.9} for n in names]
    return StubResponse(200, OpenAIStub.completion({"places": places, "topics": ["travel"], "summary": "a trip"}),
                        delay=llm_answer.latency)


def throughput(folder: Path, redis: RedisServer, workers: int, videos: int, latency: float) -> float:
    redis.flush()
    llm = OpenAIStub(max_requests=videos * 6 + 40)
    llm_answer.latency = latency
    llm.responder = llm_answer
    geo = NominatimStub(max_requests=videos * 8 + 60, default=StubResponse(
        200, [NominatimStub.place(41.15, -8.61, "Porto, Portugal", country_code="pt")], latency))
    run = folder / f"throughput-{workers}"
    run.mkdir()
    group = Cluster(run, redis.url, offline="false", nominatim_min_delay_s="0", llm_max_retries="1",
                    llm_api_key="stub-key")
    bench = None
    try:
        group.worker("fetch", "fetch,maintenance", concurrency=4)
        for n in range(workers):
            group.worker(f"io-{n}", "extract,geocode", concurrency=1)
        bench = coordinator(run, redis.url, offline=False, llm_model="openai/stub", llm_api_base=llm.api_base)
        options = bench.options(offline=False, extractor="llm", llm_model="openai/stub", llm_api_base=llm.api_base,
                                geocoder="nominatim", nominatim_user_agent=UA, nominatim_domain=geo.domain,
                                nominatim_scheme="http")
        warm = subtitle_files(run, 2 * workers, f"warm{workers}")  # every worker has run a task
        bench.wait([o.job.job_id for o in bench.submit(warm, options)], timeout=300)
        sources = subtitle_files(run, videos, f"w{workers}")
        started = time.perf_counter()
        outcomes = bench.submit(sources, options)
        views = bench.wait([o.job.job_id for o in outcomes], timeout=600)
        elapsed = time.perf_counter() - started
        bad = [v.status for v in views if v.status != "done"]
        if bad:
            raise RuntimeError(f"{len(bad)} job(s) not done: {bad[:3]} {views[0].error}")
        return videos / elapsed * 60
    finally:
        if bench is not None:
            bench.shutdown()
        group.stop()
        llm.close()
        geo.close()


def overhead(folder: Path, redis: RedisServer, jobs: int) -> dict[str, float]:
    redis.flush()
    run = folder / "overhead"
    run.mkdir()
    group = Cluster(run, redis.url)
    result = {}
    try:
        group.worker("all", "fetch,extract,geocode,maintenance", concurrency=2)
        for label, url in (("threads", None), ("celery", redis.url)):
            sub = run / label
            sub.mkdir()
            bench = coordinator(sub, url)
            try:
                options = bench.options(offline=True)
                warm = subtitle_files(sub, 1, "warm")
                bench.wait([o.job.job_id for o in bench.submit(warm, options)], timeout=120)
                times = []
                for path in subtitle_files(sub, jobs, label):
                    started = time.perf_counter()
                    [outcome] = bench.submit([path], options)
                    [view] = bench.wait([outcome.job.job_id], timeout=120)
                    times.append((time.perf_counter() - started) * 1000)
                    assert view.status == "done", view.error
                result[label] = statistics.median(times)
            finally:
                bench.shutdown()
    finally:
        group.stop()
    result["overhead_ms"] = result["celery"] - result["threads"]
    return result


def recovery(folder: Path, redis: RedisServer) -> dict[str, float]:
    redis.flush()
    run = folder / "recovery"
    run.mkdir()
    group = Cluster(run, redis.url)
    bench = None
    try:
        group.worker("io", "fetch,extract,geocode,maintenance", concurrency=2)
        group.worker("asr-1", "asr")
        group.worker("asr-2", "asr")
        group.beat()
        bench = coordinator(run, redis.url)
        [outcome] = bench.submit([str(repeated_speech(run, 8))], bench.options(offline=True))
        job_id = outcome.job.job_id
        task_id = None
        while task_id is None:
            sent = [e for e in bench.job_events(job_id) if e["event"] == "task_sent"
                    and (e.get("data") or {}).get("task_id", "").startswith("vm.transcribe.")]
            task_id = sent[0]["data"]["task_id"] if sent else None
            time.sleep(0.05)
        result = bench.jobs.executor.app.AsyncResult(task_id)
        while result.state != "PROGRESS":
            time.sleep(0.05)
        first = result.info["worker"].split("@")[0]
        victim = "asr-1" if first in group.log("asr-1") else "asr-2"
        killed = time.perf_counter()
        group.kill(victim)
        while True:  # running again: started (Celery's STARTED names the host) by the other worker
            info = result.info if result.state in ("STARTED", "PROGRESS") else None
            host = (info.get("hostname") or info.get("worker") or "") if isinstance(info, dict) else ""
            if host and host.split("@")[0] != first:
                break
            time.sleep(0.05)
        rerun = time.perf_counter() - killed
        [view] = bench.wait([job_id], timeout=300)
        assert view.status == "done", view.error
        return {"running_again_s": rerun, "done_s": time.perf_counter() - killed}
    finally:
        if bench is not None:
            bench.shutdown()
        group.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=24)
    parser.add_argument("--latency", type=float, default=0.3, help="seconds each stub waits before answering")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--overhead-jobs", type=int, default=10)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-celery-"))
    redis = RedisServer(folder)
    report: dict = {}
    try:
        rates = {}
        for workers in [int(w) for w in args.workers.split(",")]:
            rates[workers] = throughput(folder, redis, workers, args.videos, args.latency)
            print(f"{workers} extract+geocode worker(s): {rates[workers]:.1f} videos/min", flush=True)
        base = rates[min(rates)]
        report["throughput_videos_per_min"] = rates
        report["scaling_efficiency"] = {w: rates[w] / (base * w / min(rates)) for w in rates}
        for w, eff in report["scaling_efficiency"].items():
            print(f"  efficiency with {w}: {eff:.2f}")
        report["overhead"] = overhead(folder, redis, args.overhead_jobs)
        print("per-job (subtitle-only, median ms): threads {threads:.0f}, celery {celery:.0f}, overhead "
              "{overhead_ms:.0f}".format(**report["overhead"]), flush=True)
        report["recovery"] = recovery(folder, redis)
        print("kill -9 of the ASR worker: running again after {running_again_s:.1f} s, done after "
              "{done_s:.1f} s".format(**report["recovery"]), flush=True)
    finally:
        redis.stop()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmarks for BENCHMARKS.md (not timed tests): run and paste the printed tables.

    .venv/bin/python scripts/benchmark.py [--speech ../shared/eval/speech-en] [--lgl ../shared/eval/lgl/lgl.xml]

1. ASR through the pipeline vs raw faster-whisper on the same clips (scripts/bench_asr.py).
2. Cache-hit latency of a repeated analysis (p50/p95 of Workbench.submit on an analysed source).
3. Offline extraction + geocoding throughput on LGL articles (documents per second).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def bench_cache_hit(repeats: int) -> None:
    from pipeline.api import Workbench, demo_sources
    from pipeline.config import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(db_path=Path(tmp) / "b.duckdb", cache_dir=Path(tmp) / "cache",
                            media_dir=Path(tmp) / "media", offline=True)
        bench = Workbench(settings)
        try:
            sources = demo_sources()
            options = bench.options(offline=True)
            t0 = time.perf_counter()
            outcomes = bench.submit(sources, options)
            bench.wait([o.job.job_id for o in outcomes if o.job], timeout=600)
            first = time.perf_counter() - t0
            timings = []
            for i in range(repeats):
                source = sources[i % len(sources)]
                t1 = time.perf_counter()
                [outcome] = bench.submit([source], options)
                timings.append((time.perf_counter() - t1) * 1000)
                assert outcome.job is not None and outcome.job.cached, outcome
        finally:
            bench.shutdown()
    print("\n## Cache-hit latency of a repeated analysis\n")
    print(f"First analysis of the {len(sources)} demo sources (ASR + extraction + geocoding): {first:.1f} s\n")
    print("| repeats | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    print(f"| {repeats} | {statistics.median(timings):.1f} | {percentile(timings, 0.95):.1f} | {max(timings):.1f} |")


def bench_lgl(path: Path, limit: int | None) -> None:
    from pipeline.datatypes import GeocodeRequest, Segment, Window
    from pipeline.stages.extract import get_extractor
    from pipeline.stages.geocode import get_geocoder

    articles = []
    for article in ET.parse(path).getroot().iter("article"):
        text = article.findtext("text") or ""
        articles.append(text)
    if limit:
        articles = articles[:limit]
    t0 = time.perf_counter()
    extractor = get_extractor("offline")
    geocoder = get_geocoder("gazetteer")
    extractor.extract([Window(0, 0.0, 1.0, [Segment(0.0, 1.0, "Warm up in Paris, France.")])])
    startup = time.perf_counter() - t0
    places = 0
    t1 = time.perf_counter()
    for text in articles:
        window = Window(0, 0.0, 1.0, [Segment(0.0, 1.0, text)])
        result = extractor.extract([window])
        names = [p.name for p in result.places]
        requests = [GeocodeRequest(p.name, p.marker, [n for n in names if n != p.name]) for p in result.places]
        geocoder.geocode(requests)
        places += len(result.places)
    elapsed = time.perf_counter() - t1
    print("\n## Offline extraction + geocoding throughput (LGL articles)\n")
    print("| documents | places | start-up s | seconds | documents/s |")
    print("|---|---|---|---|---|")
    print(f"| {len(articles)} | {places} | {startup:.2f} | {elapsed:.2f} | {len(articles) / elapsed:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--speech", default=str(ROOT.parent / "shared" / "eval" / "speech-en"))
    parser.add_argument("--lgl", default=str(ROOT.parent / "shared" / "eval" / "lgl" / "lgl.xml"))
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--lgl-limit", type=int, default=None)
    parser.add_argument("--skip-asr", action="store_true")
    parser.add_argument("--only-lgl", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only_lgl:  # run in a fresh process so start-up (gazetteer load) is measured for real
        bench_lgl(Path(args.lgl), args.lgl_limit)
        return
    if not args.skip_asr:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_asr.py"), args.speech], check=True)
    bench_cache_hit(args.repeats)
    if Path(args.lgl).exists():
        extra = ["--lgl-limit", str(args.lgl_limit)] if args.lgl_limit else []
        subprocess.run([sys.executable, __file__, "--only-lgl", "--lgl", args.lgl, *extra], check=True)


if __name__ == "__main__":
    main()

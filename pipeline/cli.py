"""Command line: ``python -m pipeline analyze [--offline] [--db PATH] [--export PATH] SOURCE...``

Progress bars go to stderr, the summary to stdout; the exit status is 1 when
any source failed (one line per failure on stderr), 2 for usage errors.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from .config import Settings
from .errors import PipelineError
from .netguard import printable

EXPORT_HELP = "write places to PATH; format by extension: .csv .geojson .kml .parquet .json"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description="Video-to-map workbench pipeline.")
    sub = parser.add_subparsers(dest="command", required=True)

    def server(p: argparse.ArgumentParser) -> None:
        p.add_argument("--server", metavar="URL",
                       help="work through the workbench running at URL (default: the one holding --db, if any)")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", metavar="PATH", help="DuckDB file (default data/workbench.duckdb)")
        server(p)
        p.add_argument("--offline", action="store_true", help="make no network call at all")
        p.add_argument("--export", metavar="PATH", help=EXPORT_HELP)
        p.add_argument("--extractor", choices=["auto", "offline", "llm"], help="place extractor")
        p.add_argument("--geocoder", choices=["gazetteer", "nominatim"], help="geocoder (nominatim needs network)")
        p.add_argument("--llm-model", metavar="MODEL", help="litellm model id, e.g. openai/gpt-4o-mini")
        p.add_argument("--asr-model", metavar="NAME", help="faster-whisper model name or path (default tiny.en)")
        p.add_argument("--language", metavar="CODE", help="spoken language for ASR (default: detect)")
        p.add_argument("--force", action="store_true", help="re-run even when a stored result exists")
        p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
        p.add_argument("--json", action="store_true", help="print the summary as JSON")

    analyze = sub.add_parser("analyze", help="analyse sources (URLs, media, .srt/.vtt/.txt, @list.txt)")
    common(analyze)
    analyze.add_argument("sources", nargs="+", metavar="SOURCE")

    demo = sub.add_parser("demo", help="analyse the bundled demo sources fully offline")
    common(demo)

    retry = sub.add_parser("retry-geocodes", help="re-run only the failed geocodes of a job")
    retry.add_argument("job_id")
    retry.add_argument("--db", metavar="PATH")
    server(retry)

    jobs = sub.add_parser("jobs", help="list recent jobs")
    jobs.add_argument("--db", metavar="PATH")
    jobs.add_argument("--limit", type=int, default=20)
    server(jobs)

    serve = sub.add_parser("serve", help="run the workbench service (coordinator + HTTP API) without the app")
    serve.add_argument("--db", metavar="PATH")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1; others need VIDEOMAP_API_KEY)")
    serve.add_argument("--port", type=int, help="port (default 8000; 0 = any free port)")
    serve.add_argument("--offline", action="store_true", help="make no network call at all")

    worker = sub.add_parser("worker", help="run a Celery worker for stage queues (scale-out; needs Redis)")
    worker.add_argument("--queues", default="fetch,asr,extract,geocode,maintenance",
                        help="comma-separated: fetch, asr, extract, geocode, maintenance (default: all)")
    worker.add_argument("--concurrency", type=int, help="task processes (default: 1 with asr, else io_workers)")
    worker.add_argument("--loglevel", default="INFO")

    beat = sub.add_parser("beat", help="run Celery Beat: re-queue vanished work, clean media, queue depths")
    beat.add_argument("--schedule", default=None, help="Beat's schedule file (default data/celerybeat-schedule)")
    beat.add_argument("--loglevel", default="INFO")

    dlq = sub.add_parser("dlq", help="the dead-letter queue of stage tasks whose retries ran out")
    dlq.add_argument("action", choices=["list", "replay", "purge"])
    dlq.add_argument("letter_id", nargs="?", help="the letter to replay")
    dlq.add_argument("--db", metavar="PATH")
    server(dlq)
    return parser


def open_workbench(settings: Settings, server: str | None):
    """The workbench to work through: ``--server``, else the running one that holds the database
    (found through the address file next to it), else this process opens the database itself."""
    from .api import Workbench
    from .errors import DatabaseLockedError
    from .service.server import address_file, discover

    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    url = server or discover(settings.db_path)
    if url:
        logging.getLogger("pipeline").info("working through the workbench at %s", url)
        return Workbench.connect(url, api_key=api_key)
    try:
        return Workbench(settings, resume=False)
    except DatabaseLockedError as exc:
        hint = ""
        if not address_file(settings.db_path).exists():
            hint = (" That process serves no API; start the workbench with scripts/run.sh or "
                    "`python -m pipeline serve` to share the database.")
        raise DatabaseLockedError(exc.message + hint) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .logs import configure_logging

    settings_kwargs = {}
    if getattr(args, "db", None):
        settings_kwargs["db_path"] = Path(args.db)
    if getattr(args, "offline", False):
        settings_kwargs["offline"] = True
    settings = Settings(**settings_kwargs)
    configure_logging(log_file=settings.db_path.parent / "logs" / "pipeline.jsonl")
    logging.getLogger("pipeline").debug("cli start")

    from .api import demo_sources

    if args.command == "serve":
        return _serve(settings, args)
    if args.command in ("worker", "beat"):
        return _celery(settings, args)
    if args.command == "dlq" and args.action == "replay" and not args.letter_id:
        print("error: dlq replay needs the letter's id (see `python -m pipeline dlq list`)", file=sys.stderr)
        return 2
    if getattr(args, "export", None):
        problem = check_export_target(args.export)
        if problem:
            print(f"error: --export {printable(args.export)}: {problem}", file=sys.stderr)
            return 2
    try:
        bench = open_workbench(settings, getattr(args, "server", None))
    except PipelineError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    try:
        if args.command == "jobs":
            for job in bench.list_jobs(args.limit):
                err = f"  {job.error['message']}" if job.error else ""
                print(f"{job.job_id}  {job.status:8}  {job.progress:4.0%}  {job.source}{err}")
            return 0
        if args.command == "dlq":
            return _dlq(bench, args)
        if args.command == "retry-geocodes":
            job = bench.retry_failed_geocodes(args.job_id)
            print(f"{job.job_id}: {job.status} ({job.metrics.get('geocode_failed', 0)} still failing)")
            return 0 if job.status == "done" else 1
        sources = demo_sources() if args.command == "demo" else args.sources
        return _analyze(bench, args, sources)
    except PipelineError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    finally:
        bench.shutdown(wait=False)


def _analyze(bench, args: argparse.Namespace, sources: Sequence[str]) -> int:
    overrides = {
        "offline": True if args.offline or args.command == "demo" else None,
        "extractor": args.extractor,
        "geocoder": args.geocoder,
        "llm_model": args.llm_model,
        "asr_model": args.asr_model,
        "asr_language": args.language,
        "force": True if args.force else None,
    }
    options = bench.options(**overrides)
    bench.check_options(options)  # surfaces configuration errors once, before any source
    outcomes = bench.submit(sources, options)
    for notice in dict.fromkeys(o.notice for o in outcomes if o.notice):
        print(f"note: {printable(notice)}", file=sys.stderr)
    jobs = [o.job for o in outcomes if o.job is not None]
    origin = {o.job.job_id: o.source for o in outcomes if o.job is not None}
    bars: dict[str, tqdm] = {}
    last_state: dict[str, tuple] = {}
    show = not args.quiet and not args.json
    interactive = sys.stderr.isatty()

    def label(view) -> str:
        source = origin.get(view.job_id) or origin.get(view.parent_job_id or "") or view.source
        return printable(os.path.basename(source) or source)[:40] + (
            f" [{view.video_id}]" if view.parent_job_id else "")

    def update(views) -> None:
        if not show:
            return
        for view in views:
            if not interactive:  # a log file or a pipe: one line per state change, no cursor tricks
                state = (view.status, view.phase)
                if last_state.get(view.job_id) != state:
                    last_state[view.job_id] = state
                    print(f"{label(view)}: {view.status} {view.phase or ''} {view.progress:.0%}".rstrip(),
                          file=sys.stderr)
                continue
            bar = bars.get(view.job_id)
            if bar is None:
                bar = tqdm(total=100, desc=label(view), file=sys.stderr, position=len(bars), leave=True,
                           bar_format="{desc:<40} {percentage:3.0f}%|{bar:20}| {postfix}")
                bars[view.job_id] = bar
            bar.n = int(view.progress * 100)
            bar.set_postfix_str(f"{view.status} {view.phase or ''}".strip(), refresh=False)
            bar.refresh()

    try:
        bench.wait([j.job_id for j in jobs], on_update=update) if jobs else None
    except KeyboardInterrupt:
        for job in jobs:
            bench.cancel(job.job_id)
        print("interrupted: jobs canceled", file=sys.stderr)
        return 130
    finally:
        for bar in bars.values():
            bar.close()

    # collect final views (playlist children replace their parent)
    finals = []
    failures: list[str] = []
    video_sources: dict[str, str] = {}
    for outcome in outcomes:
        if outcome.error:
            failures.append(f"{outcome.source}: {outcome.error['message']}")
            finals.append({"source": outcome.source, "status": "failed", "error": outcome.error})
            continue
        view = bench.job(outcome.job.job_id)
        children = bench.children(view.job_id)
        for item in children or [view]:
            if item.video_id:
                video_sources[item.video_id] = outcome.source
            if item.status in ("failed", "canceled"):
                failures.append(f"{outcome.source}: {item.error['message'] if item.error else item.status}")
            finals.append({"source": outcome.source, "job_id": item.job_id, "video_id": item.video_id,
                           "status": item.status, "cached": item.cached, "error": item.error,
                           "metrics": item.metrics})

    video_ids = [v for v in video_sources]
    places = bench.places(video_ids, sources=video_sources) if video_ids else []
    if args.export:
        try:
            from .storage.export import write_export

            write_export(places, args.export)
        except PipelineError as exc:
            failures.append(f"--export {args.export}: {exc.message}")
            exported = None
        except OSError as exc:
            failures.append(f"--export {args.export}: cannot be written ({exc.strerror})")
            exported = None
        else:
            exported = args.export
    else:
        exported = None

    if args.json:
        print(json.dumps({"jobs": finals, "places": places}, ensure_ascii=False, indent=2, default=str))
    else:
        _print_summary(finals, places, exported)
    for line in failures:
        print(f"error: {printable(line)}", file=sys.stderr)
    return 1 if failures else 0


def check_export_target(path: str) -> str | None:
    """Why ``--export PATH`` cannot be written, checked before any analysis; None when it can."""
    from .storage.export import FORMATS

    target = Path(path)
    ext = target.suffix.lower().lstrip(".")
    if target.is_dir():
        return f"is a folder; give a file name such as {target / 'places.csv'}"
    if ext not in FORMATS:
        return f"unknown export format {target.suffix or '(none)'!r}; use one of: " + \
            ", ".join(f".{f}" for f in FORMATS)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        return f"the folder {parent} does not exist"
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        return "cannot be written here (no permission)"
    existed = target.exists()
    try:  # /proc and read-only mounts pass os.access for root
        with open(target, "ab"):
            pass
    except OSError as exc:
        return f"cannot be written ({exc.strerror})"
    if not existed:
        target.unlink(missing_ok=True)
    return None


def _celery(settings: Settings, args: argparse.Namespace) -> int:
    from .runner.celery_app import run_beat, run_worker

    try:
        if args.command == "worker":
            run_worker(settings, [q.strip() for q in args.queues.split(",") if q.strip()], args.concurrency,
                       args.loglevel)
        else:
            schedule = args.schedule or str(settings.db_path.parent / "celerybeat-schedule")
            run_beat(settings, schedule, args.loglevel)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _dlq(bench, args: argparse.Namespace) -> int:
    if args.action == "list":
        letters = bench.dead_letters()
        for letter in letters:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(letter.get("time") or 0))
            error = letter.get("error") or {}
            print(f"{letter['id']}  {when}  {letter.get('stage'):10}  job {letter.get('job_id')}  "
                  f"{letter.get('attempts')} tries  {printable(error.get('type', ''))}: "
                  f"{printable(error.get('message', ''))}")
        print(f"{len(letters)} dead letter(s)")
        return 0
    if args.action == "purge":
        print(f"{bench.purge_dead_letters()} dead letter(s) removed")
        return 0
    view = bench.replay_dead_letter(args.letter_id)
    print(f"{args.letter_id}: job {view.job_id} {view.status}")
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from .service.server import serve

    def ready(server) -> None:
        print(f"workbench API on {server.url}  (docs: {server.url}/docs; database: {settings.db_path})",
              flush=True)

    try:
        return serve(settings, host=args.host, port=args.port, on_ready=ready)
    except PipelineError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


def _print_summary(finals: list[dict], places: list[dict], export: str | None) -> None:
    by_video: dict[str, list[dict]] = {}
    for place in places:
        by_video.setdefault(place["video_id"], []).append(place)
    for item in finals:
        status = item["status"] + (" (cached)" if item.get("cached") else "")
        print(f"{printable(item['source'])}  ->  {item.get('video_id') or '-'}  [{status}]")
        for place in by_video.get(item.get("video_id") or "", []):
            where = (f"{place['latitude']:.4f}, {place['longitude']:.4f}"
                     if place["latitude"] is not None else f"not located ({place['failure_reason']})")
            print(f"    {place['timecode']}  {place['location']:<28} {where}  [{place['marker']}]")
    ok = sum(1 for p in places if p["latitude"] is not None)
    print(f"{len(finals)} video(s)/source(s), {len(places)} place(s), {ok} located"
          + (f"; exported to {export}" if export else ""))

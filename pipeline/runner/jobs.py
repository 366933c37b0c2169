"""The job manager: submission, idempotency, the cache fast path, dispatch, cancel, retry.

Pages and the CLI talk to one ``JobManager`` per process. Jobs run on a
``Dispatcher`` (threads here; the same ``run_job`` can later run on Celery
workers) and ASR goes through the single inference worker. All job state is
written to DuckDB, which is what the pages poll.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings, get_settings
from ..datatypes import FetchedVideo, Place, Record
from ..errors import (
    ConfigurationError,
    JobCanceledError,
    NotFoundError,
    PartialError,
    PipelineError,
    WaitTimeoutError,
)
from ..stages.fetch import classify_source, expand_source_lists
from ..stages.transcribe import TranscribeOptions
from ..storage.db import Storage
from .cache import StageCache
from .executors import Dispatcher, ThreadDispatcher, ThreadExecutor
from .options import AnalysisOptions, Strategy, build_strategy
from .runner import JobContext, Runner, error_fields, source_fingerprint

logger = logging.getLogger(__name__)

STATUSES = ("queued", "running", "partial", "failed", "done", "canceled")
FINAL_STATUSES = ("partial", "failed", "done", "canceled")


@dataclass
class JobView(Record):
    """What the pages and the CLI show of a job."""

    job_id: str
    source: str
    video_id: str | None
    status: str
    phase: str | None
    progress: float
    strategy_version: str
    error: dict[str, str] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    parent_job_id: str | None = None
    cached: bool = False
    title: str | None = None
    updated_at: float | None = None
    owner: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def elapsed_s(self) -> float | None:
        if not self.started_at:
            return None
        return (self.finished_at or time.time()) - self.started_at

    @property
    def eta_s(self) -> float | None:
        """Linear estimate from progress so far: None until there is enough to go on (10 % and
        5 s), since the first phases say little about the long ones. The Jobs page prefers the
        speeds measured on this machine (``Workbench.job_facts``)."""
        elapsed = self.elapsed_s
        if self.finished or elapsed is None or self.progress < 0.1 or elapsed < 5:
            return None
        return elapsed * (1 - self.progress) / self.progress

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> JobView:
        error = None
        if row.get("error_type"):
            error = {"type": row["error_type"], "message": row.get("error_message") or ""}
        return cls(
            job_id=row["job_id"], source=row["source"], video_id=row.get("video_id"), status=row["status"],
            phase=row.get("phase"), progress=float(row.get("progress") or 0.0),
            strategy_version=row["strategy_version"], error=error, metrics=row.get("metrics") or {},
            created_at=row.get("created_at"), started_at=row.get("started_at"),
            finished_at=row.get("finished_at"), parent_job_id=row.get("parent_job_id"),
            cached=bool((row.get("options") or {}).get("_cached")), updated_at=row.get("updated_at"),
            owner=row.get("owner"),
        )


@dataclass
class SubmitOutcome(Record):
    """One line of a batch: a job, or the reason this source was refused."""

    source: str
    job: JobView | None = None
    error: dict[str, str] | None = None
    notice: str | None = None  # e.g. the broker is down: the job waits for it


def wait_for_jobs(get: Callable[[str], JobView], children: Callable[[str], list[JobView]], job_ids: Sequence[str],
                  *, timeout: float | None, poll: float,
                  on_update: Callable[[list[JobView]], None] | None = None) -> list[JobView]:
    """Poll ``get`` until the jobs and their playlist children are final (the local job manager and
    the HTTP client share it); past ``timeout``, ``WaitTimeoutError`` names what is unfinished."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        views = [get(j) for j in job_ids]
        kids = [c for v in views for c in children(v.job_id)]
        if on_update:
            on_update(views + kids)
        if all(v.finished for v in views + kids):
            return views
        if deadline is not None and time.monotonic() > deadline:
            raise WaitTimeoutError.for_jobs(views + kids, timeout or 0)
        time.sleep(poll)


class JobManager:
    """One per process (the Streamlit app keeps it in st.cache_resource)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        db_path: str | Path | None = None,
        dispatcher: Dispatcher | None = None,
        resume: bool = True,
    ) -> None:
        """Open the database as its coordinator.

        Running jobs of any earlier owner are re-queued (DuckDB admits one writer process, so
        their owner is gone). ``resume=True`` (the app, the API service) also runs every queued
        job; ``resume=False`` (a one-off CLI run) runs only what it submits or attaches to.
        """
        self.settings = settings or get_settings()
        #: who runs the jobs this process claims: host, process id and a per-start token
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.storage = Storage(db_path or self.settings.db_path)
        self.cache = StageCache(self.settings.cache_dir)
        self.executor = self._make_executor()
        in_flight = self.settings.job_workers if self.executor.name == "threads" else max(
            self.settings.job_workers, self.settings.celery_jobs_in_flight)
        self.dispatcher = dispatcher or ThreadDispatcher(in_flight)
        self._workers: dict[str, Any] = {}
        self._workers_lock = threading.Lock()
        self._cancel: dict[str, threading.Event] = {}
        self._submit_lock = threading.Lock()
        self._strategies: dict[str, Strategy] = {}
        self._video_locks: dict[str, threading.Lock] = {}
        self._dispatched: set[str] = set()
        self._running: set[str] = set()
        self._closed = threading.Event()
        self.runner = Runner(self.storage, self.cache, self.executor, tries=self.settings.stage_retries,
                             retry_wait_base=self.settings.stage_retry_wait_s)
        requeued = self.storage.requeue_orphans(self.owner)
        if requeued:
            logger.info("re-queued %d interrupted job(s)", len(requeued), extra={"event": "requeue"})
        self._heartbeat = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)
        self._heartbeat.start()
        if resume:
            queued = [j["job_id"] for j in self.storage.list_jobs(statuses=["queued"])]
            for job_id in reversed(queued):
                self._dispatch(job_id)

    def _make_executor(self) -> Any:
        """``VIDEOMAP_DISPATCHER``: stages in this process's threads, or on Celery workers."""
        from ..storage.artefacts import store_from_settings

        store = store_from_settings(self.settings)
        if self.settings.dispatcher == "celery":
            from .celery_app import CeleryExecutor

            return CeleryExecutor(self.settings, store)
        if self.settings.dispatcher != "threads":
            raise ConfigurationError(
                f"Unknown dispatcher {self.settings.dispatcher!r}: use 'threads' or 'celery'.")
        return ThreadExecutor(self.settings, store, self.inference_worker)

    def _beat(self) -> None:
        """Record that this process still runs its jobs (the Jobs page and a successor read it)."""
        interval = max(0.5, float(self.settings.job_heartbeat_s))
        while not self._closed.wait(interval):
            try:
                self.storage.heartbeat(self.owner)
            except Exception:  # the database closed under us at shutdown
                if self._closed.is_set() or self.storage.closed:
                    return
                logger.warning("job heartbeat failed", exc_info=True)

    # ------------------------------------------------------------- options
    def default_options(self, **overrides: Any) -> AnalysisOptions:
        return AnalysisOptions.from_settings(self.settings, **overrides)

    def strategy(self, options: AnalysisOptions) -> Strategy:
        key = options.to_dict()
        key.pop("force", None)
        cache_key = repr(sorted(key.items()))
        if cache_key not in self._strategies:
            self._strategies[cache_key] = build_strategy(options, self.settings)
        return self._strategies[cache_key]

    def inference_worker(self, options: TranscribeOptions):
        """The inference worker owning the model for ``options.model`` (created once)."""
        from .inference import InferenceWorker

        with self._workers_lock:
            worker = self._workers.get(options.model)
            if worker is None:
                options.cpu_threads = self.settings.asr_cpu_threads
                worker = InferenceWorker(options, max_queue=self.settings.asr_queue_size,
                                         default_timeout_s=self.settings.asr_item_timeout_s)
                self._workers[options.model] = worker
            return worker

    def inference_info(self) -> list[dict[str, Any]]:
        with self._workers_lock:
            return [w.info() for w in self._workers.values()]

    # ----------------------------------------------------------- submission
    def expand_sources(self, sources: Sequence[str]) -> list[tuple[str, PipelineError | None]]:
        """Expand ``@list.txt`` entries; a bad list is reported, the rest go on."""
        return expand_source_lists(sources)

    def submit_many(self, sources: Sequence[str], options: AnalysisOptions | None = None,
                    *, priority: int = 10) -> list[SubmitOutcome]:
        outcomes = []
        for source, problem in self.expand_sources(sources):
            if problem is not None:
                outcomes.append(SubmitOutcome(source, error=problem.to_dict()))
                continue
            try:
                job = self.submit(source, options, priority=priority)
                notice = None if job.finished else self.broker_problem()
                outcomes.append(SubmitOutcome(source, job=job, notice=notice))
            except PipelineError as exc:
                outcomes.append(SubmitOutcome(source, error=exc.to_dict()))
        return outcomes

    def submit(self, source: str, options: AnalysisOptions | None = None, *, priority: int = 10) -> JobView:
        """Queue one source. Cached with the same strategy -> a finished job at once;
        already queued/running -> that job (idempotent)."""
        options = options or self.default_options()
        classify_source(source)  # raises InvalidSourceError for obviously bad input
        strategy = self.strategy(options)
        sv = strategy.version
        with self._submit_lock:
            active = self.storage.find_active_job(source, sv)
            if active and options.force and self.storage.get_job(active)["status"] == "queued" \
                    and active not in self._dispatched:
                self._cancel_queued(active, "Replaced by a forced re-run.")
                active = None
            if active:
                if active not in self._dispatched:  # re-queued after a crash: this process runs it now
                    self._dispatch(active)
                return self.get(active)
            if not options.force:
                cached = self._cached_job(source, sv, options)
                if cached is not None:
                    return cached
            job_id = self.storage.create_job(source, sv, options=options.to_dict(), priority=priority)
            self.storage.add_event(job_id, None, "queued", f"strategy {sv}")
        self._dispatch(job_id)
        return self.get(job_id)

    def _cached_job(self, source: str, sv: str, options: AnalysisOptions) -> JobView | None:
        video_ids, fingerprint = self.storage.videos_for_source(source)
        if not video_ids or fingerprint != source_fingerprint(source):
            return None
        results = [self.storage.get_result(v, sv) for v in video_ids]
        if not all(results):
            return None
        metrics = {"locations_found": 0, "tokens_in": 0, "tokens_out": 0, "cost": 0.0}
        failed = 0
        for vid in video_ids:
            for place in self.storage.places_for(vid, sv):
                if place["status"] == "ok":
                    metrics["locations_found"] += 1
                else:
                    failed += 1
        status = "partial" if failed else "done"
        opts = options.to_dict() | {"_cached": True}
        job_id = self.storage.create_job(source, sv, options=opts, status=status,
                                         video_id=video_ids[0] if len(video_ids) == 1 else None)
        now = time.time()
        self.storage.update_job(job_id, progress=1.0, phase="geocode", started_at=now, finished_at=now,
                                metrics=metrics)
        self.storage.add_event(job_id, None, "cache_hit", f"stored result of {len(video_ids)} video(s)")
        return self.get(job_id)

    def _dispatch(self, job_id: str) -> None:
        self._cancel.setdefault(job_id, threading.Event())
        self._dispatched.add(job_id)
        self.dispatcher.dispatch(job_id, self.run_job)

    def _cancel_queued(self, job_id: str, message: str) -> None:
        self.storage.update_job(job_id, status="canceled", finished_at=time.time(),
                                error_type="JobCanceledError", error_message=message)
        self.storage.add_event(job_id, None, "canceled", message)

    # ------------------------------------------------------------- running
    def run_job(self, job_id: str) -> None:
        """Run one job to a final status. Never raises (errors become job state)."""
        row = self.storage.get_job(job_id)
        if row is None or row["status"] != "queued" or self._closed.is_set():
            return
        if not self.storage.claim_job(job_id, self.owner):  # someone else took it meanwhile
            return
        self._running.add(job_id)
        cancel = self._cancel.setdefault(job_id, threading.Event())
        options = AnalysisOptions.from_dict(row["options"])
        ctx = JobContext(self.storage, job_id, canceled=cancel.is_set,
                         time_limit_s=self.settings.job_timeout_s or None)
        started = time.time()
        ctx.event(None, "started", f"run by {self.owner}")
        status = "failed"
        try:
            strategy = self.strategy(options)
            fetched = row["options"].get("_fetched")
            if fetched:
                videos = [FetchedVideo.from_dict(fetched)]
                ctx.weights.pop("metadata", None)
                self.storage.upsert_video(videos[0].to_dict())
            else:
                videos = self.runner.fetch(ctx, row["source"], options)
            if len(videos) > 1:
                status = self._expand_playlist(job_id, row, videos, options)
            else:
                video = videos[0]
                self.storage.update_job(job_id, video_id=video.video_id)
                with self._video_lock(ctx, video.video_id):
                    cached = None if options.force else self.storage.get_result(video.video_id, strategy.version)
                    if cached:
                        ctx.event(None, "cache_hit", "stored result for this strategy")
                        stored = self.storage.places_for(video.video_id, strategy.version)
                        failed = [p for p in stored if p["status"] != "ok"]
                        ctx.metrics["locations_found"] = len(stored) - len(failed)
                        ctx.metrics["geocode_failed"] = len(failed)
                        status = "partial" if failed else "done"
                    else:
                        status = self.runner.analyze_video(ctx, video, options, strategy)
            self.storage.update_job(job_id, status=status, progress=1.0, finished_at=time.time(),
                                    metrics=ctx.metrics)
        except JobCanceledError as canceled:
            status = "canceled"
            reason = canceled
            if self._closed.is_set():
                reason = JobCanceledError("Stopped because the workbench shut down; submit it again to finish it.")
            self.storage.update_job(job_id, status=status, finished_at=time.time(), **error_fields(reason))
        except PipelineError as exc:
            status = "partial" if isinstance(exc, PartialError) else "failed"
            self.storage.update_job(job_id, status=status, finished_at=time.time(), metrics=ctx.metrics,
                                    **error_fields(exc))
        except Exception as exc:  # a bug: keep the worker alive, record it
            logger.exception("job crashed", extra={"job_id": job_id, "event": "crash"})
            self.storage.update_job(job_id, status="failed", finished_at=time.time(), **error_fields(exc))
        finally:
            ctx.event(None, "finished", status, elapsed_ms=round((time.time() - started) * 1000, 1))
            self._cancel.pop(job_id, None)
            self._running.discard(job_id)

    @contextmanager
    def _video_lock(self, ctx: JobContext, video_id: str):
        """One analysis per video at a time: another source string may name the same video
        (two URL spellings, a copied file); the later job then finds the stored result."""
        with self._submit_lock:
            lock = self._video_locks.setdefault(video_id, threading.Lock())
        while not lock.acquire(timeout=0.2):
            ctx.check()
        try:
            yield
        finally:
            lock.release()

    def _expand_playlist(self, job_id: str, row: dict[str, Any], videos: list[FetchedVideo],
                         options: AnalysisOptions) -> str:
        children = []
        for video in videos:
            opts = options.to_dict() | {"_fetched": video.to_dict()}
            child = self.storage.create_job(row["source"], row["strategy_version"], options=opts,
                                            video_id=video.video_id, parent_job_id=job_id,
                                            priority=row.get("priority") or 10)
            children.append(child)
        self.storage.add_event(job_id, "metadata", "expanded", f"{len(children)} video job(s)",
                               data={"children": children})
        for child in children:
            self._dispatch(child)
        return "done"

    # ------------------------------------------------------------- control
    def cancel(self, job_id: str) -> JobView:
        row = self.storage.get_job(job_id)
        if row is None:
            raise ConfigurationError(f"No job {job_id!r}.")
        if row["status"] == "queued":
            self._cancel_queued(job_id, "Canceled by the user.")
        if row["status"] in ("queued", "running"):
            self._cancel.setdefault(job_id, threading.Event()).set()
        for child in self.storage.child_jobs(job_id):
            if child["status"] in ("queued", "running"):
                self.cancel(child["job_id"])
        return self.get(job_id)

    def retry(self, job_id: str) -> JobView:
        """Run a finished job's source again (same options, results recomputed)."""
        row = self.storage.get_job(job_id)
        if row is None:
            raise ConfigurationError(f"No job {job_id!r}.")
        options = AnalysisOptions.from_dict(row["options"])
        options.force = True
        if row["options"].get("_fetched"):
            sv = row["strategy_version"]
            opts = options.to_dict() | {"_fetched": row["options"]["_fetched"]}
            new_id = self.storage.create_job(row["source"], sv, options=opts, video_id=row["video_id"])
            self._dispatch(new_id)
            return self.get(new_id)
        return self.submit(row["source"], options)

    def retry_failed_geocodes(self, job_id: str) -> JobView:
        """Re-geocode only the places of this job's video(s) that failed."""
        row = self.storage.get_job(job_id)
        if row is None:
            raise ConfigurationError(f"No job {job_id!r}.")
        options = AnalysisOptions.from_dict(row["options"])
        strategy = self.strategy(options)
        video_ids = [row["video_id"]] if row.get("video_id") else [
            c["video_id"] for c in self.storage.child_jobs(job_id) if c.get("video_id")]
        remaining = 0
        fixed = 0
        for vid in video_ids:
            rows = self.storage.places_for(vid, row["strategy_version"])
            failed_rows = [r for r in rows if r["status"] != "ok"]
            if not failed_rows:
                continue
            all_names = [r["name"] for r in rows]
            places = [Place.from_dict({k: r[k] for k in Place.__dataclass_fields__ if k in r}) for r in failed_rows]
            video = self.storage.get_video(vid) or {}
            home = self.runner.channel_home(strategy, vid, video.get("metadata") or {})
            new = self.runner.geocode_places(strategy.geocoder, places, options=options,
                                             context_names=all_names, read_cache=False, home=home)
            for r, place in zip(failed_rows, new, strict=True):
                self.storage.update_place_geocode(r["place_id"], place)
                if place.status == "ok":
                    fixed += 1
                else:
                    remaining += 1
        status = "partial" if remaining else "done"
        metrics = dict(row.get("metrics") or {})
        metrics["locations_found"] = int(metrics.get("locations_found") or 0) + fixed
        metrics["geocode_failed"] = remaining
        self.storage.update_job(job_id, status=status, metrics=metrics,
                                error_type=None if not remaining else row.get("error_type"),
                                error_message=None if not remaining else row.get("error_message"))
        self.storage.add_event(job_id, "geocode", "retry_geocodes", f"{fixed} fixed, {remaining} still failing")
        return self.get(job_id)

    # ------------------------------------------------------------- scale-out
    def broker_problem(self) -> str | None:
        """With the Celery dispatcher: why queued work cannot reach the workers now (else None)."""
        check = getattr(self.executor, "broker_problem", None)
        return check() if check else None

    def executor_info(self) -> dict[str, Any]:
        info = getattr(self.executor, "info", None)
        return info() if info else {"dispatcher": self.executor.name}

    def dead_letters(self) -> list[dict[str, Any]]:
        """Stages whose retries ran out (Celery dispatcher; threads keep none)."""
        letters = getattr(self.executor, "dead_letters", None)
        return letters.list() if letters is not None else []

    def purge_dead_letters(self) -> int:
        letters = getattr(self.executor, "dead_letters", None)
        return letters.purge() if letters is not None else 0

    def replay_dead_letter(self, letter_id: str) -> JobView:
        """Run a dead-lettered stage's job again from where it failed (earlier stages come from
        the caches); a geocode letter asks again for the names that were not placed."""
        letters = getattr(self.executor, "dead_letters", None)
        if letters is None:
            raise NotFoundError("The threads dispatcher keeps no dead letters; use Retry on the job instead.")
        entry = letters.get(letter_id)
        job_id = entry.get("job_id")
        row = self.storage.get_job(job_id) if job_id else None
        if row is None:
            letters.remove(letter_id)
            raise NotFoundError(f"The job of dead letter {letter_id} no longer exists; the letter was removed.")
        if entry.get("stage") == "geocode" and row["status"] in ("done", "partial"):
            view = self.retry_failed_geocodes(job_id)
            if view.status == "done":
                letters.remove(letter_id)
            return view
        letters.remove(letter_id)
        if row["status"] in ("queued", "running"):
            return self.get(job_id)
        self.storage.update_job(job_id, status="queued", progress=0.0, phase=None, finished_at=None,
                                error_type=None, error_message=None)
        self.storage.add_event(job_id, None, "replayed", f"dead letter {letter_id} replayed")
        self._dispatch(job_id)
        return self.get(job_id)

    # ------------------------------------------------------------- reading
    def get(self, job_id: str) -> JobView:
        row = self.storage.get_job(job_id, with_title=True)
        if row is None:
            raise NotFoundError(f"No job {job_id!r}.")
        view = JobView.from_row(row)
        view.title = row.get("video_title")
        return view

    def jobs(self, limit: int = 200, statuses: Sequence[str] | None = None) -> list[JobView]:
        return [JobView.from_row(r) for r in self.storage.list_jobs(limit=limit, statuses=statuses)]

    def running_jobs(self) -> list[str]:
        """Jobs this process is running now (no database query)."""
        return sorted(self._running)

    def children(self, job_id: str) -> list[JobView]:
        return [JobView.from_row(r) for r in self.storage.child_jobs(job_id)]

    def events(self, job_id: str) -> list[dict[str, Any]]:
        return self.storage.job_events(job_id)

    def wait(self, job_ids: Sequence[str], *, timeout: float | None = None, poll: float = 0.2,
             on_update: Callable[[list[JobView]], None] | None = None) -> list[JobView]:
        """Block until the jobs (and their playlist children) are final. For the CLI and tests.

        Never waits for ever: the limit is ``timeout`` or, by default, the job time limit plus a
        minute; past it, ``WaitTimeoutError`` says which jobs are unfinished and where they stand.
        """
        if timeout is None and self.settings.job_timeout_s:
            timeout = float(self.settings.job_timeout_s) + 60.0
        return wait_for_jobs(self.get, self.children, job_ids, timeout=timeout, poll=poll, on_update=on_update)

    def metrics(self) -> dict[str, Any]:
        data = self.storage.metrics()
        data["inference"] = self.inference_info()
        data["queue_depth"] = sum(w.get("queue_depth", 0) for w in data["inference"])
        data["db_path"] = str(self.storage.path)
        data["db_size_bytes"] = self.storage.size_bytes()
        return data

    def shutdown(self, wait: bool = True) -> None:
        """Stop the workers. ``wait=False`` cancels running jobs first (they stop at the
        next phase or segment); the database closes only after every job thread ended."""
        self._closed.set()
        if not wait:
            for event in list(self._cancel.values()):
                event.set()
        with self._workers_lock:
            for worker in self._workers.values():
                worker.shutdown(wait=wait)
        self.dispatcher.shutdown(wait=True)
        self.executor.shutdown()
        self.storage.close()


__all__ = ["JobManager", "JobView", "SubmitOutcome", "Dispatcher", "ThreadDispatcher", "STATUSES"]

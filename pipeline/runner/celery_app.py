"""Scale-out: the stages of ``pipeline.runner.graph`` as Celery tasks on Redis-fed queues.

What runs where:

* the **coordinator** (the workbench process; ``VIDEOMAP_DISPATCHER=celery``) runs the
  runner as before; ``CeleryExecutor`` sends each remote stage to its queue and waits
  for its output, reading progress from the result backend. Only the coordinator
  writes the database.
* **workers** (``python -m pipeline worker --queues asr``) run ``videomap.stage``: one
  stage on a plain JSON record, returned as a plain record (errors too, as values,
  so that the runner's one retry layer decides). They never open DuckDB.
* **Beat** (``python -m pipeline beat``) runs ``videomap.maintenance``: re-sends work
  whose worker vanished, removes stale local copies of shared media, records queue
  depths.

Reliability: ``acks_late`` + ``reject_on_worker_lost`` + prefetch 1 (a task whose
worker dies is redelivered), a visibility timeout above the longest task, soft and
hard time limits. A running task keeps a heartbeat key alive; the cancel key of a task
stops it at its next check. Tasks are idempotent: their output is a pure function of
their input, and the coordinator records each job's result once (replacing the rows
of an earlier run), so a redelivery never duplicates rows.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from importlib import import_module
from typing import Any

from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded

from ..errors import (
    JobCanceledError,
    NotFoundError,
    PipelineError,
    StageTimeoutError,
    WorkerCrashError,
    error_from_dict,
)
from ..storage.artefacts import ArtefactStore, store_from_settings
from .cache import stable_hash
from .executors import stage_env
from .graph import QUEUES, STAGES, Stage, StageEnv

logger = logging.getLogger(__name__)

STAGE_TASK = "videomap.stage"
MAINTENANCE_TASK = "videomap.maintenance"
PREFIX = "videomap:"
#: how often a waiting stage checks whether Redis restarted (and lost its message) meanwhile
BROKER_RESTART_CHECK_S = 2.0
INFLIGHT = PREFIX + "inflight"  # task id -> what the coordinator sent (for re-sending it)
DEAD_LETTERS = PREFIX + "dlq"  # id -> a stage whose retries are exhausted
QUEUE_DEPTHS = PREFIX + "queue_depths"


def _beat_key(task_id: str) -> str:
    return f"{PREFIX}beat:{task_id}"


def _cancel_key(task_id: str) -> str:
    return f"{PREFIX}cancel:{task_id}"


def broker_errors() -> tuple[type[BaseException], ...]:
    import kombu.exceptions
    import redis.exceptions

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, kombu.exceptions.OperationalError,
            ConnectionError, OSError)


def redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3, decode_responses=True)


def make_app(settings: Any) -> Celery:
    app = Celery("videomap", broker=settings.broker_url, backend=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json", result_serializer="json", accept_content=["json"],
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_track_started=True, result_expires=24 * 3600, result_extended=False,
        broker_transport_options={"visibility_timeout": int(settings.broker_visibility_timeout_s)},
        task_soft_time_limit=settings.stage_soft_time_limit_s, task_time_limit=settings.stage_time_limit_s,
        task_default_queue="maintenance",
        task_routes={MAINTENANCE_TASK: {"queue": "maintenance"}},  # stage tasks name their queue when sent
        broker_connection_retry_on_startup=True, broker_connection_max_retries=None,
        worker_hijack_root_logger=False, worker_send_task_events=True, task_send_sent_event=True,
        beat_schedule={"maintenance": {
            "task": MAINTENANCE_TASK, "schedule": float(settings.maintenance_interval_s),
            "options": {"queue": "maintenance", "expires": settings.maintenance_interval_s}}},
    )
    app.videomap_settings = settings  # type: ignore[attr-defined]
    app.task(name=STAGE_TASK, bind=True)(_stage_task)

    def maintenance_task() -> dict[str, Any]:
        return maintenance(app)

    app.task(name=MAINTENANCE_TASK)(maintenance_task)
    return app


# ------------------------------------------------------------------ worker side
_worker_inference: dict[str, Any] = {}
_worker_inference_lock = threading.Lock()


def _inference(settings: Any):
    """This worker process's inference worker: the model loads once per worker."""

    def get(options: Any) -> Any:
        from .inference import InferenceWorker

        with _worker_inference_lock:
            worker = _worker_inference.get(options.model)
            if worker is None:
                options.cpu_threads = settings.asr_cpu_threads
                worker = InferenceWorker(options, max_queue=settings.asr_queue_size,
                                         default_timeout_s=settings.asr_item_timeout_s)
                _worker_inference[options.model] = worker
            return worker

    return get


class _TaskLife:
    """A running task's heartbeat key, its cancel flag and throttled progress reports."""

    def __init__(self, task: Any, settings: Any) -> None:
        self.task = task
        self.task_id = task.request.id  # the request is thread-local: keep what other threads need
        self.hostname = task.request.hostname
        self.interval = max(0.2, float(settings.worker_heartbeat_s))
        self.redis = redis_client(settings.broker_url)
        self.canceled = threading.Event()
        self._stop = threading.Event()
        self._last = 0.0
        self._thread = threading.Thread(target=self._beat, name="task-heartbeat", daemon=True)

    def __enter__(self) -> _TaskLife:
        self._pulse()
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        try:
            self.redis.delete(_beat_key(self.task_id))
        except broker_errors():
            pass

    def _pulse(self) -> None:
        self.redis.set(_beat_key(self.task_id), socket.gethostname(), px=int(self.interval * 3000))
        if self.redis.exists(_cancel_key(self.task_id)):
            self.canceled.set()

    def _beat(self) -> None:
        while not self._stop.wait(min(self.interval, 0.5)):
            try:
                self._pulse()
            except broker_errors():
                logger.warning("heartbeat of task %s failed", self.task_id)

    def check(self) -> None:
        if self.canceled.is_set():
            raise JobCanceledError("Canceled by the user.")

    def progress(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self._last < 0.25 and fraction < 1.0:
            return
        self._last = now
        try:  # called from the inference thread too
            self.task.update_state(task_id=self.task_id, state="PROGRESS",
                                   meta={"progress": round(float(fraction), 4), "worker": self.hostname})
        except broker_errors():
            logger.warning("progress of task %s not reported (broker down)", self.task_id)


def _stage_task(self: Any, stage_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """One stage on this worker. The output, or the stage's error, is the task's result."""
    settings = self.app.videomap_settings
    stage = STAGES[stage_name]
    started = time.perf_counter()
    with _TaskLife(self, settings) as life:
        env = StageEnv(settings=settings, store=store_from_settings(settings), progress=life.progress,
                       check=life.check, inference=_inference(settings))
        try:
            result = stage.run(payload, env)
        except SoftTimeLimitExceeded:
            error = StageTimeoutError(f"The {stage_name} stage ran past its time limit of "
                                      f"{settings.stage_soft_time_limit_s:g} s on its worker.")
            return {"error": error.to_dict()}
        except PipelineError as exc:
            logger.info("stage %s: %s", stage_name, exc.message, extra={"event": "stage_error"})
            return {"error": exc.to_dict() | {"retried": bool(getattr(exc, "retried", False))}}
        except Exception as exc:  # a bug: say so, keep the worker
            logger.exception("stage %s crashed", stage_name)
            return {"error": WorkerCrashError(f"The {stage_name} worker failed: {type(exc).__name__}: {exc}")
                    .to_dict()}
    logger.info("stage %s done in %.0f ms", stage_name, (time.perf_counter() - started) * 1000,
                extra={"event": "stage_done"})
    return {"result": result}


def run_worker(settings: Any, queues: list[str], concurrency: int | None = None, loglevel: str = "INFO") -> None:
    """``python -m pipeline worker``: a Celery worker for ``queues`` with the project's app."""
    unknown = [q for q in queues if q not in QUEUES]
    if unknown:
        raise ValueError(f"Unknown queue(s) {', '.join(unknown)}; the queues are {', '.join(QUEUES)}.")
    from .. import ratelimit

    ratelimit.use_redis(settings.broker_url)
    app = make_app(settings)
    if concurrency is None:  # one model per ASR worker process; I/O-bound stages wait on the network
        concurrency = 1 if "asr" in queues else max(2, settings.io_workers)
    name = f"videomap-{'-'.join(queues)}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
    if {"extract", "geocode"} & set(queues):
        _preload_gazetteer()
    if "extract" in queues:  # litellm takes seconds to import: once, before the pool forks
        import_module("pipeline.stages.extract_llm")
    app.worker_main(["worker", "-Q", ",".join(queues), "-c", str(concurrency), "-n", name,
                     "--loglevel", loglevel, "--without-gossip", "--without-mingle"])


def _preload_gazetteer() -> None:
    """Load the gazetteer before the pool forks: every task process shares it, none loads it."""
    from ..geo.gazetteer import get_gazetteer

    started = time.perf_counter()
    get_gazetteer()
    logger.info("gazetteer loaded in %.1f s", time.perf_counter() - started)


def run_beat(settings: Any, schedule_path: str, loglevel: str = "INFO") -> None:
    app = make_app(settings)
    app.start(["beat", "--schedule", schedule_path, "--loglevel", loglevel])


# ------------------------------------------------------------------ maintenance (Beat)
def maintenance(app: Celery) -> dict[str, Any]:
    settings = app.videomap_settings  # type: ignore[attr-defined]
    client = redis_client(settings.broker_url)
    requeued = requeue_vanished(app, client, settings)
    removed = store_from_settings(settings).remove_local_copies(older_than_s=24 * 3600)
    depths = queue_depths(client)
    client.hset(QUEUE_DEPTHS, mapping={**{q: str(n) for q, n in depths.items()}, "at": str(time.time())})
    if requeued or removed:
        logger.info("maintenance: %d task(s) re-sent, %d stale media folder(s) removed", len(requeued), removed)
    return {"requeued": requeued, "removed": removed, "queue_depths": depths}


def requeue_vanished(app: Celery, client: Any, settings: Any) -> list[str]:
    """Re-send each started task whose heartbeat stopped: its worker vanished (kill -9, host lost)."""
    grace = 3 * max(0.2, float(settings.worker_heartbeat_s))
    requeued = []
    for task_id, raw in client.hgetall(INFLIGHT).items():
        entry = json.loads(raw)
        state = app.AsyncResult(task_id).state
        if state in ("SUCCESS", "FAILURE", "REVOKED") and time.time() - float(entry.get("sent_at") or 0) > 3600:
            client.hdel(INFLIGHT, task_id)  # finished and never collected (its coordinator restarted)
            continue
        if state not in ("STARTED", "PROGRESS") or client.exists(_beat_key(task_id)):
            continue
        if time.time() - float(entry.get("sent_at") or 0) < grace:
            continue
        entry["sent_at"] = time.time()
        entry["redeliveries"] = int(entry.get("redeliveries") or 0) + 1
        client.hset(INFLIGHT, task_id, json.dumps(entry))
        app.send_task(STAGE_TASK, args=[entry["stage"], entry["payload"]], task_id=task_id, queue=entry["queue"])
        logger.warning("worker of task %s (%s) vanished; task sent again", task_id, entry["stage"],
                       extra={"event": "redelivered"})
        requeued.append(task_id)
    return requeued


def queue_depths(client: Any) -> dict[str, int]:
    """Messages waiting per queue (the Redis transport keeps each queue as a list)."""
    return {queue: int(client.llen(queue)) for queue in QUEUES}


# ------------------------------------------------------------------ dead letters
class DeadLetters:
    """Stages whose retries are exhausted, kept in Redis until replayed or purged."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def add(self, **entry: Any) -> str:
        letter_id = uuid.uuid4().hex[:10]
        entry = {"id": letter_id, "time": time.time(), **entry}
        self.client.hset(DEAD_LETTERS, letter_id, json.dumps(entry, default=str))
        return letter_id

    def list(self) -> list[dict[str, Any]]:
        entries = [json.loads(v) for v in self.client.hvals(DEAD_LETTERS)]
        return sorted(entries, key=lambda e: e.get("time") or 0)

    def get(self, letter_id: str) -> dict[str, Any]:
        raw = self.client.hget(DEAD_LETTERS, letter_id)
        if raw is None:
            raise NotFoundError(f"No dead letter {letter_id!r} (see `python -m pipeline dlq list`).")
        return json.loads(raw)

    def remove(self, letter_id: str) -> None:
        self.client.hdel(DEAD_LETTERS, letter_id)

    def purge(self) -> int:
        count = int(self.client.hlen(DEAD_LETTERS))
        self.client.delete(DEAD_LETTERS)
        return count

    def count(self) -> int:
        return int(self.client.hlen(DEAD_LETTERS))


# ------------------------------------------------------------------ coordinator side
class CeleryExecutor:
    """Sends remote stages to their queues and waits for them; the coordinator's side."""

    name = "celery"

    def __init__(self, settings: Any, store: ArtefactStore) -> None:
        self.settings = settings
        self.store = store
        self.app = make_app(settings)
        self.redis = redis_client(settings.broker_url)
        self.dead_letters = DeadLetters(self.redis)
        self._health: tuple[float, str | None] = (0.0, None)

    @property
    def broker_label(self) -> str:
        return self.settings.broker_url.split("@")[-1]

    def broker_problem(self) -> str | None:
        """None when Redis answers, else the analyst's sentence (checked at most every 2 s)."""
        at, problem = self._health
        if time.monotonic() - at < 2.0:
            return problem
        try:
            self.redis.ping()
            problem = None
        except broker_errors() as exc:
            problem = (f"The task broker (Redis at {self.broker_label}) is not answering ({type(exc).__name__}); "
                       "the job is kept queued and starts when it is back.")
        self._health = (time.monotonic(), problem)
        return problem

    def _send(self, stage: Stage, payload: dict[str, Any], task_id: str) -> None:
        entry = {"stage": stage.name, "queue": stage.queue, "payload": payload, "sent_at": time.time()}
        self.redis.hset(INFLIGHT, task_id, json.dumps(entry))
        self.app.send_task(STAGE_TASK, args=[stage.name, payload], task_id=task_id, queue=stage.queue)

    def call(self, stage: Stage, payload: dict[str, Any], ctx: Any, attempt: int) -> dict[str, Any]:
        if not stage.queue:  # cheap stages stay on the coordinator
            return stage.run(payload, stage_env(stage, ctx, self.settings, self.store, None))
        job = ctx.job_id if ctx is not None else "direct"
        task_id = f"vm.{stage.name}.{stable_hash(payload, 12)}.{job}.a{attempt}"
        outage = False

        def broker_down(exc: BaseException) -> None:
            nonlocal outage
            if not outage and ctx is not None:
                ctx.event(stage.phase, "broker_unavailable",
                          f"The task broker (Redis at {self.broker_label}) is not answering ({type(exc).__name__}); "
                          f"the {stage.name} stage waits and goes on when it is back.")
            outage = True
            time.sleep(1.0)

        while True:
            self._check(ctx, task_id)
            try:
                self._send(stage, payload, task_id)
                break
            except broker_errors() as exc:
                broker_down(exc)
        if ctx is not None:
            ctx.event(stage.phase, "task_sent", f"{stage.name} sent to queue {stage.queue}", task_id=task_id,
                      queue=stage.queue, attempt=attempt)
        result = self.app.AsyncResult(task_id)
        pause = 0.02  # polls back off to 0.5 s while nothing changes: many waiting jobs stay cheap
        last_info: Any = None
        broker_run = self._broker_run_id()
        next_run_check = time.monotonic() + BROKER_RESTART_CHECK_S
        while True:
            self._check(ctx, task_id)
            try:
                state = result.state
                restarted = False
                if state == "PENDING" and time.monotonic() >= next_run_check:
                    # A Redis restarted between two polls (no error seen) has lost the queued
                    # message, or the result, when it keeps no data: its run id tells.
                    next_run_check = time.monotonic() + BROKER_RESTART_CHECK_S
                    run = self._broker_run_id()
                    restarted, broker_run = bool(run and broker_run and run != broker_run), run or broker_run
                if outage or restarted:  # the broker is back: a message it lost (no persistence) is sent again
                    outage = False
                    if state == "PENDING":
                        self._send(stage, payload, task_id)
                        if ctx is not None:
                            ctx.event(stage.phase, "broker_back", f"broker answers again; {stage.name} re-sent")
                if state == "SUCCESS":
                    value = result.result
                    break
                if state == "FAILURE":
                    raise WorkerCrashError(f"The {stage.name} task failed on its worker: {result.result!r}")
                info = result.info if state == "PROGRESS" else None
                if info != last_info:
                    last_info, pause = info, 0.02
                    if ctx is not None and isinstance(info, dict):
                        ctx.progress(stage.phase, float(info.get("progress") or 0.0))
            except broker_errors() as exc:
                broker_down(exc)
                continue
            time.sleep(pause)
            pause = min(0.5, pause * 1.5)
        try:
            self.redis.hdel(INFLIGHT, task_id)
            result.forget()
        except broker_errors():
            pass
        if "error" in value:
            raise error_from_dict(value["error"])
        return value["result"]

    def _broker_run_id(self) -> str | None:
        """Redis's run id (new at each start of the server); None when it does not answer."""
        try:
            return str(self.redis.info("server").get("run_id") or "") or None
        except broker_errors():
            return None

    def _check(self, ctx: Any, task_id: str) -> None:
        if ctx is None or not (ctx.canceled or ctx.timed_out):
            return
        try:
            self.redis.set(_cancel_key(task_id), "1", ex=3600)
            self.redis.hdel(INFLIGHT, task_id)
            self.app.control.revoke(task_id)
        except broker_errors():
            logger.warning("could not pass the cancel of %s to its worker (broker down)", task_id)
        ctx.check()

    def dead_letter(self, stage: Stage, payload: dict[str, Any], ctx: Any, error: PipelineError,
                    attempts: int) -> str | None:
        try:
            return self.dead_letters.add(
                job_id=ctx.job_id if ctx is not None else None, stage=stage.name, queue=stage.queue,
                input=f"job {ctx.job_id if ctx is not None else '-'}, stage {stage.name}, input "
                      f"{stable_hash(payload, 12)}",
                error=error.to_dict(), attempts=attempts)
        except broker_errors():
            logger.warning("could not record a dead letter for %s (broker down)", stage.name)
            return None

    def info(self) -> dict[str, Any]:
        problem = self.broker_problem()
        info: dict[str, Any] = {"dispatcher": "celery", "broker": self.broker_label, "broker_problem": problem}
        if problem is None:
            try:
                info["queue_depths"] = queue_depths(self.redis)
                info["dead_letters"] = self.dead_letters.count()
                info["in_flight"] = int(self.redis.hlen(INFLIGHT))
            except broker_errors():
                pass
        return info

    def shutdown(self) -> None:
        try:
            self.redis.close()
        except Exception:  # pragma: no cover
            pass


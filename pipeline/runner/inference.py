"""The one inference thread that owns the one speech model.

A process pool was rejected (each process would load its own model: GPU
memory, 15-30 s cold starts). Instead one background thread loads the model
once, lazily, behind a lock, and serves a bounded priority queue. Jobs call
``submit()`` and get an ``InferenceTicket``; nothing but this thread ever
touches the model, so no job blocks on it except by choosing to wait on its
own ticket.

Cancellation and per-item timeouts are cooperative: the running item checks
them between segments (a segment is at most one 30 s window of audio).

Shutdown is orderly even when the caller forgets it: at interpreter exit every
live worker is stopped and joined, and the model is freed on its own thread.
A daemon thread left inside CTranslate2 while the interpreter tears down ends in
a segmentation fault (Ctrl-C during a transcription exited 139, and the
references its frames still held made nanobind report dozens of "leaked"
DuckDB objects).
"""

from __future__ import annotations

import atexit
import gc
import heapq
import itertools
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from ..datatypes import Transcript
from ..errors import JobCanceledError, PipelineError, StageTimeoutError, TransientError
from ..stages.transcribe import (
    LoadedModel,
    TranscribeOptions,
    TranscriptionFailedError,
    load_model,
    select_device,
    transcribe_file,
)

logger = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELED = "queued", "running", "done", "failed", "canceled"

_LIVE_WORKERS: weakref.WeakSet[InferenceWorker] = weakref.WeakSet()
# At exit, wait this long for the running segment to end (a hung model must not hang exit).
EXIT_JOIN_TIMEOUT_S = 120.0


@atexit.register
def _stop_live_workers() -> None:
    """Stop, join and unload every worker before the interpreter tears down."""
    for worker in list(_LIVE_WORKERS):
        try:
            worker.shutdown(wait=True, cancel_pending=True, timeout=EXIT_JOIN_TIMEOUT_S)
        except Exception:  # pragma: no cover - exit must go on
            logger.exception("Stopping the inference worker at exit failed")


class InferenceQueueFullError(TransientError):
    """The transcription queue is full; submit again later."""


class InferenceWorkerStoppedError(TransientError):
    """The inference worker has been shut down and accepts no more work."""


class InferenceTicket:
    """Handle on one submitted transcription (the caller's side of the queue)."""

    def __init__(
        self,
        worker: InferenceWorker,
        audio_path: str,
        *,
        video_id: str,
        priority: int,
        timeout_s: float | None,
        on_progress: Callable[[float], None] | None,
    ) -> None:
        self.audio_path = audio_path
        self.video_id = video_id
        self.priority = priority
        self.timeout_s = timeout_s
        self.submitted_at = time.time()
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self._worker = worker
        self._on_progress = on_progress
        self._future: Future[Transcript] = Future()
        self._state = QUEUED
        self._progress = 0.0
        self._stop = threading.Event()

    # ---------------------------------------------------------------- reading
    @property
    def state(self) -> str:
        """"queued" | "running" | "done" | "failed" | "canceled"."""
        return self._state

    @property
    def progress(self) -> float:
        """Fraction of the audio transcribed so far (0..1)."""
        return self._progress

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> Transcript:
        """Wait for the transcript; re-raises the stage error (a PipelineError).

        Like ``Future.result``, a ``timeout`` only limits the wait and raises the
        built-in ``TimeoutError``: the item keeps its place and keeps running
        (its own time limit is ``timeout_s`` at submit, raising StageTimeoutError).
        """
        return self._future.result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        return self._future.exception(timeout)

    def add_done_callback(self, fn: Callable[[InferenceTicket], Any]) -> None:
        """Call ``fn(ticket)`` once the item is finished (on the inference thread)."""
        self._future.add_done_callback(lambda _f: fn(self))

    # ---------------------------------------------------------------- control
    def cancel(self) -> bool:
        """Cancel the item: a queued one is skipped, a running one stops at the next
        segment with JobCanceledError. False if it had already finished."""
        return self._worker._cancel(self)

    def __repr__(self) -> str:
        return (
            f"<InferenceTicket {self.video_id} priority={self.priority} state={self._state} "
            f"progress={self._progress:.2f}>"
        )

    # ------------------------------------------------------- worker internals
    def _should_stop(self, deadline: float | None) -> None:
        if self._stop.is_set():
            raise JobCanceledError(
                f"Transcription of {self.video_id} was canceled.", source=self.video_id
            )
        if deadline is not None and time.monotonic() > deadline:
            raise StageTimeoutError(
                f"Transcription of {self.video_id} ran past its time limit of "
                f"{self.timeout_s:g}s and was stopped (raise VIDEOMAP_ASR_ITEM_TIMEOUT_S for long "
                "recordings, or try again when the machine is less busy).",
                source=self.video_id,
            )

    def _progress_cb(self, fraction: float) -> None:
        self._progress = fraction
        if self._on_progress is None or self._stop.is_set():
            return  # a canceled item's job may already be gone (and its database closed)
        try:
            self._on_progress(fraction)
        except Exception:  # a broken progress display must not break transcription
            if self._stop.is_set():
                logger.debug("on_progress callback failed after cancel for %s", self.video_id)
            else:
                logger.exception("on_progress callback failed for %s", self.video_id)


class InferenceWorker:
    """One thread, one model, one bounded priority queue (lower priority number runs first)."""

    def __init__(
        self,
        options: TranscribeOptions,
        *,
        max_queue: int = 32,
        loader: Callable[[TranscribeOptions], LoadedModel] = load_model,
        default_timeout_s: float | None = None,
        name: str = "videomap-inference",
    ) -> None:
        if max_queue < 1:
            raise ValueError("max_queue must be at least 1")
        self.options = options
        self.max_queue = max_queue
        self.default_timeout_s = default_timeout_s
        self._loader = loader
        self._cond = threading.Condition()
        self._model_lock = threading.Lock()
        self._heap: list[tuple[int, int, InferenceTicket]] = []
        self._seq = itertools.count()
        self._queued = 0
        self._running: InferenceTicket | None = None
        self._loaded: LoadedModel | None = None
        self._warm: Future[None] | None = None
        self._warm_pending = False
        self._stopping = False
        self._counts = {DONE: 0, FAILED: 0, CANCELED: 0}
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        _LIVE_WORKERS.add(self)

    # ------------------------------------------------------------- public API
    def submit(
        self,
        audio_path: str | os.PathLike[str],
        *,
        video_id: str,
        priority: int = 10,
        timeout_s: float | None = None,
        on_progress: Callable[[float], None] | None = None,
    ) -> InferenceTicket:
        """Queue one file for transcription; returns at once."""
        if timeout_s is None:
            timeout_s = self.default_timeout_s
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        ticket = InferenceTicket(
            self,
            os.fspath(audio_path),
            video_id=video_id,
            priority=priority,
            timeout_s=timeout_s,
            on_progress=on_progress,
        )
        with self._cond:
            if self._stopping:
                raise InferenceWorkerStoppedError(
                    "The transcription worker is shutting down; no new work is accepted.",
                    source=video_id,
                )
            if self._queued >= self.max_queue:
                raise InferenceQueueFullError(
                    f"The transcription queue is full ({self._queued} of {self.max_queue} items "
                    f"waiting); try {video_id} again when some have finished.",
                    source=video_id,
                )
            heapq.heappush(self._heap, (priority, next(self._seq), ticket))
            self._queued += 1
            self._cond.notify_all()
        logger.debug("Queued %s (priority %d, depth %d)", video_id, priority, self._queued)
        return ticket

    def queue_depth(self) -> int:
        """Items waiting (not counting the one running)."""
        with self._cond:
            return self._queued

    def info(self) -> dict[str, Any]:
        with self._cond:
            loaded, running = self._loaded, self._running
            depth, counts = self._queued, dict(self._counts)
        if loaded is not None:
            device, compute_type = loaded.device, loaded.compute_type
        else:
            device, compute_type = select_device(self.options.device, self.options.compute_type)
        return {
            "model": self.options.model,
            "model_path": loaded.model_path if loaded else None,
            "device": device,
            "compute_type": compute_type,
            "loaded": loaded is not None,
            "load_seconds": loaded.load_seconds if loaded else None,
            "queue_depth": depth,
            "max_queue": self.max_queue,
            "processed": counts[DONE] + counts[FAILED],
            "succeeded": counts[DONE],
            "failed": counts[FAILED],
            "canceled": counts[CANCELED],
            "running": running.video_id if running else None,
            "alive": self._thread.is_alive(),
        }

    def warm_up(self) -> Future[None]:
        """Load the model now, on the worker thread; returns at once.

        The returned future completes when the model is loaded (or holds the
        ConfigurationError that stopped it).
        """
        with self._cond:
            if self._loaded is not None:
                done: Future[None] = Future()
                done.set_result(None)
                return done
            if self._warm is None or self._warm.done():
                self._warm = Future()
                self._warm_pending = True
                self._cond.notify_all()
            return self._warm

    def shutdown(self, wait: bool = True, *, cancel_pending: bool = False, timeout: float | None = None) -> None:
        """Stop accepting work. Queued items still run unless ``cancel_pending``,
        which also asks the running item to stop. ``timeout`` bounds the wait."""
        to_cancel: list[InferenceTicket] = []
        with self._cond:
            self._stopping = True
            if cancel_pending:
                while self._heap:
                    _, _, ticket = heapq.heappop(self._heap)
                    if ticket._state == QUEUED:
                        ticket._state = CANCELED
                        self._queued -= 1
                        self._counts[CANCELED] += 1
                        to_cancel.append(ticket)
                if self._running is not None:
                    self._running._stop.set()
            self._cond.notify_all()
        for ticket in to_cancel:
            ticket.finished_at = time.time()
            ticket._future.set_exception(
                JobCanceledError(
                    f"Transcription of {ticket.video_id} was canceled (worker shut down).",
                    source=ticket.video_id,
                )
            )
        if wait and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("The inference worker did not stop within %.0f s", timeout or 0)

    def __enter__(self) -> InferenceWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=True, cancel_pending=True)

    # -------------------------------------------------------------- internals
    def _cancel(self, ticket: InferenceTicket) -> bool:
        with self._cond:
            if ticket._state == RUNNING:
                ticket._stop.set()
                return True
            if ticket._state != QUEUED:
                return False
            ticket._state = CANCELED  # left in the heap; the worker skips it
            self._queued -= 1
            self._counts[CANCELED] += 1
            self._cond.notify_all()
        ticket.finished_at = time.time()
        ticket._future.set_exception(
            JobCanceledError(
                f"Transcription of {ticket.video_id} was canceled before it started.",
                source=ticket.video_id,
            )
        )
        return True

    def _ensure_model(self) -> LoadedModel:
        with self._model_lock:
            if self._loaded is None:
                loaded = self._loader(self.options)
                with self._cond:
                    self._loaded = loaded
            return self._loaded

    def _next_task(self) -> InferenceTicket | str | None:
        """Block until there is something to do: a ticket, "warm", or None to exit."""
        with self._cond:
            while True:
                if self._warm_pending:
                    self._warm_pending = False
                    return "warm"
                while self._heap:
                    _, _, ticket = heapq.heappop(self._heap)
                    if ticket._state == QUEUED:
                        ticket._state = RUNNING
                        self._queued -= 1
                        self._running = ticket
                        return ticket
                if self._stopping:
                    return None
                self._cond.wait()

    def _run(self) -> None:
        while True:
            task = self._next_task()
            if task is None:
                break
            try:
                if task == "warm":
                    self._do_warm_up()
                else:
                    assert isinstance(task, InferenceTicket)
                    self._do_item(task)
            except BaseException:  # pragma: no cover - the thread must survive anything
                logger.exception("Inference worker: unexpected error (continuing)")
            finally:
                task = None  # hold no ticket (and its callbacks) between items
        self._unload_model()
        logger.debug("Inference worker stopped")

    def _unload_model(self) -> None:
        """Free the model here, on the thread that used it, not in interpreter teardown."""
        with self._model_lock:
            with self._cond:
                loaded, self._loaded = self._loaded, None
            if loaded is None:
                return
            del loaded  # the last reference, unless the loader shares the model elsewhere
            gc.collect()
        logger.debug("Speech model unloaded")

    def _do_warm_up(self) -> None:
        warm = self._warm
        try:
            self._ensure_model()
        except BaseException as exc:
            logger.warning("Warm-up of the speech model failed: %s", exc)
            if warm is not None and not warm.done():
                warm.set_exception(exc)
            return
        if warm is not None and not warm.done():
            warm.set_result(None)

    def _do_item(self, ticket: InferenceTicket) -> None:
        ticket.started_at = time.time()
        result: Transcript | None = None
        error: BaseException | None = None
        try:
            ticket._should_stop(None)  # canceled between being picked and starting
            loaded = self._ensure_model()
            # The time limit covers the item's own work, not a one-off cold model load.
            deadline = time.monotonic() + ticket.timeout_s if ticket.timeout_s else None
            result = transcribe_file(
                loaded,
                ticket.audio_path,
                self.options,
                video_id=ticket.video_id,
                on_progress=ticket._progress_cb,
                should_stop=lambda: ticket._should_stop(deadline),
            )
        except PipelineError as exc:
            error = exc
        except Exception as exc:
            error = TranscriptionFailedError(
                f"Transcription of {ticket.video_id} failed unexpectedly: "
                f"{type(exc).__name__}: {exc}",
                source=ticket.video_id,
            )
            error.__cause__ = exc
            logger.exception("Unexpected failure transcribing %s", ticket.video_id)

        if error is None:
            state = DONE
        elif isinstance(error, JobCanceledError):
            state = CANCELED
        else:
            state = FAILED
            logger.warning("Transcription of %s failed: %s", ticket.video_id, error)
        with self._cond:
            ticket._state = state
            self._running = None
            self._counts[state] += 1
        ticket.finished_at = time.time()
        if error is None:
            ticket._future.set_result(result)  # type: ignore[arg-type]
        else:
            ticket._future.set_exception(error)

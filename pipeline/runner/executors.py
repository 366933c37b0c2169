"""The executors of this process: job threads, and stages run in them.

``ThreadDispatcher`` runs each job's runner in a thread of a small pool;
``ThreadExecutor`` runs each stage in that same thread (transcription through the
process's one inference worker). ``pipeline.runner.celery_app.CeleryExecutor`` runs the
same stages on Celery workers instead; the runner cannot tell them apart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from ..errors import PipelineError
from ..storage.artefacts import ArtefactStore
from .graph import Stage, StageEnv

logger = logging.getLogger(__name__)


class Dispatcher(Protocol):
    """Runs ``run_job(job_id)`` in a job thread of the coordinator."""

    def dispatch(self, job_id: str, run: Callable[[str], None]) -> None: ...

    def shutdown(self, wait: bool = True) -> None: ...


class ThreadDispatcher:
    def __init__(self, max_workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="job")
        self._futures: set[Future] = set()
        self._lock = threading.Lock()

    def dispatch(self, job_id: str, run: Callable[[str], None]) -> None:
        future = self._pool.submit(run, job_id)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._futures.discard(future)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)


def stage_env(stage: Stage, ctx: Any, settings: Any, store: ArtefactStore,
              inference: Callable[[Any], Any] | None) -> StageEnv:
    """The environment of a stage run for ``ctx`` (a ``JobContext``, or None outside a job)."""
    if ctx is None:
        return StageEnv(settings=settings, store=store, inference=inference)
    return StageEnv(
        settings=settings, store=store, inference=inference,
        progress=lambda fraction: ctx.progress(stage.phase, fraction),
        check=ctx.check,
        event=lambda phase, event, message="", **data: ctx.event(phase, event, message, **data),
    )


class ThreadExecutor:
    """Each stage in the calling job thread."""

    name = "threads"

    def __init__(self, settings: Any, store: ArtefactStore, inference: Callable[[Any], Any]) -> None:
        self.settings = settings
        self.store = store
        self.inference = inference

    def call(self, stage: Stage, payload: dict[str, Any], ctx: Any, attempt: int) -> dict[str, Any]:
        return stage.run(payload, stage_env(stage, ctx, self.settings, self.store, self.inference))

    def dead_letter(self, stage: Stage, payload: dict[str, Any], ctx: Any, error: PipelineError,
                    attempts: int) -> str | None:
        """Threads keep no dead letters: the job records the error, and Retry runs it again."""
        return None

    def shutdown(self) -> None:
        return None

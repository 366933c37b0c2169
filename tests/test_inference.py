"""The single inference thread: real faster-whisper (bundled tiny.en) on real clips.

One model is loaded per module and handed to every worker through a counting
loader, so each test still checks "loaded once, in the worker thread".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline.errors import (
    ConfigurationError,
    CorruptMediaError,
    JobCanceledError,
    StageTimeoutError,
    TransientError,
)
from pipeline.runner.inference import (
    InferenceQueueFullError,
    InferenceTicket,
    InferenceWorker,
    InferenceWorkerStoppedError,
)
from pipeline.stages.transcribe import LoadedModel, TranscribeOptions, TranscriptionFailedError, load_model

pytestmark = pytest.mark.timeout(120)

DATA = Path(__file__).resolve().parent / "data"
FLEURS = str(DATA / "fleurs-en-002.ogg")  # 11.5 s, several segments
LIBRI = str(DATA / "librispeech-2300-131720-0000.wav")  # 5 s, one segment
WAIT = 60.0  # upper bound for any wait; tests fail instead of hanging

OPTIONS = TranscribeOptions(device="cpu", local_files_only=True)


@pytest.fixture(scope="module")
def shared_model() -> LoadedModel:
    return load_model(OPTIONS)


class CountingLoader:
    """Stands in for load_model: hands out the module's model, counting calls."""

    def __init__(self, model: LoadedModel | None, *, gate: threading.Event | None = None,
                 error: Exception | None = None) -> None:
        self.model, self.gate, self.error = model, gate, error
        self.calls = 0
        self.threads: list[str] = []

    def __call__(self, options: TranscribeOptions) -> LoadedModel:
        self.calls += 1
        self.threads.append(threading.current_thread().name)
        if self.gate is not None:
            assert self.gate.wait(WAIT)
        if self.error is not None:
            raise self.error
        assert self.model is not None
        return self.model


@pytest.fixture
def make_worker(shared_model: LoadedModel) -> Iterator[Callable[..., tuple[InferenceWorker, CountingLoader]]]:
    workers: list[InferenceWorker] = []

    def make(*, loader: CountingLoader | None = None, **kw) -> tuple[InferenceWorker, CountingLoader]:
        loader = loader or CountingLoader(shared_model)
        worker = InferenceWorker(OPTIONS, loader=loader, **kw)
        workers.append(worker)
        return worker, loader

    yield make
    for worker in workers:
        worker.shutdown(wait=True, cancel_pending=True)
        assert not worker.info()["alive"]


class Blocker:
    """A real item that holds the worker (inside its first progress callback) until released."""

    def __init__(self, worker: InferenceWorker) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        self.ticket = worker.submit(LIBRI, video_id="blocker", priority=0, on_progress=self._hold)
        assert self.started.wait(WAIT), "blocker never started"
        assert self.ticket.state == "running"

    def _hold(self, _fraction: float) -> None:
        if not self.started.is_set():
            self.started.set()
            assert self.release.wait(WAIT)


def _recorder(order: list[str], video_id: str) -> Callable[[float], None]:
    def on_progress(_fraction: float) -> None:
        if video_id not in order:
            order.append(video_id)
    return on_progress


# ----------------------------------------------------------------- basics
def test_submit_transcribes_and_reports(make_worker) -> None:
    worker, loader = make_worker()
    assert worker.info()["loaded"] is False and loader.calls == 0  # lazy

    seen: list[float] = []
    ticket = worker.submit(FLEURS, video_id="file:fleurs002", on_progress=seen.append)
    transcript = ticket.result(timeout=WAIT)

    assert "lord byron" in transcript.text.lower()
    assert transcript.video_id == "file:fleurs002" and transcript.origin == "asr"
    assert ticket.done() and ticket.state == "done" and ticket.progress == 1.0
    assert seen[-1] == 1.0 and seen == sorted(seen)
    info = worker.info()
    assert info["loaded"] is True and info["processed"] == 1 and info["queue_depth"] == 0
    assert (info["model"], info["device"], info["compute_type"]) == ("tiny.en", "cpu", "int8")
    assert info["running"] is None and info["load_seconds"] > 0
    assert loader.threads == ["videomap-inference"]  # loaded in the worker, not the caller


def test_model_loaded_once_across_items(make_worker) -> None:
    worker, loader = make_worker()
    tickets = [worker.submit(LIBRI, video_id=f"v{i}") for i in range(3)]
    texts = [t.result(timeout=WAIT).text.lower() for t in tickets]
    assert all("crystal palace" in text for text in texts)
    assert worker.warm_up().result(timeout=WAIT) is None  # already loaded: no second load
    assert loader.calls == 1
    assert worker.info()["processed"] == 3


def test_warm_up_does_not_block_the_caller(make_worker, shared_model) -> None:
    gate = threading.Event()
    worker, loader = make_worker(loader=CountingLoader(shared_model, gate=gate))
    t0 = time.monotonic()
    future = worker.warm_up()
    assert time.monotonic() - t0 < 0.5 and not future.done()
    ticket = worker.submit(LIBRI, video_id="after-warm-up")  # waits behind the load, not the caller
    assert worker.info()["loaded"] is False
    gate.set()
    future.result(timeout=WAIT)
    assert worker.info()["loaded"] is True
    assert "paris" in ticket.result(timeout=WAIT).text.lower()
    assert loader.calls == 1 and loader.threads == ["videomap-inference"]


# ----------------------------------------------------------------- ordering
def test_priority_runs_lower_numbers_first_fifo_within(make_worker) -> None:
    worker, _ = make_worker()
    blocker = Blocker(worker)
    order: list[str] = []
    submitted = [("low-1", 20), ("low-2", 20), ("high", 1), ("mid", 10), ("low-3", 20)]
    tickets = {vid: worker.submit(LIBRI, video_id=vid, priority=p, on_progress=_recorder(order, vid))
               for vid, p in submitted}
    assert worker.queue_depth() == 5
    assert worker.info()["running"] == "blocker"
    blocker.release.set()
    for ticket in tickets.values():
        ticket.result(timeout=WAIT)
    assert order == ["high", "mid", "low-1", "low-2", "low-3"]


# ----------------------------------------------------------------- cancel / timeout
def test_cancel_queued_item_is_skipped(make_worker) -> None:
    worker, _ = make_worker()
    blocker = Blocker(worker)
    order: list[str] = []
    doomed = worker.submit(LIBRI, video_id="doomed", on_progress=_recorder(order, "doomed"))
    kept = worker.submit(LIBRI, video_id="kept", on_progress=_recorder(order, "kept"))
    assert doomed.cancel() is True
    assert doomed.state == "canceled" and doomed.done() and worker.queue_depth() == 1
    with pytest.raises(JobCanceledError, match="doomed"):
        doomed.result(timeout=0)
    blocker.release.set()
    kept.result(timeout=WAIT)
    assert order == ["kept"]  # the canceled item never ran
    assert kept.cancel() is False and doomed.cancel() is False  # already finished
    assert worker.info()["canceled"] == 1


def test_cancel_running_item_stops_at_next_segment(make_worker) -> None:
    worker, _ = make_worker()
    first_segment, go_on = threading.Event(), threading.Event()

    def on_progress(_fraction: float) -> None:
        if not first_segment.is_set():
            first_segment.set()
            assert go_on.wait(WAIT)

    ticket = worker.submit(FLEURS, video_id="running", on_progress=on_progress)
    assert first_segment.wait(WAIT)
    assert ticket.state == "running"
    assert ticket.cancel() is True
    go_on.set()
    with pytest.raises(JobCanceledError, match="running"):
        ticket.result(timeout=WAIT)
    assert ticket.state == "canceled" and ticket.progress < 1.0
    # the thread lives on and serves the next item
    assert "paris" in worker.submit(LIBRI, video_id="next").result(timeout=WAIT).text.lower()


def test_per_item_timeout_counts_from_start_of_running(make_worker) -> None:
    worker, _ = make_worker()
    blocker = Blocker(worker)
    slow = worker.submit(FLEURS, video_id="slow", timeout_s=0.3,
                         on_progress=lambda _f: time.sleep(0.5))  # slower than its limit
    time.sleep(0.5)  # queued time must not count against the limit...
    fast = worker.submit(LIBRI, video_id="fast", timeout_s=30)
    blocker.release.set()
    with pytest.raises(StageTimeoutError, match="time limit of 0.3s") as info:
        slow.result(timeout=WAIT)
    assert info.value.kind == "transient" and slow.state == "failed"
    assert fast.result(timeout=WAIT).segments  # ...and the worker goes on
    assert slow.started_at is not None and slow.started_at - slow.submitted_at >= 0.5


def test_waiting_with_timeout_raises_builtin_timeout(make_worker) -> None:
    worker, _ = make_worker()
    blocker = Blocker(worker)
    queued = worker.submit(LIBRI, video_id="waiting")
    with pytest.raises(TimeoutError):
        queued.result(timeout=0.05)
    assert queued.state == "queued"  # a wait timeout leaves the item alone
    blocker.release.set()
    assert queued.result(timeout=WAIT).segments


# ----------------------------------------------------------------- failures
def test_corrupt_media_fails_item_not_thread(make_worker, tmp_path: Path) -> None:
    worker, _ = make_worker()
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(bytes(range(256)) * 40)
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    bad1 = worker.submit(str(garbage), video_id="file:garbage")
    bad2 = worker.submit(empty, video_id="file:empty")
    good = worker.submit(LIBRI, video_id="file:good")

    with pytest.raises(CorruptMediaError, match="garbage.mp3"):
        bad1.result(timeout=WAIT)
    with pytest.raises(CorruptMediaError, match="empty.mp3 is empty"):
        bad2.result(timeout=WAIT)
    assert "crystal palace" in good.result(timeout=WAIT).text.lower()
    assert (bad1.state, bad2.state, good.state) == ("failed", "failed", "done")
    info = worker.info()
    assert info["failed"] == 2 and info["succeeded"] == 1 and info["alive"]


def test_queue_full_is_a_clear_transient_error(make_worker) -> None:
    worker, _ = make_worker(max_queue=2)
    blocker = Blocker(worker)  # running: not counted
    a = worker.submit(LIBRI, video_id="a")
    worker.submit(LIBRI, video_id="b")
    with pytest.raises(InferenceQueueFullError, match=r"queue is full \(2 of 2") as info:
        worker.submit(LIBRI, video_id="c")
    assert isinstance(info.value, TransientError) and "c" in info.value.message
    assert a.cancel()  # canceling frees a place
    worker.submit(LIBRI, video_id="c")
    blocker.release.set()


def test_model_that_cannot_load_fails_items_with_configuration_error() -> None:
    options = TranscribeOptions(model="no-such-model", device="cpu", local_files_only=True)
    with InferenceWorker(options) as worker:  # the real load_model
        ticket = worker.submit(LIBRI, video_id="x")
        with pytest.raises(ConfigurationError, match="no-such-model"):
            ticket.result(timeout=WAIT)
        with pytest.raises(ConfigurationError):
            worker.warm_up().result(timeout=WAIT)
        assert worker.info()["loaded"] is False and worker.info()["alive"]


def test_unexpected_errors_are_wrapped(make_worker) -> None:
    worker, _ = make_worker(loader=CountingLoader(None, error=RuntimeError("CUDA out of memory")))
    ticket = worker.submit(LIBRI, video_id="oom")
    with pytest.raises(TranscriptionFailedError, match="CUDA out of memory") as info:
        ticket.result(timeout=WAIT)
    assert isinstance(info.value, TransientError) and isinstance(info.value.__cause__, RuntimeError)


def test_shutdown_cancels_pending_and_refuses_new_work(make_worker) -> None:
    worker, _ = make_worker()
    blocker = Blocker(worker)
    pending: InferenceTicket = worker.submit(LIBRI, video_id="pending")
    stopper = threading.Thread(target=worker.shutdown, kwargs={"cancel_pending": True})
    stopper.start()
    with pytest.raises(JobCanceledError):
        pending.result(timeout=WAIT)
    with pytest.raises(InferenceWorkerStoppedError):
        worker.submit(LIBRI, video_id="late")
    blocker.release.set()
    stopper.join(WAIT)
    assert not stopper.is_alive() and not worker.info()["alive"]
    assert blocker.ticket.state == "canceled"  # the running item was asked to stop too


# ------------------------------------------------------------------ Ctrl-C
def _long_recording(path: Path, repeats: int = 40) -> Path:
    """A real speech clip repeated: long enough to be mid-transcription when interrupted."""
    import wave

    import numpy as np
    from faster_whisper.audio import decode_audio

    audio = np.concatenate([decode_audio(LIBRI, sampling_rate=16000)] * repeats)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.mark.timeout(240)
def test_ctrl_c_during_transcription_exits_130_without_a_crash(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    clip = _long_recording(tmp_path / "long.wav")
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "analyze", "--offline", "--db", str(tmp_path / "db" / "wb.duckdb"),
         str(clip)], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        assert proc.stderr is not None
        for line in proc.stderr:  # non-interactive: one line per status/phase change
            seen.append(line)
            if "transcription" in line:
                break
        assert any("transcription" in line for line in seen), seen
        time.sleep(2.0)  # the model is loaded and decoding segments now
        assert proc.poll() is None, "the transcription finished before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = "".join(seen) + rest
    assert proc.returncode == 130, (proc.returncode, err[-3000:])
    assert "leaked" not in err and "Traceback" not in err, err[-3000:]
    assert "interrupted" in err


def test_shutdown_unloads_the_model_on_the_worker_thread() -> None:
    freed_on: list[str] = []

    class Tracked:  # stands in for the WhisperModel object; notes where it is freed
        def __del__(self) -> None:
            freed_on.append(threading.current_thread().name)

    handed = [LoadedModel(Tracked(), None, "cpu", "int8", "tiny.en", "x", 0.0)]
    worker = InferenceWorker(OPTIONS, loader=lambda _o: handed.pop(), name="unload-test")
    worker.warm_up().result(WAIT)
    assert worker.info()["loaded"] is True and not handed
    worker.shutdown(wait=True)
    assert freed_on == ["unload-test"]
    assert worker.info()["loaded"] is False

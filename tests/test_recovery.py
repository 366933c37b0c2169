"""Jobs after a crash: owners, heartbeats, re-queueing by the next process, time limits, bounded waits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tests.fakes as fakes
from pipeline.api import Workbench
from pipeline.errors import WaitTimeoutError
from tests.media import repeated_speech, seed_gazetteer

ROOT = Path(__file__).resolve().parent.parent


def test_claiming_a_job_is_atomic(settings, tmp_path):
    wb = Workbench(settings, resume=False)
    try:
        job_id = wb.storage.create_job("x.srt", "sv", options={})
        assert wb.storage.claim_job(job_id, "a") is True
        assert wb.storage.claim_job(job_id, "b") is False
        row = wb.storage.get_job(job_id)
        assert row["status"] == "running" and row["owner"] == "a" and row["heartbeat_at"]
    finally:
        wb.shutdown()


def test_a_job_records_its_owner_and_heartbeat(settings, tmp_path):
    settings = settings.model_copy(update={"job_heartbeat_s": 0.5})
    wb = Workbench(settings)
    fakes.FakeExtractor.delay = 2.0
    try:
        src = tmp_path / "trip.srt"
        src.write_text(fakes.TRIP_SRT, encoding="utf-8")
        [o] = wb.submit([str(src)], wb.options(extractor="fake", geocoder="fakegeo", offline=True))
        deadline = time.monotonic() + 10
        while wb.job(o.job.job_id).status != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        first = wb.storage.get_job(o.job.job_id)
        assert first["owner"] == wb.jobs.owner and str(os.getpid()) in first["owner"]
        time.sleep(1.2)
        assert wb.storage.get_job(o.job.job_id)["heartbeat_at"] > first["heartbeat_at"]
        wb.wait([o.job.job_id], timeout=30)
    finally:
        fakes.FakeExtractor.delay = 0.0
        wb.shutdown()


def test_orphaned_job_is_requeued_even_by_a_non_resuming_process(settings, tmp_path):
    """The CLI opens without resuming; it still re-queues a dead owner's job and runs it when asked."""
    src = tmp_path / "trip.srt"
    src.write_text(fakes.TRIP_SRT, encoding="utf-8")
    wb = Workbench(settings)
    opts = wb.options(extractor="fake", geocoder="fakegeo", offline=True)
    sv = wb.jobs.strategy(opts).version
    job_id = wb.storage.create_job(str(src), sv, options=opts.to_dict())
    assert wb.storage.claim_job(job_id, "otherhost:4242:dead00")
    wb.jobs.dispatcher.shutdown()
    wb.storage.close()
    wb = Workbench(settings, resume=False)  # like `python -m pipeline analyze`
    try:
        assert wb.storage.get_job(job_id)["status"] == "queued"
        [again] = wb.submit([str(src)], opts)  # the same source attaches to the re-queued job, and runs it
        assert again.job.job_id == job_id
        [job] = wb.wait([job_id], timeout=30)
        assert job.status == "done"
        requeued = [e for e in wb.job_events(job_id) if e["event"] == "requeued"]
        assert requeued and "otherhost:4242:dead00" in requeued[0]["message"]
    finally:
        wb.shutdown()


def test_forced_rerun_replaces_a_requeued_job(settings, tmp_path):
    src = tmp_path / "trip.srt"
    src.write_text(fakes.TRIP_SRT, encoding="utf-8")
    wb = Workbench(settings, resume=False)
    opts = wb.options(extractor="fake", geocoder="fakegeo", offline=True)
    sv = wb.jobs.strategy(opts).version
    old = wb.storage.create_job(str(src), sv, options=opts.to_dict())
    try:
        [fresh] = wb.submit([str(src)], wb.options(extractor="fake", geocoder="fakegeo", offline=True, force=True))
        assert fresh.job.job_id != old
        assert wb.job(old).status == "canceled"
        assert wb.wait([fresh.job.job_id], timeout=30)[0].status == "done"
    finally:
        wb.shutdown()


def test_wait_has_a_limit_and_says_what_it_waits_for(settings, tmp_path):
    src = tmp_path / "trip.srt"
    src.write_text(fakes.TRIP_SRT, encoding="utf-8")
    wb = Workbench(settings)
    fakes.FakeExtractor.delay = 3.0
    try:
        [o] = wb.submit([str(src)], wb.options(extractor="fake", geocoder="fakegeo", offline=True))
        with pytest.raises(WaitTimeoutError, match=r"Still waiting after 0.5 s for 1 job\(s\): .*trip.srt"):
            wb.wait([o.job.job_id], timeout=0.5)
    finally:
        fakes.FakeExtractor.delay = 0.0
        wb.shutdown(wait=False)


def test_job_time_limit_ends_it_failed_with_a_clear_message(settings, tmp_path):
    settings = settings.model_copy(update={"job_timeout_s": 1.0})
    src = tmp_path / "trip.srt"
    src.write_text(fakes.TRIP_SRT, encoding="utf-8")
    wb = Workbench(settings)
    fakes.FakeExtractor.delay = 1.5
    try:
        [o] = wb.submit([str(src)], wb.options(extractor="fake", geocoder="fakegeo", offline=True))
        [job] = wb.wait([o.job.job_id], timeout=30)
        assert job.status == "failed"
        assert job.error["type"] == "JobTimeoutError" and "time limit of 1 s" in job.error["message"]
    finally:
        fakes.FakeExtractor.delay = 0.0
        wb.shutdown()


def _cli(db: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "analyze", "--offline", "--db", str(db), *args], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "VIDEOMAP_CACHE_DIR": str(seed_gazetteer(db.parent / "cache")),
             "VIDEOMAP_MEDIA_DIR": str(db.parent / "m")})


@pytest.mark.slow
def test_a_killed_cli_does_not_block_the_next_run(tmp_path):
    """kill -9 during a transcription; the next run of the same source, with --force, finishes
    instead of waiting for ever. (SIGTERM, as `timeout` sends, ends Python the same way: no
    cleanup runs, the job stays `running` with a dead owner.)"""
    sig = signal.SIGKILL
    db = tmp_path / "wb.duckdb"
    clip = repeated_speech(tmp_path, 6)
    first = _cli(db, str(clip))
    deadline = time.monotonic() + 120
    seen = ""
    while time.monotonic() < deadline:
        line = first.stderr.readline()
        seen += line
        if "transcription" in line:
            break
        if not line and first.poll() is not None:
            break
    assert "transcription" in seen, seen
    os.kill(first.pid, sig)
    first.wait(timeout=30)
    started = time.monotonic()
    second = _cli(db, "--force", str(clip))
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert "done" in out
    recovery_s = time.monotonic() - started
    print(f"recovered and finished in {recovery_s:.1f} s")


def test_a_job_answered_from_the_stored_result_reports_its_place_count(settings, tmp_path):
    """The same video under another source string runs, finds the stored result, and says how many."""
    first, second = tmp_path / "a.srt", tmp_path / "b.srt"
    first.write_text(fakes.TRIP_SRT, encoding="utf-8")
    second.write_text(fakes.TRIP_SRT, encoding="utf-8")  # same content: same video
    wb = Workbench(settings)
    try:
        opts = wb.options(extractor="fake", geocoder="fakegeo", offline=True)
        [a] = wb.submit([str(first)], opts)
        wb.wait([a.job.job_id], timeout=30)
        [b] = wb.submit([str(second)], opts)
        [job] = wb.wait([b.job.job_id], timeout=30)
        assert any(e["event"] == "cache_hit" for e in wb.job_events(job.job_id))
        assert job.metrics["locations_found"] == 3
    finally:
        wb.shutdown()

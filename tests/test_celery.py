"""Scale-out on Celery + Redis, with a real redis-server and real worker processes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cluster import Cluster, RedisServer
from media import SPEECH, repeated_speech
from stubs import NominatimStub, StubResponse

from pipeline.api import Workbench
from pipeline.config import Settings

ROOT = Path(__file__).resolve().parent.parent
CITY_WALK = ROOT / "pipeline" / "demo" / "city-walk.srt"
UA = "video-map-workbench-tests/0.1 (tests@example.org)"
ALL_QUEUES = "fetch,asr,extract,geocode,maintenance"


def srt(folder: Path, name: str, *lines: str) -> str:
    cues = [f"{i}\n00:00:{i * 5:02d},000 --> 00:00:{i * 5 + 4:02d},000\n{line}\n" for i, line in enumerate(lines, 1)]
    path = folder / name
    path.write_text("\n".join(cues), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def cluster(tmp_path, redis_server):
    if redis_server.process is None:  # a test stopped it
        redis_server.start()
    redis_server.flush()
    group = Cluster(tmp_path, redis_server.url)
    yield group
    group.stop()


def coordinator(tmp_path: Path, redis_url: str, **overrides) -> Workbench:
    fields = dict(db_path=tmp_path / "wb.duckdb", cache_dir=tmp_path / "cache", media_dir=tmp_path / "media",
                  offline=True, dispatcher="celery", broker_url=redis_url, stage_retry_wait_s=0.05,
                  worker_heartbeat_s=0.5)
    settings = Settings(**(fields | overrides))
    return Workbench(settings)


def places_of(bench: Workbench, job_ids: list[str]) -> dict[str, list[tuple]]:
    found = {}
    for job_id in job_ids:
        view = bench.job(job_id)
        found[Path(view.source).name] = sorted(
            (p["location"], p["timecode"], round(p["latitude"] or 0, 4), round(p["longitude"] or 0, 4), p["status"])
            for p in bench.places([view.video_id]))
    return found


def analyse(bench: Workbench, sources: list[str], timeout: float = 180, **options) -> list[str]:
    outcomes = bench.submit(sources, bench.options(**options))
    assert all(o.job for o in outcomes), [o.error for o in outcomes]
    job_ids = [o.job.job_id for o in outcomes]
    bench.wait(job_ids, timeout=timeout)
    return job_ids


def task_ids(bench: Workbench, job_id: str, stage: str) -> list[str]:
    return [e["data"]["task_id"] for e in bench.job_events(job_id)
            if e["event"] == "task_sent" and (e.get("data") or {}).get("task_id", "").startswith(f"vm.{stage}.")]


def transcribing(bench: Workbench, clip: Path):
    """Submit ``clip`` and return (job id, task id, its AsyncResult) once a worker reports progress."""
    [outcome] = bench.submit([str(clip)], bench.options(offline=True))
    job_id = outcome.job.job_id
    [task_id] = wait_until(lambda: task_ids(bench, job_id, "transcribe"), 60, "the transcription task")
    result = bench.jobs.executor.app.AsyncResult(task_id)
    wait_until(lambda: result.state == "PROGRESS", 90, "transcription progress on a worker")
    return job_id, task_id, result


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_threads_and_celery_give_the_same_places(tmp_path, cluster, redis_server):
    cluster.worker("all", ALL_QUEUES, concurrency=2)
    sources = [str(CITY_WALK), str(SPEECH)]
    threads = Workbench(Settings(db_path=tmp_path / "threads.duckdb", cache_dir=tmp_path / "threads-cache",
                                 media_dir=tmp_path / "media", offline=True))
    try:
        expected = places_of(threads, analyse(threads, sources, offline=True))
    finally:
        threads.shutdown()
    bench = coordinator(tmp_path, redis_server.url)
    try:
        job_ids = analyse(bench, sources, offline=True)
        assert [bench.job(j).status for j in job_ids] == ["done", "done"], (
            [bench.job(j).error for j in job_ids], cluster.log("all")[-3000:])
        assert places_of(bench, job_ids) == expected
        assert sum(len(v) for v in expected.values()) >= 8
        # the stages went through the queues: fetch, transcribe (the clip only), extract, geocode
        assert task_ids(bench, job_ids[1], "transcribe") and not task_ids(bench, job_ids[0], "transcribe")
        assert all(task_ids(bench, j, s) for j in job_ids for s in ("fetch", "extract", "geocode"))
        assert "vm.transcribe." in cluster.log("all")
        assert bench.health()["executor"]["dispatcher"] == "celery"
    finally:
        bench.shutdown()


@pytest.mark.slow
def test_killed_asr_worker_task_is_redelivered_and_nothing_is_duplicated(tmp_path, cluster, redis_server):
    cluster.worker("io", "fetch,extract,geocode,maintenance", concurrency=2)
    cluster.worker("asr-1", "asr")
    cluster.worker("asr-2", "asr")
    cluster.beat()
    clip = repeated_speech(tmp_path, 8)
    bench = coordinator(tmp_path, redis_server.url)
    try:
        job_id, task_id, result = transcribing(bench, clip)
        running_on = result.info["worker"]
        victim = next(label for label in ("asr-1", "asr-2") if running_on.split("@")[0] in cluster.log(label))
        cluster.kill(victim)
        survivor = "asr-2" if victim == "asr-1" else "asr-1"
        [view] = bench.wait([job_id], timeout=180)
        assert view.status == "done", view.error
        assert task_id in cluster.log(survivor)  # the same task, redelivered to the other worker
        assert "vanished" in cluster.log("io")  # Beat's maintenance task, run on the maintenance queue
        segments = bench.transcript(view.video_id)
        starts = [s["start"] for s in segments]
        assert len(starts) == len(set(starts)) and len(segments) >= 8
        places = bench.places([view.video_id])
        keys = [(p["location"], p["timecode"]) for p in places]
        assert len(keys) == len(set(keys))
    finally:
        bench.shutdown()


def test_permanent_geocoder_failure_is_a_dead_letter_and_replay_completes_the_job(tmp_path, cluster, redis_server):
    stub = NominatimStub(max_requests=200)  # answers 500 to everything: a permanent outage
    try:
        cluster.env.update({"VIDEOMAP_OFFLINE": "false", "VIDEOMAP_NOMINATIM_MIN_DELAY_S": "0"})
        cluster.worker("all", ALL_QUEUES, concurrency=2)
        bench = coordinator(tmp_path, redis_server.url, offline=False)
        try:
            source = srt(tmp_path, "porto.srt", "We spent the day in Porto.", "Then the train to Lisbon.")
            options = dict(offline=False, geocoder="nominatim", nominatim_user_agent=UA,
                           nominatim_domain=stub.domain, nominatim_scheme="http")
            [job_id] = analyse(bench, [source], **options)
            assert bench.job(job_id).status == "partial"
            [letter] = bench.dead_letters()
            assert letter["stage"] == "geocode" and letter["job_id"] == job_id
            assert "unavailable" in letter["error"]["message"]
            assert bench.health()["executor"]["dead_letters"] == 1  # the Health page and /metrics show it
            assert any(p["status"] == "fallback" for p in bench.places([bench.job(job_id).video_id]))

            stub.default = StubResponse(200, [NominatimStub.place(41.15, -8.61, "Porto, Portugal", country_code="pt")])
            view = bench.replay_dead_letter(letter["id"])
            assert view.status == "done"
            assert bench.dead_letters() == []
            assert {p["status"] for p in bench.places([view.video_id])} == {"ok"}
        finally:
            bench.shutdown()
    finally:
        stub.close()


def test_a_stage_whose_retries_run_out_is_dead_lettered_and_replayed(tmp_path, cluster, redis_server):
    """A stage that fails transiently on every try (here: the platform answers 503 to the fetch)."""
    cluster.worker("all", ALL_QUEUES, concurrency=2)
    bench = coordinator(tmp_path, redis_server.url, stage_retries=2)
    try:
        source = tmp_path / "later.srt"
        source.write_text("1\n00:00:01,000 --> 00:00:04,000\nWe arrived in Porto.\n", encoding="utf-8")
        import pipeline.runner.graph as graph

        real = graph.STAGES["fetch"]
        from pipeline.errors import ServiceUnavailableError

        def flaky(payload, env):
            raise ServiceUnavailableError("HTTP 503 from the platform")

        graph.STAGES["fetch"] = graph.Stage(real.name, real.phase, "", real.weight, flaky)
        try:
            [job_id] = analyse(bench, [str(source)], offline=True)
        finally:
            graph.STAGES["fetch"] = real
        view = bench.job(job_id)
        assert view.status == "failed" and "dead-letter queue" in view.error["message"]
        [letter] = bench.dead_letters()
        assert letter["stage"] == "fetch" and letter["attempts"] == 2
        bench.replay_dead_letter(letter["id"])
        [view] = bench.wait([job_id], timeout=120)
        assert view.status == "done" and bench.places([view.video_id])
    finally:
        bench.shutdown()


def test_redis_down_at_submission_is_said_and_work_goes_on_when_it_is_back(tmp_path, cluster, redis_server):
    cluster.worker("all", ALL_QUEUES, concurrency=2)
    bench = coordinator(tmp_path, redis_server.url)
    try:
        redis_server.stop()
        sources = [srt(tmp_path, "a.srt", "A walk through Porto."), srt(tmp_path, "b.srt", "Lunch in Coimbra.")]
        outcomes = bench.submit(sources, bench.options(offline=True))
        assert all(o.job is not None and o.error is None for o in outcomes)
        assert all("Redis" in (o.notice or "") and "queued" in o.notice for o in outcomes)
        assert "not answering" in bench.health()["executor"]["broker_problem"]
        time.sleep(2)
        views = [bench.job(o.job.job_id) for o in outcomes]
        assert not any(v.finished for v in views)  # waiting, not failed
        redis_server.start()
        views = bench.wait([o.job.job_id for o in outcomes], timeout=120)
        assert [v.status for v in views] == ["done", "done"]
        assert all(bench.places([v.video_id]) for v in views)
        assert any(e["event"] == "broker_unavailable" for e in bench.job_events(views[0].job_id))
    finally:
        bench.shutdown()


def test_redis_restarted_with_work_queued_loses_nothing(tmp_path, cluster, redis_server):
    """Redis keeps no data here (as by default in tests and in scripts/cluster.sh): a restart
    loses the queued messages. The coordinator notices (an error, or a new server run id) and
    sends them again, so the jobs finish once a worker is up."""
    bench = coordinator(tmp_path, redis_server.url)
    try:
        sources = [srt(tmp_path, "a.srt", "A walk through Porto."), srt(tmp_path, "b.srt", "Lunch in Coimbra.")]
        job_ids = [o.job.job_id for o in bench.submit(sources, bench.options(offline=True))]
        wait_until(lambda: all(task_ids(bench, j, "fetch") for j in job_ids), 30, "the fetch tasks sent")
        redis_server.stop()
        redis_server.start()
        import redis

        assert redis.Redis.from_url(redis_server.url).llen("fetch") == 0  # the queued messages are gone
        cluster.worker("all", ALL_QUEUES, concurrency=2)
        views = bench.wait(job_ids, timeout=120)
        assert [v.status for v in views] == ["done", "done"], [v.error for v in views]
        assert all(bench.places([v.video_id]) for v in views)
        assert all(any(e["event"] == "broker_back" for e in bench.job_events(j)) for j in job_ids)
    finally:
        bench.shutdown()


@pytest.mark.slow
def test_two_geocode_workers_keep_nominatim_to_one_request_a_second(tmp_path, cluster, redis_server):
    stub = NominatimStub(max_requests=100, default=StubResponse(
        200, [NominatimStub.place(41.15, -8.61, "Porto, Portugal", country_code="pt")]))
    try:
        cluster.env.update({"VIDEOMAP_OFFLINE": "false", "VIDEOMAP_NOMINATIM_MIN_DELAY_S": "1"})
        cluster.worker("io", "fetch,extract,maintenance", concurrency=2)
        cluster.worker("geo-1", "geocode")
        cluster.worker("geo-2", "geocode")
        bench = coordinator(tmp_path, redis_server.url, offline=False)
        try:
            sources = [srt(tmp_path, "one.srt", "From Porto to Braga and on to Guimaraes."),
                       srt(tmp_path, "two.srt", "From Lisbon to Sintra and on to Cascais."),
                       srt(tmp_path, "three.srt", "From Faro to Lagos and on to Tavira.")]
            options = dict(offline=False, geocoder="nominatim", nominatim_user_agent=UA,
                           nominatim_domain=stub.domain, nominatim_scheme="http")
            job_ids = analyse(bench, sources, **options)
            assert [bench.job(j).status for j in job_ids] == ["done"] * 3
        finally:
            bench.shutdown()
        times = sorted(r.at for r in stub.requests)
        assert len(times) >= 6
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert min(gaps) >= 0.98, gaps
        assert "vm.geocode." in cluster.log("geo-1") and "vm.geocode." in cluster.log("geo-2")
    finally:
        stub.close()


def test_cancel_reaches_a_task_running_on_a_worker(tmp_path, cluster, redis_server):
    cluster.worker("io", "fetch,extract,geocode,maintenance", concurrency=2)
    cluster.worker("asr", "asr")
    clip = repeated_speech(tmp_path, 24)
    bench = coordinator(tmp_path, redis_server.url)
    try:
        job_id, task_id, result = transcribing(bench, clip)
        canceled_at = time.monotonic()
        bench.cancel(job_id)
        [view] = bench.wait([job_id], timeout=30)
        assert view.status == "canceled"
        stopped = wait_until(lambda: result.state == "SUCCESS" and result.result, 30, "the task to stop")
        assert stopped["error"]["type"] == "JobCanceledError"
        assert time.monotonic() - canceled_at < 15  # far less than the 2 minutes of speech
    finally:
        bench.shutdown()


@pytest.mark.slow
def test_cluster_script_runs_the_demo_through_redis_and_workers(tmp_path):
    """``scripts/cluster.sh demo`` as a user runs it: its own Redis, a worker per queue, Beat,
    the coordinator, and the demo's places, then everything it started is stopped."""
    import os
    import shutil
    import subprocess

    from cluster import free_port
    from media import seed_gazetteer

    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (scripts/test.sh installs it)")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOMAP_")} | {
        "VIDEOMAP_REDIS_PORT": str(port), "VIDEOMAP_CLUSTER_DIR": str(tmp_path / "cluster"),
        "VIDEOMAP_DB_PATH": str(tmp_path / "wb.duckdb"), "VIDEOMAP_MEDIA_DIR": str(tmp_path / "media"),
        "VIDEOMAP_CACHE_DIR": str(seed_gazetteer(tmp_path / "cache"))}
    done = subprocess.run(["scripts/cluster.sh", "demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "17 place(s), 17 located" in done.stdout, done.stdout[-2000:]
    assert "Longshan Temple" in done.stdout and "Barcelona" in done.stdout
    assert (tmp_path / "cluster" / "redis.log").exists()
    assert "vm.transcribe." in (tmp_path / "cluster" / "worker-asr.log").read_text(errors="replace")
    assert subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode != 0  # stopped

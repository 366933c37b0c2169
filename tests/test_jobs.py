"""Job lifecycle with the real storage, compression and orchestrator, fake extractor/geocoder."""

from __future__ import annotations

import statistics
import time

import pytest

import tests.fakes as fakes
from pipeline.api import Workbench

SRT = fakes.TRIP_SRT


@pytest.fixture
def bench(settings):
    wb = Workbench(settings)
    yield wb
    wb.shutdown(wait=True)


@pytest.fixture
def opts(bench):
    return bench.options(extractor="fake", geocoder="fakegeo", offline=True)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(bench, sources, opts):
    outcomes = bench.submit(sources, opts)
    jobs = [o.job.job_id for o in outcomes if o.job]
    bench.wait(jobs, timeout=60)
    return outcomes, [bench.job(j) for j in jobs]


def test_subtitle_source_end_to_end(bench, opts, tmp_path):
    src = write(tmp_path, "trip.srt", SRT)
    _, [job] = run(bench, [src], opts)
    assert job.status == "done", job.error
    assert job.progress == 1.0
    assert job.video_id.startswith("file:")
    assert job.metrics["locations_found"] == 3
    places = bench.places([job.video_id])
    assert [p["location"] for p in places] == ["Lisbon", "Porto", "Madrid"]
    assert [p["timecode"] for p in places] == ["00:00:01,000", "00:00:05,000", "00:00:09,000"]
    assert places[0]["evidence"] == "We start the trip in Lisbon today."
    phases = [e["phase"] for e in bench.job_events(job.job_id) if e["event"] == "phase_done"]
    assert phases == ["metadata", "compression", "summary", "geocode"]  # no transcription for subtitles


def test_same_strategy_returns_stored_result_fast(bench, opts, tmp_path):
    src = write(tmp_path, "trip.srt", SRT)
    run(bench, [src], opts)
    calls = fakes.FakeExtractor.calls
    timings = []
    for _ in range(20):
        t0 = time.perf_counter()
        [outcome] = bench.submit([src], opts)
        timings.append(time.perf_counter() - t0)
        assert outcome.job.status == "done" and outcome.job.cached
    assert fakes.FakeExtractor.calls == calls
    assert statistics.median(timings) < 0.1


def test_new_strategy_reruns(bench, opts, tmp_path):
    src = write(tmp_path, "trip.srt", SRT)
    _, [first] = run(bench, [src], opts)
    other = bench.options(extractor="fake", geocoder="fakegeo", offline=True, window_tokens=77)
    _, [second] = run(bench, [src], other)
    assert second.strategy_version != first.strategy_version
    assert not second.cached and second.status == "done"


def test_changed_file_is_not_served_from_cache(bench, opts, tmp_path):
    src = write(tmp_path, "trip.srt", SRT)
    run(bench, [src], opts)
    time.sleep(0.01)
    write(tmp_path, "trip.srt", SRT.replace("Madrid", "Taipei"))
    _, [job] = run(bench, [src], opts)
    assert not job.cached
    assert [p["location"] for p in bench.places([job.video_id])][-1] == "Taipei"


def test_submitting_a_running_source_returns_the_same_job(bench, opts, tmp_path):
    fakes.FakeExtractor.delay = 1.0
    try:
        src = write(tmp_path, "trip.srt", SRT)
        [a] = bench.submit([src], opts)
        [b] = bench.submit([src], opts)
        assert a.job.job_id == b.job.job_id
        bench.wait([a.job.job_id], timeout=30)
    finally:
        fakes.FakeExtractor.delay = 0.0


def test_bad_sources_reported_individually_and_rest_finishes(bench, opts, tmp_path):
    good = write(tmp_path, "trip.srt", SRT)
    broken = write(tmp_path, "broken.srt", "this is not a subtitle file")
    outcomes, jobs = run(bench, [str(tmp_path / "missing.mp4"), broken, good, "not a source"], opts)
    errors = {o.source: o.error for o in outcomes if o.error}
    assert "No such file" in errors[str(tmp_path / "missing.mp4")]["message"]
    assert "not a source" in errors
    by_source = {j.source: j for j in jobs}
    assert by_source[good].status == "done"
    assert by_source[broken].status == "failed"
    assert by_source[broken].error["type"] == "SubtitleParseError"
    assert "SRT" in by_source[broken].error["message"]
    assert len(bench.places([by_source[good].video_id])) == 3


def test_partial_geocodes_then_retry_only_failed(bench, opts, tmp_path):
    fakes.FakeGeocoder.atlantis_online.clear()
    src = write(tmp_path, "myth.srt", SRT.replace("Madrid", "Atlantis"))
    _, [job] = run(bench, [src], opts)
    assert job.status == "partial"
    failed = [p for p in bench.places([job.video_id]) if p["status"] == "failed"]
    assert [p["location"] for p in failed] == ["Atlantis"]
    assert "temporary" in failed[0]["failure_reason"]
    fakes.FakeGeocoder.atlantis_online.set()
    before = fakes.FakeGeocoder.calls
    job = bench.retry_failed_geocodes(job.job_id)
    assert fakes.FakeGeocoder.calls - before == 1  # only the failed place was asked again
    assert job.status == "done"
    assert all(p["status"] == "ok" for p in bench.places([job.video_id]))
    fakes.FakeGeocoder.atlantis_online.clear()


def test_cancel_running_job(bench, opts, tmp_path):
    fakes.FakeExtractor.delay = 1.5
    try:
        src = write(tmp_path, "trip.srt", SRT)
        [o] = bench.submit([src], opts)
        deadline = time.time() + 10
        while bench.job(o.job.job_id).status != "running" and time.time() < deadline:
            time.sleep(0.05)
        bench.cancel(o.job.job_id)
        [job] = bench.wait([o.job.job_id], timeout=30)
        assert job.status == "canceled"
    finally:
        fakes.FakeExtractor.delay = 0.0


def test_interrupted_jobs_are_requeued_on_start(settings, tmp_path):
    src = write(tmp_path, "trip.srt", SRT)
    wb = Workbench(settings)
    opts = wb.options(extractor="fake", geocoder="fakegeo", offline=True)
    sv = wb.jobs.strategy(opts).version
    job_id = wb.storage.create_job(src, sv, options=opts.to_dict(), status="running")
    wb.shutdown()
    wb = Workbench(settings)  # a fresh start finds the 'running' job and re-queues it
    try:
        [job] = wb.wait([job_id], timeout=30)
        assert job.status == "done"
        assert any(e["event"] == "requeued" for e in wb.job_events(job_id))
    finally:
        wb.shutdown()


def test_corrections_survive_reanalysis_and_restart(settings, tmp_path):
    src = write(tmp_path, "trip.srt", SRT)
    wb = Workbench(settings)
    opts = wb.options(extractor="fake", geocoder="fakegeo", offline=True)
    _, [job] = run(wb, [src], opts)
    wb.correct_place(job.video_id, "Porto", latitude=41.0, longitude=-8.0, visited=True)
    wb.correct_place(job.video_id, "Madrid", rejected=True)
    opts.force = True
    run(wb, [src], opts)
    wb.shutdown()
    wb = Workbench(settings)
    try:
        places = {p["location"]: p for p in wb.places([job.video_id])}
        assert set(places) == {"Lisbon", "Porto"}
        assert places["Porto"]["latitude"] == 41.0 and places["Porto"]["visited"] is True
        assert places["Porto"]["status"] == "corrected"
    finally:
        wb.shutdown()


def test_transient_fetch_errors_are_retried(bench, opts, tmp_path, monkeypatch):
    from pipeline.errors import ServiceUnavailableError
    from pipeline.runner import graph

    calls = []
    real = graph.fetch_source

    def flaky(source, options):
        calls.append(source)
        if len(calls) < 3:
            raise ServiceUnavailableError("HTTP 503")
        return real(source, options)

    monkeypatch.setattr(graph, "fetch_source", flaky)
    bench.jobs.runner.retry_wait_base = 0.01
    src = write(tmp_path, "trip.srt", SRT)
    _, [job] = run(bench, [src], opts)
    assert job.status == "done" and len(calls) == 3
    assert sum(e["event"] == "retry" for e in bench.job_events(job.job_id)) == 2


def test_deterministic_errors_are_not_retried(bench, opts, tmp_path, monkeypatch):
    from pipeline.errors import InvalidSourceError
    from pipeline.runner import graph

    calls = []

    def broken(source, options):
        calls.append(source)
        raise InvalidSourceError("Video unavailable: removed by the uploader.")

    monkeypatch.setattr(graph, "fetch_source", broken)
    src = write(tmp_path, "trip.srt", SRT)
    _, [job] = run(bench, [src], opts)
    assert job.status == "failed" and len(calls) == 1
    assert job.error == {"type": "InvalidSourceError", "message": "Video unavailable: removed by the uploader."}


def test_metrics(bench, opts, tmp_path):
    src = write(tmp_path, "trip.srt", SRT)
    run(bench, [src], opts)
    m = bench.health()
    assert m["jobs_total"] == 1 and m["jobs_running"] == 0
    assert m["geocode_success_ratio"] == 1.0
    assert set(m["phase_durations_ms"]) >= {"metadata", "summary", "geocode"}


def test_same_video_under_two_source_strings_is_analysed_once(bench, opts, tmp_path):
    fakes.FakeExtractor.delay = 0.5
    try:
        a = write(tmp_path, "a.srt", SRT)
        b = write(tmp_path, "b.srt", SRT)  # same content -> same file:<sha256> video id
        before = fakes.FakeExtractor.calls
        _, jobs = run(bench, [a, b], opts)
        assert [j.status for j in jobs] == ["done", "done"]
        assert jobs[0].video_id == jobs[1].video_id
        assert fakes.FakeExtractor.calls - before == 1
    finally:
        fakes.FakeExtractor.delay = 0.0


def test_approximate_geocodes_are_flagged():
    from pipeline.datatypes import GeocodeOutcome, GeoHit, Place
    from pipeline.runner.runner import apply_outcome

    place = Place("Longshan Temple", confidence=0.9, tags=["landmark"])
    hit = GeoHit(25.05, 121.52, "geonames:1668341", "Taipei", "TW", feature="approx:context-city", score=0.3)
    out = apply_outcome(place, GeocodeOutcome("Longshan Temple", hit, geocoder="gazetteer"))
    assert out.status == "ok" and out.tags == ["landmark", "approximate"] and out.confidence == 0.5
    exact = apply_outcome(place, GeocodeOutcome("x", GeoHit(1.0, 2.0, feature="P.PPL"), geocoder="gazetteer"))
    assert exact.tags == ["landmark"] and exact.confidence == 0.9


def test_a_nominatim_answer_describes_what_it_placed():
    """An OSM answer re-describes the place from its class and type; one that says nothing
    of its kind (an administrative boundary of any rank) leaves the extractor's words."""
    from pipeline.datatypes import GeocodeOutcome, GeoHit, Place
    from pipeline.runner.runner import apply_outcome

    place = Place("Paris", description="Capital city in France", marker="city", tags=["city", "food"])
    town = GeoHit(33.66, -95.56, "osm:node/1", "Paris, Lamar County, Texas, 75460, United States", "US",
                  feature="place:town")
    out = apply_outcome(place, GeocodeOutcome("Paris", town, geocoder="nominatim"))
    assert (out.description, out.marker, out.tags) == ("Town in United States", "city", ["city", "food"])
    fort = GeoHit(25.05, 121.5, "osm:way/2", "Fort San Domingo, Tamsui, New Taipei, Taiwan", "TW",
                  feature="historic:fort")
    out = apply_outcome(Place("Fort San Domingo", marker="city", tags=["city"]),
                        GeocodeOutcome("Fort San Domingo", fort, geocoder="nominatim"))
    assert (out.description, out.marker, out.tags) == ("Landmark in Taiwan", "poi", ["landmark"])
    area = GeoHit(48.85, 2.35, "osm:relation/3", "Paris, Ile-de-France, France", "FR",
                  feature="boundary:administrative")
    out = apply_outcome(place, GeocodeOutcome("Paris", area, geocoder="nominatim"))
    assert (out.description, out.marker) == ("Capital city in France", "city")


def _srt(*lines):
    return "\n".join(f"{i + 1}\n00:00:0{i},000 --> 00:00:0{i},900\n{t}\n" for i, t in enumerate(lines))


def _northeast_texas_channel(bench, tmp_path, monkeypatch):
    """Options for a channel (files named "texas-*") whose earlier videos are about north-east Texas."""
    from pipeline.runner import graph

    real = graph.fetch_source

    def with_channel(source, options):
        videos = real(source, options)
        if "texas" in source:
            for v in videos:
                v.metadata["channel_id"] = "UC-northeast-texas"
        return videos

    monkeypatch.setattr(graph, "fetch_source", with_channel)
    opts = bench.options(extractor="offline", geocoder="gazetteer", offline=True)
    earlier = [
        _srt("We drove from Sulphur Springs to Mount Pleasant.", "Then on to Texarkana."),
        _srt("The fair in Greenville was busy.", "Commerce and Sulphur Springs came too."),
        _srt("Tonight we are in Mount Pleasant.", "Tomorrow Clarksville and Greenville."),
    ]
    for i, text in enumerate(earlier):
        _, [job] = run(bench, [write(tmp_path, f"texas-{i}.srt", text)], opts)
        assert job.status == "done", job.error
    return opts


def test_channel_home_tips_an_ambiguous_name(bench, tmp_path, monkeypatch):
    """A channel's earlier videos are about north-east Texas; its next video's bare "Paris"
    is Paris, Texas. The same words from an upload without a channel stay Paris, France."""
    opts = _northeast_texas_channel(bench, tmp_path, monkeypatch)
    text = _srt("The city council of Paris met tonight.")
    _, [job] = run(bench, [write(tmp_path, "texas-paris.srt", text)], opts)
    [paris] = bench.places([job.video_id])
    assert paris["country_code"] == "US" and abs(paris["latitude"] - 33.66) < 1, paris
    assert any(e["event"] == "channel_home" and "US.TX" in e["message"] for e in bench.job_events(job.job_id))
    text = _srt("The city council of Paris met last night.")  # another file: another video
    _, [job] = run(bench, [write(tmp_path, "upload-paris.srt", text)], opts)
    [paris] = bench.places([job.video_id])
    assert paris["country_code"] == "FR", paris


def test_a_place_is_described_by_the_answer_that_placed_it(bench, tmp_path, monkeypatch):
    """One resolution: the Texas channel's "Paris" is placed in Texas and described as in
    Texas (not "Capital city in France" from the extractor's own look-up), with a town's
    marker; the same words uploaded without a channel are placed and described in France."""
    opts = _northeast_texas_channel(bench, tmp_path, monkeypatch)
    _, [job] = run(bench, [write(tmp_path, "texas-paris.srt", _srt("The city council of Paris met tonight."))], opts)
    [paris] = bench.places([job.video_id])
    assert paris["country_code"] == "US", paris
    assert paris["description"].endswith("in Texas, United States"), paris
    assert "France" not in paris["description"], paris
    assert paris["marker"] == "city" and "city" in paris["tags"], paris
    _, [job] = run(bench, [write(tmp_path, "upload-paris.srt", _srt("The city council of Paris met last night."))],
                   opts)
    [paris] = bench.places([job.video_id])
    assert paris["country_code"] == "FR", paris
    assert paris["description"] == "Capital city in France" and paris["marker"] == "city", paris


def test_progress_moves_inside_the_summary_phase(bench, tmp_path):
    """The extract stage reports how far it is (the LLM: windows answered), and the job's
    progress moves between the start and the end of the summary phase."""
    import threading

    from pipeline.stages.extract import register_extractor

    step, seen = threading.Event(), threading.Event()

    class SteppingExtractor(fakes.FakeExtractor):
        name = "stepping"

        def extract(self, windows, *, title="", language=None, on_progress=None):
            for fraction in (0.5, 1.0):
                time.sleep(0.3)  # past the progress writes' 0.25 s throttle
                on_progress(fraction)
                seen.set()
                assert step.wait(10)
                step.clear()
            return super().extract(windows, title=title, language=language)

    register_extractor("stepping", SteppingExtractor)
    src = write(tmp_path, "trip.srt", SRT)
    [outcome] = bench.submit([src], bench.options(extractor="stepping", geocoder="fakegeo", offline=True))
    values = []
    for _ in range(2):
        assert seen.wait(10)
        seen.clear()
        job = bench.job(outcome.job.job_id)
        assert job.phase == "summary"
        values.append(job.progress)
        step.set()
    bench.wait([outcome.job.job_id], timeout=30)
    assert bench.job(outcome.job.job_id).status == "done"
    assert values[0] < values[1] and values[1] - values[0] > 0.1, values

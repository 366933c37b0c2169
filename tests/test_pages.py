"""Every page, one at a time, under streamlit.testing.v1.AppTest.

The pages run against a real Workbench on a temporary DuckDB file (VIDEOMAP_* env), with the
fake extractor and geocoder of tests/fakes.py; the cached Workbench is released (and shut
down) after each test, so no two tests share a database.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) does not put the repo root on sys.path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

import tests.fakes as fakes  # noqa: E402  (registers "fake" and "fakegeo")

PAGES = ["analyze", "jobs", "map", "video", "search", "places", "health"]
TITLES = {"analyze": "Analyze", "jobs": "Jobs", "map": "Map", "video": "Review", "search": "Search",
          "places": "Places", "health": "Health"}
MAP_LAYERS = ["routes", "legs", "arrows", "areas", "places", "numbers", "stacks", "stack_counts"]
XSS = "<img src=x onerror=alert(1)>"
SRT = fakes.TRIP_SRT


@pytest.fixture
def env(tmp_path, monkeypatch):
    """VIDEOMAP_* pointing at tmp_path; the page's cached Workbench is released afterwards."""
    values = {
        "VIDEOMAP_DB_PATH": tmp_path / "wb.duckdb", "VIDEOMAP_CACHE_DIR": tmp_path / "cache",
        "VIDEOMAP_MEDIA_DIR": tmp_path / "media", "VIDEOMAP_OFFLINE": "true", "VIDEOMAP_EXTRACTOR": "fake",
        "VIDEOMAP_GEOCODER": "fakegeo", "VIDEOMAP_JOB_WORKERS": "2", "VIDEOMAP_IO_WORKERS": "2",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, str(value))
    for name in ("VIDEOMAP_LLM_API_KEY", "VIDEOMAP_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    st.cache_resource.clear()
    yield tmp_path
    st.cache_resource.clear()  # on_release shuts the page's Workbench down


def page_bench():
    """The Workbench the pages use (the one in st.cache_resource)."""
    from pages import _shared
    from pipeline.config import Settings

    return _shared._workbench(_shared._settings_key(Settings()))


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def populate(tmp_path: Path, *, xss: bool = False) -> dict[str, str]:
    """Analyse a small .srt (and a partial one) with a Workbench of our own, then close it."""
    from pipeline.api import Workbench
    from pipeline.config import Settings

    fakes.FakeGeocoder.atlantis_online.clear()
    bench = Workbench(Settings())
    try:
        opts = bench.options(extractor="fake", geocoder="fakegeo", offline=True)
        trip = write(tmp_path, "trip.srt", SRT)
        myth = write(tmp_path, "myth.srt", SRT.replace("Madrid", "Atlantis").replace("Lisbon", "Taipei"))
        outcomes = bench.submit([trip, myth], opts)
        jobs = bench.wait([o.job.job_id for o in outcomes], timeout=60)
        ids = {Path(j.source).name: j for j in jobs}
        assert ids["trip.srt"].status == "done" and ids["myth.srt"].status == "partial"
        if xss:
            bench.correct_place(ids["trip.srt"].video_id, "Porto", name=XSS)
        return {"trip_job": ids["trip.srt"].job_id, "trip_video": ids["trip.srt"].video_id,
                "myth_job": ids["myth.srt"].job_id, "myth_video": ids["myth.srt"].video_id}
    finally:
        bench.shutdown(wait=True)


def run_page(name: str, timeout: float = 30) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=timeout)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("text", "caption", "markdown", "info", "success", "error", "warning")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def unescape_md(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


# ----------------------------------------------------------------- rendering
@pytest.mark.parametrize("name", PAGES)
def test_page_renders_on_an_empty_database(env, name):
    at = run_page(name)
    assert at.title[0].value == TITLES[name]
    assert not at.error, [e.value for e in at.error]
    assert "rendered in" not in texts(at)  # no developer footer (the timings go to the log and Health)


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_on_a_populated_database(env, name):
    populate(env)
    at = run_page(name)
    assert at.title[0].value == TITLES[name]
    assert not at.error, [e.value for e in at.error]
    assert "rendered in" not in texts(at)
    assert "file:" not in texts(at)  # no internal video ids on the page


def test_app_navigation_lists_every_page(env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Analyze"  # the default page
    at.switch_page("pages/places.py").run()
    assert not at.exception and at.title[0].value == "Places"


# ------------------------------------------------------------------ analyze
def test_analyze_has_its_widgets(env):
    at = run_page("analyze")
    assert at.text_area(key="urls") is not None
    assert at.button(key="submit").label == "Submit"
    assert at.button(key="demo").label == "Try the demo"
    assert at.file_uploader(key="media_files").accept_multiple_files
    assert at.file_uploader(key="list_file").allowed_type == [".txt"]
    assert at.toggle(key="offline").value is True  # VIDEOMAP_OFFLINE=true
    assert at.selectbox(key="asr_model").value == "tiny.en"


def test_a_bad_line_is_reported_and_the_good_line_is_queued(env):
    good = write(env, "trip.srt", SRT)
    at = run_page("analyze")
    at.text_area(key="urls").set_value(f"not a source\n\n{good}\n")
    at.button(key="submit").click().run()
    assert not at.exception
    errors = [unescape_md(e.value) for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Line 1: not a source")
    assert "InvalidSourceError" in errors[0]
    infos = [unescape_md(e.value) for e in at.info]
    assert len(infos) == 1 and infos[0].startswith(f"Line 3: {good}") and "Jobs page" in infos[0]
    job_id = page_bench().list_jobs()[0].job_id
    [job] = page_bench().wait([job_id], timeout=60)
    assert job.status == "done"
    # the same source again: served from the stored result at once
    at.button(key="submit").click().run()
    assert any("cached" in unescape_md(e.value) and "3 places" in unescape_md(e.value) for e in at.success)


def test_uploads_get_content_safe_names_and_big_ones_are_refused(env, monkeypatch):
    from pages import _shared

    monkeypatch.setattr(_shared, "UPLOAD_LIMIT_MB", 0.01)  # 10 KB
    at = run_page("analyze")
    at.file_uploader(key="media_files").set_value([
        ("../../evil name.srt", SRT.encode(), "application/x-subrip"),
        ("huge.srt", SRT.encode() * 100, "application/x-subrip"),
    ])
    at.button(key="submit").click().run()
    assert not at.exception
    errors = [unescape_md(e.value) for e in at.error]
    assert len(errors) == 1 and "huge.srt" in errors[0] and "upload limit" in errors[0]
    saved = [p for p in (env / "media" / "uploads").rglob("*") if p.is_file()]
    assert len(saved) == 1 and re.fullmatch(r"[0-9a-f]{16}", saved[0].parent.name)
    assert saved[0].name == "evil name.srt"  # the uploaded name (it becomes the title), in its hash folder
    assert saved[0].parent.parent == env / "media" / "uploads"
    assert saved[0].read_text(encoding="utf-8") == SRT
    assert any("evil name.srt" in unescape_md(e.value) for e in at.info)


def test_a_cached_reupload_reports_its_places_and_keeps_the_name(env):
    at = run_page("analyze")
    at.file_uploader(key="media_files").set_value([("my trip.srt", SRT.encode(), "application/x-subrip")])
    at.button(key="submit").click().run()
    bench = page_bench()
    bench.wait([j.job_id for j in bench.list_jobs()], timeout=60)
    [video] = bench.videos()
    assert bench.video_titles()[video["video_id"]] == "my trip.srt"
    # the same bytes under another name: the stored result, its real count, the first name kept
    at.file_uploader(key="media_files").set_value([("copy.srt", SRT.encode(), "application/x-subrip")])
    at.button(key="submit").click().run()
    successes = [unescape_md(e.value) for e in at.success]
    assert any("cached" in s and "3 places" in s for s in successes), successes
    assert bench.video_titles()[video["video_id"]] == "my trip.srt"
    jobs = run_page("jobs")
    caption = "\n".join(c.value for c in jobs.caption)
    assert "3 places on the map" in caption and "cached" in caption and "0 places" not in caption


def test_an_uploaded_list_file_is_read_line_by_line(env):
    good = write(env, "trip.srt", SRT)
    at = run_page("analyze")
    at.file_uploader(key="list_file").set_value(("list.txt", f"# my list\n{good}\nnowhere.mp4\n".encode(),
                                                 "text/plain"))
    at.button(key="submit").click().run()
    assert [unescape_md(e.value) for e in at.error][0].startswith("nowhere.mp4")
    assert len(at.info) == 1


# --------------------------------------------------------------------- jobs
def test_jobs_show_status_errors_and_actions(env):
    ids = populate(env)
    broken = write(env, "broken.srt", "this is not a subtitle file")
    from pipeline.api import Workbench
    from pipeline.config import Settings

    bench = Workbench(Settings())
    try:
        [o] = bench.submit([broken], bench.options(extractor="fake", geocoder="fakegeo", offline=True))
        [failed] = bench.wait([o.job.job_id], timeout=30)
    finally:
        bench.shutdown()
    at = run_page("jobs")
    assert at.button(key=f"retry_{ids['trip_job']}") is not None
    assert at.button(key=f"regeo_{ids['myth_job']}").label == "Retry failed geocodes"
    assert any("SubtitleParseError" in unescape_md(e.value) for e in at.error)
    assert at.metric[1].label == "Queued" and at.metric[2].label == "Inference queue"
    # retry the failed geocodes: Atlantis is back online
    fakes.FakeGeocoder.atlantis_online.set()
    try:
        at.button(key=f"regeo_{ids['myth_job']}").click().run()
        assert not at.exception and not [e for e in at.error if "Retrying" in e.value]
        assert page_bench().job(ids["myth_job"]).status == "done"
    finally:
        fakes.FakeGeocoder.atlantis_online.clear()
    assert failed.status == "failed"


def test_a_running_job_can_be_canceled(env):
    fakes.FakeExtractor.delay = 3.0
    try:
        src = write(env, "slow.srt", SRT)
        at = run_page("analyze")
        at.text_area(key="urls").set_value(src)
        at.button(key="submit").click().run()
        bench = page_bench()
        job_id = bench.list_jobs()[0].job_id
        deadline = time.time() + 10
        while bench.job(job_id).status != "running" and time.time() < deadline:
            time.sleep(0.05)
        jobs = run_page("jobs")
        jobs.button(key=f"cancel_{job_id}").click().run()
        assert not jobs.exception
        [job] = bench.wait([job_id], timeout=30)
        assert job.status == "canceled"
    finally:
        fakes.FakeExtractor.delay = 0.0


# ---------------------------------------------------------------------- map
def deck_spec(at: AppTest) -> dict:
    [chart] = [e for e in at.get("deck_gl_json_chart")]
    return json.loads(chart.proto.json), json.loads(chart.proto.tooltip)


def layer(spec: dict, layer_id: str) -> dict:
    return next(item for item in spec["layers"] if item["id"] == layer_id)


def test_map_layers_and_escaped_tooltip(env):
    ids = populate(env, xss=True)
    at = run_page("map")
    assert [layer["id"] for layer in deck_spec(at)[0]["layers"]] == ["sea", "countries", *MAP_LAYERS]
    at.toggle(key="map_labels").set_value(True).run()
    spec, tooltip = deck_spec(at)
    layer_ids = [layer["id"] for layer in spec["layers"]]
    assert layer_ids == ["sea", "countries", *MAP_LAYERS, "labels"]  # offline: packaged outlines
    assert spec.get("mapProvider") in (None, "")
    assert len(layer(spec, "countries")["data"]["features"]) > 200  # no static serving here: inline
    points = layer(spec, "places")["data"]
    assert XSS in {p["name"] for p in points}
    # untrusted text goes into a text tooltip (innerText), never into an html template
    assert "html" not in tooltip and set(re.findall(r"\{(\w+)\}", tooltip["text"])) == {
        "name", "kind", "timecode", "video", "description"}
    routes = layer(spec, "routes")["data"]
    assert len(routes) == 2  # one path per video, in timecode order
    trip = next(r for r in routes if r["video_id"] == ids["trip_video"])
    stops = [p for p in points if p["video_id"] == ids["trip_video"]]
    assert [(p["number"], p["true_position"]) for p in stops][0] == ("1", [-9.1333, 38.7167])  # Lisbon first
    assert [p["number"] for p in stops] == ["1", "2", "3"]
    assert trip["path"] == [p["position"] for p in stops]  # the route runs through the shown stops
    # Porto is in both videos: one spot, spread into two dots with a count badge listing both
    [badge] = [b for b in layer(spec, "stacks")["data"] if "Porto" in b["description"] or XSS in b["description"]]
    assert int(badge["text"]) >= 2 and len({tuple(p["position"]) for p in points}) == len(points)
    assert layer(spec, "arrows")["data"]  # direction on the legs
    assert at.selectbox(key="map_colour_by").options == ["video", "marker"]


def test_map_filters(env):
    ids = populate(env)
    at = run_page("map")
    at.multiselect(key="videos").set_value([ids["trip_video"]]).run()
    spec, _ = deck_spec(at)
    assert len(layer(spec, "places")["data"]) == 3
    at.text_input(key="q").set_value("porto").run()  # the search filters the map too
    spec, _ = deck_spec(at)
    assert [p["name"] for p in layer(spec, "places")["data"]] == ["Porto"]
    at.text_input(key="q").set_value("").run()
    at.slider(key="map_min_conf").set_value(0.95).run()
    spec, _ = deck_spec(at)
    assert layer(spec, "places")["data"] == []
    assert not at.exception


def test_map_uses_tiles_when_asked(env):
    populate(env)
    at = run_page("map")
    at.selectbox(key="basemap").set_value("tiles").run()
    spec, _ = deck_spec(at)
    # offline (VIDEOMAP_OFFLINE): the tiles cannot load; the page says so and draws the outlines
    assert any("cannot be loaded" in w.value for w in at.warning)
    assert spec.get("mapProvider") in (None, "") and layer(spec, "countries")


def test_map_uses_tiles_when_online(env, monkeypatch):
    populate(env)
    monkeypatch.setenv("VIDEOMAP_OFFLINE", "false")
    from pages import _shared

    monkeypatch.setattr(_shared, "network_available", lambda *a, **k: True)
    at = run_page("map")
    at.selectbox(key="basemap").set_value("tiles").run()
    spec, _ = deck_spec(at)
    assert spec["mapProvider"] == "carto" and not at.warning
    assert [item["id"] for item in spec["layers"]] == ["countries", *MAP_LAYERS]  # outlines over the tiles
    assert layer(spec, "countries")["filled"] is False


# ------------------------------------------------------------------- places
def test_places_table_and_corrections(env):
    ids = populate(env, xss=True)
    at = run_page("places")
    [editor] = at.data_editor
    frame = editor.value
    trip_rows = frame[frame["video"].str.startswith("trip.srt")]
    assert list(trip_rows["location"]) == ["Lisbon", XSS, "Madrid"]  # timecode order, corrected name
    assert list(trip_rows["timecode"]) == ["00:00:01,000", "00:00:05,000", "00:00:09,000"]
    assert {"gazetteer_id", "evidence", "confidence", "video", "timecode"} <= set(frame.columns)
    assert at.button(key="save_corrections").disabled
    rows = list(zip(frame["video"], frame["original_name"], strict=True))
    madrid = next(i for i, (video, name) in enumerate(rows) if video.startswith("trip.srt") and name == "Madrid")
    lisbon = next(i for i, (video, name) in enumerate(rows) if video.startswith("trip.srt") and name == "Lisbon")
    at.session_state["places_editor"] = {
        "edited_rows": {madrid: {"location": "Madrid, Spain", "latitude": 40.0, "longitude": -3.5, "visited": True},
                        lisbon: {"rejected": True}},
        "added_rows": [], "deleted_rows": [],
    }
    at.run()
    assert not at.button(key="save_corrections").disabled
    at.button(key="save_corrections").click().run()
    assert not at.exception
    assert any("Saved 2 correction" in e.value for e in at.success)
    bench = page_bench()
    places = {p["original_name"]: p for p in bench.places([ids["trip_video"]], include_rejected=True)}
    assert places["Madrid"]["location"] == "Madrid, Spain" and places["Madrid"]["latitude"] == 40.0
    assert places["Madrid"]["visited"] is True and places["Madrid"]["status"] == "corrected"
    assert places["Lisbon"]["rejected"] is True
    assert "Lisbon" not in {p["location"] for p in bench.places([ids["trip_video"]])}
    # the table shows the corrected values; rejected rows stay in the table (ticked)
    frame = at.data_editor[0].value
    assert "Madrid, Spain" in list(frame["location"])
    trip_rows = frame[frame["video"].str.startswith("trip.srt")]
    assert bool(trip_rows.loc[trip_rows["original_name"] == "Lisbon", "rejected"].iloc[0])


def test_out_of_range_correction_is_reported(env):
    populate(env)
    at = run_page("places")
    at.session_state["places_editor"] = {"edited_rows": {0: {"latitude": 123.0}}, "added_rows": [],
                                         "deleted_rows": []}
    at.run()
    at.button(key="save_corrections").click().run()
    assert any("outside -90..90" in unescape_md(e.value) for e in at.error)


def test_exports_are_offered_per_format(env):
    populate(env)
    at = run_page("places")
    for fmt in ("csv", "geojson", "kml", "parquet", "json"):
        assert at.download_button(key=f"download_{fmt}") is not None
    csv = page_bench().export("csv").decode()
    assert csv.splitlines()[0].startswith("source,video_id,location")


# ------------------------------------------------------------------- health
def test_health_shows_metrics_and_never_the_llm_key(env, monkeypatch):
    monkeypatch.setenv("VIDEOMAP_LLM_API_KEY", "sk-test-secret-123")
    populate(env)
    at = run_page("health")
    labels = [m.label for m in at.metric]
    assert {"Jobs in total", "Running", "Inference queue depth", "Geocoded", "LLM cost"} <= set(labels)
    everything = texts(at) + json.dumps([m.value for m in at.metric]) + "".join(
        df.value.to_csv() for df in at.dataframe)
    assert "sk-test-secret-123" not in everything
    assert str(env / "wb.duckdb") in everything


# ------------------------------------------------------------------ basemap
def test_basemap_outlines_are_packaged_and_plausible():
    from shapely.geometry import Point, shape

    from pipeline.basemap import country_outlines, package_info

    data = country_outlines()
    assert data["type"] == "FeatureCollection" and len(data["features"]) > 200
    portugal = next(f for f in data["features"] if f["properties"]["iso_a2"] == "PT")
    assert shape(portugal["geometry"]).buffer(0.2).contains(Point(-9.14, 38.72))  # Lisbon
    assert len(json.dumps(data)) < 1_000_000
    assert package_info()["version"]

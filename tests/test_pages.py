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
MAP_LAYERS = ["lines", "places"]  # few layers: each costs a new map seconds in software WebGL
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
    card = unescape_md("\n".join(m.value for m in jobs.markdown))  # a job card's text is one Markdown element
    assert "3 places on the map" in card and "cached" in card and " 0 places" not in card


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
    assert [layer["id"] for layer in deck_spec(at)[0]["layers"]] == ["basemap", *MAP_LAYERS]
    at.toggle(key="map_labels").set_value(True).run()
    spec, tooltip = deck_spec(at)
    layer_ids = [layer["id"] for layer in spec["layers"]]
    assert layer_ids == ["basemap", *MAP_LAYERS, "numbers", "labels"]
    assert spec.get("mapProvider") in (None, "")
    # no static serving here: the outline picture goes inline
    assert layer(spec, "basemap")["image"].startswith("data:image/png;base64,")
    dots = layer(spec, "places")["data"]
    points = [p for p in dots if p["what"] != "stack"]
    assert XSS in {p["name"] for p in points}
    # untrusted text goes into a text tooltip (innerText), never into an html template
    assert "html" not in tooltip and set(re.findall(r"\{(\w+)\}", tooltip["text"])) == {
        "name", "stop", "kind", "timecode", "video", "description"}
    stops = [p for p in points if p["video_id"] == ids["trip_video"] and p["what"] == "stop"]
    assert [(p["number"], p["name"]) for p in stops][0] == ("1", "Lisbon")  # Lisbon first
    assert [p["number"] for p in stops] == ["1", "2", "3"] and stops[1]["stop"] == "stop 2 of 3"
    legs = [(r["s"], r["t"]) for r in layer(spec, "lines")["data"]]
    trip = [p["position"] for p in stops]
    assert (trip[0], trip[1]) in legs and (trip[1], trip[2]) in legs  # the route runs through the shown stops
    # Porto is in both videos: one spot, spread into two dots with a count badge listing both
    [badge] = [b for b in dots if b["what"] == "stack" and ("Porto" in b["description"] or XSS in b["description"])]
    assert int(badge["text"]) >= 2 and len({tuple(p["position"]) for p in points}) == len(points)
    assert len(badge["members"]) == int(badge["text"])  # every stacked place is reachable from its badge
    widths = {r["w"] for r in layer(spec, "lines")["data"]}
    assert widths == {1, 3}  # spider legs (1 px), routes and their arrowheads (3 px)
    at_stops = {tuple(p["position"]) for p in points}
    arrowheads = [r for r in layer(spec, "lines")["data"] if tuple(r["s"]) not in at_stops and r["w"] == 3]
    assert arrowheads  # direction on the legs (chevrons, two segments each)
    assert at.selectbox(key="map_colour_by").options == ["video", "marker"]


def test_map_filters(env):
    ids = populate(env)
    at = run_page("map")
    at.multiselect(key="videos").set_value([ids["trip_video"]]).run()
    spec, _ = deck_spec(at)
    assert len([p for p in layer(spec, "places")["data"] if p["what"] != "stack"]) == 3
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
    assert spec.get("mapProvider") in (None, "") and layer(spec, "basemap")["image"]


def test_map_uses_tiles_when_online(env, monkeypatch):
    populate(env)
    monkeypatch.setenv("VIDEOMAP_OFFLINE", "false")
    from pages import _shared

    monkeypatch.setattr(_shared, "network_available", lambda *a, **k: True)
    at = run_page("map")
    at.selectbox(key="basemap").set_value("tiles").run()
    spec, _ = deck_spec(at)
    assert spec["mapProvider"] == "carto" and not at.warning
    assert [item["id"] for item in spec["layers"]] == ["basemap", *MAP_LAYERS]  # borders over the tiles


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

    from pipeline.geo.basemap import country_outlines, package_info

    data = country_outlines()
    assert data["type"] == "FeatureCollection" and len(data["features"]) > 200
    portugal = next(f for f in data["features"] if f["properties"]["iso_a2"] == "PT")
    assert shape(portugal["geometry"]).buffer(0.2).contains(Point(-9.14, 38.72))  # Lisbon
    assert len(json.dumps(data)) < 1_000_000
    assert package_info()["version"]


# ------------------------------------------------------------------- review
CANDIDATES = [
    {"name": "Porto", "description": "City in Portugal", "region": "Porto, Portugal", "country": "Portugal",
     "country_code": "PT", "population": 249633, "latitude": 41.1496, "longitude": -8.611,
     "gazetteer_id": "geonames:2735943", "marker": "city"},
    {"name": "Porto", "description": "Town in Brazil", "region": "Santa Catarina, Brazil", "country": "Brazil",
     "country_code": "BR", "population": 1200, "latitude": -27.0, "longitude": -50.0,
     "gazetteer_id": "geonames:1", "marker": "city"},
]


@pytest.fixture
def fake_candidates(monkeypatch):
    from pipeline.api import Workbench

    def candidates(self, name, limit=8):
        return [dict(c, name=name.title() if c["name"].lower() != name.lower() else c["name"])
                for c in CANDIDATES if name.strip()][:limit]

    monkeypatch.setattr(Workbench, "place_candidates", candidates)


def test_review_page_puts_a_place_where_the_map_is_clicked(env, fake_candidates):
    ids = populate(env)
    at = run_page("video")
    at.selectbox(key="video").set_value(ids["trip_video"]).run()
    at.button(key="play_porto").click().run()
    [chart] = [e for e in at.get("deck_gl_json_chart")]
    spec = json.loads(chart.proto.json)
    assert [la["id"] for la in spec["layers"]] == ["basemap", "candidates"]
    spots = [d for d in layer(spec, "candidates")["data"] if d["kind"] == "spot"]
    assert len(spots) > 200  # clicking anywhere on the small map hits one of them
    spot = min(spots, key=lambda d: abs(d["latitude"] - 41.3) + abs(d["longitude"] + 8.4))
    # what the browser sends when the analyst clicks there (the chart's selection state)
    at.session_state["candmap_porto"] = {"selection": {"indices": {"candidates": [0]},
                                                       "objects": {"candidates": [spot]}}}
    at.run()
    assert at.button(key="use_spot").label.startswith(f"Put Porto here ({spot['latitude']:.4f}")
    at.button(key="use_spot").click().run()
    assert not at.exception
    bench = page_bench()
    porto = next(p for p in bench.review_places([ids["trip_video"]]) if p["original_name"] == "Porto")
    assert (porto["latitude"], porto["longitude"]) == (spot["latitude"], spot["longitude"])
    [entry] = bench.review_history(ids["trip_video"])
    assert entry["action"] == "place on the map" and entry["before"]["latitude"] == 41.1496


def test_review_page_plays_a_place_and_corrects_it_with_a_candidate(env, fake_candidates):
    ids = populate(env)
    at = run_page("video")
    at.selectbox(key="video").set_value(ids["trip_video"]).run()
    assert at.subheader[0].value == "trip.srt"  # the title, not the id
    assert "No player" in "".join(i.value for i in at.info)  # a subtitle file has nothing to play
    labels = [b.label for b in at.button if b.key and b.key.startswith("play_")]
    assert labels == ["▶ 0:01  Lisbon", "▶ 0:05  Porto", "▶ 0:09  Madrid"]
    at.button(key="play_porto").click().run()
    assert at.number_input(key="t").value == 5  # the player's start (and the URL's ?t=)
    assert "Review: Porto" in "".join(m.value for m in at.markdown)
    # choose the Brazilian candidate (the page's table selection), then put it back to Portugal
    at.session_state["cands_porto"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    at.button(key="use_candidate").click().run()
    assert not at.exception
    bench = page_bench()
    porto = next(p for p in bench.review_places([ids["trip_video"]]) if p["original_name"] == "Porto")
    assert (porto["latitude"], porto["longitude"], porto["status"]) == (-27.0, -50.0, "corrected")
    assert any("Town in Brazil" in s.value for s in at.success)
    [entry] = bench.review_history(ids["trip_video"])
    assert entry["action"] == "choose candidate" and entry["before"]["latitude"] == 41.1496
    assert entry["after"]["latitude"] == -27.0 and entry["who"]
    at.button(key="review_undo").click().run()
    at.button(key="review_reject").click().run()
    places = {p["original_name"]: p for p in bench.review_places([ids["trip_video"]], include_rejected=True)}
    assert places["Porto"]["rejected"] and places["Porto"]["latitude"] == 41.1496
    assert [h["action"] for h in bench.review_history(ids["trip_video"])] == ["choose candidate", "undo", "reject"]


def test_review_page_adds_a_missed_place_from_the_transcript(env, fake_candidates):
    ids = populate(env)
    at = run_page("video")
    at.selectbox(key="video").set_value(ids["trip_video"]).run()
    at.session_state["transcript_table"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    at.button_group(key="add_words").set_value(["train"]).run()
    at.button(key="add_place").click().run()
    assert not at.exception, [e.value for e in at.exception]
    bench = page_bench()
    added = [p for p in bench.review_places([ids["trip_video"]]) if p["added"]]
    assert [(p["location"], p["start_seconds"], p["status"]) for p in added] == [("Train", 5.0, "ok")]
    assert added[0]["evidence"] == "Then the train takes us to Porto."
    assert "add" in [h["action"] for h in bench.review_history(ids["trip_video"])]
    # an added place survives re-analysis and goes into the exports
    [job] = bench.wait([bench.retry(ids["trip_job"]).job_id], timeout=60)
    assert "Train" in {p["location"] for p in bench.review_places([ids["trip_video"]])}
    assert b"Train" in bench.review_export("csv", [ids["trip_video"]])


def test_transcript_is_escaped_and_marked():
    from pages._review import transcript_html

    out = transcript_html([{"start": 3.0, "text": "<b>Porto</b> & more", "names": ["Porto"]}])
    assert "&lt;b&gt;<mark>Porto</mark>&lt;/b&gt; &amp; more" in out and "<b>" not in out


# ------------------------------------------------------------------- search
def test_search_finds_every_moment_and_links_to_it(env):
    ids = populate(env)
    at = run_page("search")
    at.text_input(key="q").set_value("porto").run()
    assert not at.exception
    assert "2 moments" in at.markdown[0].value and "2 videos" in at.markdown[0].value
    bench = page_bench()
    hits = bench.search("train porto")
    assert [(h["video_id"], h["start_seconds"]) for h in hits] == sorted(
        [(ids["myth_video"], 5.0), (ids["trip_video"], 5.0)], key=lambda h: bench.video_titles()[h[0]])
    assert bench.search("100%") == [] and bench.search("") == []
    assert {h["video_title"] for h in hits} == {"trip.srt", "myth.srt"}


# --------------------------------------------------------------------- jobs
def test_jobs_filter_clear_and_delete_a_video(env):
    ids = populate(env)
    at = run_page("jobs")
    at.multiselect(key="status").set_value(["partial"]).run()
    assert at.button(key=f"regeo_{ids['myth_job']}") is not None
    assert not [b for b in at.button if b.key == f"retry_{ids['trip_job']}"]
    at.multiselect(key="status").set_value([]).run()
    at.text_input(key="job_q").set_value("trip").run()
    assert not [b for b in at.button if b.key == f"retry_{ids['myth_job']}"]
    at.text_input(key="job_q").set_value("").run()
    # delete the trip video, with a confirmation first
    at.button(key=f"delete_{ids['trip_job']}").click().run()
    assert any("cannot be undone" in w.value for w in at.warning)
    at.button(key=f"yes_delete_{ids['trip_job']}").click().run()
    bench = page_bench()
    assert ids["trip_video"] not in bench.video_titles()
    assert not bench.review_places([ids["trip_video"]]) and bench.review_places([ids["myth_video"]])
    # clear the finished jobs from the list: the places stay
    at.button(key="clear_finished").click().run()
    assert any("Cleared 1 finished job" in s.value for s in at.success)
    assert bench.visible_jobs() == [] and bench.review_places()


def test_phase_fraction_from_the_jobs_progress_record():
    from pages._jobview import PHASE_WEIGHTS, phase_fraction, progress_text
    from pipeline.runner.graph import PHASE_WEIGHTS as RUNNER_WEIGHTS

    assert PHASE_WEIGHTS is RUNNER_WEIGHTS  # the stage graph's own weights, not a copy

    # a subtitle job (no transcription: 10 + 25 + 35 + 30): summary runs from 35 % to 70 % overall
    assert phase_fraction("summary", 0.35, PHASE_WEIGHTS, transcribed=False) == pytest.approx(0.0)
    assert phase_fraction("summary", 0.525, PHASE_WEIGHTS, transcribed=False) == pytest.approx(0.5)
    assert phase_fraction("summary", 0.70, PHASE_WEIGHTS, transcribed=False) == pytest.approx(1.0)
    # with transcription (40 more): summary runs from 75/140 to 110/140
    assert phase_fraction("summary", 92.5 / 140, PHASE_WEIGHTS, transcribed=True) == pytest.approx(0.5)
    assert phase_fraction("transcription", 30 / 140, PHASE_WEIGHTS, transcribed=True) == pytest.approx(0.5)
    assert phase_fraction(None, 0.5, PHASE_WEIGHTS, transcribed=False) is None
    assert progress_text("running", "summary", 0.525, 0.5) == "running · summary · 50% of this phase · 52% in all"


def test_jobs_card_moves_inside_the_summary_phase(env):
    at = run_page("jobs")
    storage = page_bench().storage
    job_id = storage.create_job("/tmp/long-talk.srt", "sv", options={}, status="running")
    storage.update_job(job_id, phase="summary", progress=0.42, started_at=time.time() - 30)
    for phase in ("metadata", "compression", "summary"):
        storage.add_event(job_id, phase, "phase_start")
    at.run()
    [bar] = [p for p in at.get("progress")]
    assert "running · summary · 20% of this phase" in bar.proto.text, bar.proto.text
    storage.update_job(job_id, progress=0.56)  # the extractor reported more of its windows done
    at.run()
    [bar] = [p for p in at.get("progress")]
    assert "running · summary · 60% of this phase" in bar.proto.text, bar.proto.text


def test_measured_eta_uses_the_phase_speeds_of_this_machine():
    from pipeline.api import Workbench
    from pipeline.runner.jobs import JobView

    job = JobView(job_id="j", source="s", video_id="v", status="running", phase="summary", progress=0.35,
                  strategy_version="x", started_at=time.time() - 4)
    speeds = {"phase_s": {"metadata": 1.0, "compression": 2.0, "summary": 10.0, "geocode": 3.0},
              "transcription_s_per_media_s": None}
    assert Workbench._measured_eta(job, speeds, None, 4.0) == pytest.approx(6.0 + 3.0)
    assert job.eta_s is None  # too early for the linear guess (under 5 s)


# --------------------------------------------------------------------- map
def test_stacked_points_spread_and_areas_are_not_stops():
    from pages import _mapview as mv

    def place(name, lat, lon, t, marker="city", approx=False):
        return {"video_id": "v", "place_id": name, "location": name, "latitude": lat, "longitude": lon,
                "start_seconds": t, "timecode": f"00:00:{t:02d},000", "marker": marker, "approximate": approx,
                "tags": [], "description": ""}

    places = [place("Lisbon", 38.72, -9.14, 1), place("Portugal", 39.6, -8.0, 2, "country"),
              place("Porto", 41.15, -8.61, 3), place("Ribeira", 41.15, -8.61, 4, "poi", approx=True),
              place("Clerigos", 41.15, -8.61, 5, "poi", approx=True), place("Madrid", 40.42, -3.70, 6)]
    model = mv.map_model(places, mv.colour_map(["v"]), "video", {"v": "Trip"})
    stops = [p for p in model["points"] if not p["area"]]
    assert [p["name"] for p in stops] == ["Lisbon", "Porto", "Ribeira", "Clerigos", "Madrid"]
    assert [p["number"] for p in stops] == ["1", "2", "3", "4", "5"]
    [route] = model["routes"]
    assert len(route["path"]) == 5  # Portugal is context, not a vertex
    assert [p["name"] for p in model["points"] if p["area"]] == ["Portugal"]
    [badge] = model["badges"]
    assert badge["text"] == "3" and badge["description"] == "Porto; Ribeira; Clerigos"
    shown = {tuple(p["position"]) for p in stops}
    assert len(shown) == 5  # every stacked place has its own dot (and tooltip)
    assert next(p for p in stops if p["name"] == "Ribeira")["color"][3] < 255 // 2  # approximate: pale
    assert model["arrows"] and all(len(a["chevron"]) == 3 for a in model["arrows"])


def test_kml_folders_are_named_by_title():
    from pipeline.storage.export import to_kml

    kml = to_kml([{"video_id": "file:0123456789abcdef", "video_title": "0123456789abcdef-my trip.srt",
                   "location": "Porto", "latitude": 41.1, "longitude": -8.6, "timecode": "00:00:01,000",
                   "description": "", "evidence": "", "url_at_time": "", "start_seconds": 1.0}]).decode()
    assert "<name>my trip.srt</name>" in kml and "file:0123" not in kml


def test_outline_pictures_line_up_with_mercator_and_are_written_once(tmp_path):
    import io

    from PIL import Image

    from pipeline.geo.basemap import LAND_RGBA, SEA_RGBA, WORLD_BOUNDS, render_png, write_png_static

    world = Image.open(io.BytesIO(render_png("world", WORLD_BOUNDS, 1024))).convert("RGBA")
    assert world.size == (1024, 1024)  # Web Mercator's square world

    def pixel(lon, lat):
        from pages._mapview import _to_px

        x, y = _to_px(lon, lat, 1)  # deck.gl's world is 512 px at zoom 0: 1024 px at zoom 1
        return world.getpixel((int(x), int(y)))

    assert pixel(2.35, 46.5) == LAND_RGBA and pixel(-30.0, 40.0) == SEA_RGBA  # France, the Atlantic
    assert pixel(-63.0, -10.0) == LAND_RGBA and pixel(-150.0, 0.0) == SEA_RGBA  # Brazil, the Pacific
    lines = Image.open(io.BytesIO(render_png("world", WORLD_BOUNDS, 512, fill=False))).convert("RGBA")
    assert lines.getpixel((10, 256))[3] == 0  # borders alone: transparent elsewhere (over tiles)
    url = write_png_static(tmp_path / "basemap", "region", (-10.0, 35.0, 5.0, 45.0), 600)
    assert url.startswith("/app/static/basemap/land-region-") and url.endswith(".png")
    assert write_png_static(tmp_path / "basemap", "region", (-10.0, 35.0, 5.0, 45.0), 600) == url
    assert (tmp_path / "basemap" / url.rsplit("/", 1)[1]).read_bytes()[:4] == b"\x89PNG"


def test_image_bounds_cover_the_view_and_snap():
    from pages._mapview import image_bounds

    view = {"latitude": 40.0, "longitude": -5.0, "zoom": 4.3}
    (west, south, east, north), width = image_bounds(view)
    assert west < -5.0 < east and south < 40.0 < north and 256 <= width <= 2048
    assert image_bounds({**view, "longitude": -4.99})[0] == (west, south, east, north)  # nearby views share one

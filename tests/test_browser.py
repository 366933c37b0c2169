"""End to end in a real browser: streamlit run app.py + Debian's chromium driven by Playwright.

One test walks a user's path: submit a speech clip and the bundled demo, time page renders
while the model transcribes, wait for the jobs, look at the map (canvas, tooltip, selection),
the places table and a CSV download. A place named ``<img src=x onerror=alert(1)>`` (stored
before the app starts) must show as text everywhere and never raise a dialog.

Screenshots and render_times.json go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import wave
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) does not put the repo root on sys.path
    sys.path.insert(0, str(ROOT))

import tests.fakes  # noqa: E402,F401  (registers "fake" and "fakegeo" for populating the DB)
from tests.media import seed_gazetteer  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"
XSS = "<img src=x onerror=alert(1)>"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DEMO_PLACES = {"Lisbon", "Porto", "Madrid", "Barcelona", "Paris", "Taipei"}
CLIP_REPEATS = 16  # the demo narration 16x (~286 s of speech): ~25 s of transcription here to measure in
PAGES = ("Map", "Places", "Health", "Analyze", "Jobs", "Review", "Search")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                       "(apt-get install chromium chromium-driver; scripts/test.sh does it)"),
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def populate(env: dict[str, str], folder: Path) -> str:
    """Before the app starts (DuckDB has one writer process): a video whose one place is renamed
    to an HTML payload through the public correction API. Returns its video id."""
    from pipeline.api import Workbench
    from pipeline.config import Settings

    srt = folder / "xss-porto.srt"
    srt.write_text("1\n00:00:02,000 --> 00:00:05,000\nWe arrive in Porto.\n", encoding="utf-8")
    settings = Settings(db_path=env["VIDEOMAP_DB_PATH"], cache_dir=env["VIDEOMAP_CACHE_DIR"],
                        media_dir=env["VIDEOMAP_MEDIA_DIR"], offline=True)
    bench = Workbench(settings)
    try:
        [outcome] = bench.submit([str(srt)], bench.options(extractor="fake", geocoder="fakegeo", offline=True))
        [job] = bench.wait([outcome.job.job_id], timeout=60)
        assert job.status == "done", job.error
        bench.correct_place(job.video_id, "Porto", name=XSS)
        return job.video_id
    finally:
        bench.shutdown(wait=True)


def populate_stacked(env: dict[str, str]) -> list[str]:
    """Two analysed trips whose POIs sit on their cities (stacked points), with countries and
    continents as context (scripts/bench_pages.populate)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_pages", ROOT / "scripts" / "bench_pages.py")
    bench_pages = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_pages)
    return bench_pages.populate(env["VIDEOMAP_DB_PATH"], videos=2, places=30, seed=3)


def long_speech_clip(path: Path) -> Path:
    """The demo narration repeated: real speech, long enough to watch the transcription phase."""
    import numpy as np
    from faster_whisper.audio import decode_audio

    audio = decode_audio(str(ROOT / "pipeline" / "demo" / "trip-lisbon-to-paris.ogg"), sampling_rate=16000)
    pcm = (np.clip(np.tile(audio, CLIP_REPEATS), -1, 1) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(pcm.tobytes())
    return path


@pytest.fixture
def app(tmp_path):
    """streamlit run app.py on a free loopback port, against a temporary, pre-populated database."""
    env = dict(os.environ)
    for name in ("VIDEOMAP_LLM_API_KEY", "VIDEOMAP_LLM_MODEL", "VIDEOMAP_EXTRACTOR", "VIDEOMAP_GEOCODER"):
        env.pop(name, None)
    env.update({
        "VIDEOMAP_DB_PATH": str(tmp_path / "wb.duckdb"), "VIDEOMAP_CACHE_DIR": str(tmp_path / "cache"),
        "VIDEOMAP_MEDIA_DIR": str(tmp_path / "media"), "VIDEOMAP_OFFLINE": "true", "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    })
    xss_video = populate(env, tmp_path)
    stacked = populate_stacked(env)
    seed_gazetteer(Path(env["VIDEOMAP_CACHE_DIR"]))
    port = free_port()
    log_path = tmp_path / "streamlit.log"
    log = open(log_path, "wb")  # noqa: SIM115  (closed in teardown)
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "streamlit"), "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def stop() -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.3)
        yield {"base": base, "tmp": tmp_path, "xss_video": xss_video, "log": log_path, "stop": stop, "env": env,
               "stacked": stacked}
    finally:
        stop()
        log.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def footer(page, title: str):
    """The page's last element (invisible; the developer footer is gone)."""
    return page.locator(f".st-key-page_ready_{title.lower()}")


def go(page, title: str, timeout_ms: int = 30_000) -> dict:
    """Click the page's link in the sidebar; return the click-to-complete time (and when)."""
    wall_start = time.time()
    started = time.perf_counter()
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    footer(page, title).wait_for(state="attached", timeout=timeout_ms)
    client_ms = (time.perf_counter() - started) * 1000
    return {"page": title, "client_ms": round(client_ms, 1), "start": wall_start, "end": time.time()}


def clip_job_id(env: dict[str, str], name: str) -> str:
    """The id of the job that analysed the source ending in ``name`` (read after the app stopped)."""
    from pipeline.api import Workbench
    from pipeline.config import Settings

    bench = Workbench(Settings(db_path=env["VIDEOMAP_DB_PATH"], cache_dir=env["VIDEOMAP_CACHE_DIR"],
                               media_dir=env["VIDEOMAP_MEDIA_DIR"], offline=True), resume=False)
    try:
        return next(j.job_id for j in bench.list_jobs() if j.source.endswith(name))
    finally:
        bench.shutdown()


def phase_window(env: dict[str, str], job_id: str, phase: str) -> tuple[float, float]:
    """When a job's phase started and ended (from its events; read after the app has stopped)."""
    from pipeline.api import Workbench
    from pipeline.config import Settings

    bench = Workbench(Settings(db_path=env["VIDEOMAP_DB_PATH"], cache_dir=env["VIDEOMAP_CACHE_DIR"],
                               media_dir=env["VIDEOMAP_MEDIA_DIR"], offline=True), resume=False)
    try:
        events = [e for e in bench.job_events(job_id) if e["phase"] == phase]
    finally:
        bench.shutdown()
    start = min(e["ts"] for e in events if e["event"] == "phase_start")
    end = max(e["ts"] for e in events if e["event"] == "phase_done")
    return start, end


def test_user_journey_in_a_real_browser(app):
    from playwright.sync_api import expect, sync_playwright

    from pipeline.storage.export import CSV_COLUMNS

    clip = long_speech_clip(app["tmp"] / "long-trip.wav")
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page = context.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("console", lambda m: print("browser console:", m.text[:300]) if m.type == "error" else None)
            outside: list[str] = []  # offline mode: the page must not reach for tiles, fonts or icons
            page.on("request", lambda r: outside.append(r.url) if r.url.startswith(("http:", "https:"))
                    and not r.url.startswith(app["base"]) else None)

            # --- Analyze: a speech clip by path, then the bundled demo
            page.goto(app["base"])
            footer(page, "Analyze").wait_for(state="attached", timeout=60_000)
            page.get_by_label("Sources, one per line").fill(str(clip))
            page.get_by_role("button", name="Submit").click()
            queued = page.get_by_text(re.compile(r"Line 1: .*long-trip\.wav — (queued|running)\. Follow it"))
            queued.wait_for(timeout=30_000)
            page.get_by_role("button", name="Try the demo").click()
            for name in (r"trip-lisbon-to-paris\.ogg", r"city-walk\.srt"):
                page.get_by_text(re.compile(rf"{name} — (queued|running)\. Follow it")).wait_for(timeout=30_000)
            shot(page, "analyze")

            # --- time page renders (sidebar navigation) while the clip is transcribed; which of them
            # fell inside the transcription phase is read from the job's events afterwards
            samples = []
            seen_transcription = False
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and len(samples) < 80:
                samples.append(go(page, PAGES[len(samples) % len(PAGES)]))
                if samples[-1]["page"] == "Jobs":
                    page.wait_for_timeout(1100)  # let the live fragment refresh once
                    now = page.get_by_text(re.compile(r"running · transcription · \d+%")).count() > 0
                    if now and not seen_transcription:
                        shot(page, "jobs-transcribing")
                    seen_transcription = seen_transcription or now
                    if seen_transcription and not now:
                        break
            assert seen_transcription, "never saw a job in the transcription phase"

            # --- all jobs finish (the demo transcribes with the bundled tiny.en on CPU)
            page.get_by_text(re.compile(r"^Live: 0 running · 0 queued")).wait_for(timeout=180_000)
            page.wait_for_timeout(500)
            assert page.locator('[class*="st-key-job_"]').count() >= 4
            assert page.get_by_text("failed", exact=True).count() == 0
            shot(page, "jobs-done")
            idle = [go(page, title) for _ in range(2) for title in PAGES]  # the same, with nothing running

            # --- Map: a canvas with content, whatever the network
            go(page, "Map")
            canvas = page.locator('[data-testid="stDeckGlJsonChart"] canvas').first
            canvas.wait_for(timeout=30_000)
            page.wait_for_timeout(2000)
            box = canvas.bounding_box()
            assert box and box["width"] > 300 and box["height"] > 300
            colours = _distinct_colours(canvas.screenshot())
            assert colours > 20, f"the map canvas looks blank ({colours} colours)"
            shot(page, "map")

            # only the video with the HTML payload: its single place sits at the centre of the view
            show_only(page, "xss-porto")
            page.get_by_text(re.compile(r"^1 stop and 0 areas on the map")).wait_for(timeout=30_000)
            page.wait_for_timeout(1500)
            box = canvas.bounding_box()
            centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.move(centre[0] - 30, centre[1] - 30)
            page.mouse.move(*centre)
            tooltip = page.locator(".deck-tooltip")
            tooltip.filter(has_text="onerror").wait_for(timeout=10_000)
            assert tooltip.inner_text().splitlines()[0] == XSS  # shown as text, once escaped (not twice)
            assert "&lt;img" in tooltip.inner_html()
            assert tooltip.locator("img").count() == 0
            shot(page, "map-tooltip")
            page.mouse.click(*centre)
            details = page.locator(".st-key-place_details")
            details.wait_for(timeout=30_000)
            for text in (XSS, "We arrive in Porto.", "00:00:02", "90%"):
                expect(details).to_contain_text(text, timeout=10_000)
            shot(page, "map-selected")

            # --- Places: one table across videos; CSV export of everything; the payload as text
            go(page, "Places")
            page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30_000)
            page.wait_for_timeout(1000)
            shot(page, "places")
            download = download_csv(page)
            assert download.suggested_filename == "places.csv"
            rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
            assert list(rows[0].keys()) == CSV_COLUMNS
            locations = {r["location"] for r in rows}
            assert DEMO_PLACES <= locations, locations
            assert XSS in locations
            demo_clip = [r for r in rows if r["source"].endswith("trip-lisbon-to-paris.ogg")]
            order = [r["location"] for r in demo_clip if r["location"] in DEMO_PLACES]
            assert order.index("Lisbon") < order.index("Madrid") < order.index("Paris")  # timecode order
            assert all(r["latitude"] and r["longitude"] for r in rows)
            # the table, one video at a time (the grid only puts its visible rows in the page)
            for video, names in (("trip-lisbon-to-paris", ["Lisbon", "Porto", "Madrid", "Barcelona", "Paris"]),
                                 ("city-walk", ["Taipei", "Tamsui"]), ("xss-porto", [XSS])):
                show_only(page, video)
                for name in names:
                    cell = page.locator('[data-testid="stDataFrame"] [role="gridcell"]').filter(
                        has_text=re.compile(rf"^{re.escape(name)}$"))
                    expect(cell.first).to_be_attached(timeout=15_000)  # the grid's a11y table (hidden)
            assert page.locator('[data-testid="stDataFrame"] img').count() == 0
            shot(page, "places-xss")

            go(page, "Health")
            page.get_by_text("Configured model: tiny.en").wait_for(timeout=10_000)
            page.wait_for_timeout(2500)  # the live section refreshes every 2 s
            shot(page, "health")

            assert page.locator('img[src="x"]').count() == 0
        finally:
            browser.close()
    assert dialogs == [], f"a dialog was raised: {dialogs}"
    assert outside == [], f"requests left the machine in offline mode: {outside[:5]}"
    app["stop"]()
    log = app["log"].read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]

    # which of the timed renders ran entirely inside the clip's transcription phase
    start, end = phase_window(app["env"], clip_job_id(app["env"], "long-trip.wav"), "transcription")
    during = [s for s in samples if start <= s["start"] and s["end"] <= end]
    summary = {
        "what": "sidebar navigation to a page until its last element (an invisible marker) is in the page; "
                "client_ms = click to marker in Chromium",
        "machine": f"{os.cpu_count()} CPU cores shared by chromium, streamlit and the ASR model",
        "transcription_phase_s": round(end - start, 1),
        "speech_seconds": round(17.855 * CLIP_REPEATS, 1),
        "during_transcription": _stats(during),
        "idle_after_jobs": _stats(idle),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "render_times.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print("\nrender times:", json.dumps({k: v for k, v in summary.items()}, indent=1))
    assert summary["during_transcription"]["n"] >= 3, summary
    # responsive: no page run waits for the model (the script itself stays fast) and every page shows.
    # A page blocked on the transcription would take the whole clip's time (minutes); the bound only
    # separates that from a slow, loaded machine (the timings themselves are in BENCHMARKS.md).
    assert summary["during_transcription"]["client_ms_max"] < 60_000, summary


def _stats(samples: list[dict]) -> dict:
    if not samples:
        return {"n": 0}
    out: dict = {"n": len(samples)}
    for key in ("client_ms",):
        values = [s[key] for s in samples]
        out[f"{key}_median"] = round(statistics.median(values), 1)
        out[f"{key}_max"] = round(max(values), 1)
    out["by_page_client_ms_median"] = {
        title: round(statistics.median([s["client_ms"] for s in samples if s["page"] == title]), 1)
        for title in PAGES if any(s["page"] == title for s in samples)}
    out["samples"] = [{k: s[k] for k in ("page", "client_ms")} for s in samples]
    return out


def download_csv(page):
    """Click the CSV export. Its bytes are built on click (a deferred download_button); once in a
    while (seen 1 run in ~10 here) the first click of a fresh page starts no download, so one
    more click is allowed before failing."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(2):
        try:
            with page.expect_download(timeout=20_000) as download_info:
                page.locator(".st-key-download_csv button").click()
            return download_info.value
        except PlaywrightTimeout:
            if attempt:
                raise
    raise AssertionError("unreachable")


def show_only(page, video: str) -> None:
    """Pick one video in the page's "Videos" filter (replacing the previous pick)."""
    box = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Videos").locator("input")
    box.click()
    page.keyboard.press("Backspace")
    page.keyboard.type(video)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.wait_for_timeout(800)


def _distinct_colours(png: bytes) -> int:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB").resize((200, 200))
    return len(set(image.getdata()))


UPLOAD_SRT = """1
00:00:01,000 --> 00:00:04,000
We start the day in Lisbon by the river.

2
00:00:05,000 --> 00:00:09,000
After lunch the little train climbs to sintra and its palaces.

3
00:00:10,000 --> 00:00:14,000
In the evening we reach Porto for dinner.
"""


def grid_click_row(page, grid, row: int) -> None:
    """Tick a row of a Streamlit dataframe (a canvas grid): its row marker, left of the first column."""
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 14, box["y"] + 35 + 17 + 35 * row)


def test_analyst_workbench_journey(app):
    """Demo → upload (and a cached re-upload) → jobs cleared → Review: the player at a place's moment,
    a gazetteer candidate chosen, the place put where the small map is clicked, a missed place added
    from the transcript → Search → Map with the route's direction and stacked points spread.
    Screenshots: tests/artifacts/workbench-*.png."""
    from playwright.sync_api import expect, sync_playwright

    upload = app["tmp"] / "day-trip.srt"
    upload.write_text(UPLOAD_SRT, encoding="utf-8")
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                    args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"])
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(app["base"])
            footer(page, "Analyze").wait_for(state="attached", timeout=60_000)

            # --- demo and an upload; the same bytes again under another name: cached, real count, same title
            page.get_by_role("button", name="Try the demo").click()
            page.get_by_text(re.compile(r"city-walk\.srt — (queued|running)")).wait_for(timeout=30_000)
            chooser = page.locator('[data-testid="stFileUploaderDropzoneInput"]').last
            chooser.set_input_files(str(upload))
            page.get_by_text("day-trip.srt").first.wait_for(timeout=15_000)
            page.wait_for_timeout(2500)  # the upload's own rerun ends first
            page.get_by_role("button", name="Submit").click()
            page.get_by_text(re.compile(r"day-trip\.srt — (queued|running)\. Follow it")).wait_for(timeout=30_000)
            go(page, "Jobs")
            page.get_by_text(re.compile(r"^Live: 0 running · 0 queued")).wait_for(timeout=240_000)
            expect(page.get_by_text("day-trip.srt", exact=True).first).to_be_visible()
            assert page.get_by_text(re.compile(r"[0-9a-f]{16}")).count() == 0  # no hashes, no ids
            go(page, "Analyze")
            copy = app["tmp"] / "copy of day-trip.srt"
            copy.write_text(UPLOAD_SRT, encoding="utf-8")
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').last.set_input_files(str(copy))
            page.get_by_text("copy of day-trip.srt").first.wait_for(timeout=15_000)
            page.wait_for_timeout(2500)
            page.get_by_role("button", name="Submit").click()
            cached = page.get_by_text(re.compile(r"cached: the stored result with \d+ places? is ready"))
            cached.wait_for(timeout=30_000)
            assert " 0 places" not in cached.inner_text()

            # --- Jobs: filter, then clear the finished ones
            go(page, "Jobs")
            page.get_by_text(re.compile(r"^Live: 0 running · 0 queued")).wait_for(timeout=60_000)
            expect(page.get_by_text(re.compile(r"\d+ places? on the map")).first).to_be_visible()
            page.get_by_role("button", name=re.compile(r"^Clear \d+ finished jobs?")).click()
            page.get_by_text(re.compile(r"^Cleared \d+ finished jobs? from the list")).wait_for(timeout=15_000)
            page.get_by_text("No jobs in the list.", exact=False).wait_for(timeout=15_000)
            shot(page, "workbench-jobs-cleared")

            # --- Review the demo clip: a place's button plays its moment in the audio player
            go(page, "Review")
            box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Video").locator("input")
            box.click()
            page.keyboard.type("trip-lisbon-to-paris")
            page.keyboard.press("Enter")
            page.get_by_role("heading", name="trip-lisbon-to-paris.ogg").wait_for(timeout=30_000)
            madrid = page.get_by_role("button", name=re.compile(r"^▶ \d+:\d\d\s+Madrid$"))
            madrid.wait_for(timeout=30_000)
            minutes, seconds = re.search(r"(\d+):(\d\d)", madrid.inner_text()).groups()
            start = int(minutes) * 60 + int(seconds)
            madrid.click()
            page.locator(".st-key-review_panel").wait_for(timeout=30_000)
            audio = page.locator("audio").first
            audio.wait_for(state="attached", timeout=30_000)
            page.wait_for_function("s => { const a = document.querySelector('audio');"
                                   " return a && a.currentTime >= s - 0.5; }", arg=start, timeout=30_000)
            assert f"t={start}" in page.url  # the moment is in the address: shareable
            # choose a candidate from the gazetteer's list (second row: another Madrid)
            grid = page.locator(".st-key-review_panel [data-testid='stDataFrame']").first
            grid.wait_for(timeout=60_000)
            page.wait_for_timeout(800)
            grid_click_row(page, grid, 1)
            use = page.get_by_role("button", name=re.compile(r"^Use Madrid"))
            use.wait_for(timeout=30_000)
            chosen = use.inner_text()
            use.click()
            page.get_by_text(re.compile(r"^Madrid is now Madrid")).wait_for(timeout=30_000)
            page.get_by_text(re.compile(r"Audit trail \(1 change\)")).wait_for(timeout=15_000)
            shot(page, "workbench-review")
            # ... or put it where the analyst clicks on the small map (away from the candidates' dots)
            small_map = page.locator(".st-key-review_panel [data-testid='stDeckGlJsonChart'] canvas").first
            small_map.wait_for(timeout=30_000)
            page.wait_for_timeout(1500)
            put_here = page.get_by_role("button", name=re.compile(r"^Put Madrid.* here \(-?\d+\.\d{4}, -?\d+\.\d{4}\)"))
            for fx, fy in ((0.15, 0.85), (0.85, 0.15), (0.15, 0.15), (0.85, 0.85)):
                small_map.scroll_into_view_if_needed()
                frame = small_map.bounding_box()
                page.mouse.click(frame["x"] + frame["width"] * fx, frame["y"] + frame["height"] * fy)
                try:
                    put_here.wait_for(timeout=20_000)
                    break
                except Exception:  # a candidate's dot was hit: try another corner
                    continue
            spot = put_here.inner_text()
            put_here.click()
            page.get_by_text(re.compile(r"^Madrid.* is now Madrid.*\(the spot picked on the map")).wait_for(
                timeout=30_000)
            page.get_by_text(re.compile(r"Audit trail \(2 changes\)")).wait_for(timeout=15_000)
            shot(page, "workbench-review-map-click")

            # --- the uploaded file: add the missed place "sintra" from its transcript line
            box.click()
            page.keyboard.type("day-trip")
            page.keyboard.press("Enter")
            page.get_by_role("heading", name="day-trip.srt").wait_for(timeout=30_000)
            transcript = page.locator(".st-key-transcript_table, [data-testid='stDataFrame']").last
            transcript.wait_for(timeout=30_000)
            page.wait_for_timeout(800)
            grid_click_row(page, transcript, 1)
            panel = page.locator(".st-key-add_panel")
            panel.wait_for(timeout=30_000)
            panel.get_by_role("button", name="sintra", exact=True).click()
            add = page.get_by_role("button", name=re.compile(r"^Add Sintra"))
            add.wait_for(timeout=60_000)
            add.click()
            page.get_by_text(re.compile(r"^Added Sintra")).wait_for(timeout=30_000)
            expect(page.get_by_role("button", name=re.compile(r"Sintra · added"))).to_be_visible()
            shot(page, "workbench-review-added")

            # --- Search: every moment "Porto" is said; a hit opens the review page at that moment
            go(page, "Search")
            page.get_by_label("Words or a place name").fill("Porto")
            page.keyboard.press("Enter")
            results = page.locator(".st-key-search_results")
            results.get_by_text("day-trip.srt").first.wait_for(timeout=30_000)
            results.locator("mark").nth(1).wait_for(state="attached", timeout=30_000)  # "Porto" marked, twice
            shot(page, "workbench-search")
            results.get_by_role("link", name="▶ 0:10").first.click()
            page.wait_for_url(re.compile(r"[?&]t=10\b"), timeout=30_000)  # the review page, at that moment
            page.get_by_role("heading", name="day-trip.srt").wait_for(timeout=30_000)

            # --- Map: the stacked trips, spread, with the route's direction
            go(page, "Map")
            search_box = page.get_by_label("Search words or a place")
            assert search_box.input_value() == "Porto"  # the search carries over to the map (and the table)
            search_box.fill("")
            search_box.press("Enter")
            page.wait_for_timeout(1500)
            filter_box = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Videos").locator("input")
            for title in ("Trip 01", "Trip 02"):
                filter_box.click()
                page.keyboard.type(title)
                page.keyboard.press("Enter")
            page.keyboard.press("Escape")
            caption = page.get_by_text(re.compile(r"stops? and \d+ areas? on the map"))
            caption.wait_for(timeout=30_000)
            page.wait_for_function("() => !document.body.innerText.includes('Running...')", timeout=30_000)
            page.wait_for_timeout(2500)
            stacked = int(re.search(r"(\d+) stacked places? spread", caption.inner_text()).group(1))
            assert stacked >= 4, caption.inner_text()
            assert re.search(r"\b2 routes\b", caption.inner_text())
            canvas = page.locator('[data-testid="stDeckGlJsonChart"] canvas').first
            assert _distinct_colours(canvas.screenshot()) > 20
            shot(page, "workbench-map")
            # one trip alone: the view zooms to it, so the route's arrows and the spread stacks are legible
            show_only(page, "Trip 01")
            page.mouse.click(1300, 60)  # an empty spot: closes the filter's list (it covers the map)
            page.get_by_text(re.compile(r"\b1 route\b")).wait_for(timeout=30_000)
            page.wait_for_timeout(2500)
            shot(page, "workbench-map-route")
            assert chosen and spot  # (kept for the report: which candidate and spot were chosen)
        except Exception:
            shot(page, "workbench-failure")
            raise
        finally:
            browser.close()
    assert dialogs == []
    app["stop"]()
    log = app["log"].read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]

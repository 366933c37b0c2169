"""Click-to-rendered time of every page in headless Chromium (software WebGL), on this machine.

    .venv/bin/python scripts/bench_pages.py [--videos 20] [--places 500] [--rounds 6] [--out FILE]
    .venv/bin/python scripts/bench_pages.py --against DIR   # A/B: this checkout and the app in DIR

Fills a fresh database with ``--videos`` videos and ``--places`` places (real city coordinates,
POIs stacked on their city, countries/regions/continents as context, transcripts), starts
``streamlit run app.py`` on it, opens Debian's chromium (/usr/bin/chromium) through Playwright
and clicks through the sidebar: every page once (first visit), then ``--rounds`` more times
(repeat visits). A visit ends when the page's last element (``.st-key-page_ready_<page>``) is
in the DOM *and* the browser's main thread is idle again (three double-requestAnimationFrame
probes in a row under 80 ms), so drawing the map, loading and tessellating the country
outlines count. Prints a table and writes JSON (default tests/artifacts/bench_pages.json).

``--against DIR`` compares two versions side by side in one run (the machine is shared: its load
moves the figures more than most changes do): DIR is another checkout of the app (e.g.
``git worktree add /tmp/before HEAD~1``; its .venv may be a link to this one). Each version gets
its own server, database (the same data) and browser; every visit of a page in one version is
followed by the same visit in the other, the order alternating round by round.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]
PAGES = ("Analyze", "Jobs", "Map", "Review", "Search", "Places", "Health")

CITIES = [  # name, lat, lon, country code, country
    ("Lisbon", 38.7167, -9.1333, "PT", "Portugal"), ("Porto", 41.1496, -8.611, "PT", "Portugal"),
    ("Madrid", 40.4165, -3.7026, "ES", "Spain"), ("Barcelona", 41.3888, 2.159, "ES", "Spain"),
    ("Seville", 37.3886, -5.9823, "ES", "Spain"), ("Paris", 48.8534, 2.3488, "FR", "France"),
    ("Lyon", 45.7485, 4.8467, "FR", "France"), ("Marseille", 43.2970, 5.3811, "FR", "France"),
    ("Rome", 41.8919, 12.5113, "IT", "Italy"), ("Florence", 43.7792, 11.2463, "IT", "Italy"),
    ("Venice", 45.4371, 12.3326, "IT", "Italy"), ("Milan", 45.4643, 9.1895, "IT", "Italy"),
    ("Berlin", 52.5244, 13.4105, "DE", "Germany"), ("Munich", 48.1374, 11.5755, "DE", "Germany"),
    ("Vienna", 48.2085, 16.3721, "AT", "Austria"), ("Prague", 50.0880, 14.4208, "CZ", "Czechia"),
    ("Amsterdam", 52.3740, 4.8897, "NL", "Netherlands"), ("Brussels", 50.8505, 4.3488, "BE", "Belgium"),
    ("London", 51.5085, -0.1257, "GB", "United Kingdom"), ("Edinburgh", 55.9521, -3.1965, "GB", "United Kingdom"),
    ("Dublin", 53.3331, -6.2489, "IE", "Ireland"), ("Athens", 37.9838, 23.7278, "GR", "Greece"),
    ("Istanbul", 41.0138, 28.9497, "TR", "Turkey"), ("Cairo", 30.0626, 31.2497, "EG", "Egypt"),
    ("Marrakesh", 31.6342, -7.9999, "MA", "Morocco"), ("Tokyo", 35.6895, 139.6917, "JP", "Japan"),
    ("Kyoto", 35.0211, 135.7538, "JP", "Japan"), ("Osaka", 34.6937, 135.5022, "JP", "Japan"),
    ("Taipei", 25.0478, 121.5319, "TW", "Taiwan"), ("Bangkok", 13.7540, 100.5014, "TH", "Thailand"),
    ("Hanoi", 21.0245, 105.8412, "VN", "Vietnam"), ("Singapore", 1.2897, 103.8501, "SG", "Singapore"),
    ("New York", 40.7143, -74.006, "US", "United States"), ("Chicago", 41.85, -87.65, "US", "United States"),
    ("San Francisco", 37.7749, -122.4194, "US", "United States"),
    ("Mexico City", 19.4285, -99.1277, "MX", "Mexico"), ("Lima", -12.0432, -77.0282, "PE", "Peru"),
    ("Cusco", -13.5226, -71.9673, "PE", "Peru"), ("Buenos Aires", -34.6132, -58.3772, "AR", "Argentina"),
    ("Sydney", -33.8679, 151.2073, "AU", "Australia"),
]
POIS = ["cathedral", "old market", "harbour", "castle", "museum", "main square", "station", "bridge"]
CONTINENTS = {"PT": "Europe", "ES": "Europe", "FR": "Europe", "IT": "Europe", "DE": "Europe", "AT": "Europe",
              "CZ": "Europe", "NL": "Europe", "BE": "Europe", "GB": "Europe", "IE": "Europe", "GR": "Europe",
              "TR": "Asia", "EG": "Africa", "MA": "Africa", "JP": "Asia", "TW": "Asia", "TH": "Asia",
              "VN": "Asia", "SG": "Asia", "US": "North America", "MX": "North America", "PE": "South America",
              "AR": "South America", "AU": "Oceania"}


def populate(db_path: str | Path, *, videos: int = 20, places: int = 500, seed: int = 7,
             media_dir: str | Path | None = None) -> list[str]:
    """Write ``videos`` analysed videos with ``places`` places in all into a new database.

    Each video travels through a few neighbouring cities; about a fifth of its places are POIs
    placed at their city (stacked, tagged approximate), some are its countries and continent
    (context). Returns the video ids.
    """
    from pipeline.datatypes import Place, Segment
    from pipeline.storage import Storage

    rng = random.Random(seed)
    storage = Storage(db_path)
    ids = []
    try:
        per_video = [places // videos + (1 if i < places % videos else 0) for i in range(videos)]
        for v, count in enumerate(per_video):
            video_id = f"file:{v:016x}"
            start = rng.randrange(len(CITIES))
            route = [CITIES[(start + k) % len(CITIES)] for k in range(max(3, count // 6))]
            title = f"Trip {v + 1:02d}: {route[0][0]} to {route[-1][0]}"
            source = str(Path(media_dir or tempfile.gettempdir()) / f"trip-{v + 1:02d}.srt")
            storage.upsert_video({"video_id": video_id, "platform": "file", "title": title, "duration": 60.0 * count,
                                  "subtitle_kind": "file", "metadata": {"channel": "Bench travels"}})
            storage.remember_source(source, [video_id], "bench")
            job_id = storage.create_job(source, "bench-sv", options={}, video_id=video_id, status="done")
            now = time.time()
            storage.update_job(job_id, progress=1.0, phase="geocode", started_at=now - 30, finished_at=now,
                               metrics={"locations_found": count})
            plist, segments = [], []
            seen: set[str] = set()
            t = 0.0
            for k in range(count):
                city = route[min(len(route) - 1, k * len(route) // count)]
                roll = k % 10
                if roll == 9 and f"country:{city[4]}" not in seen:
                    name, lat, lon, marker, tags = city[4], city[1] + 0.8, city[2] + 0.5, "country", []
                elif roll == 4 and f"continent:{city[3]}" not in seen:
                    name = CONTINENTS.get(city[3], "Europe")
                    lat, lon, marker, tags = city[1] + 3, city[2] + 2, "continent", []
                elif roll in (2, 6):
                    name = f"{city[0]} {POIS[(k + v) % len(POIS)]}"
                    lat, lon, marker, tags = city[1], city[2], "poi", ["approximate"]
                else:
                    name = city[0] if city[0] not in seen else f"{city[0]} old town {k}"
                    lat, lon, marker, tags = city[1] + rng.uniform(-0.02, 0.02), city[2] + rng.uniform(-0.02, 0.02), \
                        "city", []
                key = f"{marker}:{name}" if marker in ("country", "continent") else name
                if key in seen:
                    name = f"{name} ({k})"
                seen.add(key)
                t += rng.uniform(20, 70)
                text = f"Now we are in {name}, and we look around for a while."
                segments.append(Segment(t, t + 5, text))
                plist.append(Place(name=name, start_seconds=t, marker=marker, tags=tags, evidence=text,
                                   confidence=0.5 if tags else 0.9, latitude=lat, longitude=lon,
                                   geocoder="gazetteer", country_code=city[3], status="ok",
                                   gazetteer_id=f"bench:{v}:{k}"))
            storage.save_result(video_id=video_id, strategy_version="bench-sv", job_id=job_id, summary=title,
                                topics=[], extractor="bench", transcript_origin="subtitles:file", dropped_ungrounded=0,
                                tokens_in=0, tokens_out=0, cost=0.0, segments=segments, places=plist)
            ids.append(video_id)
    finally:
        storage.close()
    return ids


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(env: dict[str, str], log_path: Path, root: Path = ROOT) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(log_path, "wb")  # noqa: SIM115  (the process owns it)
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "streamlit"), "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return proc, base
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"streamlit did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.3)


def stop_app(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def slug(title: str) -> str:
    return title.lower().replace(" ", "_")


def settle(page, idle_ms: float = 80.0, needed: int = 3, timeout_s: float = 60.0) -> float:
    """perf_counter() when the browser's main thread went idle (``needed`` quick frames in a row)."""
    deadline = time.perf_counter() + timeout_s
    streak, first = 0, None
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(1))))")
        dt = (time.perf_counter() - t0) * 1000
        if dt < idle_ms:
            first = t0 if streak == 0 else first
            streak += 1
            if streak >= needed:
                return first
        else:
            streak = 0
    return time.perf_counter()


def visit(page, title: str, timeout_ms: int = 60_000) -> float:
    """Click the sidebar link; ms until the page is complete and the browser idle again."""
    started = time.perf_counter()
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    page.locator(f".st-key-page_ready_{slug(title)}").wait_for(state="attached", timeout=timeout_ms)
    if title == "Map":
        page.locator('[data-testid="stDeckGlJsonChart"] canvas').first.wait_for(timeout=timeout_ms)
    return (settle(page) - started) * 1000


def app_env(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("VIDEOMAP_LLM_API_KEY", "VIDEOMAP_LLM_MODEL"):
        env.pop(name, None)
    env.update({"VIDEOMAP_DB_PATH": str(folder / "wb.duckdb"), "VIDEOMAP_CACHE_DIR": str(folder / "cache"),
                "VIDEOMAP_MEDIA_DIR": str(folder / "media"), "VIDEOMAP_OFFLINE": "true",
                "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
    return env


def open_app(browser, base: str, first_video: str):
    """A page of the app, through the same first steps in every run (the Review page remembers a
    video, Search a query)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{base}/?")
    page.locator(".st-key-page_ready_analyze").wait_for(state="attached", timeout=90_000)
    page.goto(f"{base}/video?video={first_video}")
    page.locator(".st-key-page_ready_review").wait_for(state="attached", timeout=90_000)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Search").first.click()
    page.locator(".st-key-page_ready_search").wait_for(state="attached", timeout=60_000)
    page.get_by_label("Words or a place name").fill("cathedral")
    page.keyboard.press("Enter")
    page.wait_for_timeout(1500)
    return page


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        return []


def run(videos: int, places: int, rounds: int, out: Path, against: Path | None = None) -> dict:
    from playwright.sync_api import sync_playwright

    versions = {"this": ROOT} if against is None else {"this": ROOT, "against": against.resolve()}
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        apps: dict[str, tuple[subprocess.Popen, str]] = {}
        ids: list[str] = []
        loads = [load_average()]
        try:
            for name, root in versions.items():
                folder = Path(tmp) / name
                env = app_env(folder)
                ids = populate(env["VIDEOMAP_DB_PATH"], videos=videos, places=places)
                apps[name] = start_app(env, folder.with_suffix(".log"), root)
            samples = {name: {t: [] for t in PAGES} for name in versions}
            first: dict[str, dict[str, float]] = {name: {} for name in versions}
            with sync_playwright() as p:
                browsers = {name: p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                            for name in versions}
                pages = {name: open_app(browsers[name], apps[name][1], ids[0]) for name in versions}
                order = list(versions)
                for title in PAGES:
                    for name in order:
                        first[name][title] = round(visit(pages[name], title), 1)
                for r in range(rounds):
                    round_order = order if r % 2 == 0 else order[::-1]
                    for title in PAGES:
                        for name in round_order:
                            samples[name][title].append(visit(pages[name], title))
                    loads.append(load_average())
                for browser in browsers.values():
                    browser.close()
        finally:
            for proc, _ in apps.values():
                stop_app(proc)

    def rows(name: str) -> dict:
        return {t: {"first_ms": first[name][t], "repeat_median_ms": round(statistics.median(v), 1),
                    "repeat_max_ms": round(max(v), 1), "n": len(v), "samples_ms": [round(x) for x in v]}
                for t, v in samples[name].items()}

    result = {
        "what": "sidebar click -> page's last element attached and the browser idle (3 double-rAF probes < 80 ms)",
        "machine": f"{os.cpu_count()} CPU cores (shared), headless Chromium {CHROMIUM}, software WebGL",
        "load_average_1_5_15": loads,
        "videos": videos, "places": places, "rounds": rounds, "pages": rows("this"),
        "command": f"python scripts/bench_pages.py --videos {videos} --places {places} --rounds {rounds}"
                   + (f" --against {against}" if against else ""),
    }
    if against is not None:
        result["against"] = {"root": str(versions["against"]), "pages": rows("against")}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--places", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--against", type=Path, default=None,
                        help="another checkout of the app: both measured, visits interleaved")
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "artifacts" / "bench_pages.json")
    args = parser.parse_args()
    result = run(args.videos, args.places, args.rounds, args.out, args.against)
    other = (result.get("against") or {}).get("pages")
    header = f"{'page':10} {'first':>9} {'repeat median':>14} {'repeat max':>11}"
    out = [header + (f" {'against: median':>16} {'max':>9}" if other else "")]
    for title, row in result["pages"].items():
        line = f"{title:10} {row['first_ms']:>7.0f}ms {row['repeat_median_ms']:>12.0f}ms {row['repeat_max_ms']:>9.0f}ms"
        if other:
            line += f" {other[title]['repeat_median_ms']:>14.0f}ms {other[title]['repeat_max_ms']:>7.0f}ms"
        out.append(line)
    out.append(f"load average (1, 5, 15 min) at the start and after each round: {result['load_average_1_5_15']}")
    out.append(f"written to {args.out}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()

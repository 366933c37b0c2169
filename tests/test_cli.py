"""The CLI end to end with real components: bundled ASR model, offline extractor and gazetteer."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.media import seed_gazetteer

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT / "tests" / "data" / "librispeech-2300-131720-0000.wav"  # "the paris plant ... crystal palace"
DEMO_SRT = ROOT / "pipeline" / "demo" / "city-walk.srt"

REQUIRED = ["source", "video_id", "location", "latitude", "longitude", "timecode", "start_seconds",
            "description", "tags", "marker", "confidence", "evidence", "geocoder", "status", "url_at_time"]


def km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371 * 2 * math.asin(math.sqrt(a))


def cli(*args, tmp_path, timeout=600):
    env_db = ["--db", str(tmp_path / "wb.duckdb")]
    return subprocess.run([sys.executable, "-m", "pipeline", *args[:1], *env_db, *args[1:]], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "VIDEOMAP_CACHE_DIR":
                               str(seed_gazetteer(tmp_path / "cache")), "VIDEOMAP_MEDIA_DIR": str(tmp_path / "media")})


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    out = tmp / "places.csv"
    result = cli("analyze", "--offline", "--export", str(out), str(CLIP), str(DEMO_SRT), tmp_path=tmp)
    return tmp, result, out


def test_exit_zero_and_summary_on_stdout(analysed):
    _, result, _ = analysed
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout and "Taipei" in result.stdout
    assert "Traceback" not in result.stderr


def test_csv_has_columns_in_order_and_correct_places(analysed):
    _, _, out = analysed
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    header = list(rows[0].keys())
    assert header[: len(REQUIRED)] == REQUIRED
    by_name = {}
    for row in rows:
        by_name.setdefault(row["location"], row)
    paris = by_name["Paris"]
    assert paris["source"] == str(CLIP)  # exactly as given
    assert km(float(paris["latitude"]), float(paris["longitude"]), 48.8566, 2.3522) < 30
    assert paris["timecode"] == "00:00:00,000" and paris["status"] == "ok"
    assert "paris" in paris["evidence"].lower()
    taipei = by_name["Taipei"]
    assert taipei["source"] == str(DEMO_SRT)
    assert km(float(taipei["latitude"]), float(taipei["longitude"]), 25.0330, 121.5654) < 30
    tamsui = by_name["Tamsui"]
    assert km(float(tamsui["latitude"]), float(tamsui["longitude"]), 25.1697, 121.4405) < 30
    assert tamsui["timecode"] == "00:00:40,500"
    assert "Tamsui" in tamsui["evidence"]


def test_repeat_is_served_from_the_store(analysed):
    tmp, _, _ = analysed
    result = cli("analyze", "--offline", "--json", str(DEMO_SRT), tmp_path=tmp)
    data = json.loads(result.stdout)
    assert result.returncode == 0
    assert data["jobs"][0]["cached"] is True


def test_bad_sources_fail_individually_with_one_line_each(tmp_path):
    good = tmp_path / "good.srt"
    good.write_text("1\n00:00:01,000 --> 00:00:03,000\nWe arrived in Lisbon.\n", encoding="utf-8")
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(b"\x00\x01garbage" * 100)
    listfile = tmp_path / "list.txt"
    listfile.write_text(f"# my list\n{good}\nhttp://127.0.0.1:9/private\n", encoding="utf-8")
    result = cli("analyze", "--offline", "--export", str(tmp_path / "out.json"), str(tmp_path / "nope.mp4"),
                 str(corrupt), f"@{listfile}", "@" + str(tmp_path / "missing-list.txt"), tmp_path=tmp_path)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 4, result.stderr
    text = "\n".join(errors)
    assert "No such file" in text
    assert "corrupt.mp3" in text
    assert "offline" in text  # the URL from the list
    assert "missing-list.txt" in text
    viz = json.loads((tmp_path / "out.json").read_text())
    assert [r["location"] for v in viz for r in v["routes"]] == ["Lisbon"]  # the good one was not lost


def test_offline_llm_is_a_configuration_error(tmp_path):
    result = cli("analyze", "--offline", "--extractor", "llm", str(DEMO_SRT), tmp_path=tmp_path)
    assert result.returncode == 1
    assert "needs the network" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("target, reason", [
    ("/proc/places.csv", "cannot be written"),
    (".", "is a folder"),
    ("places.xlsx", "unknown export format"),
    ("no/such/folder/places.csv", "does not exist"),
])
def test_bad_export_target_is_refused_before_any_analysis(tmp_path, target, reason):
    result = cli("analyze", "--offline", "--export", target, str(DEMO_SRT), tmp_path=tmp_path, timeout=60)
    assert result.returncode == 2
    assert reason in result.stderr and "Traceback" not in result.stderr
    assert "exported to" not in result.stdout
    assert not (tmp_path / "wb.duckdb").exists()  # nothing was analysed


def test_control_characters_in_a_source_are_not_echoed_raw(tmp_path):
    result = cli("analyze", "--offline", "evil\x1b[31mred.srt", tmp_path=tmp_path, timeout=120)
    assert result.returncode == 1
    assert "\x1b" not in result.stderr + result.stdout
    assert "\\x1b" in result.stderr

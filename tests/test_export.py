import html
import io
import json
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from pipeline.errors import ConfigurationError
from pipeline.storage.export import CSV_COLUMNS, export_bytes, format_timecode, map_visualizations, write_export

ROWS = [
    {"source": "https://www.youtube.com/watch?v=abc123", "video_id": "youtube:abc123", "location": "Taipei 101",
     "latitude": 25.0339, "longitude": 121.5645, "timecode": "00:05:12,000", "start_seconds": 312.0,
     "description": "Skyscraper", "tags": ["landmark"], "marker": "poi", "confidence": 0.9,
     "evidence": "we went up Taipei 101", "geocoder": "gazetteer", "status": "ok",
     "url_at_time": "https://www.youtube.com/watch?v=abc123&t=312s", "visited": None,
     "gazetteer_id": "geonames:1", "country_code": "TW", "video_title": "t", "failure_reason": ""},
    {"source": "https://www.youtube.com/watch?v=abc123", "video_id": "youtube:abc123", "location": "Tamsui",
     "latitude": 25.17, "longitude": 121.44, "timecode": "00:01:00,000", "start_seconds": 60.0,
     "description": "<b>Old town</b>", "tags": ["city", "river"], "marker": "city", "confidence": 0.8,
     "evidence": "then Tamsui", "geocoder": "gazetteer", "status": "ok", "url_at_time": "", "visited": True,
     "gazetteer_id": "geonames:2", "country_code": "TW", "video_title": "t", "failure_reason": ""},
    {"source": "x.srt", "video_id": "file:ab", "location": "Nowhere", "latitude": None, "longitude": None,
     "timecode": "00:00:01,000", "start_seconds": 1.0, "description": "", "tags": [], "marker": "other",
     "confidence": 0.3, "evidence": "Nowhere", "geocoder": "gazetteer", "status": "failed", "url_at_time": "",
     "visited": None, "gazetteer_id": "", "country_code": "", "video_title": "", "failure_reason": "not found"},
]


@pytest.mark.parametrize("seconds,expected", [(0, "00:00:00,000"), (312.5, "00:05:12,500"),
                                              (3723.004, "01:02:03,004"), (None, "00:00:00,000")])
def test_timecode(seconds, expected):
    assert format_timecode(seconds) == expected


def test_csv_columns_in_order():
    frame = pd.read_csv(io.BytesIO(export_bytes(ROWS, "csv")))
    assert list(frame.columns)[:15] == CSV_COLUMNS[:15]
    assert frame.loc[0, "tags"] == "landmark" and frame.loc[1, "tags"] == "city;river"
    assert len(frame) == 3


def test_map_visualization_ordered_by_timecode_and_skips_unlocated():
    [viz, *rest] = map_visualizations(ROWS)
    assert viz["video_id"] == "youtube:abc123" and not rest
    assert [r["location"] for r in viz["routes"]] == ["Tamsui", "Taipei 101"]
    assert viz["routes"][1]["coordinates"] == [121.5645, 25.0339]
    assert set(viz["routes"][0]) == {"location", "coordinates", "description", "timecode", "tags", "marker"}


def test_geojson_points_and_route():
    data = json.loads(export_bytes(ROWS, "geojson"))
    kinds = [f["geometry"]["type"] for f in data["features"]]
    assert kinds.count("Point") == 2 and kinds.count("LineString") == 1


def test_kml_is_valid_xml_and_escapes_text():
    root = ET.fromstring(export_bytes(ROWS, "kml"))
    names = [e.text for e in root.iter() if e.tag.endswith("name")]
    assert "Taipei 101" in names


def test_parquet_roundtrip(tmp_path):
    path = write_export(ROWS, tmp_path / "p.parquet")
    frame = pd.read_parquet(path)
    assert list(frame["location"]) == ["Taipei 101", "Tamsui", "Nowhere"]


def test_unknown_format():
    with pytest.raises(ConfigurationError, match="Unknown export format"):
        export_bytes(ROWS, "xlsx")


# ------------------------------------------------------------------ hostile text
# Cues as a crafted subtitle file would carry them: entity-encoded markup that must
# stay text, and a raw CDATA break-out aimed at simplekml's own escaping.
HOSTILE_SRT = (
    "1\n00:00:01,000 --> 00:00:03,000\n"
    "&lt;/description&gt;&lt;/Placemark&gt;&lt;Placemark&gt;&lt;name&gt;Evil&lt;/name&gt;"
    "&lt;Point&gt;&lt;coordinates&gt;0,0&lt;/coordinates&gt;&lt;/Point&gt;&lt;/Placemark&gt;"
    "&lt;Placemark&gt;&lt;description&gt; We arrived in Lisbon\n\n"
    "2\n00:00:04,000 --> 00:00:06,000\n&lt;img src=x onerror=alert(1)&gt; then Porto\n\n"
    "3\n00:00:07,000 --> 00:00:09,000\n=HYPERLINK(\"http://evil\",\"x\") and Faro\n\n"
)
CDATA_BREAKOUT = ("<![CDATA[x]]></description></Placemark><Placemark><name>Evil</name>"
                  "<Point><coordinates>0,0</coordinates></Point></Placemark><Placemark><description>")
HOSTILE_VALUES = ["=1+2", "+SUM(A1)", "-2+3+cmd|' /C calc'!A0", "@SUM(1)", "\t=1", "\r=1", CDATA_BREAKOUT,
                  "<img src=x onerror=alert(1)>"]


def hostile_places(tmp_path) -> list[dict]:
    """Places built the way the pipeline builds them: a hostile file, its parsed cues."""
    from pipeline.stages.compress import transcript_from_subtitles
    from pipeline.stages.fetch import FetchOptions, fetch_source
    from pipeline.storage.export import effective_places

    path = tmp_path / "=1+2.srt"
    path.write_text(HOSTILE_SRT, encoding="utf-8")
    [video] = fetch_source(str(path), FetchOptions(offline=True))
    transcript = transcript_from_subtitles(video.video_id, video.subtitle_text or "", "srt", "file")
    coords = {"Lisbon": (38.72, -9.14), "Porto": (41.15, -8.61), "Faro": (37.02, -7.93)}
    rows = []
    for i, (seg, name) in enumerate(zip(transcript.segments, coords, strict=True)):
        lat, lon = coords[name]
        rows.append({"video_id": video.video_id, "name": name, "latitude": lat, "longitude": lon,
                     "start_seconds": seg.start, "evidence": seg.text, "description": HOSTILE_VALUES[i],
                     "tags": [HOSTILE_VALUES[i + 3]], "marker": "city", "confidence": 0.9, "status": "ok",
                     "geocoder": "gazetteer", "source": video.source, "video_title": video.title})
    # a place whose text never went through the cue cleaner (an LLM description, a correction)
    rows.append({"video_id": video.video_id, "name": "@Sagres", "latitude": 37.0, "longitude": -12.5,
                 "start_seconds": 10.0, "evidence": CDATA_BREAKOUT, "description": "\r=2",
                 "tags": [], "marker": "poi", "confidence": 0.5, "status": "ok", "geocoder": "gazetteer",
                 "source": video.source, "video_title": CDATA_BREAKOUT})
    return effective_places(rows)


def test_cue_cleaner_decodes_before_stripping_so_no_markup_survives(tmp_path):
    places = hostile_places(tmp_path)
    evidence = [p["evidence"] for p in places[:3]]
    assert all("<" not in e and ">" not in e for e in evidence), evidence
    assert evidence[0].endswith("We arrived in Lisbon") and evidence[1] == "then Porto"


def test_kml_placemarks_match_the_places_exactly(tmp_path):
    places = hostile_places(tmp_path)
    root = ET.fromstring(export_bytes(places, "kml"))
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    marks = [m for m in root.iter(f"{{{ns['k']}}}Placemark") if m.find(".//k:Point", ns) is not None]
    assert len(marks) == len(places)
    for mark, place in zip(marks, places, strict=True):
        assert mark.findtext("k:name", namespaces=ns) == place["location"]
        lon, lat, *_ = (float(v) for v in mark.findtext(".//k:coordinates", namespaces=ns).strip().split(","))
        assert (lat, lon) == (place["latitude"], place["longitude"])
        shown = mark.findtext("k:description", namespaces=ns)
        assert "<" not in shown  # rendered as HTML: markup only as escaped text
        expected = f"{place['timecode']} — {place['description']}\n{place['evidence']}"
        assert html.unescape(shown).startswith(expected.replace("\r", "\n"))  # XML end-of-line handling


def test_geojson_and_json_properties_are_the_places_text(tmp_path):
    places = hostile_places(tmp_path)
    data = json.loads(export_bytes(places, "geojson"))
    points = [f for f in data["features"] if f["geometry"]["type"] == "Point"]
    assert len(points) == len(places)
    for feature, place in zip(points, places, strict=True):
        assert feature["geometry"]["coordinates"] == [place["longitude"], place["latitude"]]
        for key in ("location", "description", "evidence", "video_title", "source"):
            assert feature["properties"][key] == place[key]
    [viz] = json.loads(export_bytes(places, "json"))
    assert [(r["location"], r["description"], r["coordinates"]) for r in viz["routes"]] == [
        (p["location"], p["description"], [p["longitude"], p["latitude"]]) for p in places]


def test_csv_prefixes_formula_cells_and_keeps_numbers(tmp_path):
    import csv

    places = hostile_places(tmp_path)
    assert places[0]["video_title"] == "=1+2.srt"
    reader = csv.DictReader(io.StringIO(export_bytes(places, "csv").decode("utf-8"), newline=""))
    rows = list(reader)
    assert len(rows) == len(places)
    for row, place in zip(rows, places, strict=True):
        for key in ("location", "description", "evidence", "video_title", "source", "tags"):
            cell, text = row[key], place[key] if key != "tags" else ";".join(place[key])
            if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
                assert cell == "'" + text
            else:
                assert cell == text
        assert float(row["longitude"]) == place["longitude"] and float(row["latitude"]) == place["latitude"]
    assert rows[-1]["longitude"] == "-12.5" and rows[-1]["location"] == "'@Sagres"
    frame = pd.read_csv(io.BytesIO(export_bytes(places, "csv")))
    assert frame["longitude"].dtype.kind == "f"


def test_parquet_rows_are_the_places(tmp_path):
    places = hostile_places(tmp_path)
    frame = pd.read_parquet(io.BytesIO(export_bytes(places, "parquet")))
    assert len(frame) == len(places)
    for (_, row), place in zip(frame.iterrows(), places, strict=True):
        for key in ("location", "description", "evidence", "video_title", "latitude", "longitude"):
            assert row[key] == place[key]

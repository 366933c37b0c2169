import io
import json
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from pipeline.errors import ConfigurationError
from pipeline.export import CSV_COLUMNS, export_bytes, format_timecode, map_visualizations, write_export

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

"""Location tables out: CSV, GeoJSON, KML, Parquet and the MapVisualization JSON.

The CLI and the Places page use the same writers. Input rows are the dicts
of ``Storage.latest_places`` (corrections already joined); ``effective_places``
applies the corrections and drops rejected places.
"""

from __future__ import annotations

import html
import io
import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import pandas as pd
import simplekml

from ..errors import ConfigurationError
from ..links import url_at_time

logger = logging.getLogger(__name__)

CSV_COLUMNS = [
    "source", "video_id", "location", "latitude", "longitude", "timecode", "start_seconds",
    "description", "tags", "marker", "confidence", "evidence", "geocoder", "status", "url_at_time",
    "visited", "gazetteer_id", "country_code", "video_title", "failure_reason", "approximate",
]
FORMATS = ("csv", "geojson", "kml", "parquet", "json")
# Spreadsheets execute cells that start with these (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def format_timecode(seconds: float | None) -> str:
    """Seconds -> ``HH:MM:SS,mmm`` (the SRT style the original design used)."""
    total_ms = int(round(max(0.0, float(seconds or 0.0)) * 1000))
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{ms:03d}"


APPROXIMATE_TAG = "approximate"  # the tag the runner gives a place placed near, not at, itself


def is_approximate_row(tags: list[str]) -> bool:
    """A place shown at its town's point (or the video's) because its own point is unknown."""
    return APPROXIMATE_TAG in tags


def effective_places(rows: Iterable[Mapping[str, Any]], *, sources: Mapping[str, str] | None = None,
                     include_rejected: bool = False) -> list[dict[str, Any]]:
    """Rows with the analyst's corrections applied, in video + timecode order."""
    out = []
    for row in rows:
        rejected = bool(row.get("c_rejected"))
        if rejected and not include_rejected:
            continue
        lat = row.get("c_latitude") if row.get("c_latitude") is not None else row.get("latitude")
        lon = row.get("c_longitude") if row.get("c_longitude") is not None else row.get("longitude")
        corrected = row.get("c_latitude") is not None or row.get("c_name") is not None
        status = row.get("status") or ""
        if row.get("c_latitude") is not None:
            status = "corrected"
        source = (sources or {}).get(row["video_id"]) or row.get("source") or ""
        tags = list(row.get("tags") or [])
        if row.get("c_latitude") is not None:  # the analyst put it where it is: no longer approximate
            tags = [t for t in tags if t != APPROXIMATE_TAG]
        out.append({
            "source": source,
            "video_id": row["video_id"],
            "place_key": row.get("place_key"),
            "place_id": row.get("place_id"),
            "location": row.get("c_name") or row["name"],
            "original_name": row["name"],
            "latitude": lat,
            "longitude": lon,
            "timecode": format_timecode(row.get("start_seconds")),
            "start_seconds": float(row.get("start_seconds") or 0.0),
            "description": row.get("description") or "",
            "tags": tags,
            "marker": row.get("marker") or "other",
            "confidence": float(row.get("confidence") or 0.0),
            "evidence": row.get("evidence") or "",
            "geocoder": row.get("geocoder") or "",
            "status": status,
            "failure_reason": row.get("failure_reason") or "",
            "url_at_time": url_at_time(row.get("video_url"), row.get("platform") or "", row.get("start_seconds") or 0)
            or "",
            "visited": bool(row.get("c_visited")) if row.get("c_visited") is not None else None,
            "rejected": rejected,
            "corrected": corrected,
            "gazetteer_id": row.get("gazetteer_id") or "",
            "country_code": row.get("country_code") or "",
            "video_title": row.get("video_title") or "",
            # placed near the place, not at it (a landmark at its town): until the analyst moves it
            "approximate": is_approximate_row(tags),
        })
    out.sort(key=lambda p: (p["video_id"], p["start_seconds"]))
    return out


def places_frame(places: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(places, columns=CSV_COLUMNS)
    frame["tags"] = frame["tags"].map(lambda t: ";".join(t) if isinstance(t, list) else (t or ""))
    return frame


def neutralise_formula(value: Any) -> Any:
    """Prefix a text cell a spreadsheet would run as a formula with ``'`` (OWASP).

    Only strings are touched: numbers such as a longitude of -12.5 stay numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_csv(places: list[dict[str, Any]]) -> bytes:
    frame = places_frame(places)
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].map(neutralise_formula)
    # CRLF rows (RFC 4180): the csv writer then quotes cells holding a bare "\r" too.
    return frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def to_parquet(places: list[dict[str, Any]]) -> bytes:
    frame = pd.DataFrame(places, columns=CSV_COLUMNS)
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def to_geojson(places: list[dict[str, Any]]) -> bytes:
    features = []
    for p in places:
        if p["latitude"] is None or p["longitude"] is None:
            continue
        props = {k: p.get(k) for k in CSV_COLUMNS if k not in ("latitude", "longitude")}
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p["longitude"], p["latitude"]]},
            "properties": props,
        })
    for video_id, route in _routes(places).items():
        if len(route) >= 2:
            features.append({
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[p["longitude"], p["latitude"]] for p in route]},
                "properties": {"video_id": video_id, "kind": "route"},
            })
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode("utf-8")


def _kml_text(value: Any) -> str:
    """Plain text for a KML element (``<name>``): XML-escaped once."""
    return xml_escape(str(value or ""))


def _kml_html(value: str) -> str:
    """A KML ``<description>`` is shown as HTML: HTML-escape the text, wrap it in CDATA.

    ``html.escape`` turns every ``>`` into ``&gt;``, so the text cannot close the CDATA.
    """
    return f"<![CDATA[{html.escape(value, quote=True)}]]>"


def to_kml(places: list[dict[str, Any]]) -> bytes:
    # simplekml's own escaping passes anything after a "<![CDATA[" through raw (a cue
    # could inject a whole <Placemark>): turn it off and escape every value here.
    kml = simplekml.Kml(name="Video places")
    kml.parsetext(parse=False)
    for video_id, route in _routes(places).items():
        title = _readable_title(route[0].get("video_title"), video_id)
        folder = kml.newfolder(name=_kml_text(title))
        for p in route:
            point = folder.newpoint(name=_kml_text(p["location"]), coords=[(p["longitude"], p["latitude"])])
            description = f"{p['timecode']} — {p['description']}\n{p['evidence']}"
            if p.get("approximate"):
                description += "\nApproximate position: placed at its town, not at the place itself"
            if p["url_at_time"]:
                description += f"\n{p['url_at_time']}"
            point.description = _kml_html(description)
        if len(route) >= 2:
            line = folder.newlinestring(name=_kml_text(f"Route: {title}"),
                                        coords=[(p["longitude"], p["latitude"]) for p in route])
            line.style.linestyle.width = 3
    return kml.kml().encode("utf-8")


def _readable_title(title: str | None, video_id: str) -> str:
    """The video's title for people (an upload's content-hash prefix dropped), else its id."""
    import re

    return re.sub(r"^[0-9a-f]{16}-", "", (title or "").strip()) or video_id


def map_visualizations(places: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The original design's MapVisualization list: one per video, routes in timecode order."""
    out = []
    for video_id, route in _routes(places).items():
        out.append({
            "video_id": video_id,
            "routes": [
                {
                    "location": p["location"],
                    "coordinates": [p["longitude"], p["latitude"]],
                    "description": p["description"],
                    "timecode": p["timecode"],
                    "tags": p["tags"],
                    "marker": p["marker"],  # (an approximate place: the "approximate" tag)
                }
                for p in route
            ],
        })
    return out


def to_map_json(places: list[dict[str, Any]]) -> bytes:
    return json.dumps(map_visualizations(places), ensure_ascii=False, indent=2).encode("utf-8")


def _routes(places: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    routes: dict[str, list[dict[str, Any]]] = {}
    for p in sorted(places, key=lambda p: (p["video_id"], p["start_seconds"])):
        if p["latitude"] is None or p["longitude"] is None:
            continue
        routes.setdefault(p["video_id"], []).append(p)
    return routes


WRITERS = {"csv": to_csv, "geojson": to_geojson, "kml": to_kml, "parquet": to_parquet, "json": to_map_json}
MIME_TYPES = {
    "csv": "text/csv", "geojson": "application/geo+json", "kml": "application/vnd.google-earth.kml+xml",
    "parquet": "application/vnd.apache.parquet", "json": "application/json",
}


def export_bytes(places: list[dict[str, Any]], fmt: str) -> bytes:
    fmt = fmt.lower().lstrip(".")
    if fmt not in WRITERS:
        raise ConfigurationError(f"Unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}.")
    return WRITERS[fmt](places)


def write_export(places: list[dict[str, Any]], path: str | Path) -> Path:
    """Write by extension (.csv, .geojson, .kml, .parquet, .json)."""
    path = Path(path)
    data = export_bytes(places, path.suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    logger.info("exported %d places to %s", len(places), path)
    return path

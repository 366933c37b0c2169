"""Places: review and correct every place across videos; export the corrected table."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from pages._shared import analyst_name, error_text, md_escape, page, plural, video_labels
from pipeline.storage.export import FORMATS, MIME_TYPES

EDITABLE = ["location", "latitude", "longitude", "rejected", "visited"]
COLUMNS = ["video", "timecode", "location", "latitude", "longitude", "rejected", "visited", "marker", "confidence",
           "status", "evidence", "gazetteer_id", "country_code", "original_name"]
EXPORT_LABELS = {"csv": "CSV", "geojson": "GeoJSON", "kml": "KML", "parquet": "Parquet",
                 "json": "MapVisualization JSON"}
EXPORT_NAMES = {"csv": "places.csv", "geojson": "places.geojson", "kml": "places.kml",
                "parquet": "places.parquet", "json": "map-visualization.json"}
SNAPSHOT = "places_editor_rows"  # (video_id, original_name) of each row the editor showed


def _number(value) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _save_corrections(bench) -> None:
    """Button callback: store every edited row through Workbench.correct_place."""
    edits = (st.session_state.get("places_editor") or {}).get("edited_rows") or {}
    rows = st.session_state.get(SNAPSHOT) or []
    saved, problems = 0, []
    for position, change in edits.items():
        position = int(position)
        if position >= len(rows):
            continue
        video_id, original, label = rows[position]
        fields = {}
        if "location" in change and (change["location"] or "").strip():
            fields["name"] = change["location"].strip()
        for column in ("latitude", "longitude"):
            if column in change and _number(change[column]) is not None:
                fields[column] = _number(change[column])
        for column in ("rejected", "visited"):
            if column in change and change[column] is not None:
                fields[column] = bool(change[column])
        if not fields:
            continue
        try:
            bench.review_correct(video_id, original, who=analyst_name(), action="edit in table", **fields)
            saved += 1
        except Exception as exc:
            problems.append(f"{label}: {error_text(exc)}")
    st.session_state["places_saved"] = (saved, problems)
    st.session_state.pop("places_editor", None)  # edits are now in the data itself


with page("Places") as bench:
    labels = video_labels(bench)
    video_ids = sorted(labels, key=lambda v: labels[v].lower())
    c1, c2 = st.columns([3, 2])
    chosen = c1.multiselect("Videos", video_ids, format_func=lambda v: labels.get(v, v), key="places_videos",
                            placeholder="All videos", bind="query-params")
    query = c2.text_input("Search words or a place", key="q", bind="query-params")
    # one query: the chosen videos (all of them when none is chosen), narrowed by the search words
    places = bench.review_places(chosen or None, include_rejected=True, query=(query or "").strip() or None)

    saved = st.session_state.get("places_saved")  # stays until the next save
    if saved:
        count, problems = saved
        if count:
            st.success(f"Saved {plural(count, 'correction')}. They survive re-analysis and restarts; the Review "
                       "page shows their audit trail.", icon=":material/check_circle:")
        for problem in problems:
            st.error(md_escape(problem))

    if not places:
        st.info("No places yet. Analyse a video on the Analyze page (or try the demo) and they appear here.")
    frame = pd.DataFrame(
        [{
            "video": labels.get(p["video_id"], p["video_title"]),
            "timecode": p["timecode"],
            "location": p["location"],
            "latitude": p["latitude"],
            "longitude": p["longitude"],
            "rejected": bool(p["rejected"]),
            "visited": bool(p["visited"]),
            "marker": p["marker"],
            "confidence": p["confidence"],
            "status": p["status"],
            "evidence": p["evidence"],
            "gazetteer_id": p["gazetteer_id"],
            "country_code": p["country_code"],
            "original_name": p["original_name"],
        } for p in places],
        columns=COLUMNS,
    )
    st.session_state[SNAPSHOT] = [(p["video_id"], p["original_name"], p["location"]) for p in places]
    st.data_editor(
        frame,
        key="places_editor",
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * max(len(frame), 3), 600),
        disabled=[c for c in COLUMNS if c not in EDITABLE],
        column_config={
            "video": st.column_config.TextColumn("Video", width="medium"),
            "timecode": st.column_config.TextColumn("Timecode"),
            "location": st.column_config.TextColumn("Location", required=True, max_chars=200),
            "latitude": st.column_config.NumberColumn("Latitude", min_value=-90.0, max_value=90.0, format="%.5f"),
            "longitude": st.column_config.NumberColumn("Longitude", min_value=-180.0, max_value=180.0,
                                                       format="%.5f"),
            "rejected": st.column_config.CheckboxColumn("Rejected", help="Not a real place: hidden from map/exports"),
            "visited": st.column_config.CheckboxColumn("Visited"),
            "marker": st.column_config.TextColumn("Marker"),
            "confidence": st.column_config.ProgressColumn("Confidence", min_value=0.0, max_value=1.0,
                                                          format="percent"),
            "status": st.column_config.TextColumn("Status"),
            "evidence": st.column_config.TextColumn("Evidence", width="large"),
            "gazetteer_id": st.column_config.TextColumn("Gazetteer id",
                                                        help="The same id in several videos = the same place"),
            "country_code": st.column_config.TextColumn("Country"),
            "original_name": st.column_config.TextColumn("Extracted as"),
        },
    )
    pending = len((st.session_state.get("places_editor") or {}).get("edited_rows") or {})
    st.button(f"Save corrections ({pending} edited rows)" if pending else "Save corrections", type="primary",
              key="save_corrections", on_click=_save_corrections, args=(bench,), disabled=not pending)

    st.subheader("Export")
    st.caption("Corrected values; rejected places are left out. Files are built when you click.")
    export_ids = chosen or None
    export_query = query or None
    buttons = st.container(horizontal=True, gap="small")  # one flex row, not a column per button
    for fmt in FORMATS:
        buttons.download_button(
            EXPORT_LABELS.get(fmt, fmt.upper()),
            data=lambda fmt=fmt: bench.review_export(fmt, export_ids, export_query),
            file_name=EXPORT_NAMES.get(fmt, f"places.{fmt}"),
            mime=MIME_TYPES.get(fmt, "application/octet-stream"),
            key=f"download_{fmt}",
            icon=":material/download:",
            disabled=not places,
        )

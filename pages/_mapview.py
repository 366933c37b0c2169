"""Building the pydeck map of places (pure functions; no st.* calls, no pipeline internals).

Untrusted text (place names, titles, descriptions) never reaches HTML: the tooltip is a
``text`` template, which both Streamlit and deck.gl put into the page with ``innerText``.
(An ``html`` template is not needed, and would show entities twice: Streamlit 1.67
HTML-escapes every ``{field}`` it substitutes into ``html`` by itself, so pre-escaped
values would appear as ``&lt;…``.) TextLayer labels are drawn on the canvas, not as HTML.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any

import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from pipeline.basemap import ATTRIBUTION, BasemapUnavailableError, country_outlines

logger = logging.getLogger("videomap.ui")

PALETTE = [  # Tableau 10
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
]
TOOLTIP = {
    "text": "{name}\n{timecode} · {video}\n{description}",
    "style": {"backgroundColor": "#1f2937", "color": "white", "fontSize": "12px", "maxWidth": "340px",
              "whiteSpace": "pre-line"},
}
WORLD_VIEW = {"latitude": 20.0, "longitude": 0.0, "zoom": 0.8}


class CompactDeck(pdk.Deck):
    """pydeck's Deck with compact JSON. pydeck indents its JSON (one coordinate a line), which
    makes the packaged country outlines about 2.8 MB per render; compact it is a sixth of that
    and much faster to encode (Streamlit sends the spec on every rerun)."""

    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


def colour_keys(places: Iterable[dict[str, Any]], colour_by: str) -> list[str]:
    field = "marker" if colour_by == "marker" else "video_id"
    return sorted({str(p.get(field) or "") for p in places})


def colour_map(keys: Sequence[str]) -> dict[str, list[int]]:
    return {key: [*PALETTE[i % len(PALETTE)], 220] for i, key in enumerate(keys)}


def located(places: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in places if p.get("latitude") is not None and p.get("longitude") is not None
            and not (isinstance(p["latitude"], float) and math.isnan(p["latitude"]))
            and not (isinstance(p["longitude"], float) and math.isnan(p["longitude"]))]


def point_rows(places: Sequence[dict[str, Any]], colours: dict[str, list[int]], colour_by: str,
               labels: dict[str, str]) -> list[dict[str, Any]]:
    """One row per located place for the scatter/text layers (plain text; see the module note)."""
    field = "marker" if colour_by == "marker" else "video_id"
    rows = []
    for p in places:
        video = labels.get(p["video_id"]) or p.get("video_title") or p["video_id"]
        rows.append({
            "uid": str(p.get("place_id") or f"{p['video_id']}|{p.get('place_key')}"),
            "position": [float(p["longitude"]), float(p["latitude"])],
            "color": colours.get(str(p.get(field) or ""), [80, 80, 80, 220]),
            "label": str(p["location"]),
            "name": str(p["location"]),
            "timecode": str(p.get("timecode") or ""),
            "video": str(video),
            "description": str(p.get("description") or ""),
        })
    return rows


def route_rows(places: Sequence[dict[str, Any]], colours: dict[str, list[int]], colour_by: str,
               labels: dict[str, str]) -> list[dict[str, Any]]:
    """One path per video through its located places in timecode order."""
    by_video: dict[str, list[dict[str, Any]]] = {}
    for p in sorted(places, key=lambda p: (p["video_id"], p.get("start_seconds") or 0.0)):
        by_video.setdefault(p["video_id"], []).append(p)
    rows = []
    for video_id, stops in by_video.items():
        if len(stops) < 2:
            continue
        colour = colours.get(video_id) if colour_by != "marker" else [90, 90, 90, 160]
        rows.append({
            "video_id": video_id,
            "path": [[float(p["longitude"]), float(p["latitude"])] for p in stops],
            "color": colour or [90, 90, 90, 160],
        })
    return rows


def view_state(points: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Centre and zoom that fit the points (the whole world when there are none)."""
    if not points:
        return dict(WORLD_VIEW)
    lons = [p["position"][0] for p in points]
    lats = [p["position"][1] for p in points]
    span = max(max(lons) - min(lons), (max(lats) - min(lats)) * 1.6, 1e-6)
    zoom = 6.0 if span < 0.05 else max(0.8, min(11.0, math.log2(360.0 / span) - 0.6))
    return {"latitude": (max(lats) + min(lats)) / 2, "longitude": (max(lons) + min(lons)) / 2, "zoom": zoom}


def basemap_layers() -> list[pdk.Layer]:
    """Sea and country outlines from the packaged Natural Earth data: a map without tiles."""
    sea = pdk.Layer(
        "SolidPolygonLayer", id="sea",
        data=[{"polygon": [[-180, -85], [180, -85], [180, 85], [-180, 85]]}],
        get_polygon="polygon", get_fill_color=[214, 230, 242], pickable=False,
    )
    try:
        outlines = country_outlines()
    except BasemapUnavailableError:
        logger.warning("country outlines unavailable; the map shows the sea only", exc_info=True)
        return [sea]
    countries = pdk.Layer(
        "GeoJsonLayer", id="countries", data=outlines, stroked=True, filled=True,
        get_fill_color=[245, 243, 236], get_line_color=[160, 160, 160], line_width_min_pixels=0.6,
        pickable=False,
    )
    return [sea, countries]


def build_deck(points: list[dict[str, Any]], routes: list[dict[str, Any]], *, show_labels: bool,
               tiles: bool, height: int = 560) -> CompactDeck:
    """The Deck: basemap (tiles, or packaged outlines offline), routes, places, labels."""
    layers: list[pdk.Layer] = [] if tiles else basemap_layers()
    layers.append(pdk.Layer(
        "PathLayer", id="routes", data=routes, get_path="path", get_color="color", width_min_pixels=2,
        get_width=3, width_units="'pixels'", joint_rounded=True, cap_rounded=True, pickable=False,
    ))
    layers.append(pdk.Layer(
        "ScatterplotLayer", id="places", data=points, get_position="position", get_fill_color="color",
        get_line_color=[255, 255, 255], stroked=True, line_width_min_pixels=1, get_radius=3000,
        radius_min_pixels=6, radius_max_pixels=16, pickable=True, auto_highlight=True,
    ))
    if show_labels:
        layers.append(pdk.Layer(
            "TextLayer", id="labels", data=points, get_position="position", get_text="label", get_size=12,
            get_color=[20, 20, 20], get_pixel_offset=[0, -12], character_set="'auto'",
            get_alignment_baseline="'bottom'", font_family="'Helvetica, Arial, sans-serif'", background=True,
            get_background_color=[255, 255, 255, 210], background_padding=[3, 1, 3, 1], pickable=False,
        ))
    basemap: dict[str, Any] = {"map_provider": "carto", "map_style": "light"} if tiles else {"map_provider": None}
    # Offline, map_style is left at pydeck's placeholder: with map_style=None Streamlit would pick
    # a Carto style by itself and the browser would try to fetch it.
    return CompactDeck(
        layers=layers,
        views=[pdk.View(type="MapView", controller=True, repeat=True)],  # no empty band beside the world
        initial_view_state=pdk.ViewState(**view_state(points)),
        tooltip=TOOLTIP,
        height=height,
        **basemap,
    )


__all__ = ["ATTRIBUTION", "build_deck", "colour_keys", "colour_map", "located", "point_rows", "route_rows",
           "view_state"]

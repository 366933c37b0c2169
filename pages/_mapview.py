"""Building the pydeck map of places (pure functions; no st.* calls, no pipeline internals).

What the analyst sees:

* **Stops** (cities, districts, POIs, streets) make each video's route, in timecode order, with
  a number on every stop and an arrow on every leg. **Areas** (countries, regions, continents,
  seas and other natural features) are context markers (grey rings), never route vertices.
* Points that would sit on top of each other at the map's zoom are **spread** on a small ring
  around their true spot (a thin leg points back to it) with a count badge; every one of them
  keeps its own tooltip, and the page lists them beside the map.
* **Approximate** places (placed at their town or a context area, or not geocoded exactly) are
  pale with a coloured ring; exact ones are solid.
* The country outlines are a picture (PNG, drawn on the server once per view and level and
  served as a static file; see ``pipeline.geo.basemap.write_png_static``) under the points: one
  textured quad instead of thousands of polygon and line vertices, loaded by URL, so a rerun
  neither re-sends nor re-tessellates them. Everything else is two layers (lines, points).

Untrusted text (place names, titles, descriptions) never reaches HTML: the tooltip is a
``text`` template, which both Streamlit and deck.gl put into the page with ``innerText``.
TextLayer labels are drawn on the canvas, not as HTML.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from pipeline.geo.basemap import (
    ATTRIBUTION,
    WORLD_BOUNDS,
    BasemapUnavailableError,
    level_for_zoom,
    png_data_url,
    write_png_static,
)

logger = logging.getLogger("videomap.ui")

PALETTE = [  # Tableau 10
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
]
AREA_MARKERS = frozenset({"country", "region", "continent", "natural"})
AREA_COLOUR = [96, 96, 96, 200]
TOOLTIP = {
    "text": "{name}\n{stop} {kind}\n{timecode} · {video}\n{description}",
    "style": {"backgroundColor": "#1f2937", "color": "white", "fontSize": "12px", "maxWidth": "360px",
              "whiteSpace": "pre-line"},
}
WORLD_VIEW = {"latitude": 20.0, "longitude": 0.0, "zoom": 0.8}
TILE = 512.0  # deck.gl's world size in pixels at zoom 0
STACK_PX = 12.0  # points closer than this (at the initial zoom) are one stack
ARROW_MIN_PX = 36.0  # legs shorter than this get no arrow


class CompactDeck(pdk.Deck):
    """pydeck's Deck with compact JSON (pydeck indents one coordinate a line)."""

    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


def colour_keys(places: Iterable[dict[str, Any]], colour_by: str) -> list[str]:
    field = "marker" if colour_by == "marker" else "video_id"
    return sorted({str(p.get(field) or "") for p in places})


def colour_map(keys: Sequence[str]) -> dict[str, list[int]]:
    return {key: [*PALETTE[i % len(PALETTE)], 230] for i, key in enumerate(keys)}


def located(places: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in places if p.get("latitude") is not None and p.get("longitude") is not None
            and not (isinstance(p["latitude"], float) and math.isnan(p["latitude"]))
            and not (isinstance(p["longitude"], float) and math.isnan(p["longitude"]))]


def is_area(place: dict[str, Any]) -> bool:
    return str(place.get("marker") or "") in AREA_MARKERS


# ------------------------------------------------------------- projection
def _to_px(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    scale = TILE * 2 ** zoom
    lat = max(-85.0, min(85.0, lat))
    y = (1 - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / math.pi) / 2
    return (lon + 180.0) / 360.0 * scale, y * scale


def _from_px(x: float, y: float, zoom: float) -> tuple[float, float]:
    scale = TILE * 2 ** zoom
    lon = x / scale * 360.0 - 180.0
    lat = math.degrees(2 * math.atan(math.exp(math.pi * (1 - 2 * y / scale))) - math.pi / 2)
    return lon, lat


def view_state(positions: Sequence[Sequence[float]]) -> dict[str, float]:
    """Centre and zoom that fit the [lon, lat] positions (the whole world when there are none)."""
    if not positions:
        return dict(WORLD_VIEW)
    lons = [p[0] for p in positions]
    lats = [p[1] for p in positions]
    span = max(max(lons) - min(lons), (max(lats) - min(lats)) * 1.6, 1e-6)
    zoom = 6.0 if span < 0.05 else max(0.8, min(11.0, math.log2(360.0 / span) - 0.6))
    return {"latitude": (max(lats) + min(lats)) / 2, "longitude": (max(lons) + min(lons)) / 2, "zoom": zoom}


# ----------------------------------------------------------------- stacks
def stacks(positions: Sequence[Sequence[float]], zoom: float, threshold_px: float = STACK_PX) -> list[list[int]]:
    """Groups of indexes of the positions that lie within ``threshold_px`` of a group's first point."""
    groups: list[list[int]] = []
    anchors: list[tuple[float, float]] = []
    cells: dict[tuple[int, int], list[int]] = {}
    for i, (lon, lat) in enumerate(positions):
        x, y = _to_px(lon, lat, zoom)
        cell = (int(x // threshold_px), int(y // threshold_px))
        found = None
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for g in cells.get((cell[0] + dx, cell[1] + dy), ()):
                    ax, ay = anchors[g]
                    if math.hypot(ax - x, ay - y) <= threshold_px:
                        found = g
                        break
                if found is not None:
                    break
            if found is not None:
                break
        if found is None:
            found = len(groups)
            groups.append([])
            anchors.append((x, y))
            cells.setdefault(cell, []).append(found)
        groups[found].append(i)
    return groups


def spread_positions(positions: Sequence[Sequence[float]], zoom: float) -> tuple[list[list[float]], list[list[int]]]:
    """Displayed [lon, lat] of every position (stacked ones on a ring around their centre) and the stacks."""
    shown = [list(map(float, p)) for p in positions]
    groups = stacks(positions, zoom)
    for group in groups:
        if len(group) < 2:
            continue
        pts = [_to_px(*positions[i], zoom) for i in group]
        cx, cy = sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
        radius = max(18.0, len(group) * 22.0 / (2 * math.pi))
        for k, i in enumerate(group):
            angle = -math.pi / 2 + 2 * math.pi * k / len(group)
            shown[i] = list(_from_px(cx + radius * math.cos(angle), cy + radius * math.sin(angle), zoom))
    return shown, groups


def _chevron(x: float, y: float, dx: float, dy: float, zoom: float, size: float = 9.0) -> list[list[float]]:
    """An arrowhead at pixel (x, y) pointing along (dx, dy): [left wing, tip, right wing] as [lon, lat]
    (drawn as two LineLayer segments; sized for the initial zoom)."""
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    tip = (x + ux * size / 2, y + uy * size / 2)
    wings = [(tip[0] - ux * size - uy * size * 0.6, tip[1] - uy * size + ux * size * 0.6),
             (tip[0] - ux * size + uy * size * 0.6, tip[1] - uy * size - ux * size * 0.6)]
    return [list(_from_px(*wings[0], zoom)), list(_from_px(*tip, zoom)), list(_from_px(*wings[1], zoom))]


# ------------------------------------------------------------------- rows
def _kind(p: dict[str, Any]) -> str:
    marker = str(p.get("marker") or "other")
    if is_area(p):
        return f"{marker} (context, not a route stop)"
    bits = [marker]
    if p.get("approximate"):
        bits.append("approximate position")
    if p.get("added"):
        bits.append("added by the analyst")
    elif p.get("corrected"):
        bits.append("corrected")
    return " · ".join(bits)


def map_model(places: Sequence[dict[str, Any]], colours: dict[str, list[int]], colour_by: str,
              labels: dict[str, str]) -> dict[str, Any]:
    """Everything the deck needs: point rows (stops and areas), routes, arrows, stacks, the view."""
    field = "marker" if colour_by == "marker" else "video_id"
    ordered = sorted(places, key=lambda p: (p["video_id"], float(p.get("start_seconds") or 0.0)))
    positions = [[float(p["longitude"]), float(p["latitude"])] for p in ordered]
    view = view_state(positions)
    shown, groups = spread_positions(positions, view["zoom"])
    numbers: dict[int, int] = {}
    counter: dict[str, int] = {}
    for i, p in enumerate(ordered):
        if not is_area(p):
            counter[p["video_id"]] = counter.get(p["video_id"], 0) + 1
            numbers[i] = counter[p["video_id"]]
    group_of = {i: g for g, members in enumerate(groups) for i in members}
    rows = []
    for i, p in enumerate(ordered):
        base = colours.get(str(p.get(field) or ""), [80, 80, 80, 230])
        area = is_area(p)
        approx = bool(p.get("approximate")) and not area
        colour = AREA_COLOUR if area else ([*base[:3], 90] if approx else base)
        video = labels.get(p["video_id"]) or p.get("video_title") or p["video_id"]
        stack = groups[group_of[i]]
        rows.append({
            "uid": str(p.get("place_id") or f"{p['video_id']}|{p.get('place_key')}"),
            "position": shown[i], "true_position": positions[i],
            "color": colour, "line": [*base[:3], 255] if approx else ([70, 70, 70, 255] if area else
                                                                         [255, 255, 255, 255]),
            "line_px": 2.5 if approx or area else 1.5,
            "label": str(p["location"]), "name": str(p["location"]),
            "number": str(numbers[i]) if i in numbers else "",
            "stop": f"stop {numbers[i]} of {counter[p['video_id']]}" if i in numbers else "",
            "timecode": str(p.get("timecode") or "")[:8], "video": str(video),
            "description": str(p.get("description") or ""), "kind": _kind(p),
            "area": area, "approximate": approx, "stack": group_of[i], "stack_size": len(stack),
            "video_id": p["video_id"],
        })
    routes, arrows = [], []
    by_video: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if not row["area"]:
            by_video.setdefault(row["video_id"], []).append(row)
    for video_id, stops in by_video.items():
        if len(stops) < 2:
            continue
        colour = colours.get(video_id) if colour_by != "marker" else [90, 90, 90, 200]
        colour = colour or [90, 90, 90, 200]
        routes.append({"video_id": video_id, "path": [r["position"] for r in stops], "color": colour})
        for a, b in zip(stops, stops[1:], strict=False):
            ax, ay = _to_px(*a["position"], view["zoom"])
            bx, by = _to_px(*b["position"], view["zoom"])
            if math.hypot(bx - ax, by - ay) < ARROW_MIN_PX:
                continue
            angle = math.degrees(math.atan2(-(by - ay), bx - ax))  # screen y grows downwards
            arrows.append({"angle": angle, "color": [*colour[:3], 255],
                           "chevron": _chevron((ax + bx) / 2, (ay + by) / 2, bx - ax, by - ay, view["zoom"])})
    legs = [{"path": [r["true_position"], r["position"]]} for r in rows if r["stack_size"] > 1]
    badges = []
    for members in groups:
        if len(members) < 2:
            continue
        xs = [rows[i]["true_position"] for i in members]
        names = [rows[i]["name"] for i in members]
        shown_names = "; ".join(names[:12]) + (f"; … {len(names) - 12} more" if len(names) > 12 else "")
        badges.append({
            "uid": f"stack:{members[0]}",
            "position": [sum(x[0] for x in xs) / len(xs), sum(x[1] for x in xs) / len(xs)],
            "text": str(len(members)), "name": f"{len(members)} places here", "size": min(5 + len(members), 12),
            "kind": "stacked: spread around this point",
            "timecode": "", "video": "", "description": shown_names, "stop": "",
            "members": [rows[i]["uid"] for i in members],
        })
    return {"points": rows, "routes": routes, "arrows": arrows, "legs": legs, "badges": badges, "view": view,
            "places": ordered}


# Kept for callers of the earlier API (tests, notebooks).
def point_rows(places, colours, colour_by, labels):
    return map_model(places, colours, colour_by, labels)["points"]


def route_rows(places, colours, colour_by, labels):
    return map_model(places, colours, colour_by, labels)["routes"]


# ----------------------------------------------------------------- layers
MAP_PX = (1100, 560)  # about the map's size on the page (for the basemap picture's extent)


def image_bounds(view: dict[str, float], size_px: tuple[int, int] = MAP_PX, pad: float = 1.0,
                 max_px: int = 2048) -> tuple[tuple[float, float, float, float], int]:
    """(west, south, east, north) and a pixel width for a basemap picture around the initial view:
    ``pad`` view sizes more on every side, snapped to the zoom's tile grid (nearby views share a
    picture), drawn at up to twice the view's resolution, at most ``max_px`` wide."""
    zoom = float(view["zoom"])
    z = max(0, math.floor(zoom))
    scale = TILE * 2 ** z
    cx, cy = _to_px(float(view["longitude"]), float(view["latitude"]), z)
    half_w = size_px[0] / 2 / 2 ** (zoom - z) * (1 + 2 * pad)
    half_h = size_px[1] / 2 / 2 ** (zoom - z) * (1 + 2 * pad)
    step = TILE / 2
    left = max(0.0, math.floor((cx - half_w) / step) * step)
    right = min(scale, math.ceil((cx + half_w) / step) * step)
    top = max(0.0, math.floor((cy - half_h) / step) * step)
    bottom = min(scale, math.ceil((cy + half_h) / step) * step)
    west, north = _from_px(left, top, z)
    east, south = _from_px(right, bottom, z)
    width = int(min(max_px, (right - left) * 2 * 2 ** min(1.0, zoom - z)))
    return (west, max(south, -85.0511), east, min(north, 85.0511)), max(256, width)


STATIC_DIR = Path(__file__).resolve().parents[1] / "static" / "basemap"


def basemap_images(view: dict[str, float], *, fill: bool = True, static: bool = True,
                   size_px: tuple[int, int] = MAP_PX) -> list[tuple[str, list[float]]] | None:
    """The outline pictures under a map, as static files loaded by URL (cached by the browser): the
    world, and for a closer view a sharper picture around it. None when the server serves no
    static files (``static=False``) or they cannot be written: the layer then carries a small world
    picture inline."""
    if not static:
        return None
    try:
        images = [(write_png_static(STATIC_DIR, "world", WORLD_BOUNDS, 2048, fill=fill), list(WORLD_BOUNDS))]
        if view["zoom"] >= 2.5:
            bounds, width = image_bounds(view, size_px)
            images.append((write_png_static(STATIC_DIR, level_for_zoom(view["zoom"]), bounds, width, fill=fill),
                           list(bounds)))
        return images
    except (BasemapUnavailableError, OSError):
        logger.warning("the outline pictures could not be written as static files; sending one inline",
                       exc_info=True)
        return None


def _quoted(url: str) -> str:
    """pydeck reads a plain string ending in .png as a local file to inline: quotes keep it a URL."""
    return f"'{url}'"


def basemap_layers(zoom: float, *, images: Sequence[tuple[str, Sequence[float]]] | None = None,
                   fill: bool = True) -> list[pdk.Layer]:
    """Sea, land and borders from the packaged Natural Earth data: a map without tiles.

    ``images``: pictures of the outlines already drawn (``pipeline.geo.basemap.write_png_static``),
    as (URL, [west, south, east, north]); each is one BitmapLayer, all sharing one shader. In
    software WebGL (SwiftShader) every layer a new map draws costs about half a second to a
    second, and polygon and line layers with thousands of outline vertices much more; a textured
    quad is the cheapest thing to draw. Without ``images`` (no static file serving): a small world
    picture inline, as a data URL. ``fill=False`` (over tiles): the borders alone on a
    transparent picture, visible if the tiles cannot load.
    """
    if images is None:
        try:
            images = [(png_data_url(level_for_zoom(0), WORLD_BOUNDS, 1024, fill=fill), WORLD_BOUNDS)]
        except BasemapUnavailableError:
            logger.warning("country outlines unavailable; the map shows the sea only", exc_info=True)
            images = []
    layers = []
    if fill and not images:
        layers.append(pdk.Layer(
            "SolidPolygonLayer", id="sea",
            data=[{"polygon": [[-180, -85], [180, -85], [180, 85], [-180, 85]]}],
            get_polygon="polygon", get_fill_color=[214, 230, 242], pickable=False,
        ))
    for i, (url, bounds) in enumerate(images):
        layers.append(pdk.Layer(
            "BitmapLayer", id="basemap" if i == 0 else f"basemap_{i}", image=_quoted(url),
            bounds=[float(b) for b in bounds], pickable=False,
        ))
    return layers


def _segments(paths: list[dict[str, Any]], width: float, default: Sequence[int] = (60, 60, 60, 160)) -> list[dict]:
    return [{"s": a, "t": b, "color": row.get("color", list(default)), "w": width}
            for row in paths for a, b in zip(row["path"], row["path"][1:], strict=False)]


def _round(position: Sequence[float]) -> list[float]:
    """About a metre: shorter JSON (the deck is sent on every rerun)."""
    return [round(float(position[0]), 5), round(float(position[1]), 5)]


def line_rows(model: dict[str, Any]) -> list[dict[str, Any]]:
    """Routes, spider legs and arrowheads as one list of segments (one LineLayer)."""
    rows = _segments(model["legs"], 1)
    rows += _segments(model["routes"], 3)
    rows += [{"s": a, "t": b, "color": row["color"], "w": 3} for row in model["arrows"]
             for a, b in zip(row["chevron"], row["chevron"][1:], strict=False)]
    return [{**r, "s": _round(r["s"]), "t": _round(r["t"])} for r in rows]


DOT_FIELDS = ("uid", "what", "position", "fill", "line", "line_px", "r", "name", "stop", "kind", "timecode", "video",
              "description", "number", "video_id", "text", "members")


def dot_rows(model: dict[str, Any]) -> list[dict[str, Any]]:
    """Areas, stops and stack badges as one list (one ScatterplotLayer): ``what`` says which."""
    def slim(row: dict[str, Any]) -> dict[str, Any]:  # what the tooltip and the page read; no more (sent often)
        out = {k: row[k] for k in DOT_FIELDS if k in row}
        out["position"] = _round(out["position"])
        return out

    areas = [slim({**p, "what": "area", "fill": [255, 255, 255, 60], "line": p["color"], "line_px": 2, "r": 9})
             for p in model["points"] if p["area"]]
    stops = [slim({**p, "what": "stop", "fill": p["color"], "r": 9}) for p in model["points"] if not p["area"]]
    badges = [slim({**b, "what": "stack", "fill": [33, 33, 33, 230], "line": [255, 255, 255, 255], "line_px": 1.5,
                    "r": b["size"]}) for b in model["badges"]]
    return areas + stops + badges


def build_deck(model: dict[str, Any], *, show_labels: bool, tiles: bool,
               images: Sequence[tuple[str, Sequence[float]]] | None = None, height: int = 560) -> CompactDeck:
    """The Deck: basemap picture, routes with arrows (one line layer), areas, stops and stacks (one
    point layer: ``places``), and with ``show_labels`` the stop numbers, counts and names.

    Few layers on purpose: each layer of a new map costs seconds in software WebGL (see
    basemap_layers), and Streamlit builds a new map on every visit of the page.
    """
    view = model["view"]
    layers: list[pdk.Layer] = basemap_layers(view["zoom"], images=images, fill=not tiles)
    layers.append(pdk.Layer(
        "LineLayer", id="lines", data=line_rows(model), get_source_position="s", get_target_position="t",
        get_color="color", get_width="w", width_units="'pixels'", pickable=False,
    ))
    layers.append(pdk.Layer(
        "ScatterplotLayer", id="places", data=dot_rows(model), get_position="position", get_fill_color="fill",
        get_line_color="line", get_line_width="line_px", line_width_units="'pixels'", stroked=True, filled=True,
        get_radius="r", radius_units="'pixels'", pickable=True, auto_highlight=True,
    ))
    if show_labels:
        stops = [p for p in model["points"] if not p["area"]]
        areas = [p for p in model["points"] if p["area"]]
        # TextLayers only on request: in software WebGL each costs seconds on a new map (shader and font
        # atlas), so by default the order is in the arrows, the tooltips ("stop 3") and the side table.
        layers.append(pdk.Layer(
            "TextLayer", id="numbers", get_position="position", get_text="number", get_size=11,
            data=[{"position": p["position"], "number": p["number"]} for p in stops if p["number"]]
            + [{"position": b["position"], "number": b["text"]} for b in model["badges"]],
            get_color=[255, 255, 255, 255], character_set="'auto'",
            get_text_anchor="'middle'", get_alignment_baseline="'center'", pickable=False,
        ))
        layers.append(pdk.Layer(
            "TextLayer", id="labels", data=[{"position": p["position"], "label": p["label"]} for p in stops + areas],
            get_position="position", get_text="label", get_size=12,
            get_color=[20, 20, 20], get_pixel_offset=[0, -13], character_set="'auto'",
            get_alignment_baseline="'bottom'", font_family="'Helvetica, Arial, sans-serif'", background=True,
            get_background_color=[255, 255, 255, 210], background_padding=[3, 1, 3, 1], pickable=False,
        ))
    basemap: dict[str, Any] = {"map_provider": "carto", "map_style": "light"} if tiles else {"map_provider": None}
    # Offline, map_style is left at pydeck's placeholder: with map_style=None Streamlit would pick
    # a Carto style by itself and the browser would try to fetch it.
    return CompactDeck(
        layers=layers,
        views=[pdk.View(type="MapView", controller=True, repeat=True)],
        initial_view_state=pdk.ViewState(**view),
        tooltip=TOOLTIP,
        height=height,
        **basemap,
    )


__all__ = ["ATTRIBUTION", "basemap_images", "basemap_layers", "build_deck", "colour_keys", "colour_map", "dot_rows",
           "image_bounds", "is_area", "line_rows", "located", "map_model", "point_rows", "route_rows",
           "spread_positions", "stacks", "view_state"]

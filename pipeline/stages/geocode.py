"""The geocoder interface and its registry.

``gazetteer`` (offline GeoNames, ``pipeline.geo.gazetteer``) is the default and the
fallback; ``nominatim`` (geopy, online) is used when the network is allowed.
A geocoder resolves all places of one video at once so it can use the other
places as context for disambiguation.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..datatypes import GeocodeOutcome, GeocodeRequest, Record
from ..errors import ConfigurationError


@dataclass
class GeocodeOptions(Record):
    """Which geocoder places the names, and Nominatim's endpoint when it is used."""

    geocoder: str = "gazetteer"  # "gazetteer" | "nominatim" (online, falls back to the gazetteer) | "auto"
    nominatim_user_agent: str | None = None
    nominatim_domain: str = "nominatim.openstreetmap.org"
    nominatim_scheme: str = "https"


@runtime_checkable
class Geocoder(Protocol):
    name: str

    def config(self) -> dict[str, Any]:
        """Everything that changes this geocoder's results (goes into strategy_version)."""

    def cache_key(self, request: GeocodeRequest) -> str:
        """Key of the geocode cache row for this request (same key = same answer)."""

    def geocode(self, requests: list[GeocodeRequest]) -> list[GeocodeOutcome]:
        """One outcome per request, in order. Never raises for a single failed name."""


#: how many names ``nearby_names`` keeps before and after a name
NEARBY_BEFORE = 10  # a guide lists many sights after naming their town once
NEARBY_AFTER = 1


def nearby_names(first_mentions: list[tuple[str, float]]) -> dict[str, list[str]]:
    """``GeocodeRequest.nearby`` for every name from where each is first said (seconds or
    characters): the names said last before it, nearest first, then the next one after it.

    A city walk names its town, then the sights in it: "Barcelona ... Sagrada Familia". The
    town said just before a landmark is where the landmark most likely is, not the video's
    biggest town (a Spain guide names Madrid most, but its Barcelona sights are not there).
    """
    order = sorted(((pos, i, name) for i, (name, pos) in enumerate(first_mentions)), key=lambda t: (t[0], t[1]))
    names = [name for _, _, name in order]
    out: dict[str, list[str]] = {}
    for k, name in enumerate(names):
        before = [n for n in reversed(names[max(0, k - NEARBY_BEFORE) : k]) if n != name]
        after = [n for n in names[k + 1 : k + 1 + NEARBY_AFTER] if n != name]
        out.setdefault(name, list(dict.fromkeys(before + after)))
    return out


GeocoderFactory = Callable[..., Geocoder]
_REGISTRY: dict[str, GeocoderFactory] = {}


def register_geocoder(name: str, factory: GeocoderFactory) -> None:
    _REGISTRY[name] = factory


def get_geocoder(name: str, **options: Any) -> Geocoder:
    if name not in _REGISTRY:
        _load_builtin(name)
    try:
        factory = _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ConfigurationError(f"Unknown geocoder {name!r} (known: {known}).") from None
    return factory(**options)


#: the shipped geocoders, imported when first asked for (the implementations do not import
#: this registry, so there is no import loop between them)
BUILTIN_GEOCODERS = {
    "gazetteer": "pipeline.geo.gazetteer:GazetteerGeocoder",
    "nominatim": "pipeline.stages.geocode_nominatim:NominatimGeocoder",
    "nominatim+gazetteer": "pipeline.stages.geocode_nominatim:NominatimThenGazetteer",
}


def _load_builtin(name: str) -> None:
    if name in BUILTIN_GEOCODERS:
        module, attr = BUILTIN_GEOCODERS[name].split(":")
        _REGISTRY[name] = getattr(importlib.import_module(module), attr)

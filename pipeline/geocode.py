"""The geocoder interface and its registry.

``gazetteer`` (offline GeoNames, ``pipeline.gazetteer``) is the default and the
fallback; ``nominatim`` (geopy, online) is used when the network is allowed.
A geocoder resolves all places of one video at once so it can use the other
places as context for disambiguation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from .datatypes import GeocodeOutcome, GeocodeRequest
from .errors import ConfigurationError


@runtime_checkable
class Geocoder(Protocol):
    name: str

    def config(self) -> dict[str, Any]:
        """Everything that changes this geocoder's results (goes into strategy_version)."""

    def cache_key(self, request: GeocodeRequest) -> str:
        """Key of the geocode cache row for this request (same key = same answer)."""

    def geocode(self, requests: list[GeocodeRequest]) -> list[GeocodeOutcome]:
        """One outcome per request, in order. Never raises for a single failed name."""


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


def _load_builtin(name: str) -> None:
    if name == "gazetteer":
        from . import gazetteer  # noqa: F401  (registers itself)
    elif name in ("nominatim", "nominatim+gazetteer"):
        from . import geocode_nominatim  # noqa: F401

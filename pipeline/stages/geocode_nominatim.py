"""The ``nominatim`` geocoder (OpenStreetMap, via geopy) and the
``nominatim+gazetteer`` chain (Nominatim first, the offline gazetteer for
whatever Nominatim could not place).

Nominatim's usage policy: at most one request per second for the whole
application, a real User-Agent, caching. All geocoders talking to the same
server with the same settings share one thread-safe geopy ``RateLimiter``, so
creating a geocoder per job does not multiply the request rate. Failures the
server may get over (429, 5xx, timeouts, unreachable) come back as
``transient`` outcomes, which callers must not cache as "not found".

A point of interest (marker ``poi``: "Temple of Debod", "Wat Pho") is asked for within its
town's area first: ``viewbox`` of ``POI_RADIUS_KM`` around the town the offline gazetteer
places it near (``GazetteerGeocoder.area_for``) with ``bounded=1``; when nothing lies there,
the plain query as for any name. Both requests go through the same rate limiter.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from geopy.adapters import AdapterHTTPError, RequestsAdapter, URLLibAdapter
from geopy.exc import ConfigurationError as GeopyConfigurationError
from geopy.exc import (
    GeocoderRateLimited,
    GeocoderServiceError,
    GeocoderTimedOut,
    GeocoderUnavailable,
    GeopyError,
)
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim

from .. import ratelimit
from ..config import Settings
from ..datatypes import GeocodeOutcome, GeocodeRequest, GeoHit
from ..errors import ConfigurationError
from .geocode import Geocoder, get_geocoder

log = logging.getLogger(__name__)

DEFAULT_DOMAIN = "nominatim.openstreetmap.org"
SAMPLE_USER_AGENT: str = Settings.model_fields["nominatim_user_agent"].default
_REFUSED_USER_AGENTS = {
    SAMPLE_USER_AGENT.casefold(),
    "my-application",
    "my_app/1",
    "my_user_agent/1.0",
    "specify_your_app_name_here",
}
NOT_FOUND = "not found"
#: half the side of the box a point of interest is searched in, around its town's point
POI_RADIUS_KM = 15.0

#: where a POI request's town is: (latitude, longitude), or None when nothing says
AreaFinder = Callable[[GeocodeRequest], "tuple[float, float] | None"]


def gazetteer_area(request: GeocodeRequest) -> tuple[float, float] | None:
    """The point of the town the offline gazetteer places a POI near (its contained place
    name, the town said before it, the video's main town)."""
    from ..geo.gazetteer import GazetteerGeocoder

    entry = GazetteerGeocoder().area_for(request)
    return None if entry is None else (entry.lat, entry.lon)


def viewbox(lat: float, lon: float, radius_km: float) -> list[tuple[float, float]]:
    """Two corners of a box ``radius_km`` around a point (geopy's ``viewbox`` form)."""
    dlat = radius_km / 111.32
    dlon = radius_km / (111.32 * max(0.05, math.cos(math.radians(lat))))
    return [(max(-90.0, lat - dlat), max(-180.0, lon - dlon)), (min(90.0, lat + dlat), min(180.0, lon + dlon))]


def poi_key_suffix(request: GeocodeRequest) -> str:
    """What an answer depends on besides the name (the region said with it; for a POI, the
    names around it): a cache-key part."""
    qualifier = f"|in:{normalise_query(request.qualifier)}" if request.qualifier.strip() else ""
    if request.marker != "poi" or not (request.context or request.nearby):
        return qualifier
    raw = "\x1f".join([*(normalise_query(n) for n in request.nearby), "|",
                        *sorted({normalise_query(n) for n in request.context})])
    return qualifier + "|poi:" + hashlib.sha256(raw.encode()).hexdigest()[:16]


def is_acceptable_user_agent(user_agent: str | None) -> bool:
    """False for an empty, sample or geopy-default User-Agent (Nominatim refuses those)."""
    agent = (user_agent or "").strip()
    return bool(agent) and agent.casefold() not in _REFUSED_USER_AGENTS and not agent.startswith("geopy/")


def normalise_query(query: str) -> str:
    return " ".join(query.casefold().split())


def _status(exc: BaseException) -> int | None:
    cause = exc.__cause__
    return cause.status_code if isinstance(cause, AdapterHTTPError) else None


def is_transient(exc: BaseException) -> bool:
    """Rate limits, timeouts, unreachable servers and 5xx: may work later."""
    if isinstance(exc, (GeocoderRateLimited, GeocoderTimedOut, GeocoderUnavailable)):
        return True
    status = _status(exc)
    return type(exc) is GeocoderServiceError and (status is None or status >= 500)


class _Retryable(GeocoderServiceError):
    """Wraps a transient geopy error so the RateLimiter retries only those."""

    def __init__(self, original: GeocoderServiceError) -> None:
        super().__init__(str(original))
        self.original = original


class _TransientRateLimiter(RateLimiter):
    """geopy's RateLimiter, retrying transient failures only (not 4xx query errors)."""

    _retry_exceptions = (_Retryable,)


def _call(func: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except GeocoderServiceError as exc:
        if is_transient(exc):
            raise _Retryable(exc) from exc
        raise


#: added to Nominatim's spacing across workers (scheduling delay between slot and request)
SHARED_SLOT_MARGIN_S = 0.2

_LIMITERS: dict[tuple[Any, ...], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()
# Servers currently failing (scheme, domain) -> reason: an outage is logged once, when
# it starts, and once more when the server answers again; not once per name and try.
_OUTAGES: dict[tuple[str, str], str] = {}
_OUTAGES_LOCK = threading.Lock()


def _note_outage(server: tuple[str, str], reason: str) -> None:
    with _OUTAGES_LOCK:
        known = server in _OUTAGES
        _OUTAGES[server] = reason
    if known:
        log.debug("Nominatim still unavailable: %s", reason)
    else:
        log.warning("Nominatim (%s) is unavailable: %s. Names go to the fallback geocoder or are left for "
                    "a later retry (further failures are not logged until it answers again).", server[1], reason)


def _note_answer(server: tuple[str, str]) -> None:
    with _OUTAGES_LOCK:
        was_down = _OUTAGES.pop(server, None)
    if was_down is not None:
        log.info("Nominatim (%s) answers again.", server[1])


def _shared_limiter(key: tuple[Any, ...], min_delay_s: float) -> RateLimiter:
    """Request spacing only: retries are ``NominatimGeocoder._ask``'s (geopy's own retry
    loop logs a full traceback per try, 18 of them for 3 names during an outage)."""
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None:
            limiter = _TransientRateLimiter(
                _call,
                min_delay_seconds=min_delay_s,
                max_retries=0,
                swallow_exceptions=False,
            )
            _LIMITERS[key] = limiter
        return limiter


def _adapter_factory(**kwargs: Any) -> Any:
    """geopy's HTTP adapter without hidden retries: urllib3 would otherwise repeat a
    timed-out request twice behind the RateLimiter's back (3 requests in < 1 s)."""
    if RequestsAdapter.is_available:
        return RequestsAdapter(max_retries=0, **kwargs)
    return URLLibAdapter(**kwargs)


def _reason(exc: BaseException) -> str:
    status = _status(exc)
    if isinstance(exc, GeocoderRateLimited):
        return "Nominatim rate limit reached (HTTP 429); try again later"
    if isinstance(exc, GeocoderTimedOut):
        extra = f" (HTTP {status})" if status else ""
        return f"Nominatim timed out or is overloaded{extra}; try again later"
    if isinstance(exc, GeocoderUnavailable):
        return "Nominatim could not be reached; try again later"
    if status:
        return f"Nominatim error (HTTP {status})"
    return f"Nominatim error: {str(exc)[:200]}"


class NominatimGeocoder:
    """One Nominatim ``/search`` request per name, at most one request per ``min_delay_s``."""

    name = "nominatim"

    def __init__(
        self,
        user_agent: str,
        domain: str = DEFAULT_DOMAIN,
        scheme: str = "https",
        timeout_s: float = 10.0,
        min_delay_s: float = 1.0,
        max_retries: int = 2,
        error_wait_s: float = 5.0,
        poi_area: AreaFinder | None = gazetteer_area,
        poi_radius_km: float = POI_RADIUS_KM,
    ) -> None:
        agent = (user_agent or "").strip()
        if not is_acceptable_user_agent(agent):
            raise ConfigurationError(
                "Nominatim needs a User-Agent that identifies this installation (its usage policy): "
                "set VIDEOMAP_NOMINATIM_USER_AGENT, e.g. 'video-map-workbench/0.1 (you@example.org)'."
            )
        if min_delay_s < 0 or max_retries < 0 or timeout_s <= 0:
            raise ConfigurationError("Nominatim timeout must be positive; delay and retries not negative.")
        self.domain = domain.strip().strip("/")
        self.scheme = scheme
        self.timeout_s = float(timeout_s)
        try:
            self._nominatim = Nominatim(
                user_agent=agent,
                domain=self.domain,
                scheme=scheme,
                timeout=self.timeout_s,
                adapter_factory=_adapter_factory,
            )
        except GeopyConfigurationError as exc:
            raise ConfigurationError(f"Invalid Nominatim settings: {exc}") from exc
        self.max_retries = int(max_retries)
        self.error_wait_s = max(float(error_wait_s), float(min_delay_s))
        self._server = (scheme, self.domain)
        self.min_delay_s = float(min_delay_s)
        self._limiter = _shared_limiter((scheme, self.domain, self.min_delay_s), self.min_delay_s)
        self.poi_area = poi_area
        self.poi_radius_km = float(poi_radius_km)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "domain": self.domain}

    def cache_key(self, request: GeocodeRequest) -> str:
        return f"{self.name}:{normalise_query(request.query)}{poi_key_suffix(request)}"

    def geocode(self, requests: list[GeocodeRequest]) -> list[GeocodeOutcome]:
        return [self._one(req) for req in requests]

    def _area(self, request: GeocodeRequest) -> tuple[float, float] | None:
        if request.marker != "poi" or self.poi_area is None:
            return None
        try:
            return self.poi_area(request)
        except Exception:  # the area only narrows the search: without it, the plain query
            log.exception("no search area for %r", request.query)
            return None

    def _search(self, request: GeocodeRequest, query: str, kwargs: dict[str, Any]) -> Any:
        """The name inside the region the text gave it ("Venice, Italy") first, when it has
        one; the POI within its town's box first (when it has one); then the plain query."""
        if request.qualifier.strip():
            location = self._ask(f"{query}, {' '.join(request.qualifier.split())}", kwargs)
            if location is not None:
                return location
        area = self._area(request)
        if area is not None:
            bounded = {**kwargs, "viewbox": viewbox(*area, self.poi_radius_km), "bounded": True}
            location = self._ask(query, bounded)
            if location is not None:
                return location
            log.debug("Nominatim: %r not within %.0f km of %s; asking without the box", query,
                      self.poi_radius_km, area)
        return self._ask(query, kwargs)

    def _ask(self, query: str, kwargs: dict[str, Any]) -> Any:
        """One rate-limited request, retried ``max_retries`` times on transient failures.

        While the server is known to be down, each name gets one try: an outage does not
        cost every name of a video ``max_retries`` waits of ``error_wait_s``.
        """
        with _OUTAGES_LOCK:
            retries = 0 if self._server in _OUTAGES else self.max_retries
        for attempt in range(retries + 1):
            try:
                if ratelimit.is_shared():  # Celery workers: one spacing for all of them together,
                    # plus a margin: a worker may send its request a little after its slot
                    ratelimit.acquire(f"nominatim:{self.domain}", self.min_delay_s + SHARED_SLOT_MARGIN_S)
                    return _call(self._nominatim.geocode, query, **kwargs)
                return self._limiter(self._nominatim.geocode, query, **kwargs)
            except _Retryable as exc:
                if attempt >= retries:
                    raise
                log.debug("Nominatim try %d of %d for %r failed: %s", attempt + 1, self.max_retries + 1,
                          query, _reason(exc.original))
                time.sleep(self.error_wait_s)
        raise AssertionError("unreachable")  # pragma: no cover

    def _one(self, request: GeocodeRequest) -> GeocodeOutcome:
        query = " ".join(request.query.split())
        if not query:
            return GeocodeOutcome(query=request.query, error="empty name", geocoder=self.name)
        kwargs: dict[str, Any] = {"exactly_one": True, "addressdetails": True}
        if request.language:
            kwargs["language"] = request.language
        try:
            location = self._search(request, query, kwargs)
        except _Retryable as exc:
            _note_outage(self._server, _reason(exc.original))
            return GeocodeOutcome(query=request.query, error=_reason(exc.original), transient=True, geocoder=self.name)
        except GeopyError as exc:
            transient = is_transient(exc)
            if transient:
                _note_outage(self._server, _reason(exc))
            else:  # the server answered (a 4xx about this query): it is up
                _note_answer(self._server)
                log.warning("Nominatim failed for %r: %s", query, _reason(exc))
            return GeocodeOutcome(query=request.query, error=_reason(exc), transient=transient, geocoder=self.name)
        except Exception as exc:  # never raise for one name; unknown failures are not cached
            log.exception("Nominatim: unexpected failure for %r", query)
            return GeocodeOutcome(
                query=request.query,
                error=f"Nominatim failed: {type(exc).__name__}",
                transient=True,
                geocoder=self.name,
            )
        _note_answer(self._server)
        if location is None:
            return GeocodeOutcome(query=request.query, error=NOT_FOUND, geocoder=self.name)
        raw: dict[str, Any] = location.raw or {}
        osm_type, osm_id = raw.get("osm_type"), raw.get("osm_id")
        cls, kind = raw.get("class") or raw.get("category"), raw.get("type")
        country = (raw.get("address") or {}).get("country_code")
        hit = GeoHit(
            latitude=float(location.latitude),
            longitude=float(location.longitude),
            gazetteer_id=f"osm:{osm_type}/{osm_id}" if osm_type and osm_id is not None else None,
            display_name=location.address or raw.get("display_name", ""),
            country_code=country.upper() if country else None,
            feature=f"{cls}:{kind}" if cls and kind else (cls or kind),
        )
        return GeocodeOutcome(query=request.query, hit=hit, geocoder=self.name)


class NominatimThenGazetteer:
    """Nominatim first; the offline gazetteer for every name Nominatim did not place.

    When the gazetteer has no answer either, the outcome keeps Nominatim's
    ``transient`` flag, so an outage is never cached as "not found".
    """

    name = "nominatim+gazetteer"

    def __init__(self, *, gazetteer_options: dict[str, Any] | None = None, **nominatim_options: Any) -> None:
        self.fallback: Geocoder = get_geocoder("gazetteer", **(gazetteer_options or {}))
        area_for = getattr(self.fallback, "area_for", None)
        if area_for is not None and "poi_area" not in nominatim_options:
            # the POI's town from the fallback gazetteer the chain already holds
            def fallback_area(request: GeocodeRequest) -> tuple[float, float] | None:
                entry = area_for(request)
                return None if entry is None else (entry.lat, entry.lon)

            nominatim_options["poi_area"] = fallback_area
        self.primary = NominatimGeocoder(**nominatim_options)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "primary": self.primary.config(), "fallback": self.fallback.config()}

    def cache_key(self, request: GeocodeRequest) -> str:
        return f"{self.name}:{normalise_query(request.query)}{poi_key_suffix(request)}"

    def geocode(self, requests: list[GeocodeRequest]) -> list[GeocodeOutcome]:
        outcomes = self.primary.geocode(requests)
        missing = [i for i, o in enumerate(outcomes) if o.hit is None]
        if not missing:
            return outcomes
        second = self.fallback.geocode([requests[i] for i in missing])
        for i, alt in zip(missing, second, strict=True):
            first = outcomes[i]
            outage = first.error if first.transient else None
            if alt.hit is not None:
                # Nominatim down: the gazetteer's answer is provisional (not cached, retried).
                outcomes[i] = GeocodeOutcome(query=alt.query, hit=alt.hit, geocoder=alt.geocoder or "gazetteer",
                                             outage=outage)
            else:
                outcomes[i] = GeocodeOutcome(
                    query=first.query,
                    error=f"{first.error}; gazetteer: {alt.error or NOT_FOUND}",
                    transient=first.transient or alt.transient,
                    geocoder=self.name,
                    outage=outage,
                )
        return outcomes

"""What a placed name is, in words: its description, marker and marker tags.

One wording for every path: the offline extractor describes its provisional picks with
it, and the runner (``apply_outcome``) re-describes each place from the geocoder's answer
that placed it - a GeoNames/gazetteer entry (``Gazetteer.describe``: "City in Texas,
United States", "Capital city in France") or a Nominatim result (its OSM class and type).
A name placed in Texas is therefore never described as being in France.
"""

from __future__ import annotations

from typing import NamedTuple

from ..datatypes import GeoHit
from .gazetteer import Entry, Gazetteer, get_gazetteer
from .toponyms import build as _build

# The tags a marker gives a place (the extractors' and the map's vocabulary).
TAGS: dict[str, list[str]] = {
    "country": ["country"],
    "region": ["region"],
    "city": ["city"],
    "continent": ["continent"],
    "poi": ["landmark"],
    "natural": ["nature"],
    "street": ["street"],
}


class Described(NamedTuple):
    description: str
    marker: str


def describe_entry(gz: Gazetteer, entry: Entry, marker_hint: str = "") -> Described:
    """A gazetteer entry in words; ``marker_hint``: a marker the text's structure fixed."""
    return Described(gz.describe(entry), marker_hint or entry.marker)


def describe_marker(marker: str) -> str:
    """The description of a name known only by its kind (a landmark not in the gazetteer)."""
    return "Landmark" if marker == "poi" else marker.capitalize()


def is_approximate(hit: GeoHit) -> bool:
    """Placed near the place, not at it (a landmark at its town, a name at the video's town)."""
    return (hit.feature or "").startswith("approx")


def describe_hit(hit: GeoHit) -> Described | None:
    """The place a geocoder's answer names, in words; None when the answer says too little
    (an approximate hit, an unknown id or OSM type): the extractor's words then stay."""
    if is_approximate(hit):
        return None
    if hit.gazetteer_id and _build.source_id(hit.gazetteer_id) is not None:
        gz = get_gazetteer()  # loaded only for gazetteer answers
        e = gz.by_gazetteer_id(hit.gazetteer_id)
        if e is None or (hit.feature and hit.feature != f"{e.feature_class}.{e.feature_code}"):
            return None  # not the entry this answer was made from (another data version)
        return describe_entry(gz, e)
    if hit.gazetteer_id and hit.gazetteer_id.startswith("osm:"):
        return _describe_osm(hit)
    return None


# OSM (Nominatim) class:type -> (kind, marker); a class alone covers all its types.
_OSM_KINDS: dict[str, tuple[str, str]] = {
    "place:continent": ("Continent", "continent"),
    "place:country": ("Country", "country"),
    "place:state": ("Region", "region"),
    "place:province": ("Region", "region"),
    "place:region": ("Region", "region"),
    "place:county": ("District", "region"),
    "place:city": ("City", "city"),
    "place:town": ("Town", "city"),
    "place:village": ("Town", "city"),
    "place:hamlet": ("Town", "city"),
    "place:municipality": ("Town", "city"),
    "place:suburb": ("District", "city"),
    "place:quarter": ("District", "city"),
    "place:neighbourhood": ("District", "city"),
    "place:island": ("Island", "natural"),
    "place:islet": ("Island", "natural"),
    "place:sea": ("Sea", "natural"),
    "place:ocean": ("Ocean", "natural"),
    "natural:peak": ("Mountain", "natural"),
    "natural:volcano": ("Mountain", "natural"),
    "natural:water": ("Lake", "natural"),
    "natural:bay": ("Bay", "natural"),
    "natural:beach": ("Beach", "natural"),
    "waterway:river": ("River", "natural"),
    "natural": ("Natural feature", "natural"),
    "highway": ("Street", "street"),
    "tourism": ("Landmark", "poi"),
    "historic": ("Landmark", "poi"),
    "amenity": ("Landmark", "poi"),
    "building": ("Landmark", "poi"),
    "leisure": ("Landmark", "poi"),
    "man_made": ("Landmark", "poi"),
}


def _describe_osm(hit: GeoHit) -> Described | None:
    feature = hit.feature or ""
    known = _OSM_KINDS.get(feature) or _OSM_KINDS.get(feature.partition(":")[0])
    if known is None:  # boundary:administrative says nothing of its rank: keep the extractor's
        return None
    kind, marker = known
    parts = [p.strip() for p in hit.display_name.split(",") if p.strip()]
    where = parts[-1] if len(parts) > 1 and marker not in ("country", "continent") else ""
    return Described(f"{kind} in {where}" if where else kind, marker)


def retag(tags: list[str], old_marker: str, new_marker: str) -> list[str]:
    """``tags`` with the old marker's tags swapped for the new one's; other tags stay."""
    if old_marker == new_marker:
        return list(tags)
    old = set(TAGS.get(old_marker, [])) - set(TAGS.get(new_marker, []))
    kept = [t for t in tags if t not in old]
    return kept + [t for t in TAGS.get(new_marker, []) if t not in kept]

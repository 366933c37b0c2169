"""Plain, serialisable records passed between stages.

Every stage takes and returns these dataclasses (or lists of them). They hold
only str/int/float/bool/None, lists and dicts, so ``to_dict``/``from_dict``
round-trip through JSON: the same stages can later run on Celery workers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T", bound="Record")


class Record:
    """Mixin giving dataclasses a JSON-friendly dict round-trip."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        hints = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            if name not in hints:
                continue
            kwargs[name] = _revive(cls, name, value)
        return cls(**kwargs)


def _revive(cls: type, name: str, value: Any) -> Any:
    nested = _NESTED.get((cls.__name__, name))
    if nested is None or value is None:
        return value
    if isinstance(value, list):
        return [nested.from_dict(v) if isinstance(v, dict) else v for v in value]
    if isinstance(value, dict):
        return nested.from_dict(value)
    return value


# --------------------------------------------------------------------------- fetch
@dataclass
class FetchedVideo(Record):
    """One video (or local recording / subtitle file) ready for the next stage.

    ``source`` is exactly what the user gave; a playlist source yields several
    FetchedVideo with the same ``source``.
    """

    source: str
    video_id: str  # "youtube:abc123", "bilibili:BV1...", "file:<sha256 prefix>"
    platform: str  # "youtube", "bilibili", "file", ...
    title: str = ""
    url: str | None = None  # canonical page URL, used for timecoded links
    duration: float | None = None
    language: str | None = None
    subtitle_text: str | None = None  # raw subtitle/transcript text
    subtitle_format: str | None = None  # "vtt" | "srt" | "txt" | "json3"
    subtitle_kind: str | None = None  # "manual" | "automatic" | "file"
    audio_path: str | None = None  # local media to transcribe when no subtitles
    content_hash: str | None = None  # sha256 of the local file or subtitle text
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_transcription(self) -> bool:
        return not self.subtitle_text and bool(self.audio_path)


# ----------------------------------------------------------------------- transcript
@dataclass
class Segment(Record):
    """A timed piece of transcript text (seconds from the start of the video)."""

    start: float
    end: float
    text: str


@dataclass
class Transcript(Record):
    video_id: str
    segments: list[Segment]
    origin: str  # "subtitles:manual" | "subtitles:automatic" | "subtitles:file" | "asr" | "text"
    language: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # what produced it

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)


@dataclass
class Window(Record):
    """A run of consecutive segments that fits the extractor's token budget."""

    index: int
    start: float
    end: float
    segments: list[Segment]
    token_estimate: int = 0

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)


# ------------------------------------------------------------------------- places
MARKERS = ("poi", "city", "region", "country", "continent", "natural", "street", "other")


@dataclass
class Place(Record):
    """A place mentioned in a video, before and after geocoding."""

    name: str
    description: str = ""
    start_seconds: float = 0.0  # start of the evidence segment
    tags: list[str] = field(default_factory=list)
    marker: str = "other"
    evidence: str = ""  # the transcript words that mention it, copied verbatim
    confidence: float = 0.5
    # geocoding
    latitude: float | None = None
    longitude: float | None = None
    geocoder: str | None = None
    gazetteer_id: str | None = None  # e.g. "geonames:1668341", "osm:node/123"
    country_code: str | None = None
    status: str = "pending"  # "pending" | "ok" | "failed" | "fallback" (see PLACE_FALLBACK)
    failure_reason: str | None = None

    @property
    def located(self) -> bool:
        return self.latitude is not None and self.longitude is not None


# Place.status of a place the offline fallback located while the online geocoder was
# down: shown on the map, but provisional - counted as not done and geocoded again by
# "retry failed geocodes".
PLACE_FALLBACK = "fallback"


@dataclass
class ExtractionResult(Record):
    places: list[Place]
    topics: list[str] = field(default_factory=list)
    summary: str = ""
    dropped_ungrounded: int = 0  # names not found in the transcript
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    extractor: str = ""
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class GeocodeRequest(Record):
    """One name to place, with the other names of the same video as context."""

    query: str
    marker: str = "other"
    context: list[str] = field(default_factory=list)
    language: str | None = None
    # home areas of the source (a channel's, a newspaper's) found in its other items:
    # ISO country codes ("US") or first-level regions ("US.KY"); see gazetteer.home_areas
    home: list[str] = field(default_factory=list)
    # the other names said closest before (then after) this one, nearest first: where a landmark
    # that no geocoder knows is placed, and the area a POI is searched in (see stages.geocode)
    nearby: list[str] = field(default_factory=list)
    # the enclosing region or country said right after the name ("Italy" in "Venice, Italy"):
    # the place is one inside it when there is such a one (see runner.graph.geocode_requests)
    qualifier: str = ""


@dataclass
class GeoHit(Record):
    latitude: float
    longitude: float
    gazetteer_id: str | None = None
    display_name: str = ""
    country_code: str | None = None
    feature: str | None = None  # e.g. GeoNames feature class/code
    score: float = 1.0
    geocoder: str | None = None  # who answered, kept with a cached hit (a chain's fallback names itself)


@dataclass
class GeocodeOutcome(Record):
    query: str
    hit: GeoHit | None = None
    error: str | None = None  # reason when hit is None
    transient: bool = False  # True: worth retrying later (outage, rate limit)
    geocoder: str = ""  # the geocoder that actually answered (a chain's fallback names itself)
    # why the preferred geocoder did not answer when a fallback did (e.g. Nominatim down):
    # such an answer is provisional - never cached, asked again on retry
    outage: str | None = None


_NESTED: dict[tuple[str, str], type] = {
    ("Transcript", "segments"): Segment,
    ("Window", "segments"): Segment,
    ("ExtractionResult", "places"): Place,
    ("GeocodeOutcome", "hit"): GeoHit,
}

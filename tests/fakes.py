"""Fake extractor and geocoder registered for tests (as simonw/llm registers fake models)."""

from __future__ import annotations

import threading
import time

from pipeline.datatypes import ExtractionResult, GeocodeOutcome, GeoHit, Place
from pipeline.stages.extract import register_extractor
from pipeline.stages.geocode import register_geocoder

# A three-cue subtitle file naming three places of KNOWN, used by job and page tests.
TRIP_SRT = """1
00:00:01,000 --> 00:00:04,000
We start the trip in Lisbon today.

2
00:00:05,000 --> 00:00:08,000
Then the train takes us to Porto.

3
00:00:09,000 --> 00:00:12,000
Finally we fly to Madrid.
"""

KNOWN = {
    "Lisbon": (38.7167, -9.1333, "PT"),
    "Porto": (41.1496, -8.611, "PT"),
    "Madrid": (40.4165, -3.7026, "ES"),
    "Taipei": (25.0478, 121.5319, "TW"),
}


class FakeExtractor:
    name = "fake"
    calls = 0
    delay = 0.0

    def __init__(self, **_: object) -> None:
        pass

    def config(self) -> dict:
        return {"name": "fake", "version": "1"}

    def extract(self, windows, *, title="", language=None) -> ExtractionResult:
        type(self).calls += 1
        if self.delay:
            time.sleep(self.delay)
        places, seen = [], set()
        for window in windows:
            for seg in window.segments:
                for word in seg.text.replace(",", " ").replace(".", " ").split():
                    if (word in KNOWN or word == "Atlantis") and word not in seen:
                        seen.add(word)
                        places.append(Place(name=word, description=f"{word} (fake)", start_seconds=seg.start,
                                            tags=["city"], marker="city", evidence=seg.text, confidence=0.9))
        return ExtractionResult(places=places, topics=["travel"], summary="fake summary", extractor="fake:1")


class FakeGeocoder:
    """Knows KNOWN; 'Atlantis' fails transiently until ``atlantis_online`` is set."""

    name = "fakegeo"
    atlantis_online = threading.Event()
    calls = 0

    def __init__(self, **_: object) -> None:
        pass

    def config(self) -> dict:
        return {"name": "fakegeo", "version": "1"}

    def cache_key(self, request) -> str:
        return f"fakegeo:{request.query.lower()}"

    def geocode(self, requests):
        out = []
        for r in requests:
            type(self).calls += 1
            if r.query in KNOWN:
                lat, lon, cc = KNOWN[r.query]
                hit = GeoHit(lat, lon, f"fake:{r.query}", r.query, cc)
                out.append(GeocodeOutcome(r.query, hit, geocoder="fakegeo"))
            elif r.query == "Atlantis" and self.atlantis_online.is_set():
                out.append(GeocodeOutcome(r.query, GeoHit(0.0, -30.0, "fake:atlantis", "Atlantis"), geocoder="fakegeo"))
            elif r.query == "Atlantis":
                out.append(GeocodeOutcome(r.query, None, "service unavailable (503)", True, "fakegeo"))
            else:
                out.append(GeocodeOutcome(r.query, None, "not found", False, "fakegeo"))
        return out


register_extractor("fake", FakeExtractor)
register_geocoder("fakegeo", FakeGeocoder)

"""Points of interest said in travel vlogs: are they placed where they are?

    python -m pipeline.evaluate pipeline/evaluate/data/travel-vlog-pois.tsv [--vlogs FILE]

The gold (``data/travel-vlog-pois.tsv``, the project's own annotation, see its README) lists
per vlog the named POIs said in it with their real points. Each vlog's plain transcript is run
as the pipeline runs one video (``PipelineSystem``: the extract and geocode stages, one window,
the offline extractor, the runner's ``geocode_requests``: every place with the video's other
names as context and the names said around it as ``nearby``). A gold POI is *found* when a
predicted span overlaps one of the places where its name is said; it is *placed within 5 km*
when that prediction's point lies within ``POI_WITHIN_KM`` of the gold point. Reported per half
(development / held out): recall of POI names, the share within 5 km of all gold POIs
(end-to-end) and of the found ones, and how many were placed at their own point rather than
approximately (at their town).
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from .documents import Document

log = logging.getLogger(__name__)

POI_WITHIN_KM = 5.0
DEFAULT_VLOGS = Path("../shared/eval/travel-vlogs-en/nomadic-samuel-youtube-transcripts.jsonl.gz")
GOLD_SUFFIX = "-pois.tsv"


@dataclass(frozen=True)
class GoldPoi:
    half: str  # "dev" | "held-out"
    video_id: str
    name: str
    lat: float
    lon: float
    city: str
    kind: str


@dataclass
class PoiScores:
    half: str
    videos: int
    gold: int
    found: int = 0
    within: int = 0
    own_point: int = 0  # placed at a point of its own (not approximately at its town)
    uncertain_skipped: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 0.0

    @property
    def within_share(self) -> float:
        return self.within / self.gold if self.gold else 0.0

    @property
    def within_found_share(self) -> float:
        return self.within / self.found if self.found else 0.0


def is_poi_gold(path: str | Path) -> bool:
    return str(path).endswith(GOLD_SUFFIX)


def load_gold(path: str | Path) -> tuple[list[GoldPoi], int]:
    """The gold POIs with coordinates, and how many were marked ``uncertain`` (left out)."""
    pois, uncertain = [], 0
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        half, video_id, name, lat, lon, city, kind = line.split("\t")
        if "uncertain" in (lat, lon):
            uncertain += 1
            continue
        pois.append(GoldPoi(half, video_id, name, float(lat), float(lon), city, kind))
    return pois, uncertain


def load_vlogs(path: str | Path, ids: set[str]) -> dict[str, str]:
    """video id -> plain transcript (``text``) of the vlogs named in the gold."""
    out: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["id"] in ids:
                out[rec["id"]] = rec.get("text") or ""
    return out


def _occurrences(text: str, name: str) -> list[tuple[int, int]]:
    pattern = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in name.split()) + r"(?!\w)"
    return [m.span() for m in re.finditer(pattern, text, flags=re.IGNORECASE)]


def evaluate_pois(gold_path: str | Path, vlogs_path: str | Path = DEFAULT_VLOGS) -> list[PoiScores]:
    """One score row per half of the gold, plus one for both halves together."""
    from ..geo.describe import is_approximate
    from ..geo.gazetteer import distance_km
    from .core import PipelineSystem

    pois, uncertain = load_gold(gold_path)
    texts = load_vlogs(vlogs_path, {p.video_id for p in pois})
    missing = {p.video_id for p in pois} - set(texts)
    if missing:
        raise FileNotFoundError(f"{vlogs_path}: no transcript for {', '.join(sorted(missing))}")
    system = PipelineSystem(use_sources=False)
    placed: dict[str, list[tuple[int, int, float | None, float | None, bool]]] = {}
    for video_id, text in texts.items():
        spans = []
        for outcome, members in system.placed(Document(video_id, text, [])):
            hit = outcome.hit
            lat, lon = (hit.latitude, hit.longitude) if hit is not None else (None, None)
            approx = hit is not None and is_approximate(hit)
            spans += [(start, end, lat, lon, approx) for start, end, _ in members]
        placed[video_id] = spans
    halves = sorted({p.half for p in pois}, key=lambda h: (h != "dev", h))
    rows = []
    for half in [*halves, "all"]:
        members = [p for p in pois if half in ("all", p.half)]
        row = PoiScores(half, len({p.video_id for p in members}), len(members))
        row.uncertain_skipped = uncertain if half == "all" else 0
        for p in members:
            best = None
            for s, e in _occurrences(texts[p.video_id], p.name):
                for ps, pe, lat, lon, approx in placed[p.video_id]:
                    overlap = min(e, pe) - max(s, ps)
                    if overlap > 0 and (best is None or overlap > best[0]):
                        best = (overlap, lat, lon, approx)
            if best is None:
                row.misses.append(f"{p.name} (not found)")
                continue
            row.found += 1
            _, lat, lon, approx = best
            if lat is None or lon is None:
                row.misses.append(f"{p.name} (not placed)")
                continue
            km = distance_km(lat, lon, p.lat, p.lon)
            row.own_point += not approx
            if km <= POI_WITHIN_KM:
                row.within += 1
            else:
                row.misses.append(f"{p.name} ({km:.0f} km{', approximate' if approx else ''})")
        rows.append(row)
    return rows


def markdown_table(rows: list[PoiScores]) -> str:
    lines = [
        "| POI gold half | videos | gold POIs | found (recall) | within 5 km (all gold) | within 5 km (found) "
        "| at own point |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.half} | {r.videos} | {r.gold} | {r.found} ({r.recall:.3f}) | {r.within} ({r.within_share:.3f}) "
            f"| {r.within_found_share:.3f} | {r.own_point} |"
        )
    return "\n".join(lines)

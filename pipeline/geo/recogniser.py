"""Offline place extraction: gazetteer-driven toponym recognition, no key, no network.

``recognize(text)`` finds toponyms with one Aho-Corasick automaton over every
gazetteer name (built once per process, shared): word boundaries, English
capitalisation rules, stop-lists (function words, months, titles), demonyms
("Americans") rejected, lower-case English words ("Bath", "Reading", "Nice")
and common given names/surnames only where the text uses them as places,
person names recognised from titles, given names, "X said" and propagated
through the text, longer names preferred over their parts, capitalised
phrases with a place-type head word ("Longshan Temple") taken as points of
interest, and the text's structure ("Buffalo, New York", "Egypt and Niger")
fixing markers. Lower-case transcripts keep only well-known names or names
with a cue ("in", "the town of", the state after the town: "orlando fla"), and
a name kept once keeps its other uses in the text. Chinese text uses the same automaton
(longest match) over the gazetteer's Chinese names.

``OfflineExtractor`` runs ``recognize`` over the whole transcript of one video
and turns each distinct name into a ``Place`` (first mention keeps its
timecode and segment text as evidence), described from the gazetteer after
joint disambiguation of all the video's names. That description and marker are
provisional (the marker is the geocoder's hint): the geocoder's answer, which knows
the channel's home areas, re-describes each place it places (``pipeline.geo.describe``).
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

from ..datatypes import ExtractionResult, Place, Window
from .describe import TAGS as _TAGS
from .describe import describe_entry, describe_marker
from .gazetteer import GENERIC_DISTRICTS, Entry, Gazetteer, Resolver, _resolve_cached, get_gazetteer
from .gazetteer import METHOD_VERSION as GEOCODER_METHOD
from .toponyms import build as _build
from .toponyms.text import (
    ABBREVIATION_KEYS,
    CITY_SHORT_FORMS,
    FUNCTION_WORDS,
    POI_HEADS,
    STOPWORDS,
    count_cjk,
    fold,
    has_cjk,
    is_cjk_char,
    name_key,
    word_list,
)

VERSION = "18"


@dataclass(frozen=True)
class Thresholds:
    """Every number the recogniser's rules decide with, in one table (what each decides in its comment)."""

    # populations
    big_person_place: int = 500_000  # a town meant by a bare name that is also a person's ("Dallas")
    big_person_region: int = 100_000  # ... a first-level region ("Georgia"; not "Michael", Isle of Man)
    own_town_not_demonym: int = 10_000  # a town of its own is no people's name ("Trenton" is not of Trento)
    lower_case_multi: int = 50_000  # lower-case text: a multi-word name this big needs no cue
    lower_case_cued: int = 10_000  # ... any other name needs a cue ("in", "the town of") and this many
    lower_context_pop: int = 5_000  # lower-case text: a town this big in a region the text names is meant
    lower_context_candidates: int = 5  # ... among a name's best candidates
    lower_person_container: int = 10_000  # lower-case text: a person's name before a state that is one too
    # ("george washington") is a town this big there
    word_town: int = 100_000  # lower-case text: an English word is a place's own name this big ("nice", "paris")
    elsewhere_town: int = 10_000  # a town below this size needs its country among the text's sure places
    elsewhere_candidates: int = 5  # ... among a name's best candidates
    zh_two_chars: int = 500_000  # Chinese: a two-character name is a city this big (or an admin area)
    zh_suffixed: int = 10_000  # ... a longer name ending in 市/县/区... a town this big
    zh_other: int = 100_000  # ... other longer names
    zh_confident: int = 1_000_000  # ... higher confidence from this size
    # lengths and counts
    short_name_len: int = 3  # names this short are words or codes ("Ely", "NSW"); longer capitals are names
    inflection_stem: int = 2  # lower-case text: "using" is "use" + "ing" from a stem this long
    title_abbrev_len: int = 4  # "Judge." longer than this with a full stop ends a sentence, not a title
    many_candidates: int = 5  # a weak name of more places than this is less sure ("Springfield")
    cased_min_letters: int = 20  # fewer letters: casing judged by any capital at all
    cased_min_upper: float = 0.005  # share of capitals above which a text is cased ...
    cased_max_upper: float = 0.5  # ... and below which it is not all capitals
    headline_reach: int = 1000  # characters searched either side for a headline's line or sentence end
    headline_min_words: int = 4  # a Title Case headline has this many words ...
    headline_max_words: int = 16  # ... up to this many,
    headline_max_commas: int = 2  # ... fewer commas than this (else a list of names),
    headline_caps_share: float = 0.7  # ... and this share of capitalised words
    # confidences
    conf_base: float = 0.6  # a gazetteer match that passed the rules
    conf_strong: float = 0.2  # + a strong name (country, region, big city)
    conf_multi: float = 0.1  # + a multi-word name
    conf_floor: float = 0.05  # lowest confidence given
    conf_ceiling: float = 0.98  # highest confidence given
    conf_lower_settlement: float = 0.4  # "the town of cintra" in a cased text
    conf_dateline: float = 0.8  # "ROANOKE -- ..."
    conf_lower_feature: float = 0.6  # "the pyrenees" in lower-case text
    conf_abbreviation: float = 0.8  # "U.S.", "Napa, CA"
    conf_lower_abbreviation: float = 0.7  # "the us" in lower-case text
    conf_city_capitalised: float = 0.8  # "Gaza Militants": a city (nobody's name) before a capitalised word
    conf_lowercase_well_known: float = 0.5  # "flood in kashmir" in a cased text (a tweet)
    conf_lower_person_town: float = 0.4  # "protest in ferguson" in lower-case text
    conf_event_place: float = 0.6  # "the Napa earthquake" in a cased text
    conf_lower_event_place: float = 0.5  # "the napa earthquake" in lower-case text
    conf_hashtag: float = 0.7  # "#SierraLeone", "#SupportGaza", "#miami" in a cased text (a tweet)
    conf_zh_sure: float = 0.75  # Chinese: an admin area or a city of ``zh_confident``
    conf_zh_other: float = 0.55  # ... other Chinese names
    discount_given: float = 0.2  # a given name before a surname (kept only if alone elsewhere)
    discount_english_word: float = 0.2  # an English word kept as a place
    discount_person: float = 0.2  # a person's name kept as a place
    discount_context: float = 0.2  # lower-case text: a name kept for the region the text is about
    discount_lower: float = 0.1  # any name in lower-case text
    discount_many: float = 0.1  # a weak name of many places


THRESHOLDS = Thresholds()

_CONNECTORS = word_list("connectors")
_TITLES = word_list("titles")
_RULER_TITLES = word_list("ruler_titles")
_SPEECH_VERBS = word_list("speech_verbs")
_GOVERNOR_OF = re.compile(r"\b[Gg]overnor of (?:the state of )?$")
_AFTER_TOWN_COMMA = re.compile(r"[A-Z][\w.'\u2019-]*, $")  # "Rockville, |Maryland"
_COMPASS_ADJECTIVES = word_list("compass_adjectives")
_AREA_NOUNS = word_list("area_nouns")
_AREA_WORDS = word_list("area_words")
_ORDINALS = word_list("ordinals")
_NAME_QUALIFIERS = word_list("name_qualifiers")
_LOCATIVE = word_list("locative")
_ORG_HEADS = word_list("org_heads")
_DIVISION_HEADS = word_list("division_heads")
_CALENDAR_WORDS = word_list("calendar_words")
_ALL_HEADS = frozenset(POI_HEADS) | {"st", "ave", "rd", "blvd", "hwy"}
_FURTHER_HEAD = re.compile(r" ([A-Z][a-z]+\.?)(?![\w'\u2019\-])")
_SAINT_BEFORE = re.compile(r"(?<![\w.])(?:St|Mt|Ft)\. $")


def _capitalised_before(text: str, start: int) -> bool:
    """The word right before ``start`` is capitalised and does not begin a sentence."""
    prev, prev_start = _prev_word(text, start)
    adjacent = prev_start + len(prev) + 1 == start
    return bool(prev) and adjacent and prev[:1].isupper() and not _sentence_initial(text, prev_start)


_NAME_ARTICLES = word_list("name_articles")
# A compass word or "Old" written before a street name belongs to it
_STREET_DIRECTION = re.compile(
    r"(?<![\w.])(?:(?:North|South|East|West)(?:east|west)?|Old|[NSEW]\.(?:[EW]\.)?|N[EW]|S[EW]) $"
)
# after a given name: a middle initial and a capitalised word, or one word (the surname)
_SURNAME_AFTER = re.compile(r" (?:([A-Z]\. [A-Z][a-z]{2,})|([A-Za-z][a-z'\u2019]+|[A-Z]{3,}))\b(?![.'\u2019]?[A-Za-z])")
_WORD = re.compile(r"[^\W_]+(?:['\u2019.\-][^\W_]+)*\.?", re.UNICODE)
_POI_HEAD_WORDS = (
    "|".join(sorted((h.capitalize() for h in POI_HEADS), key=len, reverse=True)) + r"|St\.|Ave\.|Rd\.|Blvd\.|Hwy\."
)
_POI = re.compile(
    r"(?<![\w'\u2019\-])((?:(?:[A-Z](?:[\w\-]|['\u2019](?!s\b))*|\d{1,4}|of|the|de|du|la|le)\s+){0,4}?"
    r"[A-Z](?:[\w\-]|['\u2019](?!s\b))*\s+(?:" + _POI_HEAD_WORDS + r"))(?![\w'])"
)
_POI_PREFIX = re.compile(
    r"(?<![\w'])((?:Mount|Mt\.|Lake|Cape|Isle of|Gulf of|Bay of|Sea of|River|Park)\s+"
    r"[A-Z][\w'\u2019\-]*(?:\s+[A-Z][\w'\u2019\-]*)?)(?![\w'])"
)
# Head first, English: "Temple of Debod", "Church of the Society of Jesus", "Magic Fountain of Montjuïc"
# ("Church of Christ", "Church of Scientology": in English a church "of" is mostly a denomination)
_POI_OF_HEADS = sorted(
    (h.capitalize() for h, kind in POI_HEADS.items() if kind == "poi" and h not in ("church", "port")),
    key=len,
    reverse=True,
)
_POI_OF = re.compile(
    r"(?<![\w'\u2019\-])((?:[A-Z][\w\-]*\s+){0,2}(" + "|".join(_POI_OF_HEADS) + r")\s+of\s+(?:the\s+)?"
    r"([A-Z][\w\-]*(?:\s+[A-Z][\w\-]*){0,3}))(?![\w'])"
)
_ROMANCE_POI_HEADS = word_list("romance_poi_heads")
_ROMANCE_STREET_HEADS = word_list("romance_street_heads")
_ROMANCE_CONNECTORS = word_list("romance_connectors")
_CAP_WORD = r"[A-ZÀ-Ý][\w'\u2019\-]*"
_ROMANCE_POI = re.compile(
    r"(?<![\w'\u2019\-])(?:"
    + "|".join(sorted(_ROMANCE_POI_HEADS | _ROMANCE_STREET_HEADS, key=len, reverse=True))
    + r")(?:\s+(?:"
    + "|".join(sorted(_ROMANCE_CONNECTORS, key=len, reverse=True))
    + r"))*\s+"
    + _CAP_WORD
    + r"(?:\s+(?:(?:"
    + "|".join(sorted(_ROMANCE_CONNECTORS, key=len, reverse=True))
    + r")\s+)*"
    + _CAP_WORD
    + r"){0,2}(?![\w'\u2019\-])"
)
_LOWER_TOKEN = re.compile(r"[\w'\u2019]+")
_LOWER_POI_WORDS = 3  # lower-case text: words of a landmark's name before its head word
_LOWER_POI_PREFIX = word_list("lower_poi_prefix")
_LOWER_COMPASS = word_list("lower_compass")
_LOWER_ROMANCE_STREETS = frozenset(h.lower() for h in _ROMANCE_STREET_HEADS)
_LOWER_ROMANCE_HEADS = frozenset(h.lower() for h in _ROMANCE_POI_HEADS) | _LOWER_ROMANCE_STREETS | word_list(
    "lower_romance_heads"
)
_LOWER_ROMANCE_CONNECTORS = frozenset(_ROMANCE_CONNECTORS)
_LOWER_KIND_WORDS = word_list("lower_kind_words")
_CURRENCY_NAMES = word_list("currency_names")
_NUMBER_WORDS = word_list("number_words")
_ROMANCE_OF = word_list("romance_of")
_ROMANCE_TAIL = re.compile(
    r" (?:" + "|".join(sorted(_ROMANCE_OF | {"della", "dei", "delle"}, key=len, reverse=True))
    + r")(?: (?:la|las|los|le|les|lo))? [A-Z][\w\-]+(?![\w'])"
)
_ROMANCE_PLACE_WORDS = word_list("romance_place_words")
_LOWER_TIME_WORDS = word_list("lower_time_words") | _CALENDAR_WORDS
_LOWER_DISCOURSE_WORDS = word_list("lower_discourse_words")
_LOWER_HEAD_MODIFIERS = word_list("lower_head_modifiers")
_LOWER_POI_STOP = STOPWORDS | _LOCATIVE | _CONNECTORS | word_list("articles") | _ALL_HEADS | _LOWER_COMPASS
_PLACE_NUMBER = re.compile(r"\s(\d{3})\b(?![.,]\d)(?!\s*(?:%|percent|people|km|miles|years|am|pm|a\.m|p\.m))")


class RuleDecision(NamedTuple):
    """A rule that fired on a match (``recognize(..., trace=...)``)."""

    start: int
    end: int
    key: str
    rule: str
    verdict: Verdict


@dataclass
class Mention:
    """A toponym found in a text (character offsets, end exclusive)."""

    start: int
    end: int
    surface: str
    key: str  # folded gazetteer key (or folded surface for POIs outside the gazetteer)
    marker: str = "other"
    candidate_ids: list[int] = field(default_factory=list)  # geonameids, best prior first
    kind: str = "gazetteer"  # "gazetteer" | "poi"
    confidence: float = 0.5
    qualifier: str = ""  # "Texas" in "Paris, Texas": the enclosing region/country named right after
    marker_hint: str = ""  # marker fixed by the text's structure ("Buffalo, New York" -> region)


# ------------------------------------------------------------- helpers
def text_is_cased(text: str) -> bool:
    """False for lower-cased (or all-capital) transcripts, where capitals carry no signal."""
    # counted with C-level loops (map/regex): this runs over whole transcripts
    n_letters = sum(map(str.isalpha, text)) - count_cjk(text)
    if n_letters < THRESHOLDS.cased_min_letters:
        letters = [c for c in text if c.isalpha() and not is_cjk_char(c)]
        return any(c.isupper() for c in letters) and not all(c.isupper() for c in letters)
    upper = sum(map(str.isupper, text))  # (Chinese characters have no case)
    ratio = upper / n_letters
    return THRESHOLDS.cased_min_upper < ratio < THRESHOLDS.cased_max_upper


def _capitalised(surface: str) -> bool:
    tokens = [t for t in re.split(r"[\s\-/]+", surface) if t]
    if not tokens or not tokens[0][:1].isupper():
        return False
    for t in tokens[1:]:
        if t[:1].isupper() or t[:1].isdigit() or t.lower() in _CONNECTORS:
            continue
        if _ELIDED.match(t):
            continue  # "Côte d'Ivoire", "Valle d'Aosta"
        return False
    return True


_ELIDED = re.compile(r"^[a-z]{1,4}['\u2019][A-Z]")


def _prev_word(text: str, start: int) -> tuple[str, int]:
    """The word right before ``start`` (same sentence, single space apart), and its start."""
    j = start - 1
    if j < 0 or text[j] != " ":
        return "", -1
    k = j
    while k > 0 and (text[k - 1].isalnum() or text[k - 1] in ".'\u2019-"):
        k -= 1
    return text[k:j], k


def _next_word(text: str, end: int) -> str:
    if end >= len(text) or text[end] != " ":
        return ""
    m = _WORD.match(text, end + 1)
    return m.group(0) if m else ""


# The hundred commonest Chinese family names, and suffixes that mark a Chinese place name.
_ZH_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_ZH_PLACE_SUFFIX = frozenset("市县区省州镇乡村")
# Landmark words after a place name: stations, temples, grottoes, parks, squares, museums ...
_ZH_POI_HEADS = ("火车站", "机场", "石窟", "博物馆", "公园", "广场", "古镇", "老街", "景区", "大桥", "寺", "站")
_ZH_NATURAL_HEADS = frozenset({"石窟"})
_ZH_POI = re.compile(r"([\u4e00-\u9fff]{2,5}?)(" + "|".join(_ZH_POI_HEADS) + ")")

_ABBREV_DOT = word_list("abbrev_dot")
# two or three single letters, one space apart ("U S", "u s a"), not part of a longer run ("a b c d")
_HASHTAG = re.compile(r"(?<![\w#])#([^\W_]+)")
_CAMEL_WORD = re.compile(r"[A-Z][a-z]+|[A-Z]+(?![a-z])|[a-z]+|\d+")
_SPELLED = re.compile(r"(?<![\w.'\u2019-])[A-Za-z](?: [A-Za-z]){1,2}(?![\w.'\u2019-])")
_SPELLED_KEYS = word_list("spelled_letters")
_SPELLED_AFTER = re.compile(r" [A-Za-z](?![\w'\u2019])")
_SPELLED_BEFORE = re.compile(r"(?:^|.(?<![\w.'\u2019-]))[A-Za-z] $")
# cased text: the letters are capitals ("I do n't like D C a whole lot": "a" is the article)
_SPELLED_CASED = re.compile(r"(?<![\w.'\u2019-])[A-Z](?: [A-Z]){1,2}(?![\w.'\u2019-])")
_SPELLED_AFTER_CASED = re.compile(r" [A-Z](?![\w'\u2019])")
_SPELLED_BEFORE_CASED = re.compile(r"(?:^|.(?<![\w.'\u2019-]))[A-Z] $")


def _sentence_initial(text: str, start: int) -> bool:
    """True when ``start`` begins a sentence, heading or quotation (capitals carry no signal)."""
    j = start
    while j > 0 and text[j - 1] in " \t":
        j -= 1
    if j == 0 or text[j - 1] == "\n":
        return True
    ch = text[j - 1]
    if ch in '!?:;"\u201c\u201d([':
        return True
    if ch != ".":
        return False
    k = j - 1
    while k > 0 and (text[k - 1].isalnum() or text[k - 1] == "."):
        k -= 1
    token = text[k : j - 1].lower()
    if token in _ABBREV_DOT or (len(token) == 1 and token.isalpha()):
        return False  # "Dr. Evans", "J. Smith", "Jan. 30"
    return True


_GENERIC_PREFIX = re.compile(
    r"(the )?(?:city|town|village|borough|township|county|parish|state|province|commonwealth|district)"
    r"(?: of (.+))?$"
)
_DISEASE_NOUNS = word_list("disease_nouns")
_NON_PLACE_PHRASES = frozenset(w.replace("_", " ") for w in word_list("non_place_phrases"))
_CITY_ORG = word_list("city_org")
_SETTLEMENT_NOUNS = word_list("settlement_nouns")
_ARTICLES = word_list("articles")
_SAINTS = word_list("saints")
_AGE_AFTER = re.compile(r",\s*\d{1,3}\s*[,.;)]")  # "Flores, 26, had ..."


_INSTITUTION_HEADS = word_list("institution_heads")


def _names_institution(text: str, m: Mention) -> bool:
    nxt = _next_word(text, m.end)
    return nxt[:1].isupper() and nxt.lower().rstrip(".") in _INSTITUTION_HEADS


def _ampersand_name(text: str, m: Mention, starts: set[int], ends: set[int]) -> bool:
    """ "Stevens & Wilkinson", "Crate & Barrel", "Kansas City Power & Light": a firm's name,
    unless the other side is a place too ("Trinidad & Tobago")."""
    if text[m.end : m.end + 3] == " & " and text[m.end + 3 : m.end + 4].isupper():
        return (m.end + 3) not in starts
    if m.start >= 4 and text[m.start - 3 : m.start] == " & " and text[m.start - 4].isalpha():
        return (m.start - 3) not in ends
    return False


def _with_township(gz: Gazetteer, text: str, m: Mention) -> Mention:
    """ "Madison Township", "Nyanza Province", "DeSoto Parish": the span takes the division's
    head word (geocoded by its name)."""
    head = _next_word(text, m.end).rstrip(".,;:")
    if (
        m.kind == "gazetteer"
        and head in _DIVISION_HEADS
        and m.marker not in ("country", "continent")
        and not gz.has_key(name_key(f"{m.surface} {head}"))  # "Laurel County" is matched as itself
    ):
        end = m.end + 1 + len(head)  # without a following full stop
        return Mention(m.start, end, text[m.start : end], m.key, "region", m.candidate_ids, m.kind, m.confidence)
    return m


def _city_org(text: str, m: Mention, clean: set[str]) -> bool:
    """ "Dublin City Council": the place is "Dublin" (when that name was matched too)."""
    if not m.key.endswith(" city") or m.key[:-5] not in clean:
        return False
    return _next_word(text, m.end).lower().rstrip(".,;:") in _CITY_ORG


def _party_prefix(text: str, start: int) -> bool:
    """ "Rep. Nick Rahall, D-W.Va.": a party letter and hyphen before a state/home town."""
    return (
        start >= 2
        and text[start - 1] == "-"
        and text[start - 2] in "DRI"
        and (start == 2 or not text[start - 3].isalnum())
    )


def _compound_word(gz: Gazetteer, text: str, end: int) -> bool:
    """The match is the first half of a hyphenated capitalised non-place compound."""
    if end + 1 >= len(text) or text[end] != "-":
        return False
    if text[end + 1].isdigit():
        return True  # "US-24", "I-95"
    if not text[end + 1].isupper():
        return False  # "Ohio-based"
    county = _HYPHEN_COUNTY.match(text, end + 1)
    if county and gz.has_key(name_key(county.group(0))):
        return False  # "Paris-Henry County Arts Council": two places
    m = _WORD.match(text, end + 1)
    return bool(m) and not gz.flags.get(name_key(m.group(0).rstrip(".")), 0) & _build.KEY_STRONG


_DATELINE = re.compile(r"(?:,\s*[A-Z][A-Za-z.]*)?(?:\s*(?:--|\u2014|\u2013)|\s*\(AP\)|  \S)")
_HYPHEN_COUNTY = re.compile(r"[A-Z][\w'\u2019]* (?:County|Parish)\b")


def _hyphen_partner(gz: Gazetteer, text: str, start: int) -> bool:
    """ "Egyptian-US relations", "the Washington-Moscow route": a place or demonym before the hyphen."""
    if start < 3 or text[start - 1] != "-" or not text[start - 2].isalpha():
        return False
    k = start - 2
    while k > 0 and (text[k - 1].isalpha() or text[k - 1] == "."):
        k -= 1
    word = text[k : start - 1]
    if not word[:1].isupper() or not text[start : start + 1].isupper():
        return False
    key = name_key(word)
    return bool(gz.flags.get(key, 0) & _build.KEY_STRONG) or _is_demonym(gz, key)


_PLACE_NOUNS = word_list("place_nouns")


_HEADLINE_LOWER = word_list("headline_lower")


_HEADLINE_REACH = THRESHOLDS.headline_reach


def _title_case(text: str, pos: int) -> bool:
    """Inside a Title Case headline ("Freemason Bogdanov Joins Sochi Mayor Race"): capitals say little."""
    # look for the line's or sentence's ends only nearby: a search to the text's ends made
    # every call linear in the text (no newline in a joined transcript); a stretch this
    # long without one has far more than 16 words, which is no headline anyway
    w0 = max(0, pos - _HEADLINE_REACH)
    w1 = min(len(text), pos + _HEADLINE_REACH)
    lo_b = max(text.rfind("\n", w0, pos), text.rfind(". ", w0, pos))
    if lo_b == -1 and w0 > 0:
        return False
    lo = max(lo_b, -1) + 1
    hi_candidates = [i for i in (text.find("\n", pos, w1), text.find(". ", pos, w1)) if i != -1]
    if not hi_candidates and w1 < len(text):
        return False
    hi = min(hi_candidates) if hi_candidates else len(text)
    span = text[lo:hi]
    words = [w for w in span.split() if w[:1].isalpha()]
    t = THRESHOLDS
    if (
        len(words) < t.headline_min_words
        or len(words) > t.headline_max_words
        or span.count(",") >= t.headline_max_commas
    ):
        return False  # a list of names ("Frank Chiaramonte, Marsha Bernstein, ...") is no headline
    if any(w[:1].islower() and w.lower().strip(",;:") not in _HEADLINE_LOWER for w in words):
        return False  # Title Case keeps only short function words in lower case ("... were ...")
    caps = sum(1 for w in words if w[:1].isupper())
    return caps / len(words) >= t.headline_caps_share


def _place_of(text: str, prev_start: int) -> bool:
    """ "the city of X", "north of X", "John Smith, of X": "of" after a place noun or a comma."""
    if prev_start < 0 or text[prev_start : prev_start + 3].lower() != "of ":
        return False
    if prev_start >= 2 and text[prev_start - 2 : prev_start] == ", ":
        return True
    word, _ = _prev_word(text, prev_start)
    return word.lower().rstrip(".,") in _PLACE_NOUNS


def _is_feature(ids: list[int], sources: tuple[str, ...] = ("features",)) -> bool:
    """A curated sea, river, mountain, island or region (or an entry of another of the
    given sources) is among the best candidates."""
    return any(_build.id_source(i)[0] in sources for i in ids)


_NOUN_PHRASE_END = word_list("noun_phrase_end")


_PUNCT_APART = frozenset(" " + p for p in ".,;:!?")  # " ." in a tokenised transcript


def _ends_noun_phrase(text: str, end: int) -> bool:
    """ "the Pacific." / "the Pacific and ...": the word is a noun here, not "the Pacific coast"
    (also before punctuation written apart, as tokenised transcripts do: "from the Gulf .")."""
    if text[end : end + 2] in _PUNCT_APART:
        end += 1
    if end >= len(text) or text[end] in ".,;:!?)\"'\u2019\n":
        return True
    return _next_word(text, end).lower() in _NOUN_PHRASE_END


def _settlement_of(text: str, prev_start: int) -> bool:
    """ "town of X", "city of X", "village of X"."""
    if prev_start < 0 or text[prev_start : prev_start + 3].lower() != "of ":
        return False
    word, _ = _prev_word(text, prev_start)
    return word.lower() in _SETTLEMENT_NOUNS


def _followed_by_region(gz: Gazetteer, text: str, end: int) -> bool:
    """ "Bath, England" / "Union, N.J.": a comma and a country, region or state abbreviation
    right after (not "Health Minister, Abdel Mohammed")."""
    if not (end + 2 < len(text) and text[end] == "," and text[end + 1] == " " and text[end + 2].isupper()):
        return False
    words = _WORD.findall(text[end + 2 : end + 60])[:3]
    for n in range(len(words), 0, -1):
        key = name_key(" ".join(words[:n]))
        flags = gz.flags.get(key, 0)
        if flags & (_build.KEY_ABBREV | _build.KEY_STRONG):
            return True
    return False


def _english_plural(gz: Gazetteer, key: str) -> bool:
    """The plural of an English word: "lakes", "monasteries", "churches"."""
    return (
        (key.endswith("s") and key[:-1] in gz.common_words)
        or (key.endswith("ies") and key[:-3] + "y" in gz.common_words)
        or (key.endswith("es") and key[:-2] in gz.common_words)
    )


_INFLECTIONS = ("ing", "ed", "est")  # (not "er": "niger", "chester" would be "nig", "chest")


def _english_inflection(gz: Gazetteer, key: str) -> bool:
    """An inflected English word the word list does not hold: "using", "installed", "simmering",
    "grandest" (its stem, the stem with "e", or with its last consonant undoubled is a word)."""
    for suffix in _INFLECTIONS:
        if key.endswith(suffix) and len(key) - len(suffix) >= THRESHOLDS.inflection_stem:
            stem = key[: -len(suffix)]
            if stem in gz.common_words or stem + "e" in gz.common_words:
                return True
            if len(stem) > 1 and stem[-1] == stem[-2] and stem[:-1] in gz.common_words:
                return True
    return False


def _big_place(marker: str, pop: int) -> bool:
    """Big enough to be meant by its bare name when that name is also a person's ("Georgia",
    "Dallas"); "Michael" (a parish of the Isle of Man) and "Douglas" (counties) are not."""
    big = THRESHOLDS.big_person_region if marker == "region" else THRESHOLDS.big_person_place
    return marker in ("country", "continent") or pop >= big


def _is_demonym(gz: Gazetteer, key: str) -> bool:
    d = gz.demonyms
    if key in d:
        return True
    if key.endswith("s") and key[:-1] in d:
        return True
    return key in _EXTRA_DEMONYMS or _derived_demonym(gz, key)


# name of a people formed from a place's name: "Ohio" -> "Ohioans", "South Ossetia" -> "South
# Ossetian", "Dagestan" -> "Dagestani", "Florida" -> "Floridian", "New York" -> "New Yorkers"
_DEMONYM_SUFFIXES = (
    ("ians", ("", "a", "ia", "o", "e", "y")),
    ("ian", ("", "a", "ia", "o", "e", "y")),
    ("ans", ("", "a", "o", "e", "as")),
    ("an", ("", "a", "o", "e", "as")),
    ("ns", ("",)),
    ("n", ("",)),
    ("is", ("",)),
    ("i", ("",)),
    ("ers", ("",)),
    ("er", ("",)),
    ("ese", ("", "a")),
    ("ites", ("", "a", "e")),
    ("ite", ("", "a", "e")),
)


@lru_cache(maxsize=4096)
def _derived_demonym(gz: Gazetteer, key: str) -> bool:
    if " " not in key and not key.isalpha():
        return False  # "st.", "u.s.": abbreviations
    if gz.flags.get(key, 0) & _build.KEY_STRONG:
        return False  # a strong place name is that place ("Hawaii", "Indiana")
    if any(
        e.population >= THRESHOLDS.own_town_not_demonym or e.feature_code in ("ADM1", "ADM2")
        for e in gz.candidates(key)[:5]
    ):
        return False  # a town of its own ("Trenton" is no people of Trento)
    for suffix, endings in _DEMONYM_SUFFIXES:
        if not key.endswith(suffix) or len(key) - len(suffix) < 3:
            continue
        stem = key[: -len(suffix)]
        for ending in endings:
            place = stem + ending
            if gz.flags.get(place, 0) & _build.KEY_STRONG or _is_feature(
                [gz.entry(p >> 1).geonameid for p in gz.postings(place)[:3]]
            ):
                return True
    return False


_EXTRA_DEMONYMS = word_list("extra_demonyms")
_LOWER_PLACE_AFTER = word_list("lower_place_after")
_AGE_OF = re.compile(r"(?<![\w.])\d{1,3} of $")  # "jeremy watson 30 of ten mile"
_LOWER_WORDS = re.compile(r"[^\W\d_]+")
_SPOKEN_CODES = word_list("spoken_state_codes")
_KEY_FIRST_WORD = re.compile(r"[ .]")  # a key's words: "new south wales", "s.d."
_CONTAINER_REACH = 40  # characters searched after a name for "fla", "ohio", "new south wales"


class _Recognizer:
    def __init__(self, gz: Gazetteer) -> None:
        self.gz = gz
        self.resolver = Resolver(gz)
        self._info: dict[str, tuple[Any, ...]] = {}

    def _best_entry_info(self, key: str) -> tuple[str, list[int], int, int]:
        """(marker, geonameids, max population, n candidates) of a key, best prior first."""
        info = self._info.get(key)
        if info is None:
            cands = self.resolver._candidates(key)
            if not cands:
                info = ("other", (), 0, 0, ())
            else:
                info = (
                    cands[0].entry.marker,
                    tuple(c.entry.geonameid for c in cands[:5]),
                    max(c.entry.population for c in cands),
                    len(cands),
                    tuple(c.entry for c in cands),
                )
            if len(self._info) > 200_000:
                self._info.clear()
            self._info[key] = info
        return info[0], list(info[1]), info[2], info[3]

    @cached_property
    def _container_starts(self) -> frozenset[str]:
        """The first words of the names ``container_after`` can find (strong names and state
        abbreviations: "new" of "new south wales", "fla" of "fla."), so most words are passed
        over without the key lookups."""
        strong = _build.KEY_STRONG | _build.KEY_ABBREV
        return frozenset(_KEY_FIRST_WORD.split(k, 1)[0] for k, f in self.gz.flags.items() if f & strong)

    def container_after(self, text: str, end: int, key: str, via_in: bool = False) -> tuple[int, str] | None:
        """Lower-case text: "orlando fla", "kansas city kan", "canton ohio", "van turkey": the next
        one to three words name a state (or its abbreviation, written without its full stop), a
        region or a country where one of the name's places lies; with ``via_in`` also after "in"
        ("raleigh in north carolina"; not after an English word: "the bank in texas"). (The end
        of those words and their key, or None.)"""
        if end >= len(text) or text[end] != " ":
            return None
        if via_in and text.startswith(" in ", end) and not self.gz.flags.get(key, 0) & _build.KEY_COMMON:
            end += 3
        words = _LOWER_WORDS.findall(text, end + 1, end + 1 + _CONTAINER_REACH)[:3]
        if not words or text[end + 1 : end + 1 + len(words[0])] != words[0]:
            return None
        if name_key(words[0]) not in self._container_starts:
            return None  # no state, region or country name begins with this word (most words)
        gz = self.gz
        for n in range(len(words), 0, -1):
            joined = name_key(" ".join(words[:n]))
            for k in (joined, joined + ".", joined.replace(" ", ".") + "."):
                flags = gz.flags.get(k, 0)
                if k in STOPWORDS or k in _SPOKEN_CODES or not flags & (_build.KEY_STRONG | _build.KEY_ABBREV):
                    continue
                # "george washington": two persons' names are a person, unless the town is a big one
                least = THRESHOLDS.lower_person_container if flags & gz.flags.get(key, 0) & _build.KEY_PERSON else 0
                areas = [a for a in self.entries(k)[:3] if a.feature_code in ("PCLI", "ADM1", "ADM2")]
                if any(_contains(a, e) and e.population >= least for a in areas for e in self.entries(key)):
                    return text.index(words[n - 1], end + 1) + len(words[n - 1]), k
        return None

    def entries(self, key: str) -> tuple[Entry, ...]:
        """The candidates of a key, best prior first (memoised: the same names recur all through a text)."""
        self._best_entry_info(key)
        return self._info[key][4]

    def recognize(
        self,
        text: str,
        *,
        cased: bool | None = None,
        trace: list[RuleDecision] | None = None,
        disabled: frozenset[str] = frozenset(),
    ) -> list[Mention]:
        gz = self.gz
        skip_stopwords = "stopword" not in disabled
        folded = fold(text)
        if cased is None:
            cased = text_is_cased(text)
        found: list[Mention] = []
        persons: set[str] = set()  # single names used as surnames somewhere in this text
        tentative: list[Mention] = []  # "Gainesville Environmental ...": kept if "Gainesville" stands alone too
        needs_support: list[Mention] = []  # person-like names: kept if used as a place somewhere here
        needs_country: list[Mention] = []  # small towns: kept if the text's sure places are in their country
        needs_name: list[Mention] = []  # lower-case text: kept if the same name is taken as a place elsewhere
        supported: set[str] = set()
        abbrev: list[tuple[int, int, str]] = []
        n = len(folded)
        keys, gz_flags = gz.keys, gz.flags
        for end_idx, kid in gz.automaton.iter(folded):  # hot loop: ~65,000 matches per MB of text
            key = keys[kid]
            start = end_idx - len(key) + 1
            end = end_idx + 1
            cjk = key[0] >= "\u3400" and is_cjk_char(key[0])
            if not cjk:
                if end < n and folded[end].isalnum():
                    continue
                if end + 1 < n and folded[end] in "'\u2019" and folded[end + 1] == "t" and key[-1] == "n":
                    continue  # "Aren't", "Isn't": the verb, not Aren (a town)
                if start > 0:
                    before = folded[start - 1]
                    if before.isalnum() or before == "'":
                        continue  # inside a word (most raw matches)
                    if before == "-" and not _party_prefix(text, start) and not _hyphen_partner(gz, text, start):
                        continue  # ("D-Pa.", "R-Columbus", "Egyptian-US", "Washington-Moscow" are fine)
            flags = gz_flags.get(key, 0)
            if (
                skip_stopwords
                and not cjk
                and not flags & _build.KEY_ABBREV
                and key in STOPWORDS
                and key not in ABBREVIATION_KEYS
            ):
                if trace is not None:
                    trace.append(RuleDecision(start, end, key, "stopword", Verdict.REJECT))
                continue  # what the first rule rejects, without the call
            surface = text[start:end]
            if flags & _build.KEY_ABBREV:
                if key.count(".") >= 2 and surface[:1].isupper() or "." in key and _party_prefix(text, start):
                    marker, ids, _, _ = self._best_entry_info(key)
                    found.append(
                        Mention(start, end, surface, key, marker, ids, "gazetteer", THRESHOLDS.conf_abbreviation)
                    )
                else:  # "Ill.", "Pa.": only right after "<place>, "
                    abbrev.append((start, end, key))
                continue
            m = (
                self._check_cjk(text, key, start, end, surface, flags)
                if cjk
                else self._check_latin(
                    text,
                    key,
                    start,
                    end,
                    surface,
                    flags,
                    cased,
                    persons,
                    tentative,
                    needs_support,
                    supported,
                    trace,
                    disabled,
                    needs_country,
                    needs_name,
                )
            )
            if m is not None:
                found.append(m)
        f_starts, f_ends = {m.start for m in found}, {m.end for m in found}
        supported |= {m.key for m in needs_support if _listed_with_place(text, m, f_starts, f_ends)}
        if not cased and needs_support:
            supported |= self._in_context(found, needs_support)
            supported |= {m.key for m in found if m.kind == "gazetteer"}  # one sense per text
        found += [m for m in needs_support if m.key in supported]
        if needs_country:
            found += self._in_text_countries(found, needs_country)
        if needs_name:  # one sense per text: "in kent" ... "kent's board of finance"
            taken = {m.key for m in found if m.kind == "gazetteer"}
            found += [m for m in needs_name if m.key in taken]
        clean = {m.key for m in found}
        found += [m for m in tentative if m.key in clean]
        found = [m for m in found if not _city_org(text, m, clean)]
        if cased:
            starts, ends = {m.start for m in found}, {m.end for m in found}
            found = [
                _with_township(gz, text, m)
                for m in found
                if not _names_institution(text, m) and not _ampersand_name(text, m, starts, ends)
            ]
        if persons:  # "Dr. Dunn ... Dunn said": every lone "Dunn" is the person
            found = [
                m
                for m in found
                if " " in m.key
                or m.key not in persons
                or (gz.flags.get(m.key, 0) & (_build.KEY_STRONG | _build.KEY_PERSON)) == _build.KEY_STRONG
            ]
        if cased:
            found += self._pois(text) + self._romance_pois(text) + self._romance_longer(text, found)
        else:
            found += self._lower_pois(text)
        found += self._abbreviations(text, abbrev, found)
        if not cased:
            found += self._lower_abbreviations(text, found)
        found += self._spelled_letters(text, cased)
        if cased:
            found += self._hashtags(text, found)
        if has_cjk(text):
            found += self._cjk_pois(text)
        chosen = _select(found)
        if cased and CAPITALS_TITLE_RULE:
            chosen = _outside_capital_titles(text, chosen)
        chosen.sort(key=lambda m: m.start)
        return chosen

    # -------------------------------------------------------------- latin
    def _check_latin(
        self,
        text: str,
        key: str,
        start: int,
        end: int,
        surface: str,
        flags: int,
        cased: bool,
        persons: set[str],
        tentative: list[Mention],
        needs_support: list[Mention],
        supported: set[str],
        trace: list[RuleDecision] | None = None,
        disabled: frozenset[str] = frozenset(),
        needs_country: list[Mention] | None = None,
        needs_name: list[Mention] | None = None,
    ) -> Mention | None:
        """Judge one match by the rules of ``RULES``, in order (see there); ``trace`` collects
        which rule decided (and which lowered the confidence), ``disabled`` names rules to skip."""
        c = Candidate(self, text, key, start, end, surface, flags)
        t = THRESHOLDS
        conf = t.conf_base + (t.conf_strong if c.strong else 0.0) + (t.conf_multi if c.multi else 0.0)
        for rule in _active_rules(cased, disabled):
            if not rule.applies(c):
                continue
            verdict = rule.verdict
            if trace is not None:
                trace.append(RuleDecision(start, end, key, rule.name, verdict))
            if verdict is Verdict.DISCOUNT:
                conf -= rule.amount
                continue
            if verdict is Verdict.REJECT:
                return None
            if verdict is Verdict.SURNAME:
                persons.add(key)
                return None
            if verdict is Verdict.ACCEPT:
                return Mention(start, end, surface, key, c.marker, c.ids, "gazetteer", rule.amount)
            conf -= rule.amount
            m = Mention(start, end, surface, key, c.marker, c.ids, "gazetteer", round(max(t.conf_floor, conf), 2))
            if verdict is Verdict.GIVEN:
                tentative.append(m)
            elif verdict is Verdict.NEEDS_COUNTRY:
                needs_country.append(m)
            elif verdict is Verdict.NEEDS_NAME:
                needs_name.append(m)
            else:
                if verdict is Verdict.SUPPORTED:
                    supported.add(key)
                needs_support.append(m)
            return None
        if trace is not None:
            trace.append(RuleDecision(start, end, key, DEFAULT_ACCEPT, Verdict.ACCEPT))
        return Mention(
            start,
            end,
            surface,
            key,
            c.marker,
            c.ids,
            "gazetteer",
            round(max(t.conf_floor, min(conf, t.conf_ceiling)), 2),
        )

    def _is_country(self, key: str) -> bool:
        """ "United States flu season": no disease is named after a whole country."""
        return self._best_entry_info(key)[0] == "country"

    def _inside_longer_name(self, text: str, key: str, start: int, prev: str) -> bool:
        """The match ends a longer capitalised name whose first word is an English word
        ("Wild Dunes", "Club America"): the name is not the place's."""
        gz = self.gz
        prev_l = prev.lower()
        return (
            _capitalised_before(text, start)
            and prev[1:2].islower()
            and prev.isalpha()
            and prev_l in gz.common_words
            and prev_l not in STOPWORDS | _NAME_QUALIFIERS | _LOCATIVE | _CONNECTORS | _TITLES | _ORDINALS | _AREA_WORDS
            and not gz.has_key(name_key(prev))
            and not gz.has_key(name_key(f"{prev} {text[start : start + len(key)]}"))
            and not _title_case(text, start)
        )

    def _given_before_surname(self, text: str, key: str, end: int, surface: str) -> bool:
        """A country's or region's name that is also a given name ("Chad", "Jordan", "Paul",
        "Virginia") followed by a surname: a middle initial and a capitalised word, a census
        name that is no big place, or a capitalised word that is neither an English word nor
        in the gazetteer ("Mifsud")."""
        gz = self.gz
        if not gz.flags.get(key, 0) & _build.KEY_PERSON:
            return False
        m = _SURNAME_AFTER.match(text, end)
        if not m:
            return False
        if m.group(1):
            return True  # "Virginia L. Lane"
        word = m.group(2)
        if surface.isupper() != word.isupper() or not word[:1].isupper():
            return False  # "CHAD Walker" is no pattern; "KENT MALLETT" is
        low = word.lower()
        if low in STOPWORDS or low in _ORG_HEADS or low in _INSTITUTION_HEADS or low in _STREET_HEADS:
            return False
        if gz.has_key(name_key(surface + " " + word)):
            return False  # "Victoria Falls", "Kent County"
        flags = gz.flags.get(name_key(word), 0)
        if low in gz.person_names:
            return not flags & _build.KEY_STRONG
        return low not in gz.common_words and not gz.has_key(name_key(word))

    # ---------------------------------------------------------------- cjk
    def _check_cjk(self, text: str, key: str, start: int, end: int, surface: str, flags: int) -> Mention | None:
        """Chinese names: short ones are often ordinary words or given names (新民, 合作, 青年), so
        two-character names need a country/region or a big city; longer ones a town."""
        marker, ids, pop, _ = self._best_entry_info(key)
        # curated features (泰山, 长江) and official Chinese division names (万荣县) are names of places
        admin = marker in ("country", "region", "continent") or _is_feature(ids, ("features", "cn-adcode"))
        if start > 0 and text[start - 1] in _ZH_SURNAMES and len(key) == 2 and not admin:
            return None  # "赵新民" is a person
        if len(key) == 2 and not admin and pop < THRESHOLDS.zh_two_chars:
            return None
        least = THRESHOLDS.zh_suffixed if key[-1] in _ZH_PLACE_SUFFIX else THRESHOLDS.zh_other
        if len(key) >= 3 and not admin and pop < least:
            return None
        conf = THRESHOLDS.conf_zh_sure if admin or pop >= THRESHOLDS.zh_confident else THRESHOLDS.conf_zh_other
        return Mention(start, end, surface, key, marker, ids, "gazetteer", conf)

    # --------------------------------------------------------------- pois
    def _pois(self, text: str) -> list[Mention]:
        out = []
        for rx in (_POI, _POI_PREFIX):
            for m in rx.finditer(text):
                s, e = m.span(1)
                if rx is _POI_PREFIX and _capitalised_before(text, s):
                    continue  # "Neches River National Wildlife Refuge": "River" ends the name before it
                while (h := _FURTHER_HEAD.match(text, e)) and h.group(1).lower().rstrip(".") in _ALL_HEADS:
                    e = h.end()  # "Indian Lake Road", "Red River Valley", "Antelope Valley Freeway"
                if (a := _SAINT_BEFORE.search(text, max(0, s - 8), s)) and rx is _POI:
                    s = a.start()  # "St. Marys River"
                phrase = text[s:e]
                words = phrase.split()
                while (
                    words
                    and (
                        (words[0].lower() in _CONNECTORS | FUNCTION_WORDS | _TITLES or words[0].isdigit())
                        and words[0] not in _NAME_ARTICLES
                        or (  # "Forests of the Neches River": a sentence's first word
                            len(words) > 2
                            and words[1] in ("of", "the")
                            and {words[0].lower(), words[0].lower()[:-1]} & self.gz.common_words
                            and _sentence_initial(text, s)
                        )
                    )
                ):
                    s += len(words[0]) + 1
                    words = words[1:]
                if len(words) < 2:
                    continue
                phrase = text[s:e]
                key = name_key(phrase)
                if self._gazetteer_covers(key):
                    continue  # the gazetteer match covers it
                if rx is _POI_PREFIX and len(words) == 3 and self.gz.has_key(name_key(" ".join(words[:2]))):
                    continue  # "Mount Pleasant City Council": the town, which the gazetteer matches
                head = (words[-1] if rx is _POI else words[0]).lower().rstrip(".")
                if head in ("st", "ave", "rd", "blvd", "hwy"):
                    head = "street"
                marker = POI_HEADS.get(head, "natural" if rx is _POI_PREFIX else "poi")
                if (
                    marker == "street"
                    and _next_word(text, e)[:1].isupper()
                    and not phrase.endswith(".")
                    and _next_word(text, e).lower().rstrip(".,;:") not in _CALENDAR_WORDS
                ):
                    continue  # "Florida Highway Patrol": an organisation, not a road
                if marker == "street" and (d := _STREET_DIRECTION.search(text, max(0, s - 12), s)):
                    s = d.start()  # "North Main Street", "E. Broad St.", "Old Lexington Highway"
                    phrase, key = text[s:e], name_key(text[s:e])
                out.append(Mention(s, e, phrase, key, marker, [], "poi", 0.5))
        out += self._pois_of(text)
        return out

    def _lower_name_word(self, word: str) -> bool:
        """Lower-case text: a word that can be (part of) a landmark's or street's own name: no
        function word, head word or English word, unless a person's or a well-known place's name
        ("bucknell", "tyler", "washington"; not "the", "busy", "long")."""
        if len(word) < THRESHOLDS.short_name_len or not word.isalpha() or word in _LOWER_POI_STOP:
            return False
        gz = self.gz
        if word not in gz.common_words and not _english_plural(gz, word) and not _english_inflection(gz, word):
            return True
        return bool(gz.flags.get(word, 0) & _build.KEY_STRONG)

    def _kind_word(self, word: str) -> bool:
        """Lower-case text: a people's name or a word of ``lower_kind_words`` before a head word
        says what kind of landmark it is, not which one ("hindu temple", "taiwanese street food",
        "british fortress")."""
        return word in _LOWER_KIND_WORDS or _is_demonym(self.gz, word)

    def _lower_name_phrase(self, text: str, tokens: list[re.Match[str]]) -> bool:
        """Lower-case text: the words, one space apart, are a multi-word gazetteer name."""
        if any(b.start() != a.end() + 1 for a, b in zip(tokens, tokens[1:], strict=False)):
            return False
        return self.gz.has_key(name_key(text[tokens[0].start() : tokens[-1].end()]))

    def _lower_pois(self, text: str) -> list[Mention]:
        """Lower-case text: "north nokomis street", "bucknell drive", "salinas valley", "lake
        texoma", "costa brava": a head word (``POI_HEADS``, or one with a word of
        ``lower_head_modifiers`` before it: "kruger national park") after up to three words of a name
        (``_lower_name_word``, and a compass word before them; not a people's name or a word of
        ``lower_kind_words`` first: "hindu temple") or after a multi-word place name
        ("holy spirit rock"), a Romance head word before one to three ("castello di malpaga"), or
        "lake"/"mount" before one or two: what capitals mark in a cased text (``_pois``,
        ``_romance_pois``), here marked by the words themselves."""
        out = []
        tokens = list(_LOWER_TOKEN.finditer(text))
        words = [t.group(0) for t in tokens]
        for i, w in enumerate(words):
            j = k = i
            if w in _ALL_HEADS:
                for n in (3, 2):  # "holy spirit rock", "san fernando valley": a place's name before it
                    if i >= n and self._lower_name_phrase(text, tokens[i - n : i]):
                        j = i - n
                        break
                if j == i:  # up to three name words before the head ("old alton edwardsville road")
                    h = i  # the head's first word: "kruger national park", "shilin night market"
                    if i > 1 and words[i - 1] in _LOWER_HEAD_MODIFIERS and tokens[i].start() == tokens[i - 1].end() + 1:
                        h = i - 1
                    j = h
                    while (
                        j > 0
                        and h - j < _LOWER_POI_WORDS
                        and tokens[j].start() == tokens[j - 1].end() + 1
                        and self._lower_name_word(words[j - 1])
                    ):
                        j -= 1
                    if j == h:
                        j = i
                if j < i and w != "trail" and self._kind_word(words[j]) and not any(
                    self._lower_name_phrase(text, tokens[j:n]) for n in range(j + 2, i + 2)
                ):
                    continue  # "hindu temple", "taiwanese street food" (not "indian ocean", "indian lake road";
                    # trails are named after peoples: "inca trail", "cherokee trail")
            if j < i:
                if j > 0 and words[j - 1] in _LOWER_COMPASS and tokens[j].start() == tokens[j - 1].end() + 1:
                    j -= 1
                s, e = tokens[j].start(), tokens[i].end()
                head = "street" if w in ("st", "ave", "rd", "blvd", "hwy") else w
                marker = POI_HEADS.get(head, "poi")
            elif w in _LOWER_ROMANCE_HEADS:  # "costa brava", "castello di malpaga", "calle ocho"
                last = i
                while k + 1 < len(words) and tokens[k + 1].start() == tokens[k].end() + 1 and k - last < 2:
                    nxt = words[k + 1]
                    if nxt not in _LOWER_ROMANCE_CONNECTORS and (
                        not self._lower_name_word(nxt)
                        or (last > i and self.gz.flags.get(nxt, 0) & _build.KEY_STRONG)  # "costa brava spain"
                    ):
                        break
                    k += 1
                    if words[k] not in _LOWER_ROMANCE_CONNECTORS:
                        last = k
                if last == i:
                    continue
                s, e = tokens[i].start(), tokens[last].end()
                marker = "street" if w in _LOWER_ROMANCE_STREETS else "poi"
            elif w in _LOWER_POI_PREFIX:
                while (
                    k + 1 < len(words)
                    and k - i < 2
                    and tokens[k + 1].start() == tokens[k].end() + 1
                    and self._lower_name_word(words[k + 1])
                ):
                    k += 1
                if k == i:
                    continue
                s, e, marker = tokens[i].start(), tokens[k].end(), "natural"
            else:
                continue
            # (also when the gazetteer has the name: its own match, if kept, comes first in ``_select``;
            # the lower-case rules reject a lake or island of no inhabitants that has no cue)
            out.append(Mention(s, e, text[s:e], name_key(text[s:e]), marker, [], "poi", 0.5))
        return out

    def _gazetteer_covers(self, key: str) -> bool:
        """The gazetteer's own match stands for this landmark phrase: it names a town, region or
        feature. A name only points of interest carry ("Dulles Airport") stays a landmark
        mention too (the gazetteer's rules for towns would weigh it as a town of no inhabitants);
        either way the geocoder finds the POI's own point by its name."""
        postings = self.gz.postings(key)
        return bool(postings) and any(self.gz.entry(p >> 1).feature_class != "S" for p in postings)

    def _pois_of(self, text: str) -> list[Mention]:
        """ "Temple of Debod", "Museum of Catalan History": a landmark named head first, English
        style; the whole name is the place, so "Catalan" (a bay in Gibraltar) is not taken alone.
        Not when what follows "of" is itself a strong place ("Church of England", "Tower of
        London", "National Art Museum of Catalonia"): that place is what the text names."""
        out = []
        for m in _POI_OF.finditer(text):
            s, e = m.span(1)
            words = text[s:e].split()
            while words and words[0].lower() in _CONNECTORS | STOPWORDS | _TITLES and words[0] not in _NAME_ARTICLES:
                s += len(words[0]) + 1
                words = words[1:]
            if len(words) < 3:
                continue
            tail = name_key(m.group(3))
            if self.gz.flags.get(tail, 0) & _build.KEY_STRONG:
                continue
            phrase = text[s:e]
            key = name_key(phrase)
            if self._gazetteer_covers(key):
                continue  # the gazetteer match covers it
            out.append(Mention(s, e, phrase, key, "poi", [], "poi", 0.5))
        return out

    def _romance_pois(self, text: str) -> list[Mention]:
        """ "Plaza de Armas", "Palacio de la Moneda", "Plaza Mayor", "Calle Ocho": a landmark or
        street named head first, as in Spanish, Portuguese and Italian; the whole name is the
        place, so its last word ("Mayor", "Armas": towns elsewhere) is not taken alone."""
        out = []
        for m in _ROMANCE_POI.finditer(text):
            s, e = m.span()
            phrase = text[s:e]
            key = name_key(phrase)
            if self.gz.has_key(key):
                continue  # the gazetteer match covers it ("Plaza de la Constitución" if listed)
            head = phrase.split()[0]
            marker = "street" if head in _ROMANCE_STREET_HEADS else "poi"
            out.append(Mention(s, e, phrase, key, marker, [], "poi", 0.5))
        return out

    def _romance_longer(self, text: str, found: list[Mention]) -> list[Mention]:
        """Cased text: "Santa Maria del Pi", "Santa Maria della Salute": a place's name and a Romance
        "of" word (``romance_of``) before a capitalised word name something longer, a church or a
        district the gazetteer lacks, not the place ("Santa Maria", a Galician parish); not after
        a person's given name ("Dominique de Villepin")."""
        out = []
        for m in found:
            if m.kind != "gazetteer" or m.key in self.gz.person_names:
                continue
            tail = _ROMANCE_TAIL.match(text, m.end)
            if tail is None:
                continue
            s, e = m.start, tail.end()
            key = name_key(text[s:e])
            if self.gz.has_key(key):
                continue  # the gazetteer's own match of the longer name stands
            out.append(Mention(s, e, text[s:e], key, "poi", [], "poi", 0.5))
        return out

    def _cjk_pois(self, text: str) -> list[Mention]:
        """ "汉口站", "龙门石窟": a known place name right before a landmark word."""
        out = []
        for m in _ZH_POI.finditer(text):
            lead, head = m.group(1), m.group(2)
            for i in range(len(lead) - 1):  # the longest known name ending right before the head
                if self.gz.has_key(name_key(lead[i:])):
                    start = m.start(1) + i
                    surface = text[start : m.end(2)]
                    marker = "natural" if head in _ZH_NATURAL_HEADS else "poi"
                    out.append(Mention(start, m.end(2), surface, name_key(surface), marker, [], "poi", 0.5))
                    break
        return out

    def _in_context(self, found: list[Mention], waiting: list[Mention]) -> set[str]:
        """Lower-case text: the names waiting for support that name a town in a first-level region
        where a region or city the text names for sure lies ("columbus" in a text that says
        "ohio" and "dayton"): the text is about that region; a country, when the text names a
        place in it or another country."""
        t = THRESHOLDS
        areas = {
            (e.country_code, e.admin1)
            for m in found
            if m.kind == "gazetteer" and m.marker in ("region", "city")
            for e in self.entries(m.key)[:1]
            if e.admin1 and e.country_code
        }
        countries = {(m.key, e.country_code) for m in found if m.kind == "gazetteer" for e in self.entries(m.key)[:1]}
        other_countries = {m.key for m in found if m.kind == "gazetteer" and m.marker == "country"}
        out = set()
        for m in waiting:
            cands = self.entries(m.key)
            multi_word = " " in m.key and not m.key.startswith("the ")  # ("magnetic island"; not "the hill")
            if m.marker == "country":  # another place of that country ("fujian china"), or another country
                code = cands[0].country_code if cands else ""
                if code and any(cc == code and k != m.key for k, cc in countries):
                    out.add(m.key)
                elif other_countries - {m.key}:  # ("mexico china japan ukraine and brazil")
                    out.add(m.key)
            elif any(
                (e.country_code, e.admin1) in areas and (e.population >= t.lower_context_pop or multi_word)
                for e in cands[: t.lower_context_candidates]
            ):
                out.add(m.key)
        return out

    def _in_text_countries(self, found: list[Mention], waiting: list[Mention]) -> list[Mention]:
        """The small towns whose country is among those of the text's sure places (countries,
        first-level regions, big cities: strong names), or all of them when the text names no
        sure place: a vlog in Spain and Ireland that says "Baileys" or "Catalan" means no
        hamlet in Alabama or Ohio, a news story about Ohio that says "Zanesville" does."""
        sure = [m for m in found if m.kind == "gazetteer" and self.gz.flags.get(m.key, 0) & _build.KEY_STRONG]
        countries = {e.country_code for m in sure for e in self.entries(m.key)[:1] if e.country_code}
        if not countries:
            return list(waiting)
        n = THRESHOLDS.elsewhere_candidates
        return [m for m in waiting if any(e.country_code in countries for e in self.entries(m.key)[:n])]

    # ------------------------------------------------------ spelled letters
    def _spelled_letters(self, text: str, cased: bool) -> list[Mention]:
        """ "U S", "D C", "L A": an abbreviation said letter by letter, as transcripts of speech
        and captions without punctuation write it ("U.S." becomes "u s"); in capitals in a cased
        text. The mention takes the abbreviation's written form ("U.S.") as its name, so that it
        is geocoded as that."""
        out = []
        if cased:
            spelled, after, before = _SPELLED_CASED, _SPELLED_AFTER_CASED, _SPELLED_BEFORE_CASED
        else:
            spelled, after, before = _SPELLED, _SPELLED_AFTER, _SPELLED_BEFORE
        for m in spelled.finditer(text):
            st, en = m.span()
            if after.match(text, en) or (st >= 2 and before.match(text[max(0, st - 3) : st])):
                continue  # part of a longer run of letters ("a b c d")
            letters = m.group(0).split()
            key = ".".join(ch.lower() for ch in letters) + "."
            if key not in _SPELLED_KEYS:
                continue
            marker, ids, _, _ = self._best_entry_info(key)
            name = key.upper()
            out.append(Mention(m.start(), m.end(), name, key, marker, ids, "gazetteer", THRESHOLDS.conf_abbreviation))
        return out

    # -------------------------------------------------- state abbreviations
    def _lower_abbreviations(self, text: str, found: list[Mention]) -> list[Mention]:
        """Lower-case text: "orlando fla", "louisville ky", "sioux falls s d": a state's
        abbreviation right after a name of one of its places (``container_after``) is the state
        (named as written with its full stops, "Fla.", "S.D.", "KY", for the geocoder)."""
        out = []
        for m in found:
            if m.kind != "gazetteer":
                continue
            after = self.container_after(text, m.end, m.key)
            if after is None or not self.gz.flags.get(after[1], 0) & _build.KEY_ABBREV:
                continue
            end, key = after
            marker, ids, _, _ = self._best_entry_info(key)
            name = key.upper() if "." not in key else ".".join(p.capitalize() for p in key.split("."))
            out.append(Mention(m.end + 1, end, name, key, marker, ids, "gazetteer", THRESHOLDS.conf_abbreviation))
        return out

    # ------------------------------------------------------------ hashtags
    def _hashtags(self, text: str, found: list[Mention]) -> list[Mention]:
        """Cased text (tweets): the hashtags the name matching cannot see. Words joined in camel
        case: the whole tag when it is a name ("#SierraLeone", "#RockIsland"), else the longest run
        of its words that is a strong name (a country, region or big city: "#SupportGaza",
        "#GazaUnderAttack"; no abbreviation, "#DCFerguson", nor given name, "#MichaelBrown"); a tag
        in lower case that is a strong name ("#miami", "#namibia"). Never an English word or a
        person's name. The mention's name is the tag's words, spaced ("Sierra Leone")."""
        gz = self.gz
        out = []
        for m in _HASHTAG.finditer(text):
            st, en = m.span(1)
            if any(o.start < en and st < o.end for o in found):
                continue
            tag = m.group(1)
            words = [(w.start(), w.end()) for w in _CAMEL_WORD.finditer(tag)]
            if tag.islower():
                runs = [(0, len(tag))]
            elif len(words) >= 2 and not tag.isupper():  # (one capitalised word: the name matching's)
                runs = sorted(
                    ((words[i][0], words[j - 1][1]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)),
                    key=lambda r: r[0] - r[1],  # the longest first
                )
            else:
                continue
            for a, b in runs:
                parts = [tag[x:y] for x, y in words if a <= x and y <= b] if not tag.islower() else [tag]
                name = " ".join(parts)
                key = name_key(name)
                flags = gz.flags.get(key, 0)
                if key in STOPWORDS or flags & (_build.KEY_COMMON | _build.KEY_PERSON) or not gz.has_key(key):
                    continue
                whole = (a, b) == (0, len(tag))
                if not flags & _build.KEY_STRONG and not (whole and len(parts) > 1):
                    continue  # a weak name only as a whole tag of several words
                if not whole and any(p.isupper() for p in parts):
                    continue  # an abbreviation inside a tag ("#DCFerguson", "#NTDs")
                marker, ids, _, _ = self._best_entry_info(key)
                out.append(Mention(st + a, st + b, name, key, marker, ids, "gazetteer", THRESHOLDS.conf_hashtag))
                break
        return out

    def _lower_state_code_cued(self, text: str, start: int, end: int, key: str) -> bool:
        """Lower-case text (a tweet lower-cased): "measles in ca now", "bridge in nj": a state's
        postal code right after "in" when the whole text is lower case and the code is no English
        word ("pa", "ma", "co") nor a spoken one (``spoken_state_codes``); named as written
        in capitals ("NY"), for the geocoder."""
        if key in STOPWORDS or key in _SPOKEN_CODES or key in self.gz.common_words:
            return False
        if end < len(text) and (text[end].isalnum() or text[end] in "-/'\u2019"):
            return False
        return _prev_word(text, start)[0] == "in" and text[start:end].islower() and not text_is_cased(text)

    def _state_code_cued(self, text: str, start: int, end: int, key: str, place: Mention | None) -> bool:
        """Cased text (tweets): a state's two-letter postal code in capitals without the comma of
        "Napa, CA": after a locative word ("measles in CA now", "in WI top"), as a whole hashtag
        ("#TN", "#NH") or right after a name of one of its places ("Kingsport TN"). Never a code
        that is a word in capitals ("IN", "OK", "ME", ``spoken_state_codes``), nor one joined to
        more ("NJ-33": a road)."""
        if len(key) != 2 or key in STOPWORDS or key in _SPOKEN_CODES:
            return False
        if end < len(text) and (text[end].isalnum() or text[end] in "-/"):
            return False
        if start > 0 and text[start - 1] == "#":
            return True
        prev, _ = _prev_word(text, start)
        if prev.lower() in _LOCATIVE:
            return True
        after = self.container_after(text, place.end, place.key) if place is not None else None
        return after is not None and after[0] == end and after[1] == key

    def _abbreviations(self, text: str, abbrev: list[tuple[int, int, str]], chosen: list[Mention]) -> list[Mention]:
        out = []
        ends = {m.end for m in chosen if m.kind == "gazetteer"}
        before = {m.end: m for m in chosen if m.kind == "gazetteer"}
        for start, end, key in abbrev:
            if len(key) == 2 and not text[start:end].isupper():
                if self._lower_state_code_cued(text, start, end, key):
                    marker, ids, _, _ = self._best_entry_info(key)
                    conf = THRESHOLDS.conf_abbreviation
                    out.append(Mention(start, end, key.upper(), key, marker, ids, "gazetteer", conf))
                continue  # postal codes only in capitals ("Napa, CA"; not "Chicago, in 2009")
            qualifier = start >= 2 and text[start - 2 : start] == ", " and (start - 2) in ends
            if not qualifier and _city_short_form(text, start, end, key):
                _, ids, _, _ = self._best_entry_info(key)
                out.append(Mention(start, end, text[start:end], key, "city", ids, "gazetteer",
                                   THRESHOLDS.conf_abbreviation))
                continue
            if qualifier or self._state_code_cued(text, start, end, key, before.get(start - 1)):
                marker, ids, _, _ = self._best_entry_info(key)
                m = Mention(start, end, text[start:end], key, marker, ids, "gazetteer", THRESHOLDS.conf_abbreviation)
                if key in CITY_SHORT_FORMS:  # "Baton Rouge, LA": the state, whose code the short form also is
                    m.marker = m.marker_hint = "region"
                out.append(m)
        return out


def _city_short_form(text: str, start: int, end: int, key: str) -> bool:
    """ "moving to LA", "LA's earthquake retrofitting": a city's short form that is also a state's
    postal code (``CITY_SHORT_FORMS``), standing alone in capitals, is the city; right after
    "<town>, " it stays the state (the caller checks that). Not in "LA LA Land", "oh la LA", nor
    before a capitalised word, where it begins a name ("40 LA Cargo trailers", "LA Times")."""
    if key not in CITY_SHORT_FORMS or not text[start:end].isupper():
        return False
    if end < len(text) and (text[end].isalnum() or text[end] in "-/"):
        return False
    prev, _ = _prev_word(text, start)
    following = _next_word(text, end)
    return prev.lower() != key and following.strip(".,;:!?").lower() != key and not following[:1].isupper()


# ------------------------------------------------------------------- rules
# ``_check_latin`` judges one gazetteer match of Latin script by running the rules of ``RULES``
# in order: the first rule that decides (reject, accept, person, given name, needs support) ends
# the judgement; a "discount" rule lowers the confidence and lets the next rules run; a match
# that no rule decides is accepted. The order is part of the meaning (an earlier rule shadows a
# later one): a new rule goes right before the first rule whose decision it must pre-empt, its
# words into ``toponyms/rule_words.txt`` and its numbers into ``THRESHOLDS``.


class Verdict(StrEnum):
    """What a rule decides about a match (see ``_check_latin``)."""

    REJECT = "reject"  # no place here
    SURNAME = "surname"  # no place: a person's surname, and every lone use of it in the text is the person's
    GIVEN = "given"  # a given name before a surname here: kept only if the name stands alone elsewhere
    SUPPORTED = "supported"  # a person's name used as a place here: kept, and its other uses too
    NEEDS_SUPPORT = "needs_support"  # a person's name: kept only if the text uses it as a place somewhere
    NEEDS_COUNTRY = "needs_country"  # a small town: kept only if the text's sure places include its country
    NEEDS_NAME = "needs_name"  # kept only if the text takes the same name as a place elsewhere (one sense per text)
    ACCEPT = "accept"  # a place, with the rule's confidence
    DISCOUNT = "discount"  # lower the confidence by the rule's amount and go on


DECIDING = frozenset(v for v in Verdict if v is not Verdict.DISCOUNT)


class Candidate:
    """One gazetteer match being judged, with what the rules ask of its context (computed
    once, on first use: most matches are rejected by the first rules, before the lookups)."""

    def __init__(self, rec: _Recognizer, text: str, key: str, start: int, end: int, surface: str, flags: int) -> None:
        self.rec, self.gz = rec, rec.gz
        self.text, self.key, self.start, self.end, self.surface, self.flags = text, key, start, end, surface, flags
        self.multi = " " in key
        self.strong = bool(flags & _build.KEY_STRONG)
        self.person_name = bool(flags & _build.KEY_PERSON)

    @cached_property
    def info(self) -> tuple[str, list[int], int, int]:
        return self.rec._best_entry_info(self.key)

    @property
    def marker(self) -> str:
        return self.info[0]

    @property
    def ids(self) -> list[int]:
        return self.info[1]

    @property
    def pop(self) -> int:
        return self.info[2]

    @cached_property
    def prev_word(self) -> tuple[str, int]:
        return _prev_word(self.text, self.start)

    @property
    def prev(self) -> str:
        return self.prev_word[0]

    @property
    def prev_start(self) -> int:
        return self.prev_word[1]

    @cached_property
    def prev_l(self) -> str:
        return self.prev.lower().rstrip(".")

    @cached_property
    def cue_l(self) -> str:
        """The word before as a cue ("in", "northern"): none at a sentence's start, where the word
        before ends the sentence before ("... wrapped around. Pop that in", "Let's go in. Sam,")."""
        return "" if self.sentence_initial else self.prev_l

    @cached_property
    def nxt(self) -> str:
        """The word right after the match, as written."""
        return _next_word(self.text, self.end)

    @cached_property
    def sentence_initial(self) -> bool:
        return _sentence_initial(self.text, self.start)

    @cached_property
    def common(self) -> bool:
        """An English word ("Reading", "Bath"), or its plural at a sentence's start ("Samples ...")."""
        gz, key = self.gz, self.key
        return bool(self.flags & _build.KEY_COMMON) or (
            not self.strong
            and not self.multi
            and _english_plural(gz, key)
            and self.sentence_initial  # ("the Urals", "the northern Plains" are places)
        )

    @cached_property
    def title_case(self) -> bool:
        return _title_case(self.text, self.start)

    @cached_property
    def placed(self) -> bool:
        """The text places the name: "in Bath", "northern Sumatra", "Nice, France", "the city of
        Reading", "the Pacific.", "Nyanza Province", "the Fife area" (cased text); not a capitalised
        compass word before an English word ("the Central Market", "Grand Central Terminal")."""
        text, start, end, nxt = self.text, self.start, self.end, self.nxt
        return (
            self.cue_l in _LOCATIVE
            or (self.cue_l in _COMPASS_ADJECTIVES and not (self.common and self.prev[:1].isupper()))
            or _followed_by_region(self.gz, text, end)
            or _place_of(text, self.prev_start)
            or (self.prev_l == "the" and _is_feature(self.ids) and _ends_noun_phrase(text, end))
            or nxt.rstrip(".,;:") in _DIVISION_HEADS
            or (  # (but not "Many area cities")
                nxt.rstrip(".,;:") in _AREA_NOUNS and not self.sentence_initial and not _capitalised_before(text, start)
            )
        )

    @cached_property
    def modifies_noun(self) -> bool:
        """Lower-case text: an English word right before another English word that is a noun of
        the phrase, not a word of time or place ("made from buffalo skin", "in reading glasses";
        not "to bath today", "in nice and cannes"): the locative word before is no cue for it."""
        if not self.common or self.multi or self.marker in ("country", "continent", "region"):
            return False
        nxt = self.nxt
        gz = self.gz
        return (
            nxt in gz.common_words
            and nxt not in STOPWORDS
            and nxt not in _NOUN_PHRASE_END
            and nxt not in _ALL_HEADS
            and nxt not in _LOWER_PLACE_AFTER
            and nxt not in _LOWER_TIME_WORDS
            and nxt not in _LOWER_DISCOURSE_WORDS
            and not gz.flags.get(nxt, 0) & _build.KEY_STRONG
        )

    @cached_property
    def cued(self) -> bool:
        """Lower-case text: a locative word, "the town of" or a person's age and "of" ("smith 30 of
        roswell") right before, a word of its people or services right after ("roswell police",
        ``lower_place_after``; not after an English word), or the state, region or country it
        lies in ("orlando fla", "raleigh in north carolina")."""
        return (
            (self.prev_l in _LOCATIVE and not self.modifies_noun)
            or _place_of(self.text, self.prev_start)
            or (self.nxt in _LOWER_PLACE_AFTER and not self.common)  # (not "the large delta area")
            or bool(_AGE_OF.search(self.text, max(0, self.start - 8), self.start))
            or self.rec.container_after(self.text, self.end, self.key, via_in=True) is not None
        )


# --- rules for every text
def _stopword(c: Candidate) -> bool:
    """Function words, months, interjections and titles that are also gazetteer names ("Okay",
    "May", "Duke"); an abbreviation key ("US") only in capitals or after "the" ("the us": no
    pronoun follows an article; in a cased text ``abbreviation_lower`` still rejects it)."""
    return c.key in STOPWORDS and not (c.key in ABBREVIATION_KEYS and (c.surface.isupper() or c.prev_l == "the"))


def _inside_handle(c: Candidate) -> bool:
    """ "@AIESEC_Lagos", "@Queen_UK", "@Tokyo_Trev": a name inside a user's handle (an "@" and
    the word characters of one token) is part of the account's name, not a place the text names."""
    j = c.start
    while j > 0 and (c.text[j - 1].isalnum() or c.text[j - 1] == "_"):
        j -= 1
    return j > 0 and c.text[j - 1] == "@"


def _demonym(c: Candidate) -> bool:
    """A people's name ("Americans", "Ohioans"): LGL and GeoVirus annotate the place, not its people."""
    return _is_demonym(c.gz, c.key)


def _demonym_phrase(c: Candidate) -> bool:
    """The match and the next word are a people's name ("Saudi Arabian authorities", "New Zealander")."""
    return not c.multi and name_key(f"{c.surface} {c.nxt}") in c.gz.demonyms


def _generic_prefix(c: Candidate) -> bool:
    """ "The City"; "City of Richmond", "State of Illinois": the place is the inner name."""
    generic = _GENERIC_PREFIX.match(c.key)
    return bool(generic) and (not generic.group(2) or c.gz.has_key(generic.group(2)))


def _disease_name(c: Candidate) -> bool:
    """ "Marburg virus", "West Nile fever": a disease's name, not a place (no disease is named
    after a whole country: "United States flu season")."""
    return c.nxt.lower().rstrip(".,;:") in _DISEASE_NOUNS and not c.rec._is_country(c.key)


def _currency(c: Candidate) -> bool:
    """ "US$460 million", "NZ$": a currency."""
    return c.text[c.end : c.end + 1] == "$"


def _currency_amount(c: Candidate) -> bool:
    """ "three Lira", "50 cordobas", "10 naira": after an amount, a currency named like a town
    (``currency_names``: Lira, Uganda; Córdoba, Argentina; Colón, Panama) is the currency."""
    if c.key not in _CURRENCY_NAMES:
        return False
    prev = c.prev_l.replace(",", "")
    return prev.replace(".", "").isdigit() or prev in _NUMBER_WORDS


def _strain_name(c: Candidate) -> bool:
    """ "A/California/7/2009": an influenza strain's name."""
    return c.start > 0 and c.text[c.start - 1] == "/" and c.text[c.end : c.end + 1] == "/"


def _the_building(c: Candidate) -> bool:
    """ "the White House": the building, not White House, Tennessee."""
    return c.multi and c.key in _NON_PLACE_PHRASES and c.text[max(0, c.start - 4) : c.start].lower() == "the "


def _the_word_of(c: Candidate) -> bool:
    """ "nicknamed "The Center of the Universe" and "The Crossroads of the World"": a name made of
    "the" and one English word (The Center, Texas; The Crossroads, Ohio) followed by "of" is the
    head of a longer noun phrase, not that town."""
    words = c.key.split()
    if len(words) != 2 or words[0] != "the" or not c.text.startswith(" of ", c.end):
        return False
    return words[1] in c.gz.common_words or words[1] in STOPWORDS


_CUT_OFF = re.compile(r"-(?=[\s,.;:!?]|$)")


def _cut_off_word(c: Candidate) -> bool:
    """ "We went to Pana- , he went to Panama": a word the speaker broke off (a hyphen and no
    letter after it, as transcripts of speech write it) is the start of another word, not the
    place it happens to spell ("Pana", Illinois)."""
    return bool(_CUT_OFF.match(c.text, c.end))


def _short_name(c: Candidate) -> bool:
    """Names of up to three letters are words or codes: "Ely", "Rye" only as written (capital,
    primary name), codes ("NSW", "QLD") only in capitals and only first-level regions."""
    key, surface = c.key, c.surface
    if not (len(key) <= THRESHOLDS.short_name_len and key.replace(".", "").isalpha() and key not in ABBREVIATION_KEYS):
        return False
    if surface.isupper() and len(key) == THRESHOLDS.short_name_len:
        return not any(e.feature_code == "ADM1" for e in c.rec.entries(key)[:1])
    return not (
        surface[:1].isupper()
        and surface[1:].islower()
        and len(key) == THRESHOLDS.short_name_len
        and c.flags & _build.KEY_PRIMARY
    )


def _abbreviation_lower(c: Candidate) -> bool:
    """An abbreviation ("us", "uk") written in lower case in a cased text is the word."""
    return c.key in ABBREVIATION_KEYS and not any(ch.isupper() for ch in c.surface)


# --- cased text
_LOWERCASE_WORDS = word_list("lowercase_words")


def _lowercase_well_known(c: Candidate) -> bool:
    """ "flood in kashmir", "pray for malaysia", "dancing in hollywood": a tweet's lower-case
    spelling of a well-known place (a country, region or big city: strong, and its own name,
    not an alternate one) whose name is no English word, plural or inflection and nobody's name
    is the place ("china", "jordan", "centre", "mountains" stay words); not a noun after "a"
    ("staying in a haveli"), nor a compass phrase
    ("the north west"), a word cut short ("the regio..."), nor the end of a capitalised name
    ("Kota bharu")."""
    gz, key, text = c.gz, c.key, c.text
    if not c.surface.islower() or not c.strong or c.common or c.person_name:
        return False
    if key in gz.common_words or key in ABBREVIATION_KEYS or _english_plural(gz, key) or _english_inflection(gz, key):
        return False
    first = re.split(r"[ \-]", key, maxsplit=1)[0]
    if first in _COMPASS_ADJECTIVES | _LOWER_COMPASS | _LOWERCASE_WORDS or key in _LOWERCASE_WORDS:
        return False
    if text.startswith("...", c.end) or text.startswith("\u2026", c.end):
        return False
    if c.prev[:1].isupper() or c.prev_l in _LOWER_COMPASS:
        return False  # ("Kota bharu", "South africa", "west africa": the end of a longer name)
    if c.prev_l in ("a", "an"):
        return False  # ("staying in a haveli": a noun, not Haveli District)
    if c.marker == "city" and c.pop < THRESHOLDS.word_town:
        return False
    return any(name_key(e.name) == key for e in c.rec.entries(key)[:5])


def _uncapitalised_word(c: Candidate) -> bool:
    """A name written in lower case in a cased text is a word ("the city of commerce"), unless
    it is a one-word non-English name after a settlement noun (see the next rule)."""
    return not _capitalised(c.surface) and (c.common or c.multi or not _settlement_of(c.text, c.prev_start))


def _uncapitalised_settlement(c: Candidate) -> bool:
    """A speech model's lower-case spelling after a settlement noun ("the town of cintra")."""
    return not _capitalised(c.surface)


def _dateline(c: Candidate) -> bool:
    """ "ROANOKE -- Former ...": a news dateline in capitals."""
    return (
        c.surface.isupper()
        and len(c.key) > THRESHOLDS.short_name_len
        and c.sentence_initial
        and bool(_DATELINE.match(c.text, c.end))
    )


def _headline_capitals(c: Candidate) -> bool:
    """Headline capitals: only names that stand on their own ("READING" is a word there)."""
    return (
        c.surface.isupper()
        and len(c.key) > THRESHOLDS.short_name_len
        and not c.text.isupper()
        and c.common
        and not c.strong
    )


def _compound(c: Candidate) -> bool:
    """The first half of a hyphenated non-place compound: "Wal-Mart", "Holder-Wooloff", "I-95"."""
    return _compound_word(c.gz, c.text, c.end)


def _inside_longer(c: Candidate) -> bool:
    """The end of a longer capitalised name whose first word is an English word: "Wild Dunes",
    "Palmetto Health Richland", "United Russia"."""
    return not c.multi and c.rec._inside_longer_name(c.text, c.key, c.start, c.prev)


_GENERIC_TAILS = word_list("generic_tails")


def _generic_tail(c: Candidate) -> bool:
    """ "the Gulf Coast", "East Midlands", "Cork Direct Provision Centre": an area named with a
    common noun (``generic_tails``: Coast, Kenya) right after a capitalised word ends a longer
    name, not the area."""
    return c.key in _GENERIC_TAILS and _capitalised_before(c.text, c.start)


def _given_name_before_surname(c: Candidate) -> bool:
    """A country's or region's name that is also a given name, before a surname: "Chad Walker",
    "Paul Mifsud", "Virginia L. Lane", "KENT MALLETT"."""
    return c.strong and not c.multi and c.rec._given_before_surname(c.text, c.key, c.end, c.surface)


def _not_country(c: Candidate) -> bool:
    return c.marker not in ("country", "continent")


def _title_before(c: Candidate) -> bool:
    """ "Dr. Evans", "Sen. Casey": a person's title right before (but not a sentence's end,
    "... Court Judge. Columbus attorney"); countries are never surnames here."""
    return (
        _not_country(c)
        and c.prev_l in _TITLES
        and not (c.prev.endswith(".") and len(c.prev_l) > THRESHOLDS.title_abbrev_len)
    )


def _romance_of_phrase(c: Candidate) -> bool:
    """ "Dulce de Leche", "Pastel de Nata", "Bois de Boulogne", "Champ de Mars", "Francisco de
    Goya": a one-word name after a Romance "de"/"del"/"des"/"da"/"do"/"du" that follows a
    word of no place is the end of a longer name (a dish, a park, a person), not the town; after a
    division or place word ("Ciudad de México", "Provincia de Buenos Aires": ``romance_place_words``)
    or a well-known place's name, when the name is itself well known, and when the whole phrase is
    a place ("Rio de Janeiro"), it is the place."""
    if c.multi or c.strong or c.prev_l not in _ROMANCE_OF:  # (not "Fête des neiges de Montréal")
        return False
    word, start = _prev_word(c.text, c.prev_start)
    if not word or start + len(word) + 1 != c.prev_start:
        return False
    low = word.lower()
    if low in _ROMANCE_PLACE_WORDS or low in STOPWORDS or not word[:1].isalpha():
        return False
    gz = c.gz
    strong = gz.flags.get(name_key(word), 0) & _build.KEY_STRONG
    return not strong and not gz.has_key(name_key(f"{word} {c.prev} {c.surface}"))


def _saint_name(c: Candidate) -> bool:
    """ "St. Patrick's Day", "St. Michael": a saint, unless "St. X" is itself a place."""
    return _not_country(c) and c.prev_l in _SAINTS and not c.gz.has_key(name_key(c.prev + " " + c.surface))


def _name_before(c: Candidate) -> bool:
    """ "George Washington", "Mike Fitzgerald", "Roy A. Nelson": a given name, initial or
    unknown capitalised word mid-sentence right before (not "Old Alton Edwardsville Road", not
    inside a Title Case headline)."""
    if not _not_country(c):
        return False
    gz, prev, prev_l = c.gz, c.prev, c.prev_l
    street = c.nxt.lower().rstrip(".") in _STREET_HEADS
    return bool(
        prev
        and not street
        and not c.title_case
        and prev[:1].isupper()
        and not c.sentence_initial
        and not gz.has_key(name_key(prev + " " + c.surface))
        and prev_l not in STOPWORDS | _NAME_QUALIFIERS | _CONNECTORS | _LOCATIVE | _ORG_HEADS
        and (
            prev_l in gz.person_names
            or (len(prev_l) == 1 and prev.endswith("."))
            or (
                prev_l not in gz.common_words
                and not _sentence_initial(c.text, c.prev_start)
                and not gz.flags.get(name_key(prev), 0) & _build.KEY_STRONG
            )
        )
    )


def _age_after(c: Candidate) -> bool:
    """ "Flores, 26, had just left the Army": a person's age after the name."""
    return _not_country(c) and bool(_AGE_AFTER.match(c.text[c.end : c.end + 8]))


def _speech_verb_after(c: Candidate) -> bool:
    """ "Duque said": a person speaks (but "officials in Chicago said", "Moscow said" of a strong
    name that is no person's, "Rockville, Maryland admitted")."""
    if not _not_country(c) or c.multi:
        return False
    metonymy = c.strong and not c.person_name
    if metonymy or c.nxt.lower().rstrip(".,;:") not in _SPEECH_VERBS or c.prev_l in _LOCATIVE or c.prev_l == "of":
        return False
    qualifies = c.marker in ("region", "country") and _AFTER_TOWN_COMMA.search(c.text, max(0, c.start - 40), c.start)
    return not qualifies


def _said_before(c: Candidate) -> bool:
    """ "..., said Culver.": a speech verb before and the clause's end after."""
    return (
        _not_country(c)
        and c.prev_l in _SPEECH_VERBS
        and not c.multi
        and (c.end >= len(c.text) or c.text[c.end] in ".,;")
    )


_BRAND_DETERMINERS = word_list("brand_determiners")
_BRAND_CITIES = word_list("brand_cities")


def _city_before_capitalised(c: Candidate) -> bool:
    """ "the Napa Earthquake", "Melbourne Rebels", "Gaza Militants", "Glasgow Ebola case": a
    well-known city whose name is nobody's given name or surname (and no English word) before a
    capitalised word is the city, not a given name before a surname (tweets and headlines
    capitalise the nouns after a place; "Paris Hilton", "Denver Riot Fest" are persons' names), but
    not after an article or possessive ("the Atlanta Journal", "his Toyota Hilux": a brand's name),
    nor a city named like a car make ("Plymouth Fury")."""
    return (
        c.strong
        and not c.multi
        and c.marker == "city"
        and not c.person_name
        and not c.common
        and c.key not in c.gz.person_names
        and c.nxt[:1].isupper()
        and c.prev_l not in _BRAND_DETERMINERS
        and c.key not in _BRAND_CITIES
    )


def _event_place(c: Candidate) -> bool:
    """ "the Napa earthquake", "the Ferguson riot", "Alfreton Tornado": a name right before the noun
    of an event (``lower_event_after``, in any case) is the place where it happened, as in
    lower-case text (``lower_event_place``): an English word only when a country's name, not
    after a given name ("Alan Henning flood"), and a person's name not before a capitalised noun
    that is a surname too ("Tim Flood"; but "Ferguson Protest Leader")."""
    if c.nxt.lower() not in _LOWER_EVENT_AFTER or c.marker == "other" or c.key.startswith("the "):
        return False
    nxt_l = c.nxt.lower()
    if c.prev_l in c.gz.person_names or (
        c.nxt[:1].isupper() and c.key in c.gz.person_names and nxt_l.rstrip("s") in c.gz.person_names
    ):
        return False  # ("Tim Flood plays": a person; "Ferguson Protest Leader": no one is named Protest)
    wordlike = c.common or c.key in c.gz.common_words or _english_plural(c.gz, c.key)
    return not wordlike or c.marker in ("country", "continent")


def _given_name_before_capitalised(c: Candidate) -> bool:
    """ "George Bush", "Chiquita Raquel Henry", "Paris Hilton": a city's (or weak) name before a
    capitalised word that is no head word, title or place. A hashtag is a word on its own
    ("#Gaza Pro-Palestinian rally", "sent to #Moscow For"): no given name."""
    if not _not_country(c) or (c.start > 0 and c.text[c.start - 1] == "#"):
        return False
    gz, nxt = c.gz, c.nxt
    return (
        not c.multi
        and not c.title_case
        and (c.marker == "city" or not c.strong or nxt.lower() in gz.person_names)
        and nxt[:1].isupper()
        and nxt.lower().rstrip(".") not in _ORG_HEADS | _TITLES | _ORDINALS
        and not gz.has_key(name_key(c.surface + " " + nxt))
        and (not gz.flags.get(name_key(nxt), 0) & _build.KEY_STRONG or nxt.lower() in gz.person_names)
    )


def _english_word_scope(c: Candidate) -> bool:
    return c.common and not c.multi and not (c.strong and c.marker in ("country", "region", "continent"))


def _english_word_at_start(c: Candidate) -> bool:
    """ "The Man of the Year", "a Nice day", "Reading is fun": an English word at a sentence's
    start or after an article, unless the text places it."""
    return _english_word_scope(c) and not c.placed and (c.sentence_initial or c.prev_l in _ARTICLES)


def _english_word_unplaced(c: Candidate) -> bool:
    """ "Bath time": an English word mid-sentence that is no well-known place and that the text
    does not place ("in Bath", "Nice, France", "the city of Reading")."""
    return _english_word_scope(c) and not c.placed and not c.strong


def _english_word_kept(c: Candidate) -> bool:
    """An English word kept as a place (placed, or a big city capitalised mid-sentence: "the
    Mayor of Boston"): less sure."""
    return _english_word_scope(c)


def _person_scope(c: Candidate) -> bool:
    return c.person_name and not c.multi and not (c.strong and _big_place(c.marker, c.pop))


_VOCATIVE_AFTER = re.compile(r" ?[?!]")
_ADDRESS_WORDS = sorted((w.replace("_", " ") for w in word_list("address_words")), key=len, reverse=True)
_ADDRESSED_BEFORE = re.compile(r"(?:^|[\s,.!?])(?:" + "|".join(_ADDRESS_WORDS) + r"),? $", re.IGNORECASE)
_AND_ME = re.compile(r" and (?:i|me)(?=[ ,.!?]|$)", re.IGNORECASE)


def _addressed_person(c: Candidate) -> bool:
    """ "Right, Sam?", "thanks Sam", "Sam and I went": a person's name (not of a big place) spoken
    to or paired with the speaker is a person, and every lone use of it in the text is that person
    ("pass it on to Sam", "according to Sam"): the presenters of a video call each other by name."""
    if not _person_scope(c):
        return False
    text, start, end = c.text, c.start, c.end
    if _ADDRESSED_BEFORE.search(text, max(0, start - 16), start):
        return True
    if _AND_ME.match(text, end) and (c.sentence_initial or c.prev_l in ("with", "me")):
        return True  # ("Sam and I went", "with Sam and me"; not "a trip up to Kerry and I went")
    before = text[max(0, start - 2) : start]
    return before.endswith((", ", ",")) and bool(_VOCATIVE_AFTER.match(text, end))


def _person_name_cued(c: Candidate) -> bool:
    """ "in Hailey", "Flores, Texas", "Marshall County", "#Ferguson": a person's name (not of a big
    place) that this text uses as a place; its other uses in the text are kept too."""
    if not _person_scope(c):
        return False
    text, start, end = c.text, c.start, c.end
    return bool(
        c.cue_l in _LOCATIVE
        or _place_of(text, c.prev_start)
        or _followed_by_region(c.gz, text, end)
        or (c.nxt.lower().rstrip(".") in _ORG_HEADS)
        or (start > 0 and text[start - 1] == "#" and not text[end : end + 1].isalnum())
    )


def _person_name(c: Candidate) -> bool:
    """ "Hailey", "Flores", "Marshall": a person's name unless this text uses it as a place
    somewhere (in a list with places, or with a cue elsewhere)."""
    return _person_scope(c)


def _small_town(c: Candidate) -> bool:
    """A small town's name (not strong, below ``elsewhere_town``) that the text does not place
    ("in Tra Que", "Baileys, Alabama"): kept only if the text's sure places (countries, regions,
    big cities) include its country, or the text names no sure place (a tweet). Words and brands
    that are hamlets somewhere ("Baileys", "Wanna", "Catalan") in a video about other countries."""
    if c.strong or c.pop >= THRESHOLDS.elsewhere_town or _is_feature(c.ids):
        return False  # (a physical feature, "the Pyrenees", lies in no one country)
    return not c.placed


# --- lower-case text: well-known names; others (and English words) need a cue ("in", "the town of")
def _lower_short_form_uncued(c: Candidate) -> bool:
    """Lower-case text: a city's short form (``short_forms.tsv``) is the city only after a locative
    word ("we flew to kl", "back in hk"); elsewhere two letters are letters ("the sf giants")."""
    return c.key in CITY_SHORT_FORMS and c.prev_l not in _LOCATIVE


def _lower_the_abbreviation(c: Candidate) -> bool:
    """Lower-case text: "the us", "the uk", "the eu": a country's abbreviation after "the" is the
    country (the pronoun "us" never follows an article; captions write "U.S." as "us")."""
    return c.key in ABBREVIATION_KEYS and c.prev_l == "the"


def _lower_the_feature(c: Candidate) -> bool:
    """Lower-case text: "the pyrenees", "the andes", "the nile": one of the curated prominent
    physical features (``features.tsv``) after "the", and no English word, is the feature."""
    return c.prev_l == "the" and _is_feature(c.ids) and not c.common and c.key not in c.gz.common_words


def _lower_feature_name(c: Candidate) -> bool:
    """Lower-case text: "angkor", "meteora", "uluru": the name of one of the curated prominent
    features and travel regions (``features.tsv``) that is no English word or person's name
    needs no cue; the list holds only names known by themselves."""
    return _is_feature(c.ids) and not c.common and c.key not in c.gz.common_words and not c.person_name

_LOWER_EVENT_AFTER = word_list("lower_event_after")


def _lower_event_place(c: Candidate) -> bool:
    """Lower-case text: "the napa earthquake", "japan earthquake", "ferguson protesters": a name
    right before the noun of an event (``lower_event_after``) is the place where it happened; an
    English word only when a country's name ("japan earthquake"; not "monster tornado", "the gulf
    coast tornado"), not "the X" ("the post earthquake") nor after a given name ("alan henning flood")."""
    if c.nxt not in _LOWER_EVENT_AFTER or c.marker == "other" or c.key.startswith("the "):
        return False
    if c.prev_l in c.gz.person_names:
        return False  # ("alan henning flood the world": a person)
    wordlike = c.common or c.key in c.gz.common_words or _english_plural(c.gz, c.key)
    return not wordlike or c.marker in ("country", "continent")


def _lower_country_word(c: Candidate) -> bool:
    """Lower-case text: a country whose name is also an English word ("china", "turkey",
    "russia" in web2), without a cue: kept only if the text names another place in that
    country or another country, or lists it with places ("fujian china", "mexico china japan",
    "russia romania and macedonia"); "the good china" of a text that names no country is the word."""
    return c.common and not c.cued and c.strong and c.marker == "country"


def _lower_settlement_of(c: Candidate) -> bool:
    """Lower-case text: "the village of lao chai", "the town of cintra": the text says the name is
    a settlement, so a small town of that name is meant even without a region named (not an
    English word: "the city of angels")."""
    if c.common or c.marker in ("country", "continent") or _english_plural(c.gz, c.key):
        return False
    return _settlement_of(c.text, c.prev_start)


_LOWER_PERSON_TOWN_CUES = word_list("lower_person_town_cues")


def _lower_person_town_cued(c: Candidate) -> bool:
    """Lower-case text: "protest in ferguson", "police in ferguson mo": a town's name that is also a
    person's, right after "in", "near", "outside" ... (``lower_person_town_cues``; not "at",
    "from", "to": "at williams", "from linda wasserman"), is the town when the town is big enough
    to need no region named (``lower_case_cued``) and no possessive follows ("in johnson's office")."""
    if c.multi or c.common or not c.person_name or c.key in c.gz.common_words:
        return False
    if c.text.startswith(("'s", "\u2019s"), c.end) or c.marker in ("country", "continent"):
        return False
    return c.prev_l in _LOWER_PERSON_TOWN_CUES and c.pop >= THRESHOLDS.lower_case_cued


def _lower_generic_district(c: Candidate) -> bool:
    """Lower-case text: "little italy", "the latin quarter": a part every town has
    (``generic_districts``), which the geocoder places in the video's own town; not its last word
    alone ("italy") when the district's namesake elsewhere is too small to keep. Not an age ("a 27
    year old city man")."""
    return c.multi and c.key in GENERIC_DISTRICTS and not (c.key.startswith("old ") and c.prev_l in ("year", "years"))


def _lower_foreign_name_cued(c: Candidate) -> bool:
    """Lower-case text: a multi-word name none of whose words is an English word (or a form of
    one), a person's name or a function word, after a cue ("we hiked to machu picchu", "biking
    out to tra que"): so unlike running English that it needs no population or named region
    (``lower_in_context``, ``lower_unknown`` would want them)."""
    if not c.multi or not c.cued:
        return False
    gz = c.gz
    for word in c.key.split():
        if (
            len(word) < THRESHOLDS.short_name_len
            or not word.isalpha()
            or word in STOPWORDS
            or word in gz.common_words
            or word in gz.person_names
            or _english_plural(gz, word)
            or _english_inflection(gz, word)
        ):
            return False
    return True


def _lower_in_context(c: Candidate) -> bool:
    """A town's name that is no English word or person's name, without a cue: kept only if it
    lies in a region the text names for sure ("columbus" beside "ohio", ``_Recognizer._in_context``)."""
    if c.strong or (c.multi and c.pop >= THRESHOLDS.lower_case_multi) or c.common or c.person_name:
        return False
    return not c.cued or c.pop < THRESHOLDS.lower_case_cued


def _lower_unknown(c: Candidate) -> bool:
    """A name that is not well known (strong, or multi-word and big) needs a cue, and even with
    one no English word, person's name or small town."""
    if c.strong or (c.multi and c.pop >= THRESHOLDS.lower_case_multi):
        return False
    return not c.cued or c.common or c.person_name or c.pop < THRESHOLDS.lower_case_cued


def _lower_word_uncued(c: Candidate) -> bool:
    """An English word without a cue ("nice weather"), or an inflected one the word list lacks
    ("the tofu simmering": Simmering, Vienna)."""
    return (c.common or (not c.multi and _english_inflection(c.gz, c.key))) and not c.cued


def _lower_the_alias(c: Candidate) -> bool:
    """ "to the point" (a town's nickname), "the middle east" (the article): "the X" only when it
    is a place's main name."""
    return c.key.startswith("the ") and not any(name_key(e.name) == c.key for e in c.rec.entries(c.key)[:5])


def _lower_word_elsewhere(c: Candidate) -> bool:
    """Lower-case text: a one-word name that is an English word or its plural ("springs",
    "monasteries") without a cue is kept only if the text's sure places include its country: a
    Vietnamese cooking video's "spring rolls" are no town in South Africa; "nice" in a text
    about France stays. (Multi-word names, "holy spirit", cost LGL: not included.)"""
    if c.cued or c.multi or c.marker in ("country", "continent"):
        return False
    return c.key in c.gz.common_words or _english_plural(c.gz, c.key)


def _lower_the_word(c: Candidate) -> bool:
    """ "in the valley", "the bottom": "the" and an English word in lower-case text are the
    phrase, not The Valley (Anguilla), unless a big place (a cue does not help: "in the valley")."""
    if not c.key.startswith("the "):
        return False
    rest = c.key[4:]
    return (
        " " not in rest and (rest in c.gz.common_words or _english_plural(c.gz, rest)) and c.pop < THRESHOLDS.word_town
    )


_PUBLIC_FIGURES = word_list("public_figures")


def _public_figure(c: Candidate) -> bool:
    """ "Obama promised ...", "obama is back at the white house": a world-famous person's surname
    that is also a town's (``public_figures``: Obama, Fukui) is the person, unless the text
    places it ("in Obama", "Obama, Fukui"; but "in Obama's stimulus law" is the person's)."""
    if c.key not in _PUBLIC_FIGURES:
        return False
    if c.text.startswith(("'s", "\u2019s"), c.end):
        return True  # ("in Obama's stimulus law")
    # (the cues that make a person's name a town: "in Obama", not "to"/"from": "back to Kennedy")
    placed = c.cue_l in _LOWER_PERSON_TOWN_CUES or _followed_by_region(c.gz, c.text, c.end)
    return not (placed or _place_of(c.text, c.prev_start))


_THING_COMPOUNDS = frozenset(w.replace("_", " ") for w in word_list("thing_compounds"))
_THING_FIRST_WORDS = frozenset(phrase.split(" ", 1)[0] for phrase in _THING_COMPOUNDS)
_DISH_NAMES = word_list("dish_names")


def _thing_compound(c: Candidate) -> bool:
    """ "we tried Guinea Pig", "a Mars bar", "Dulce De Leche", "Bermuda grass": the name and the
    words after it name a thing, an animal or a food (``thing_compounds``), not the place."""
    if c.key.split(" ", 1)[0] not in _THING_FIRST_WORDS:
        return False
    rest = c.text[c.end : c.end + 30].lower()
    for phrase in _THING_COMPOUNDS:
        if not phrase.startswith(c.key + " "):
            continue
        tail = phrase[len(c.key) :]  # " pig", " de leche"
        if rest.startswith(tail) and not rest[len(tail) : len(tail) + 1].isalpha():
            return True
    return False


def _dish_name(c: Candidate) -> bool:
    """ "we ate Thali", "Tonkatsu and Udon", "Korean mandu": a dish, snack or drink that is also a
    town's name somewhere (``dish_names``) is the food, unless the text places it ("to Udon",
    "Udon, Thailand", "the town of Pho")."""
    if c.key not in _DISH_NAMES:
        return False
    placed = (
        c.cue_l in _LOCATIVE or _followed_by_region(c.gz, c.text, c.end) or _place_of(c.text, c.prev_start)
    )
    return not placed


def _title_plural(c: Candidate) -> bool:
    """ "ate like Kings and Queens": the plural of a title of rulers or nobles (``ruler_titles``) that
    the text does not place ("in Queens") is the people, not Queens (New York) or Kings County."""
    if c.multi or not c.key.endswith("s") or c.key[:-1] not in _RULER_TITLES:
        return False
    return not (c.cue_l in _LOCATIVE or _followed_by_region(c.gz, c.text, c.end) or _place_of(c.text, c.prev_start))


_COMPANY_HEADS = word_list("company_heads")


def _company_name(c: Candidate) -> bool:
    """ "Texas Instruments", "Texas Industries": a place's name before one of ``company_heads``
    (capitalised in a cased text) names a firm, not the place (SwNE annotates no place in a firm's
    name; the corpora that annotate "Kansas State University" or "Melbourne Rebels" never write
    these words)."""
    nxt = c.nxt.rstrip(".,;:?!")
    return nxt.lower() in _COMPANY_HEADS and (nxt[:1].isupper() or not c.surface[:1].isupper())


_OWNED = word_list("owned_determiners")
_THING_END = re.compile(r" ?(?:--|,(?! ?[A-Z]))| (?:or|and|did|does|is|was|a|an)(?![\w'\u2019])")


def _owned_thing(c: Candidate) -> bool:
    """ "I've got a Pontiac, uh", "like a Winnebago or something", "My Toyota did": a name right
    after "a" or a possessive (``owned_determiners``) and followed by a comma, "or", "and", a verb
    or another "a" ends its noun phrase there: a thing of that name (a car, a college), not the
    place. Not a country, region or big city (a Spanish "a" is "to": "bienvenidos a Madrid, la
    capital"); "a Paris man", "a Texas tornado", "a Denison, Iowa-based firm" keep the place."""
    return c.prev_l in _OWNED and not c.strong and bool(_THING_END.match(c.text, c.end))


_BUSINESS_CUES = word_list("business_cues")
_BUSINESS_END = re.compile(r" ?['\u2019]s(?: ?[,.;:?!)]| and\b| or\b|$)")


def _possessive_business(c: Candidate) -> bool:
    """ "we eat at Shoney 's .", "at Sam 's and things like that", "held at Culver's, 1200 DeKalb
    Ave.", "a spokeswoman from McDonald's,": a name with a possessive that ends the phrase after
    "at", "to" or "from" (``business_cues``) is a shop or restaurant named after a person, not the
    place; "at Cambridge's Chesterton sports centre", "to Richmond's east side" keep the place."""
    return c.prev_l in _BUSINESS_CUES and bool(_BUSINESS_END.match(c.text, c.end))


_THE_NAME_BEFORE = re.compile(r"(?:^|\s)the (?:(?!of )[\w'\u2019]+ ){0,2}$")


def _lower_the_institution(c: Candidate) -> bool:
    """Lower-case text: "the new york times", "the china daily", "the new zealand herald", "the
    atlanta journal constitution": "the", a name (or its last words) and one of
    ``institution_heads`` name a newspaper or a school, as the cased text's capitals say
    ("the New York Times"; ``_names_institution``); "the university of kentucky college of law"
    keeps the state."""
    return c.nxt in _INSTITUTION_HEADS and bool(_THE_NAME_BEFORE.search(c.text, max(0, c.start - 60), c.start))


_DIRECTION_WORDS = word_list("direction_words")


def _lower_direction_phrase(c: Candidate) -> bool:
    """Lower-case text: "the north west", "the south east", "too far north", "the northern border":
    a name made of direction words only (``direction_words``; "far" only before "north" or
    "south") is a direction or a part of the place the text is about, not the region of that
    name (North West, South Africa; Far North, Cameroon; Northern Borders, Saudi Arabia). Cased
    text writes the region with capitals; "the far east" stays."""
    words = c.key.split()
    if len(words) < 2 or words[0] == "far" and words[1] not in ("north", "south"):
        return False
    return all(w in _DIRECTION_WORDS or (i == 0 and w == "far") for i, w in enumerate(words))


def _lower_word_name(c: Candidate) -> bool:
    """ "mountains", "roles" (alternate names), "lakes" (small): English words, unless a country,
    continent or a big place's own name ("paris", "nice")."""
    if c.multi or c.cued:
        return False
    gz, key = c.gz, c.key
    wordlike = key in gz.common_words or _english_plural(gz, key)
    if not wordlike or c.marker in ("country", "continent"):
        return False
    main = any(name_key(e.name) == key for e in c.rec.entries(key)[:5])
    return not main or c.pop < THRESHOLDS.word_town


def _lower_person_name(c: Candidate) -> bool:
    """ "michael", "douglas": a given name or surname without a place cue, unless a big place."""
    return not c.multi and not c.cued and c.person_name and not _big_place(c.marker, c.pop)


def _lower_case(c: Candidate) -> bool:
    """Lower-case text: capitals say nothing, so every name is less sure."""
    return True


# --- every text, last
def _many_candidates(c: Candidate) -> bool:
    """A weak name of many places ("Springfield"): less sure."""
    return c.info[3] > THRESHOLDS.many_candidates and not c.strong


@dataclass(frozen=True)
class Rule:
    """A named rule: when ``applies`` holds for a match, ``verdict`` decides it (see ``Verdict``).

    ``case``: the texts it runs on ("any", "cased", "lower"); ``amount``: the confidence taken
    off (discount, given name, person's name) or given (accept)."""

    name: str
    verdict: Verdict
    applies: Callable[[Candidate], bool]
    case: str = "any"
    amount: float = 0.0

    @property
    def doc(self) -> str:
        """What the rule rejects or accepts, and why (the docstring of ``applies``)."""
        return " ".join((self.applies.__doc__ or "").split())


_R, _V = Rule, Verdict
# The rules, in the order they run (an earlier rule shadows a later one).
RULES: tuple[Rule, ...] = (
    # every text: names that are never places where they stand
    _R("stopword", _V.REJECT, _stopword),
    _R("inside_handle", _V.REJECT, _inside_handle),
    _R("demonym", _V.REJECT, _demonym),
    _R("demonym_phrase", _V.REJECT, _demonym_phrase),
    _R("generic_prefix", _V.REJECT, _generic_prefix),
    _R("disease_name", _V.REJECT, _disease_name),
    _R("currency", _V.REJECT, _currency),
    _R("currency_amount", _V.REJECT, _currency_amount),
    _R("strain_name", _V.REJECT, _strain_name),
    _R("the_building", _V.REJECT, _the_building),
    _R("the_word_of", _V.REJECT, _the_word_of),
    _R("cut_off_word", _V.REJECT, _cut_off_word),
    _R("short_name", _V.REJECT, _short_name),
    _R("title_plural", _V.REJECT, _title_plural),
    _R("company_name", _V.REJECT, _company_name),
    _R("owned_thing", _V.REJECT, _owned_thing),
    _R("possessive_business", _V.REJECT, _possessive_business),

    _R("public_figure", _V.REJECT, _public_figure),
    _R("addressed_person", _V.SURNAME, _addressed_person),
    _R("thing_compound", _V.REJECT, _thing_compound),
    _R("dish_name", _V.REJECT, _dish_name),
    # cased text: capitals, compounds, persons, English words
    _R("abbreviation_lower", _V.REJECT, _abbreviation_lower, "cased"),
    _R("lowercase_well_known", _V.ACCEPT, _lowercase_well_known, "cased", THRESHOLDS.conf_lowercase_well_known),
    _R("uncapitalised_word", _V.REJECT, _uncapitalised_word, "cased"),
    _R("uncapitalised_settlement", _V.ACCEPT, _uncapitalised_settlement, "cased", THRESHOLDS.conf_lower_settlement),
    _R("dateline", _V.ACCEPT, _dateline, "cased", THRESHOLDS.conf_dateline),
    _R("headline_capitals", _V.REJECT, _headline_capitals, "cased"),
    _R("compound_word", _V.REJECT, _compound, "cased"),
    _R("inside_longer_name", _V.REJECT, _inside_longer, "cased"),
    _R("generic_tail", _V.REJECT, _generic_tail, "cased"),
    _R("given_name_before_surname", _V.GIVEN, _given_name_before_surname, "cased", THRESHOLDS.discount_given),
    _R("title_before", _V.SURNAME, _title_before, "cased"),
    _R("romance_of_phrase", _V.REJECT, _romance_of_phrase, "cased"),
    _R("saint_name", _V.REJECT, _saint_name, "cased"),
    _R("name_before", _V.SURNAME, _name_before, "cased"),
    _R("age_after", _V.SURNAME, _age_after, "cased"),
    _R("speech_verb_after", _V.SURNAME, _speech_verb_after, "cased"),
    _R("said_before", _V.SURNAME, _said_before, "cased"),
    _R("city_before_capitalised", _V.ACCEPT, _city_before_capitalised, "cased", THRESHOLDS.conf_city_capitalised),
    _R("event_place", _V.ACCEPT, _event_place, "cased", THRESHOLDS.conf_event_place),
    _R("given_name_before_capitalised", _V.GIVEN, _given_name_before_capitalised, "cased", THRESHOLDS.discount_given),
    _R("english_word_at_start", _V.REJECT, _english_word_at_start, "cased"),
    _R("english_word_unplaced", _V.REJECT, _english_word_unplaced, "cased"),
    _R("english_word_kept", _V.DISCOUNT, _english_word_kept, "cased", THRESHOLDS.discount_english_word),
    _R("person_name_cued", _V.SUPPORTED, _person_name_cued, "cased", THRESHOLDS.discount_person),
    _R("person_name", _V.NEEDS_SUPPORT, _person_name, "cased", THRESHOLDS.discount_person),
    _R("small_town_elsewhere", _V.NEEDS_COUNTRY, _small_town, "cased"),
    # lower-case text
    _R("lower_short_form_uncued", _V.REJECT, _lower_short_form_uncued, "lower"),
    _R("lower_direction_phrase", _V.REJECT, _lower_direction_phrase, "lower"),
    _R("lower_the_institution", _V.REJECT, _lower_the_institution, "lower"),
    _R("lower_the_abbreviation", _V.ACCEPT, _lower_the_abbreviation, "lower", THRESHOLDS.conf_lower_abbreviation),
    _R("lower_the_feature", _V.ACCEPT, _lower_the_feature, "lower", THRESHOLDS.conf_lower_feature),
    _R("lower_feature_name", _V.ACCEPT, _lower_feature_name, "lower", THRESHOLDS.conf_lower_feature),
    _R("lower_event_place", _V.ACCEPT, _lower_event_place, "lower", THRESHOLDS.conf_lower_event_place),
    _R("lower_country_word", _V.NEEDS_SUPPORT, _lower_country_word, "lower", THRESHOLDS.discount_context),
    _R("lower_settlement_of", _V.ACCEPT, _lower_settlement_of, "lower", THRESHOLDS.conf_lower_settlement),
    _R("lower_person_town_cued", _V.ACCEPT, _lower_person_town_cued, "lower", THRESHOLDS.conf_lower_person_town),
    _R("lower_generic_district", _V.ACCEPT, _lower_generic_district, "lower", THRESHOLDS.conf_lower_feature),
    _R("lower_foreign_name_cued", _V.ACCEPT, _lower_foreign_name_cued, "lower", THRESHOLDS.conf_lower_settlement),
    _R("lower_in_context", _V.NEEDS_SUPPORT, _lower_in_context, "lower", THRESHOLDS.discount_context),
    _R("lower_unknown", _V.NEEDS_NAME, _lower_unknown, "lower"),
    _R("lower_word_uncued", _V.NEEDS_NAME, _lower_word_uncued, "lower"),
    _R("lower_the_alias", _V.REJECT, _lower_the_alias, "lower"),
    _R("lower_the_word", _V.REJECT, _lower_the_word, "lower"),
    _R("lower_word_name", _V.NEEDS_NAME, _lower_word_name, "lower"),
    _R("lower_person_name", _V.NEEDS_NAME, _lower_person_name, "lower"),
    _R("lower_word_elsewhere", _V.NEEDS_COUNTRY, _lower_word_elsewhere, "lower"),
    _R("lower_case", _V.DISCOUNT, _lower_case, "lower", THRESHOLDS.discount_lower),
    # every text
    _R("many_candidates", _V.DISCOUNT, _many_candidates, "any", THRESHOLDS.discount_many),
)
del _R, _V
RULE_NAMES = frozenset(r.name for r in RULES)
# What a trace names a match with that no rule decided (accepted), and the hot loop's stop-word skip.
DEFAULT_ACCEPT = "default_accept"


def rule_by_name(name: str) -> Rule:
    """The rule of that name (KeyError for a wrong one)."""
    for r in RULES:
        if r.name == name:
            return r
    raise KeyError(name)


@lru_cache(maxsize=16)
def _active_rules(cased: bool, disabled: frozenset[str]) -> tuple[Rule, ...]:
    case = "cased" if cased else "lower"
    return tuple(r for r in RULES if r.case in ("any", case) and r.name not in disabled)


def _select(found: list[Mention]) -> list[Mention]:
    """Non-overlapping mentions, longer first (multi-word names beat their parts).

    Taken characters are marked in a byte map, so checking a mention costs its own length
    (linear in the text in all; testing every taken span per mention was quadratic).
    """
    found.sort(key=lambda m: (-(m.end - m.start), m.start))
    taken: list[Mention] = []
    occupied = bytearray(max((m.end for m in found), default=0))
    for m in found:
        if occupied.find(1, m.start, m.end) != -1:
            continue
        taken.append(m)
        occupied[m.start : m.end] = b"\x01" * (m.end - m.start)
    return taken


CAPITALS_TITLE_RULE = True
# two or more words in capitals in a cased text: a title ("THE HISTORY OF YOAKUM COUNTY , TEXAS",
# "LONE STAR STATE"), a heading or a shout, not running text
_CAPITAL_RUN = re.compile(
    r"(?<![\w'])[A-Z][A-Z'\u2019.\-]+(?:(?:\s+|\s*,\s*)(?:OF|THE|AND|A|[A-Z][A-Z'\u2019.\-]+))+(?![\w'])"
)


def _outside_capital_titles(text: str, mentions: list[Mention]) -> list[Mention]:
    """Drop names inside a run of capitalised words that they do not fill ("TEXAS HISTORY BOOK")."""
    runs = [(m.start(), m.end()) for m in _CAPITAL_RUN.finditer(text) if len(m.group(0).split()) >= 2]
    if not runs:
        return mentions
    starts = [s for s, _ in runs]
    out = []
    for m in mentions:
        i = bisect.bisect_right(starts, m.start) - 1
        if i >= 0 and runs[i][1] >= m.end and (runs[i][0], runs[i][1]) != (m.start, m.end) and m.kind == "gazetteer":
            continue
        out.append(m)
    return out


def _place_numbers(text: str, mentions: list[Mention]) -> list[Mention]:
    """Extend "<city> <2-3 digit number>" ("Taipei 101") into a POI mention."""
    out = []
    for m in mentions:
        if m.kind != "gazetteer" or m.marker not in ("city",):
            out.append(m)
            continue
        nm = _PLACE_NUMBER.match(text, m.end)
        if nm and not nm.group(1).startswith("0"):
            end = nm.end(1)
            surface = text[m.start : end]
            out.append(Mention(m.start, end, surface, name_key(surface), "poi", m.candidate_ids, "poi", 0.5))
        else:
            out.append(m)
    return out


_RECOGNIZER: _Recognizer | None = None


def _recognizer() -> _Recognizer:
    global _RECOGNIZER
    gz = get_gazetteer()
    if _RECOGNIZER is None or _RECOGNIZER.gz is not gz:
        _RECOGNIZER = _Recognizer(gz)
    return _RECOGNIZER


def recognize(
    text: str,
    *,
    language: str | None = None,
    cased: bool | None = None,
    trace: list[RuleDecision] | None = None,
    disabled: frozenset[str] = frozenset(),
) -> list[Mention]:
    """Toponym mentions in ``text`` (offsets into ``text``, end exclusive).

    ``trace``: a list that receives one ``RuleDecision`` per rule that fired on a match (the
    evaluation's rule report); ``disabled``: names of ``RULES`` to skip (its ablation)."""
    del language  # Latin and Chinese names are both matched; the script decides
    unknown = disabled - RULE_NAMES
    if unknown:
        raise KeyError(f"no such rule: {', '.join(sorted(unknown))}")
    rec = _recognizer()
    mentions = _place_numbers(text, rec.recognize(text, cased=cased, trace=trace, disabled=disabled))
    _mark_structure(text, mentions, rec)
    return mentions


_LIST_SEPARATORS = (", ", ",", ", and ", " and ", ", or ", " or ", " & ")
_STREET_HEADS = frozenset(h for h, kind in POI_HEADS.items() if kind == "street") | {"st", "ave", "rd", "blvd", "hwy"}


def _listed_with_place(text: str, m: Mention, starts: set[int], ends: set[int]) -> bool:
    """ "Monroe, Trenton and Seven Mile": an item of a list whose neighbour is a place
    (``starts``/``ends``: the offsets of the mentions found)."""
    for sep in _LIST_SEPARATORS:
        if text[max(0, m.start - len(sep)) : m.start] == sep and (m.start - len(sep)) in ends:
            return True
        if text[m.end : m.end + len(sep)] == sep and (m.end + len(sep)) in starts:
            return True
    return False


def _contains(area: Entry, e: Entry) -> bool:
    if area.index == e.index or area.country_code != e.country_code or not e.country_code:
        return False
    if area.feature_code == "PCLI":
        return e.feature_code != "PCLI"
    if area.feature_code == "ADM1":
        return e.admin1 == area.admin1 and e.feature_code != "ADM1"
    if area.feature_code == "ADM2":
        return e.admin1 == area.admin1 and e.admin2 == area.admin2 and e.feature_code not in ("ADM1", "ADM2")
    return False


def _mark_structure(text: str, mentions: list[Mention], rec: _Recognizer) -> None:
    """Markers the text's structure decides.

    "Buffalo, New York" / "Springfield, Ill.": the second name is the enclosing
    region (or country) of the first. In a list of names ("Egypt and Niger",
    "Michigan, Oregon, New York, Indiana") a name that can be of the list's
    majority kind (countries, regions) is taken as that kind.
    """
    gaz = [m for m in mentions if m.kind == "gazetteer"]
    cands = {m.key: rec.entries(m.key) for m in gaz}
    for m in gaz:  # "New York state", "Washington State", "New York Governor David Paterson"
        state_word = _next_word(text, m.end).rstrip(".,;:").lower() in ("state", "governor", "gov")
        if (state_word or _GOVERNOR_OF.search(text, max(0, m.start - 14), m.start)) and any(
            e.feature_code == "ADM1" for e in cands[m.key]
        ):
            m.marker = m.marker_hint = "region"
    for a, b in zip(gaz, gaz[1:], strict=False):
        if text[a.end : b.start] not in (", ", ","):
            continue
        for area in cands[b.key]:
            if area.feature_code in ("PCLI", "ADM1", "ADM2") and any(_contains(area, e) for e in cands[a.key]):
                b.marker = b.marker_hint = area.marker
                a.qualifier = b.surface
                break
    runs: list[list[Mention]] = []
    for m in gaz:
        if runs and text[runs[-1][-1].end : m.start] in _LIST_SEPARATORS and not runs[-1][-1].qualifier:
            runs[-1].append(m)
        else:
            runs.append([m])
    for run in runs:
        if len(run) < 2 or len(run) == 2 and " and " not in text[run[0].end : run[1].start]:
            continue
        for m in run:
            if m.marker_hint:
                continue
            kinds = Counter(o.marker for o in run if o is not m)
            kind, n = kinds.most_common(1)[0]
            if kind in ("country", "region") and n >= max(1, (len(run) - 1) * 0.6):
                if any(e.marker == kind for e in cands[m.key]):
                    m.marker = m.marker_hint = kind


def group_mentions(mentions: list[Mention]) -> list[tuple[str, Mention, list[Mention]]]:
    """One group per place, in order of first mention: (name key, first mention, all its mentions)."""
    groups: dict[str, tuple[Mention, list[Mention]]] = {}
    for m in mentions:
        groups.setdefault(m.key, (m, []))[1].append(m)
    return [(k, first, ms) for k, (first, ms) in groups.items()]


# ----------------------------------------------------------------- extractor
class OfflineExtractor:
    """Gazetteer-driven extractor: no API key, no network."""

    name = "offline"

    def __init__(self, **_: Any) -> None:
        pass

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "version": VERSION, "data_version": _build.data_version()}

    def extract(self, windows: list[Window], *, title: str = "", language: str | None = None,
                on_progress: Callable[[float], None] | None = None) -> ExtractionResult:
        report = on_progress or (lambda fraction: None)
        report(0.0)
        gz = get_gazetteer()  # the first use in a process loads the index (seconds)
        report(0.3)
        segments = []
        seen_segments: set[tuple[float, str]] = set()
        for w in windows:
            for s in w.segments:
                if (s.start, s.text) not in seen_segments:
                    seen_segments.add((s.start, s.text))
                    segments.append(s)
        segments.sort(key=lambda s: s.start)
        offsets = []
        pos = 0
        for seg in segments:
            offsets.append(pos)
            pos += len(seg.text) + 1
        full = " ".join(s.text for s in segments)
        cased = text_is_cased(full) if not has_cjk(full) or _latin_share(full) > 0.5 else True
        places: dict[str, tuple[Place, Mention]] = {}
        for gkey, m, members in group_mentions(recognize(full, language=language, cased=cased)):
            hint = next((o.marker_hint for o in members if o.marker_hint), "")  # "..., Mali, Niger and Chad"
            if hint and not m.marker_hint:
                m = dataclasses.replace(m, marker=hint, marker_hint=hint)
            first = bisect.bisect_right(offsets, m.start) - 1
            last = bisect.bisect_right(offsets, m.end - 1) - 1
            evidence = " ".join(seg.text for seg in segments[first : last + 1])
            places[gkey] = (
                Place(
                    name=m.surface,
                    marker=m.marker,
                    tags=list(_TAGS.get(m.marker, [])),
                    evidence=evidence,
                    start_seconds=segments[first].start,
                    confidence=m.confidence,
                ),
                m,
            )
        report(0.8)
        names = tuple(sorted({name_key(p.name) for p, m in places.values() if m.kind == "gazetteer"}))
        for place, m in places.values():
            key = name_key(place.name)
            pick = _resolve_cached(gz, names, (key, m.marker_hint or "other")).get(key) if key in names else None
            if pick is not None:
                # provisional: the geocoder's answer re-describes the place it places (apply_outcome)
                place.description, place.marker = describe_entry(gz, pick.entry, m.marker_hint)
                place.tags = list(_TAGS.get(place.marker, []))
                last_word = m.surface.split()[-1].lower()
                if (
                    m.kind == "gazetteer"
                    and " " in m.surface
                    and POI_HEADS.get(last_word) == "poi"
                    and "landmark" not in place.tags  # (a POI entry's marker gives it already)
                ):
                    place.tags.append("landmark")
            elif m.kind == "poi":
                place.description = describe_marker(m.marker)
        return ExtractionResult(
            places=[p for p, _ in places.values()],
            extractor=f"offline:{VERSION}",
            summary="",
            options={"method": VERSION, "geocoder_method": GEOCODER_METHOD, "data_version": gz.version, "cased": cased},
        )


def _latin_share(text: str) -> float:
    n_letters = sum(map(str.isalpha, text))
    if not n_letters:
        return 0.0
    return (n_letters - count_cjk(text)) / n_letters

"""Stage 3: normalise subtitles / ASR output into timed segments and windows.

Subtitle files are parsed with ``srt`` and ``webvtt-py`` (no hand-written
parsers); text decoded with the wrong code page ("PÃ¨re Lachaise") is repaired with
``ftfy``. Auto-captions (YouTube's in particular) repeat the previous line in every
cue ("rolling" captions); those repeats are dropped so the extractor sees each word
once. Segments are then merged into windows that fit the extractor's token budget,
keeping their timecodes.
"""

from __future__ import annotations

import html
import io
import json
import logging
import re
from dataclasses import dataclass

import ftfy
import srt
import webvtt
from webvtt.errors import MalformedFileError

from ..datatypes import Record, Segment, Transcript, Window
from ..errors import SubtitleParseError

logger = logging.getLogger(__name__)

# Estimated speaking rate used to place plain-text transcripts on a timeline.
PLAIN_TEXT_WORDS_PER_SECOND = 2.5

_TAG_RE = re.compile(r"<[^>]{0,200}>|\{\\[^}]{0,100}\}")
_SPACE_RE = re.compile(r"\s+")
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_SENTENCE_RE = re.compile(r"(?<=[.!?。！？])\s+|\n+")


@dataclass
class CompressOptions(Record):
    window_tokens: int = 1500
    dedupe_rolling: bool = True
    version: str = "2"  # 2: mojibake repaired (ftfy)


def clean_cue_text(text: str) -> str:
    """Repair mojibake, decode entities, then drop markup (``<c>``, inline timestamps,
    ``{\\an8}``), squash spaces.

    Mojibake first: a subtitle file saved as UTF-8 and read as Windows-1252 somewhere on its
    way says "PÃ¨re Lachaise", whose "PÃ" the gazetteer would read as "PA" (Pennsylvania);
    ``ftfy.fix_encoding`` changes nothing else (no quotes, widths or entities). Decoding
    entities before stripping matters: stripping first would let ``&lt;img onerror=…&gt;``
    survive and then turn into real markup. The result is plain text; writers escape it.
    """
    text = ftfy.fix_encoding(text)
    text = html.unescape(text)
    text = _TAG_RE.sub(" ", text)
    return _SPACE_RE.sub(" ", text).strip()


def parse_subtitles(text: str, fmt: str) -> list[Segment]:
    """Parse subtitle text of format ``srt``, ``vtt``, ``json3`` or ``txt`` into segments."""
    fmt = (fmt or "").lower().lstrip(".")
    if fmt == "srt":
        segments = _parse_srt(text)
    elif fmt == "vtt":
        segments = _parse_vtt(text)
    elif fmt == "json3":
        segments = _parse_json3(text)
    elif fmt in ("txt", "text"):
        segments = _parse_plain(text)
    else:
        raise SubtitleParseError(f"Unsupported subtitle format {fmt!r} (use .srt, .vtt or .txt).")
    segments = [s for s in segments if s.text]
    if not segments:
        raise SubtitleParseError("The subtitle file contains no text.")
    return segments


def _parse_srt(text: str) -> list[Segment]:
    try:
        subs = list(srt.parse(text))
    except (srt.SRTParseError, ValueError) as exc:
        raise SubtitleParseError(
            "Not a valid SRT file (expected numbered cues with 'HH:MM:SS,mmm --> HH:MM:SS,mmm' lines): "
            f"{_first_line(exc)[:120]}"
        ) from exc
    return [
        Segment(s.start.total_seconds(), s.end.total_seconds(), clean_cue_text(s.content))
        for s in sorted(subs, key=lambda s: s.start)
    ]


def _parse_vtt(text: str) -> list[Segment]:
    try:
        captions = webvtt.from_buffer(io.StringIO(text))
    except (MalformedFileError, ValueError, IndexError, AttributeError, TypeError) as exc:
        raise SubtitleParseError(f"Not a valid WebVTT file: {_first_line(exc)}") from exc
    return [Segment(_ts(c.start), _ts(c.end), clean_cue_text(c.text)) for c in captions]


def _ts(value: str) -> float:
    parts = value.replace(",", ".").split(":")
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + float(part)
    return seconds


def _parse_json3(text: str) -> list[Segment]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubtitleParseError(f"Not valid json3 captions: {exc.msg}") from exc
    segments = []
    for event in data.get("events", []):
        words = "".join(seg.get("utf8", "") for seg in event.get("segs") or [])
        start = event.get("tStartMs", 0) / 1000
        end = start + event.get("dDurationMs", 0) / 1000
        segments.append(Segment(start, end, clean_cue_text(words)))
    return segments


def _parse_plain(text: str) -> list[Segment]:
    """Plain transcripts have no times: place sentences at an estimated speaking rate."""
    segments = []
    clock = 0.0
    for sentence in _SENTENCE_RE.split(ftfy.fix_encoding(text)):
        sentence = _SPACE_RE.sub(" ", sentence).strip()
        if not sentence:
            continue
        duration = max(1.0, estimate_tokens(sentence) / PLAIN_TEXT_WORDS_PER_SECOND)
        segments.append(Segment(round(clock, 3), round(clock + duration, 3), sentence))
        clock += duration
    return segments


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def drop_rolling_duplicates(segments: list[Segment]) -> list[Segment]:
    """Remove the text each auto-caption cue repeats from the cues before it.

    YouTube's rolling captions show line N-1 again above line N, and often add
    a 10 ms cue that only repeats. We keep, for each cue, only the words that
    extend what was already said (longest suffix/prefix word overlap).
    """
    out: list[Segment] = []
    said: list[str] = []  # recent words already emitted (lower-case)
    for seg in segments:
        words = seg.text.split()
        lowered = [w.lower() for w in words]
        overlap = _overlap(said, lowered)
        new_words = words[overlap:]
        if not new_words:
            continue
        if overlap and out and seg.start < out[-1].end:
            start = out[-1].end if out[-1].end <= seg.end else seg.start
        else:
            start = seg.start
        out.append(Segment(start, max(seg.end, start), " ".join(new_words)))
        said = (said + lowered[overlap:])[-60:]
    return out


def _overlap(tail: list[str], words: list[str]) -> int:
    """Length of the longest prefix of ``words`` that is a suffix of ``tail``."""
    best = 0
    limit = min(len(tail), len(words))
    for size in range(limit, 0, -1):
        if tail[-size:] == words[:size]:
            best = size
            break
    if best == 0 and words and len(words) <= len(tail):
        # A cue entirely contained in recent text (repeat of an earlier line).
        joined = " ".join(tail)
        if " ".join(words) in joined and len(words) >= 3:
            return len(words)
    return best


def estimate_tokens(text: str) -> int:
    """A cheap token estimate: ~1 token per CJK character, ~1.3 per other word."""
    cjk = len(_CJK_RE.findall(text))
    words = len(_CJK_RE.sub(" ", text).split())
    return cjk + int(words * 1.3 + 0.5)


def make_windows(segments: list[Segment], max_tokens: int) -> list[Window]:
    """Merge consecutive segments into windows of at most ``max_tokens`` (estimated)."""
    windows: list[Window] = []
    current: list[Segment] = []
    budget = 0
    for seg in segments:
        cost = estimate_tokens(seg.text)
        if current and budget + cost > max_tokens:
            windows.append(_window(len(windows), current, budget))
            current, budget = [], 0
        current.append(seg)
        budget += cost
    if current:
        windows.append(_window(len(windows), current, budget))
    return windows


def _window(index: int, segments: list[Segment], tokens: int) -> Window:
    return Window(index, segments[0].start, segments[-1].end, list(segments), tokens)


def compress(transcript: Transcript, options: CompressOptions | None = None) -> list[Window]:
    """Transcript -> deduplicated, timed windows within the token budget."""
    options = options or CompressOptions()
    segments = [s for s in transcript.segments if s.text.strip()]
    if options.dedupe_rolling and transcript.origin == "subtitles:automatic":
        before = len(segments)
        segments = drop_rolling_duplicates(segments)
        logger.debug("rolling-caption dedupe: %d -> %d segments", before, len(segments))
    return make_windows(segments, options.window_tokens)


def transcript_from_subtitles(
    video_id: str, text: str, fmt: str, kind: str | None, language: str | None = None
) -> Transcript:
    segments = parse_subtitles(text, fmt)
    origin = "text" if fmt in ("txt", "text") else f"subtitles:{kind or 'file'}"
    options = {"format": fmt}
    if origin == "text":
        options["timing"] = f"estimated at {PLAIN_TEXT_WORDS_PER_SECOND} words/s"
    return Transcript(video_id, segments, origin, language, options)

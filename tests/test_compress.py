import pytest

from pipeline.datatypes import Segment
from pipeline.errors import SubtitleParseError
from pipeline.stages.compress import (
    CompressOptions,
    compress,
    drop_rolling_duplicates,
    estimate_tokens,
    make_windows,
    parse_subtitles,
    transcript_from_subtitles,
)

ROLLING_VTT = """WEBVTT
Kind: captions
Language: en

00:00:00.000 --> 00:00:02.000 align:start position:0%
we<00:00:00.500><c> are</c><00:00:01.000><c> in</c>

00:00:02.000 --> 00:00:02.010
we are in

00:00:02.010 --> 00:00:04.000
we are in
taipei today and

00:00:04.000 --> 00:00:04.010
taipei today and

00:00:04.010 --> 00:00:06.000
taipei today and
then we go to tamsui
"""


def test_srt_parsed_with_times_and_markup_removed():
    text = "1\n00:01:02,500 --> 00:01:04,000\n<i>Welcome to</i> {\\an8}Lisbon &amp; Porto\n\n"
    [seg] = parse_subtitles(text, "srt")
    assert seg.start == 62.5 and seg.end == 64.0
    assert seg.text == "Welcome to Lisbon & Porto"


def test_vtt_inline_timestamps_removed():
    segs = parse_subtitles(ROLLING_VTT, "vtt")
    assert segs[0].text == "we are in"
    assert segs[2].start == pytest.approx(2.01)


def test_rolling_auto_captions_deduplicated():
    segs = drop_rolling_duplicates(parse_subtitles(ROLLING_VTT, "vtt"))
    assert [s.text for s in segs] == ["we are in", "taipei today and", "then we go to tamsui"]
    assert segs[2].start == pytest.approx(4.01)
    assert " ".join(s.text for s in segs).count("taipei") == 1


def test_dedupe_only_for_automatic_captions():
    manual = transcript_from_subtitles("v", ROLLING_VTT, "vtt", "manual")
    auto = transcript_from_subtitles("v", ROLLING_VTT, "vtt", "automatic")
    manual_text = " ".join(w.text for w in compress(manual))
    auto_text = " ".join(w.text for w in compress(auto))
    assert auto_text.count("taipei") == 1
    assert manual_text.count("taipei") == 3


def test_plain_text_gets_estimated_times():
    t = transcript_from_subtitles("v", "We went to Paris. Then Lyon!\nAnd Nice.", "txt", "file")
    assert [s.text for s in t.segments] == ["We went to Paris.", "Then Lyon!", "And Nice."]
    assert t.segments[1].start > t.segments[0].start
    assert "estimated" in t.options["timing"]
    assert t.origin == "text"


@pytest.mark.parametrize("text,fmt,message", [
    ("", "srt", "no text"),
    ("this is not\nan srt file at all", "srt", "Not a valid SRT file"),
    ("garbage", "vtt", "WebVTT"),
    ("hello", "docx", "Unsupported subtitle format"),
])
def test_bad_subtitles_give_clear_messages(text, fmt, message):
    with pytest.raises(SubtitleParseError, match=message):
        parse_subtitles(text, fmt)


def test_windows_respect_budget_and_keep_timecodes():
    segs = [Segment(i * 2.0, i * 2.0 + 2, "word " * 20) for i in range(30)]
    windows = make_windows(segs, max_tokens=100)
    assert len(windows) > 1
    assert all(w.token_estimate <= 100 for w in windows)
    assert windows[0].start == 0.0 and windows[-1].end == segs[-1].end
    assert sum(len(w.segments) for w in windows) == 30
    for a, b in zip(windows, windows[1:], strict=False):
        assert a.end <= b.start


def test_token_estimate_counts_cjk_characters():
    assert estimate_tokens("我们去台北") == 5
    assert estimate_tokens("hello world") == 3


def test_compress_options_budget_used():
    t = transcript_from_subtitles("v", "\n".join(f"Sentence number {i} here." for i in range(200)), "txt", None)
    assert len(compress(t, CompressOptions(window_tokens=50))) > len(compress(t, CompressOptions(window_tokens=500)))


@pytest.mark.parametrize("cue,expected", [
    ("&lt;img src=x onerror=alert(1)&gt;Lisbon", "Lisbon"),
    ("&lt;/description&gt;&lt;Placemark&gt;Porto", "Porto"),
    ("Tom &amp;amp; Jerry", "Tom &amp; Jerry"),  # decoded once: an encoded entity stays text
    ("<i>Faro</i> &amp; Sagres", "Faro & Sagres"),
])
def test_entities_are_decoded_before_markup_is_stripped(cue, expected):
    [seg] = parse_subtitles(f"1\n00:00:01,000 --> 00:00:02,000\n{cue}\n\n", "srt")
    assert seg.text == expected


@pytest.mark.parametrize("fmt,text", [
    ("srt", "1\n00:00:01,000 --> 00:00:02,000\nRight now we're visiting PÃ¨re Lachaise\n\n"),
    ("vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nRight now we're visiting PÃ¨re Lachaise\n\n"),
    ("txt", "Right now we're visiting PÃ¨re Lachaise"),
])
def test_mojibake_is_repaired_and_nothing_else_changes(fmt, text):
    """A file saved as UTF-8 and read as Windows-1252 on its way ("PÃ¨re"): repaired, so the
    recogniser does not read "PÃ" as "PA" (Pennsylvania); quotes and CJK are left as they are."""
    [seg] = parse_subtitles(text, fmt)
    assert seg.text == "Right now we're visiting Père Lachaise"
    [kept] = parse_subtitles("1\n00:00:01,000 --> 00:00:02,000\n“naïve” 龍環葡韻 café\n\n", "srt")
    assert kept.text == "“naïve” 龍環葡韻 café"

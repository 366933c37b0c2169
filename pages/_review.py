"""Pure helpers of the Review page (no st.* calls): the transcript as escaped HTML with the places marked."""

from __future__ import annotations

import html
import re


def highlighted_html(text: str, pattern: re.Pattern[str] | None) -> str:
    """Untrusted text as HTML with every match of ``pattern`` in <mark>; everything else escaped."""
    if pattern is None:
        return html.escape(text)
    parts, last = [], 0
    for m in pattern.finditer(text):
        parts.append(html.escape(text[last:m.start()]))
        parts.append(f"<mark>{html.escape(m.group(0))}</mark>")
        last = m.end()
    parts.append(html.escape(text[last:]))
    return "".join(parts)


def fmt_timecode(seconds: float | None) -> str:
    total = max(0, int(seconds or 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def transcript_html(segments: list[dict]) -> str:
    """The transcript with the place names marked (every piece escaped; names are plain text)."""
    lines = []
    for seg in segments:
        text = seg["text"]
        names = [n for n in seg.get("names", []) if n]
        pattern = re.compile("|".join(re.escape(n) for n in names), re.IGNORECASE) if names else None
        body = highlighted_html(text, pattern)
        lines.append(f"<p style='margin:0 0 .3em 0'><code>{fmt_timecode(seg['start'])}</code> {body}</p>")
    return "<div>" + "".join(lines) + "</div>"

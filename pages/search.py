"""Search: words or a place name -> every moment in every analysed video where it is said.

DuckDB over the stored transcript segments (each video's newest analysis) plus the places
(corrected names too). Each hit links to the review page at that moment; the same query
filters the map and the places table. The query is in the URL (``?q=…``).
"""

from __future__ import annotations

import html
import re

import streamlit as st

from pages._review import highlighted_html
from pages._shared import attempt, fmt_timecode, page, page_link, plural

SHOWN = 100


def _body(bench) -> None:
    query = st.text_input("Words or a place name", key="q", bind="query-params",
                          placeholder="e.g. Lisbon, or: harbour boat")
    if not (query or "").strip():
        st.caption("Every moment in every analysed video where the words are said (all of them, in any order), "
                   "or where a place of that name was found.")
        return
    hits = attempt(lambda: bench.search(query), "Searching") or []
    videos = len({h["video_id"] for h in hits})
    c1, c2, c3 = st.columns([3, 1, 1])
    c1.markdown(f"**{plural(len(hits), 'moment')}** in **{plural(videos, 'video')}**")
    page_link(c2, "pages/map.py", "Show on the map", icon=":material/map:", query_params={"q": query})
    page_link(c3, "pages/places.py", "Show in the table", icon=":material/table:", query_params={"q": query})
    words = [w for w in query.split() if w]
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE)
    current = None
    shown = hits[:SHOWN]
    if len(hits) > SHOWN:
        st.caption(f"The first {SHOWN} are listed; add a word to narrow the search.")
    with st.container(key="search_results"):
        for hit in shown:
            if hit["video_id"] != current:
                current = hit["video_id"]
                st.subheader(hit["video_title"], divider="gray")
            marked = highlighted_html(hit["text"] or "", pattern)
            # one row = a flex container, the link and the text (columns cost two more elements a
            # row, and every element is a cost in the browser on each visit)
            row = st.container(horizontal=True, vertical_alignment="center", gap="small")
            page_link(row, "pages/video.py", f"▶ {fmt_timecode(hit['start_seconds'])}",
                      query_params={"video": hit["video_id"], "t": str(int(hit["start_seconds"]))})
            places = f" <small>· places: {html.escape(', '.join(hit['places']))}</small>" if hit["places"] else ""
            row.html(f"<div>{marked}{places}</div>")


with page("Search") as bench:
    _body(bench)

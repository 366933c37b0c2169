"""Map: every video's route (stops in time order, numbered, with arrows), areas as context, stacked
places spread; select a place to see its evidence and open it in the per-video review page.

The filters live in the URL (``bind="query-params"``): a view can be shared by its address.
"""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from pages import _mapslot as mapslot
from pages import _mapview as mv
from pages._shared import attempt, network_available, page, page_link, plural, static_serving, video_labels

logger = logging.getLogger("videomap.ui")
# The chart is app.py's (pages/_mapslot.py: it survives page switches) and comes first in the page;
# shown in order: the page's title and filters, the chart, then what is below it.
ORDER = ("<style>div:has(> .st-key-map_slot),.st-key-map_slot{order:1}"
         "div:has(> .st-key-map_below),.st-key-map_below{order:2}</style>")


def _legend(colours: dict[str, list[int]], names: dict[str, str]) -> None:
    if not colours:
        return
    frame = pd.DataFrame({"": ["" for _ in colours], "Colour key": [names.get(k, k) or "–" for k in colours]})
    rgb = [f"background-color: rgb({c[0]},{c[1]},{c[2]})" for c in colours.values()]
    st.dataframe(frame.style.apply(lambda _: rgb, subset=[""], axis=0), hide_index=True, width="content")


def _details(place: dict, number: str) -> None:
    """What the analyst needs to judge a place: evidence, description, tags, confidence, links."""
    with st.container(border=True, key="place_details"):
        st.subheader("Selected place")
        st.text(place["location"] + (f" · stop {number}" if number else ""))
        kind = "approximate position" if place.get("approximate") else "exact position"
        if mv.is_area(place):
            kind = "area (context, not a route stop)"
        st.text(f"At {place['timecode'][:8]} · confidence {place['confidence']:.0%} · {place['marker'] or '–'} · "
                f"{kind}")
        st.text(f"Video: {place.get('video_title') or place['video_id']}")
        if place.get("description"):
            st.text(f"Description: {place['description']}")
        if place.get("tags"):
            st.text("Tags: " + ", ".join(str(t) for t in place["tags"]))
        st.text("Evidence (what was said):")
        st.code(place.get("evidence") or "–", language=None, wrap_lines=True)
        page_link(st, "pages/video.py", "Review this place in its video", icon=":material/rate_review:",
                     query_params={"video": place["video_id"], "t": str(int(place["start_seconds"]))})
        url = place.get("url_at_time") or ""
        if url.startswith(("https://", "http://")):
            st.link_button(f"Open the video at {place['timecode'][:8]}", url, icon=":material/play_circle:")


with page("Map") as bench:
    labels = video_labels(bench)
    all_places = attempt(lambda: bench.review_places(), "Reading the places") or []
    video_ids = sorted({p["video_id"] for p in all_places}, key=lambda v: labels.get(v, v).lower())
    tags = sorted({str(t) for p in all_places for t in p["tags"]})
    markers = sorted({p["marker"] for p in all_places})

    # the Videos filter gets room for several picked titles (a narrow one hides all but the last)
    f0, f1, f2, f3 = st.columns([2, 5, 2, 2])
    query = f0.text_input("Search words or a place", key="q", bind="query-params",
                          placeholder="e.g. Lisbon, harbour")
    chosen_videos = f1.multiselect("Videos", video_ids, format_func=lambda v: labels.get(v, v), key="videos",
                                   placeholder="All videos", bind="query-params")
    chosen_tags = f2.multiselect("Tags", tags, key="map_tags", placeholder="Any tag")
    chosen_markers = f3.multiselect("Marker", markers, key="map_markers", placeholder="Any marker")
    o0, o1, o2, o3, o4 = st.columns([2, 2, 1, 2, 2], vertical_alignment="bottom")
    min_conf = o0.slider("Minimum confidence", 0.0, 1.0, 0.0, 0.05, key="map_min_conf")
    colour_by = o1.selectbox("Colour by", ["video", "marker"], key="map_colour_by")
    show_labels = o2.toggle("Labels", value=False, key="map_labels")
    show_areas = o3.toggle("Areas (countries, regions)", value=True, key="map_areas")
    basemap = o4.selectbox("Basemap", ["auto", "tiles", "outlines"], key="basemap", bind="query-params",
                           help="auto: map tiles when online, packaged country outlines when offline.")

    places = bench.review_places(query=query) if (query or "").strip() else all_places
    shown = [p for p in places
             if (not chosen_videos or p["video_id"] in chosen_videos)
             and (not chosen_tags or set(map(str, p["tags"])) & set(chosen_tags))
             and (not chosen_markers or p["marker"] in chosen_markers)
             and (show_areas or not mv.is_area(p))
             and p["confidence"] >= min_conf]
    on_map = mv.located(shown)
    online = not bench.settings.offline and network_available()
    tiles = basemap == "tiles" or (basemap == "auto" and online)
    if basemap == "tiles" and not online:
        st.warning("Map tiles cannot be loaded: this machine has no network"
                   + (" (offline mode)" if bench.settings.offline else "")
                   + ". Showing the packaged country outlines instead.", icon=":material/cloud_off:")
        tiles = False

    keys = mv.colour_keys(on_map, colour_by)
    colours = mv.colour_map(keys)
    model = mv.map_model(on_map, colours, colour_by, labels)
    deck = mv.build_deck(model, show_labels=show_labels, tiles=tiles,
                         images=mv.basemap_images(model["view"], fill=not tiles, static=static_serving()))
    stops = sum(not p["area"] for p in model["points"])
    stacked = sum(len(b["members"]) for b in model["badges"])
    st.html(ORDER)  # under app.py the chart sits in app.py's slot (pages/_mapslot.py): shown after the filters
    below = st.container(key="map_below")
    with below:
        event = mapslot.show(deck, height=560, alt="Map of the places mentioned in the analysed videos")
        note = ("Map tiles © CARTO, © OpenStreetMap contributors (country outlines drawn over them in case the "
                "tiles cannot load)") if tiles else mv.ATTRIBUTION
        st.caption(f"{plural(stops, 'stop')} and {plural(len(on_map) - stops, 'area')} on the map · "
                   f"{len(shown) - len(on_map)} without coordinates · {plural(len(model['routes']), 'route')} · "
                   f"{plural(stacked, 'stacked place')} spread · arrows = direction, stop numbers in the tooltip "
                   "(on the dots with Labels) · "
                   f"solid = exact, pale with a ring = approximate, grey ring = area (context) · {note}")
        side, legend = st.columns([3, 1])
    by_uid = {row["uid"]: (row, place) for row, place in zip(model["points"], model["places"], strict=True)}
    with below, side:
        if not all_places:
            st.info("No places yet. Analyse a video on the Analyze page (or try the demo) and they appear here.")
        selection = (event.get("selection") if isinstance(event, dict) else getattr(event, "selection", None)) or {}
        objects = selection.get("objects") or {}
        picked = (objects.get("places") or [None])[0]
        stack = picked if picked and picked.get("what") == "stack" else None
        uid = picked.get("uid") if picked and not stack else None
        if stack:
            members = [m for m in stack.get("members", []) if m in by_uid]
            st.text(f"{len(members)} places at this spot:")
            uid = st.radio("Stacked places", members, key="stack_member", label_visibility="collapsed",
                           format_func=lambda m: f"{by_uid[m][1]['location']} · {by_uid[m][1]['timecode'][:8]}")
        if uid in by_uid:
            row, place = by_uid[uid]
            _details(place, row["number"])
            if row["stack_size"] > 1 and not stack:
                mates = [r for r, _ in by_uid.values() if r["stack"] == row["stack"] and r["uid"] != uid]
                st.caption("Also at this spot: " + ", ".join(r["name"] for r in mates))
        elif all_places:
            st.caption("Select a place (or a stack's count) on the map to see what was said and open it for review.")
    with below, legend:
        _legend(colours, labels if colour_by == "video" else {})

    if on_map:
        with below, st.expander(f"Every place on the map ({len(on_map)})"):
            table = pd.DataFrame([{
                "stop": row["number"], "place": row["name"], "video": row["video"], "at": row["timecode"],
                "kind": row["kind"],
            } for row in model["points"]])
            st.dataframe(table, hide_index=True, width="stretch", key="map_table")

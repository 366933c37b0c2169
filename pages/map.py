"""Map: every video's route and places; select a place to see its evidence and a timed link."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import _mapview as mv
from pages._shared import attempt, network_available, page, plural, video_labels


def _legend(colours: dict[str, list[int]], names: dict[str, str]) -> None:
    if not colours:
        return
    frame = pd.DataFrame({"": ["" for _ in colours], "Colour key": [names.get(k, k) or "–" for k in colours]})
    rgb = [f"background-color: rgb({c[0]},{c[1]},{c[2]})" for c in colours.values()]
    st.dataframe(frame.style.apply(lambda _: rgb, subset=[""], axis=0), hide_index=True, width="content")


def _details(place: dict) -> None:
    """What the analyst needs to judge a place: evidence, description, tags, confidence, a link."""
    with st.container(border=True, key="place_details"):
        st.subheader("Selected place")
        st.text(place["location"])
        st.text(f"At {place['timecode']} · confidence {place['confidence']:.0%} · {place['marker'] or '–'}")
        st.text(f"Video: {place.get('video_title') or place['video_id']}")
        if place.get("description"):
            st.text(f"Description: {place['description']}")
        if place.get("tags"):
            st.text("Tags: " + ", ".join(str(t) for t in place["tags"]))
        st.text("Evidence (what was said):")
        st.code(place.get("evidence") or "–", language=None, wrap_lines=True)
        st.caption(f"{place['latitude']:.5f}, {place['longitude']:.5f} · geocoder {place.get('geocoder') or '–'} · "
                   f"{place['status']}" + (f" · gazetteer id {place['gazetteer_id']}" if place.get("gazetteer_id")
                                           else ""))
        url = place.get("url_at_time") or ""
        if url.startswith(("https://", "http://")):
            st.link_button(f"Open the video at {place['timecode'][:8]}", url, icon=":material/play_circle:")
        else:
            st.caption("No link: the source is a local file or a platform without timed links.")


with page("Map") as bench:
    places = attempt(lambda: bench.places(), "Reading the places") or []
    labels = video_labels(bench)
    video_ids = sorted({p["video_id"] for p in places}, key=lambda v: labels.get(v, v).lower())
    tags = sorted({str(t) for p in places for t in p["tags"]})
    markers = sorted({p["marker"] for p in places})

    f1, f2, f3, f4 = st.columns([3, 2, 2, 2])
    chosen_videos = f1.multiselect("Videos", video_ids, format_func=lambda v: labels.get(v, v), key="map_videos",
                                   placeholder="All videos")
    chosen_tags = f2.multiselect("Tags", tags, key="map_tags", placeholder="Any tag")
    chosen_markers = f3.multiselect("Marker", markers, key="map_markers", placeholder="Any marker")
    min_conf = f4.slider("Minimum confidence", 0.0, 1.0, 0.0, 0.05, key="map_min_conf")
    o1, o2, o3, _ = st.columns([2, 2, 2, 3])
    colour_by = o1.selectbox("Colour by", ["video", "marker"], key="map_colour_by")
    show_labels = o2.toggle("Labels", value=False, key="map_labels")
    basemap = o3.selectbox("Basemap", ["auto", "tiles", "outlines"], key="map_basemap",
                           help="auto: map tiles when online, packaged country outlines when offline.")

    shown = [p for p in places
             if (not chosen_videos or p["video_id"] in chosen_videos)
             and (not chosen_tags or set(map(str, p["tags"])) & set(chosen_tags))
             and (not chosen_markers or p["marker"] in chosen_markers)
             and p["confidence"] >= min_conf]
    on_map = mv.located(shown)
    online = not bench.settings.offline and network_available()
    tiles = basemap == "tiles" or (basemap == "auto" and online)

    keys = mv.colour_keys(on_map, colour_by)
    colours = mv.colour_map(keys)
    points = mv.point_rows(on_map, colours, colour_by, labels)
    routes = mv.route_rows(on_map, colours, colour_by, labels)
    deck = mv.build_deck(points, routes, show_labels=show_labels, tiles=tiles)
    map_column, side = st.columns([3, 1])
    with map_column:
        event = st.pydeck_chart(deck, on_select="rerun", selection_mode="single-object", key="map", height=560,
                                alt="Map of the places mentioned in the analysed videos")
        note = "Map tiles © CARTO, © OpenStreetMap contributors" if tiles else mv.ATTRIBUTION
        st.caption(f"{plural(len(on_map), 'place')} on the map · {len(shown) - len(on_map)} without coordinates · "
                   f"{plural(len(routes), 'route')} · {note}")
    with side:
        if not places:
            st.info("No places yet. Analyse a video on the Analyze page (or try the demo) and they appear here.")
        selected = (event.selection.get("objects") or {}).get("places") if event else None
        by_uid = {pt["uid"]: p for pt, p in zip(points, on_map, strict=True)}
        place = by_uid.get(selected[0].get("uid")) if selected else None
        if place is not None:
            _details(place)
        elif places:
            st.caption("Select a place on the map to see what was said about it and open the video there.")
        _legend(colours, labels if colour_by == "video" else {})

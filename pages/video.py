"""Review one video: title, channel, duration, a player, its places and its transcript.

Clicking a place or a transcript line plays that moment (``st.video``/``st.audio`` with
``start_time`` for files on this machine, the platform's player for YouTube addresses, a timed
link elsewhere). A place is corrected by choosing one of the gazetteer's candidates for its
name (in a table or on the small map), put where the analyst clicks on that map (a grid of
invisible, clickable spots covers it; "Zoom in here" for a closer pick), rejected, or put back;
a place the analysis missed is added from the words of a transcript line. Every change keeps an
audit line. The video and the moment are in the URL (``?video=…&t=…``), so a review view can be shared.
"""

from __future__ import annotations

import re

import pandas as pd
import pydeck as pdk
import streamlit as st

from pages._mapview import CompactDeck, basemap_images, basemap_layers
from pages._review import transcript_html
from pages._shared import (
    analyst_name,
    attempt,
    error_text,
    fmt_seconds,
    fmt_time,
    fmt_timecode,
    md_escape,
    page,
    plural,
    static_serving,
    video_labels,
)

WORD = re.compile(r"[\w][\w'’.-]*", re.UNICODE)
ORIGINS = {"asr": "speech recognition", "subtitles:file": "subtitle file",
           "subtitles:manual": "the platform's subtitles",
           "subtitles:automatic": "the platform's automatic captions", "text": "text file"}
STATUSES = {"ok": "placed", "failed": "not placed (geocoding failed)"}


def _flash(kind: str, text: str) -> None:
    """A message that stays on the page until the next change (not a toast that vanishes)."""
    st.session_state["review_flash"] = (kind, text)


def _play(seconds: float, key: str | None = None) -> None:
    st.session_state["t"] = int(max(0.0, seconds))
    st.session_state["review_autoplay"] = True
    if key is not None:
        st.session_state["review_place"] = key


def _choose(bench, video_id: str, place: dict, candidate: dict, action: str = "choose candidate") -> None:
    try:
        bench.review_correct(video_id, place["original_name"], who=analyst_name(), action=action,
                             candidate=candidate)
        _flash("success", f"{place['location']} is now {candidate['name']} ({candidate['description']}). "
                          "Kept through re-analysis; the change is in the audit trail below.")
    except Exception as exc:  # shown, not raised
        _flash("error", f"Saving failed. {error_text(exc)}")


def _reject(bench, video_id: str, place: dict, rejected: bool) -> None:
    try:
        bench.review_correct(video_id, place["original_name"], who=analyst_name(),
                             action="reject" if rejected else "restore", rejected=rejected)
        _flash("success", f"{place['location']} " + ("rejected: hidden from the map and the exports."
                                                     if rejected else "is back on the map."))
    except Exception as exc:
        _flash("error", f"Saving failed. {error_text(exc)}")


def _undo(bench, video_id: str, place: dict) -> None:
    try:
        if place.get("added"):
            bench.review_remove_added(video_id, place["original_name"], who=analyst_name())
            st.session_state.pop("review_place", None)
            _flash("success", f"The added place {place['location']} was removed.")
        else:
            bench.review_undo(video_id, place["original_name"], who=analyst_name())
            _flash("success", f"{place['original_name']}: back to what the analysis found.")
    except Exception as exc:
        _flash("error", f"Saving failed. {error_text(exc)}")


def _add(bench, video_id: str, name: str, segment: dict, candidate: dict) -> None:
    try:
        key = bench.review_add_place(video_id, name, start_seconds=segment["start"], evidence=segment["text"],
                                     who=analyst_name(), candidate=candidate)
        st.session_state["review_place"] = key
        st.session_state.pop("add_words", None)
        _flash("success", f"Added {candidate['name']} ({candidate['description']}) "
                          f"at {fmt_timecode(segment['start'])}.")
    except Exception as exc:
        _flash("error", f"Adding failed. {error_text(exc)}")


def _player(bench, info: dict, start: int, autoplay: bool) -> None:
    url = info.get("url") or ""
    if info.get("media_path"):
        if info["media_kind"] == "audio":
            st.audio(info["media_path"], start_time=start, autoplay=autoplay)
        else:
            st.video(info["media_path"], start_time=start, autoplay=autoplay)
    elif url.startswith("https://") and info.get("platform", "").startswith("youtube"):
        st.video(url, start_time=start, autoplay=autoplay)  # YouTube's embedded player at the moment
    elif url.startswith(("https://", "http://")):
        link = bench.link_at_time(url, info.get("platform") or "", start) or url
        st.link_button(f"Open the video at {fmt_timecode(start)}", link, icon=":material/play_circle:")
    else:
        st.info("No player: this source is a subtitle or transcript file. The transcript below is the record.",
                icon=":material/subtitles:")


def _candidate_table(candidates: list[dict], key: str):
    frame = pd.DataFrame([{
        "name": c["name"], "what": c["description"], "population": c["population"] or None,
        "country": c["country"], "region": c["region"],
    } for c in candidates])
    return st.dataframe(frame, hide_index=True, width="stretch", key=key, on_select="rerun",
                        selection_mode="single-row",
                        column_config={"population": st.column_config.NumberColumn("population", format="localized")})


SPOT_PX = 16  # the grid of clickable spots on the candidate map: one every this many pixels


def _spot_grid(view: dict, size_px: tuple[int, int] = (520, 260), step_px: float = SPOT_PX) -> list[dict]:
    """Invisible, clickable points every ``step_px`` over the map's initial view (and a margin):
    clicking anywhere on the map selects the nearest one, so the place can be put there."""
    from pages._mapview import _from_px, _to_px

    zoom = float(view["zoom"])
    cx, cy = _to_px(float(view["longitude"]), float(view["latitude"]), zoom)
    cols, rows = int(size_px[0] * 1.4 / step_px), int(size_px[1] * 1.4 / step_px)
    spots = []
    for i in range(cols + 1):
        for j in range(rows + 1):
            lon, lat = _from_px(cx + (i - cols / 2) * step_px, cy + (j - rows / 2) * step_px, zoom)
            if -180 <= lon <= 180 and -85 <= lat <= 85:
                spots.append({"position": [round(lon, 5), round(lat, 5)], "latitude": round(lat, 5),
                              "longitude": round(lon, 5), "name": "Put the place here",
                              "what": f"{lat:.4f}, {lon:.4f} · click, then confirm below"})
    return spots


def _candidate_map(candidates: list[dict], place: dict | None, key: str, spot: dict | None = None,
                   view: dict | None = None):
    """The candidates on a small map: clicking one picks it; clicking anywhere else picks that spot."""
    import math

    rows = [{"i": i, "position": [c["longitude"], c["latitude"]], "name": c["name"],
             "what": f"{c['description']} · population {c['population']:,}"} for i, c in enumerate(candidates)]
    current = []
    if place and place.get("latitude") is not None:
        current = [{"position": [place["longitude"], place["latitude"]], "name": f"now: {place['location']}",
                    "what": "the current position"}]
    if view is None:
        lons = [r["position"][0] for r in rows + current] or [0.0]
        lats = [r["position"][1] for r in rows + current] or [20.0]
        span = max(max(lons) - min(lons), max(lats) - min(lats), 0.5)
        zoom = max(0.5, min(9.0, math.log2(360.0 / span) - 1.0))
        view = {"latitude": (max(lats) + min(lats)) / 2, "longitude": (max(lons) + min(lons)) / 2, "zoom": zoom}
    layers = basemap_layers(view["zoom"], images=basemap_images(view, static=static_serving(), size_px=(520, 260)))
    marks = current + ([{"position": spot["position"], "name": "new spot", "what": spot["what"]}] if spot else [])
    # one point layer for everything (few layers: each costs a new map a lot in software WebGL); the
    # clickable spots are drawn almost transparent, the candidates over them
    dots = ([{**s, "kind": "spot", "fill": [0, 0, 0, 1], "line": [0, 0, 0, 0], "r": SPOT_PX * 0.75}
             for s in _spot_grid(view)]
            + [{**m, "kind": "mark", "fill": [0, 0, 0, 0], "line": [214, 39, 40, 255], "r": 12} for m in marks]
            + [{**r, "kind": "candidate", "fill": [31, 119, 180, 220], "line": [255, 255, 255, 255], "r": 7}
               for r in rows])
    layers.append(pdk.Layer("ScatterplotLayer", id="candidates", data=dots, get_position="position",
                            get_fill_color="fill", get_line_color="line", stroked=True, line_width_min_pixels=2,
                            get_radius="r", radius_units="'pixels'", pickable=True))
    deck = CompactDeck(layers=layers, map_provider=None, height=260, initial_view_state=pdk.ViewState(**view),
                       tooltip={"text": "{name}\n{what}"})
    return st.pydeck_chart(deck, on_select="rerun", selection_mode="single-object", key=key, height=260), view


def _picked(state, layer: str = "candidates") -> list[dict]:
    """The objects selected on a chart's layer, from its return value or its widget state."""
    if not state:
        return []
    selection = state.get("selection") if isinstance(state, dict) else getattr(state, "selection", None)
    return list(((selection or {}).get("objects") or {}).get(layer) or [])


def _body(bench) -> None:
    labels = video_labels(bench)
    flash = st.session_state.pop("review_flash", None)
    if not labels:
        st.info("No videos yet. Analyse one on the Analyze page (or try the demo), then review it here.")
        return
    ids = sorted(labels, key=lambda v: labels[v].lower())
    top, who = st.columns([4, 1])
    video_id = top.selectbox("Video", ids, format_func=lambda v: labels.get(v, v), key="video", bind="query-params")
    who.text_input("Reviewer", key="analyst_name", placeholder=analyst_name(),
                   help="Your name in the audit trail of every change.")
    if video_id != st.session_state.get("review_video"):
        if st.session_state.get("review_video") is not None:  # another video: from its start (not the URL's t)
            st.session_state["t"] = 0
        st.session_state["review_video"] = video_id
        st.session_state.pop("review_place", None)
    info = bench.video_info(video_id) if video_id else None
    if info is None:
        st.warning("That video is not in the database (deleted?). Choose another one.")
        return
    if flash:
        getattr(st, flash[0])(md_escape(flash[1]))

    st.subheader(info["title"])
    facts = [f"Channel: {info['channel']}" if info["channel"] else None,
             f"Duration: {fmt_seconds(info['duration'])}" if info["duration"] else None,
             f"Platform: {info['platform']}" if info["platform"] else None,
             f"Transcript: {ORIGINS.get(info['transcript_origin'], info['transcript_origin'])}"
             if info["transcript_origin"] else None]
    st.caption(" · ".join(f for f in facts if f))

    places = bench.review_places([video_id], include_rejected=True)
    segments = bench.review_transcript(video_id)
    keys = {p["place_key"]: p for p in places}
    player_col, places_col = st.columns([3, 2])
    with player_col:
        start = int(st.number_input("Play from (seconds)", min_value=0, step=1, key="t", bind="query-params"))
        _player(bench, info, start, bool(st.session_state.pop("review_autoplay", False)))
        if info.get("summary"):
            with st.expander("Summary"):
                st.text(info["summary"])
    with places_col:
        st.markdown(f"**{plural(sum(not p['rejected'] for p in places), 'place')}** — click one to play it")
        with st.container(height=330 if len(places) > 6 else "content", border=False):  # no gap under a short list
            for p in places:
                mark = "✕ " if p["rejected"] else ("≈ " if p["approximate"] else "")
                extra = " · added" if p["added"] else (" · corrected" if p["corrected"] else "")
                st.button(f"▶ {fmt_timecode(p['start_seconds'])}  {mark}{p['location']}{extra}",
                          key=f"play_{p['place_key']}", on_click=_play, args=(p["start_seconds"], p["place_key"]),
                          type="primary" if st.session_state.get("review_place") == p["place_key"] else "secondary",
                          width="stretch")

    chosen = keys.get(st.session_state.get("review_place") or "")
    if chosen is not None:
        with st.container(border=True, key="review_panel"):
            st.markdown(f"**Review: {md_escape(chosen['location'])}** at {fmt_timecode(chosen['start_seconds'])}")
            where = ("not placed" if chosen["latitude"] is None else
                     f"{'approximately ' if chosen['approximate'] else ''}at {chosen['latitude']:.4f}, "
                     f"{chosen['longitude']:.4f}")
            st.caption(f"Said as “{chosen['original_name']}” · {chosen['marker']} · {where} · "
                       f"{'rejected' if chosen['rejected'] else STATUSES.get(chosen['status'], chosen['status'])}")
            st.text(f"Evidence: {chosen['evidence']}")
            a1 = a2 = st.container(horizontal=True, gap="small")  # buttons as wide as their labels
            a1.button("Restore" if chosen["rejected"] else "Reject", key="review_reject",
                      icon=":material/undo:" if chosen["rejected"] else ":material/block:",
                      on_click=_reject, args=(bench, video_id, chosen, not chosen["rejected"]),
                      help="A rejected place is hidden from the map and the exports.")
            if chosen["corrected"] or chosen["rejected"] or chosen["added"]:
                a2.button("Remove the added place" if chosen["added"] else "Undo the correction", key="review_undo",
                          icon=":material/history:", on_click=_undo, args=(bench, video_id, chosen))
            name = st.text_input("Gazetteer name to look up", value=chosen["original_name"],
                                 key=f"lookup_{chosen['place_key']}",
                                 help="The candidates for this name; change it to look up another spelling.")
            candidates = attempt(lambda: bench.place_candidates(name, limit=10), "Looking up the gazetteer") or []
            if not candidates:
                st.caption("The gazetteer has no place of that name.")
            else:
                st.caption("Choose the right one: select a row, or click a point on the map.")
                left, right = st.columns([3, 2])
                with left:
                    table = _candidate_table(candidates, key=f"cands_{chosen['place_key']}")
                map_key = f"candmap_{chosen['place_key']}"
                objs = _picked(st.session_state.get(map_key))
                spot = objs[0] if objs and objs[0].get("kind") == "spot" else None
                with right:
                    picked_map, view = _candidate_map(candidates, chosen, key=map_key, spot=spot,
                                                      view=st.session_state.get(f"candview_{chosen['place_key']}"))
                rows = table.selection.rows if table else []
                objs = _picked(picked_map)
                hit = objs[0] if objs else None
                # the newer of the two choices wins: a row ticked in the table, or a click on the map
                seen_key = f"review_seen_{chosen['place_key']}"
                now = {"rows": list(rows), "hit": hit.get("position") if hit else None}
                seen = st.session_state.get(seen_key) or {"rows": [], "hit": None, "last": "table"}
                last = ("map" if now["hit"] is not None and now["hit"] != seen["hit"] else
                        "table" if now["rows"] and now["rows"] != seen["rows"] else seen["last"])
                st.session_state[seen_key] = {**now, "last": last}
                if last == "map" and hit is None:
                    last = "table"
                if last == "table" and not rows:
                    last = "map"
                pick = candidates[rows[0]] if last == "table" and rows else (
                    candidates[hit["i"]] if hit and hit.get("kind") == "candidate" else None)
                if pick is not None:
                    st.button(f"Use {pick['name']} — {pick['description']}", type="primary",
                              key="use_candidate", icon=":material/check:",
                              on_click=_choose, args=(bench, video_id, chosen, pick))
                elif last == "map" and hit and hit.get("kind") == "spot":
                    here = {"name": chosen["location"], "latitude": hit["latitude"], "longitude": hit["longitude"],
                            "description": f"the spot picked on the map, {hit['latitude']:.4f}, "
                                           f"{hit['longitude']:.4f}"}
                    b1, b2, _ = st.columns([2, 1, 1])
                    b1.button(f"Put {chosen['location']} here ({hit['latitude']:.4f}, {hit['longitude']:.4f})",
                              type="primary", key="use_spot", icon=":material/pin_drop:",
                              on_click=_choose, args=(bench, video_id, chosen, here, "place on the map"))
                    b2.button("Zoom in here", key="zoom_spot", icon=":material/zoom_in:",
                              help="Centre the map on this spot, closer, to place it more exactly.",
                              on_click=st.session_state.__setitem__,
                              args=(f"candview_{chosen['place_key']}", {
                                  "latitude": hit["latitude"], "longitude": hit["longitude"],
                                  "zoom": min(14.0, float(view["zoom"]) + 3.0)}))

    st.subheader("Transcript")
    if not segments:
        st.caption("No transcript stored for this video.")
    else:
        st.caption("Select a line to play it, or to add a place the analysis missed from its words.")
        frame = pd.DataFrame([{"at": fmt_timecode(s["start"]), "text": s["text"],
                               "places": ", ".join(dict.fromkeys(s["places"]))} for s in segments])
        styled = frame.style.apply(lambda r: ["background-color: #fff3bf" if r["places"] else "" for _ in r], axis=1)
        picked = st.dataframe(styled, hide_index=True, width="stretch", key="transcript_table", on_select="rerun",
                              selection_mode="single-row", height=min(38 + 35 * len(frame), 420),
                              column_config={"text": st.column_config.TextColumn("text", width="large")})
        line = segments[picked.selection.rows[0]] if picked and picked.selection.rows else None
        if line is not None:
            with st.container(border=True, key="add_panel"):
                p1, p2 = st.columns([1, 4])
                p1.button(f"▶ Play {fmt_timecode(line['start'])}", key="play_line", on_click=_play,
                          args=(line["start"],))
                words = list(dict.fromkeys(m.group(0).strip(".'’-") for m in WORD.finditer(line["text"])))
                chosen_words = p2.pills("Words of the missed place (in order)", [w for w in words if w],
                                        selection_mode="multi", key="add_words")
                if chosen_words:
                    order = {w: i for i, w in enumerate(words)}
                    new_name = " ".join(sorted(chosen_words, key=lambda w: order.get(w, 0)))
                    found = attempt(lambda: bench.place_candidates(new_name, limit=8), "Looking up the gazetteer")
                    if not found:
                        st.caption(f"The gazetteer has no place called {md_escape(new_name)}.")
                    else:
                        add_table = _candidate_table(found, key="add_cands")
                        rows = add_table.selection.rows if add_table else []
                        cand = found[rows[0]] if rows else found[0]
                        st.button(f"Add {cand['name']} — {cand['description']} at {fmt_timecode(line['start'])}",
                                  type="primary", key="add_place", icon=":material/add_location_alt:",
                                  on_click=_add, args=(bench, video_id, new_name, line, cand))
        with st.expander("Read the transcript (places marked)"):
            st.html(transcript_html(segments))

    history = bench.review_history(video_id)
    with st.expander(f"Audit trail ({plural(len(history), 'change')})"):
        if history:
            def _short(v):
                if not v:
                    return "–"
                bits = [str(v.get("location") or "")]
                if v.get("latitude") is not None:
                    bits.append(f"{v['latitude']:.3f}, {v['longitude']:.3f}")
                if v.get("rejected"):
                    bits.append("rejected")
                return " · ".join(b for b in bits if b)
            st.dataframe(pd.DataFrame([{"when": fmt_time(h["changed_at"]), "who": h["who"], "what": h["action"],
                                        "place": h["place_key"], "before": _short(h["before"]),
                                        "after": _short(h["after"])} for h in reversed(history)]),
                         hide_index=True, width="stretch")
        else:
            st.caption("No changes yet.")


with page("Review") as bench:
    _body(bench)

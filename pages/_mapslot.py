"""The Map page's chart is drawn by app.py, outside the pages, so that it survives page switches.

Streamlit removes a page's elements when the analyst goes to another page, and a pydeck chart
mounted again starts a new WebGL context. In software WebGL (a machine without a GPU, headless
Chromium) that costs seconds on every visit: SwiftShader compiles the pipeline of every layer
again. Elements that the entry point (app.py) draws are kept across pages (Streamlit keeps the
elements of the main script and updates them in place). So:

* app.py opens the slot before ``navigation.run()`` (``begin``) and draws the chart into it after
  the page ran (``finish``);
* the Map page hands its deck to the slot (``show``) and reads the selection from the chart's
  widget state;
* on every other page the slot draws the same chart again (the same element, the same JSON, so
  the browser re-parses and redraws nothing), hidden: a return to the Map shows the mounted chart
  at once and only what changed is drawn again.

Until the Map page has been opened in a session the slot is empty (other pages pay nothing). A
page run on its own (AppTest, or no app.py) draws the chart in place as before. Script-run
state lives in a ``threading.local``: every session's script runs on its own thread, one run at
a time.
"""

from __future__ import annotations

import threading
from typing import Any

import streamlit as st

KEY = "map"  # the chart's widget key: its selection is st.session_state[KEY]
STATE = "_map_slot_deck"  # session_state: the last deck the Map page showed (JSON text and options)
SELECTION_MODE = "single-object"
HIDE = ("<style>div:has(> .st-key-map_slot),.st-key-map_slot{height:0!important;min-height:0!important;"
        "max-height:0!important;overflow:hidden!important;visibility:hidden;pointer-events:none}"
        "div:has(> .st-key-map_slot){margin-bottom:-1rem}</style>")
_run = threading.local()


class FrozenDeck:
    """A deck already turned into JSON: what st.pydeck_chart reads of a pydeck Deck."""

    layers: list = []

    def __init__(self, spec: str, tooltip: Any) -> None:
        self._spec = spec
        self._tooltip = tooltip

    def to_json(self) -> str:
        return self._spec


def begin() -> None:
    """In app.py, before navigation.run(): the slot, at the same place on every page."""
    _run.slot = st.container(key="map_slot")
    _run.shown = False


def show(deck: Any, *, height: int, alt: str) -> Any:
    """The Map page's chart. Returns the selection state (``.selection.objects``) of the last event."""
    if getattr(_run, "slot", None) is None:  # the page runs on its own
        return st.pydeck_chart(deck, on_select="rerun", selection_mode=SELECTION_MODE, key=KEY, height=height,
                               alt=alt)
    st.session_state[STATE] = {"json": deck.to_json(), "tooltip": getattr(deck, "_tooltip", None),
                               "height": height, "alt": alt}
    _run.shown = True
    return st.session_state.get(KEY)


def finish() -> None:
    """In app.py, after navigation.run(): the chart into the slot (shown on the Map page only)."""
    slot, shown = getattr(_run, "slot", None), getattr(_run, "shown", False)
    _run.slot, _run.shown = None, False
    saved = st.session_state.get(STATE)
    if slot is None or saved is None:
        return
    with slot:
        st.pydeck_chart(FrozenDeck(saved["json"], saved["tooltip"]), on_select="rerun",  # type: ignore[arg-type]
                        selection_mode=SELECTION_MODE, key=KEY, height=saved["height"], alt=saved["alt"])
    if not shown:
        st.html(HIDE)


__all__ = ["begin", "show", "finish", "KEY", "FrozenDeck"]

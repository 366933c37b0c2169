"""Video map workbench: the Streamlit entry point.

Run with ``scripts/run.sh`` (or ``streamlit run app.py``). Settings come from VIDEOMAP_*
environment variables (see pipeline/config.py); an LLM key may also come from
.streamlit/secrets.toml. The pages under pages/ are thin: widgets plus calls into the
one process-wide ``pipeline.api.Workbench`` (kept in st.cache_resource).
"""

from __future__ import annotations

import streamlit as st

from pages import _mapslot as mapslot
from pages._shared import freeze_long_lived, workbench

st.set_page_config(page_title="Video map workbench", page_icon="🗺️", layout="wide")

navigation = st.navigation([
    st.Page("pages/analyze.py", title="Analyze", icon=":material/upload:", default=True),
    st.Page("pages/jobs.py", title="Jobs", icon=":material/pending_actions:"),
    st.Page("pages/map.py", title="Map", icon=":material/map:"),
    st.Page("pages/video.py", title="Review", icon=":material/rate_review:", url_path="video"),
    st.Page("pages/search.py", title="Search", icon=":material/search:"),
    st.Page("pages/places.py", title="Places", icon=":material/table:"),
    st.Page("pages/health.py", title="Health", icon=":material/monitor_heart:"),
])
workbench()  # start the job manager (and resume interrupted jobs) whichever page opens first
mapslot.begin()  # the Map's chart lives here, outside the pages, so it is not rebuilt on every visit
try:
    navigation.run()
finally:
    mapslot.finish()
    freeze_long_lived()  # keeps Streamlit's collection after each run from scanning every library's objects

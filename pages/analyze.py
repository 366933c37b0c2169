"""Analyze: queue videos, playlists, media and subtitle files (one job per source)."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from pages import _shared
from pages._shared import MEDIA_TYPES, attempt, fmt_bytes, md_escape, page, plural, save_upload

ASR_MODELS = ["tiny.en", "base.en", "small.en", "medium.en", "small", "medium", "large-v3", "large-v3-turbo"]


def _list_file_sources(uploaded) -> list[str]:
    """Sources in an uploaded list file: one a line, blank lines and # comments skipped."""
    try:
        text = uploaded.getvalue().decode("utf-8-sig")
    except UnicodeDecodeError:
        st.error(f"The list file {md_escape(uploaded.name)} is not UTF-8 text; it was skipped.")
        return []
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _upload_sources(uploads, media_dir) -> list[str]:
    """Save accepted uploads under <media_dir>/uploads; refuse the ones over the size limit."""
    sources = []
    limit = _shared.UPLOAD_LIMIT_MB * 1024 * 1024
    for uploaded in uploads or []:
        if uploaded.size > limit:
            st.error(f"{md_escape(uploaded.name)} is {fmt_bytes(uploaded.size)}, over the "
                     f"{_shared.UPLOAD_LIMIT_MB:g} MB upload limit; it was not saved. Put the file on this "
                     "machine and give its path instead.")
            continue
        try:
            path = save_upload(media_dir, uploaded.name, uploaded.getvalue())
        except OSError as exc:
            st.error(f"{md_escape(uploaded.name)} could not be saved: {md_escape(exc.strerror or str(exc))}")
            continue
        sources.append(str(path))
    return sources


def _label(source: str) -> str:
    """An upload shown by its file name (not its content-addressed path)."""
    path = Path(source)
    if re.fullmatch(r"[0-9a-f]{16}", path.parent.name or "") and path.parent.parent.name == "uploads":
        return path.name
    return source


def _report(outcomes, lines: dict[str, int], bench) -> None:
    """One message per source: refused lines individually, cached ones at once, the rest queued."""
    queued = cached = refused = 0
    titles = bench.video_titles()
    for outcome in outcomes:
        where = f"Line {lines[outcome.source]}: " if outcome.source in lines else ""
        source = md_escape(_label(outcome.source))
        if outcome.error:
            refused += 1
            st.error(f"{where}{source} — {outcome.error.get('type', 'Error')}: "
                     f"{md_escape(outcome.error.get('message', ''))}")
        elif outcome.job is not None and outcome.job.cached:
            cached += 1
            job = outcome.job
            count = job.metrics.get("locations_found")
            title = titles.get(job.video_id or "")
            what = f" ({md_escape(title)})" if title and title != _label(outcome.source) else ""
            found = f" with {plural(int(count), 'place')}" if count is not None else ""
            st.success(f"{where}{source}{what} — cached: the stored result{found} is ready.")
        elif outcome.job is not None:
            queued += 1
            st.info(f"{where}{source} — {outcome.job.status}. Follow it on the Jobs page.")
    st.caption(f"{queued} queued · {cached} cached · {refused} refused.")


with page("Analyze") as bench:
    settings = bench.settings
    st.text("Paste video or playlist addresses, local file paths or @list.txt files, one per line, "
            "or upload files. Each source becomes one job; stored results come back at once.")
    urls = st.text_area("Sources, one per line", key="urls", height=140,
                        placeholder="https://www.youtube.com/watch?v=…\n/path/to/clip.mp4\n@/path/to/list.txt")
    left, right = st.columns(2)
    list_file = left.file_uploader("List file (.txt, one source per line)", type=["txt"], key="list_file")
    uploads = right.file_uploader(f"Media or subtitle files (up to {_shared.UPLOAD_LIMIT_MB:g} MB each)",
                                  type=MEDIA_TYPES, accept_multiple_files=True, key="media_files")

    with st.expander("Options"):
        offline = st.toggle("Offline: local files only, offline place extraction and gazetteer",
                            value=settings.offline, key="offline")
        models = list(dict.fromkeys([settings.asr_model, *ASR_MODELS]))
        asr_model = st.selectbox("Speech recognition model", models, key="asr_model", accept_new_options=True,
                                 help="tiny.en ships with the workbench; the others are downloaded on first use.")
        language = st.text_input("Spoken language (ISO code; blank = detect)", value=settings.asr_language or "",
                                 key="language", max_chars=8)
        llm_model = None
        if settings.llm_model:
            llm_model = st.text_input("LLM model (used when online)", value=settings.llm_model, key="llm_model")
        force = st.checkbox("Analyse again even when a stored result exists", key="force")

    col_submit, col_demo, _ = st.columns([1, 1, 4])
    submit = col_submit.button("Submit", type="primary", key="submit")
    demo = col_demo.button("Try the demo", key="demo",
                           help="A narrated clip and a subtitle file bundled with the workbench; fully offline.")

    if submit:
        lines: dict[str, int] = {}
        sources: list[str] = []
        for number, line in enumerate((urls or "").splitlines(), start=1):
            if line.strip():
                lines.setdefault(line.strip(), number)
                sources.append(line.strip())
        if list_file is not None:
            sources.extend(_list_file_sources(list_file))
        sources.extend(_upload_sources(uploads, settings.media_dir))
        if not sources:
            st.warning("Nothing to submit: paste at least one source or upload a file.")
        else:
            options = attempt(lambda: bench.options(offline=offline, asr_model=(asr_model or "").strip() or None,
                                                    asr_language=language.strip() or None,
                                                    llm_model=(llm_model or "").strip() or None, force=force),
                              "Reading the options")
            if options is not None:
                outcomes = attempt(lambda: bench.submit(sources, options), "Submitting")
                if outcomes is not None:
                    _report(outcomes, lines, bench)
    if demo:
        outcomes = attempt(lambda: bench.submit_demo(), "Starting the demo")
        if outcomes is not None:
            _report(outcomes, {}, bench)

"""Jobs: live progress (refreshed each second), filter by status and text, cancel, retry, clear the
finished ones from the list, delete a video with its results (after a confirmation)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import streamlit as st

from pages._jobview import PHASE_WEIGHTS, phase_fraction, progress_text, transcribed
from pages._shared import attempt, fmt_seconds, fmt_time, md_escape, page, page_link, plural, video_labels

ACTIVE = ("queued", "running")
FLASH_S = 20  # how long a message about an action stays
STATUSES = ["queued", "running", "done", "partial", "failed", "canceled"]
BADGES = {  # status -> (colour, material icon)
    "queued": ("gray", ":material/schedule:"), "running": ("blue", ":material/autorenew:"),
    "done": ("green", ":material/check_circle:"), "partial": ("orange", ":material/warning:"),
    "failed": ("red", ":material/error:"), "canceled": ("gray", ":material/cancel:"),
}
NO_NETWORK = re.compile(r"dns|name resolution|resolve|getaddrinfo|network is unreachable|no route to host|"
                        r"temporary failure in name|connection refused|offline", re.IGNORECASE)


def _source_label(source: str) -> str:
    """An upload's path shown as the file's name; addresses and other paths as they are."""
    if source.lower().startswith(("http://", "https://", "@")):
        return source
    path = Path(source)
    return path.name if re.fullmatch(r"[0-9a-f]{16}", path.parent.name or "") else source


def _error_text(job, offline: bool) -> str:
    text = f"{job.error.get('type', 'Error')}: {job.error.get('message', '')}"
    if not offline and NO_NETWORK.search(text) and job.source.lower().startswith(("http://", "https://")):
        text += (" — This machine seems to have no network. Connect it, or analyse local files with "
                 "offline mode (Analyze → Options → Offline).")
    return text


def _ask_delete(video_id: str) -> None:
    st.session_state["confirm_delete"] = video_id


def _delete(bench, video_id: str, title: str) -> None:
    st.session_state.pop("confirm_delete", None)
    try:
        jobs = bench.delete_video(video_id)
        st.session_state["jobs_flash"] = ("success", f"Deleted {title} with its places and {plural(jobs, 'job')}.",
                                           time.time())
    except Exception as exc:
        from pages._shared import error_text

        st.session_state["jobs_flash"] = ("error", f"Deleting failed. {error_text(exc)}", time.time())


def _info_markdown(job, title: str, source: str, fact: dict) -> str:
    """The card's text as one Markdown element (badge, title, facts, source): every element is a
    cost in the browser, and a page of job cards is re-drawn on every visit."""
    colour, icon = BADGES.get(job.status, ("gray", None))
    status = "cached" if fact.get("cached") and job.status == "done" else job.status
    detail = [f"queued {fmt_time(job.created_at)}"]
    if job.started_at:
        detail.append(f"took {fmt_seconds(job.elapsed_s)}" if job.finished else
                      f"running for {fmt_seconds(job.elapsed_s)}")
    if not job.finished and fact.get("eta_s") is not None:
        detail.append(f"about {fmt_seconds(fact['eta_s'])} left (speeds measured here)")
    if job.finished and fact.get("places") is not None:
        detail.append(plural(int(fact["places"]), "place") + " on the map")
    if fact.get("cached"):
        detail.append("cached: the stored result was reused")
    if job.parent_job_id:
        detail.append("part of a playlist")
    badge = f":{colour}-badge[{icon + ' ' if icon else ''}{status}]"
    lines = [f"{badge} **{md_escape(title)}**", f":gray[{md_escape(' · '.join(detail))}]"]
    if source != title:
        lines.append(f":gray[Source: {md_escape(source)}]")
    return "  \n".join(lines)


def _job_card(bench, job, labels: dict[str, str], fact: dict) -> None:
    job_id = job.job_id
    title = labels.get(job.video_id or "", "") or _source_label(job.source)
    with st.container(border=True, key=f"job_{job_id}"):
        row = st.container(horizontal=True, vertical_alignment="center", gap="small")
        row.markdown(_info_markdown(job, title, _source_label(job.source), fact), width="stretch")
        if job.status in ACTIVE:
            if row.button("Cancel", key=f"cancel_{job_id}", icon=":material/stop:"):
                if attempt(lambda: bench.cancel(job_id), "Cancel") is not None:
                    st.toast("Cancel requested.")
        else:
            if row.button("Retry", key=f"retry_{job_id}", icon=":material/replay:",
                          help="Analyse this source again (the stored result is recomputed)."):
                if attempt(lambda: bench.retry(job_id), "Retry") is not None:
                    st.toast("Queued again.")
            if job.status == "partial" and row.button(
                    "Retry failed geocodes", key=f"regeo_{job_id}", icon=":material/travel_explore:",
                    help="Ask the geocoder again only for the places that failed."):
                if attempt(lambda: bench.retry_failed_geocodes(job_id), "Retrying geocodes") is not None:
                    st.toast("Geocodes retried.")
            if job.video_id and job.video_id in labels:
                page_link(row, "pages/video.py", "Review", icon=":material/rate_review:",
                          query_params={"video": job.video_id})
                row.button("Delete video…", key=f"delete_{job_id}", icon=":material/delete:",
                           on_click=_ask_delete, args=(job.video_id,),
                           help="Delete this video with its transcript, places and corrections.")
        if not job.finished:
            inner = fact.get("phase_fraction")
            text = progress_text(job.status, job.phase, job.progress, inner)
            if fact.get("phase_elapsed_s") is not None:
                text += f" · {fmt_seconds(fact['phase_elapsed_s'])} in this phase"
            st.progress(min(max(job.progress, 0.0), 1.0), text=text)
        if job.error:
            st.error(md_escape(_error_text(job, bench.settings.offline)))
        if st.session_state.get("confirm_delete") == job.video_id and job.video_id and job.finished:
            with st.container(border=True, key=f"confirm_{job_id}"):
                st.warning(f"Delete {md_escape(title)} with its transcript, places, corrections and jobs? "
                           "This cannot be undone.")
                yes, no, _ = st.columns([1, 1, 4])
                yes.button("Yes, delete", key=f"yes_delete_{job_id}", type="primary",
                           on_click=_delete, args=(bench, job.video_id, title))
                no.button("Keep it", key=f"no_delete_{job_id}", on_click=st.session_state.pop,
                          args=("confirm_delete", None))


def _phase_fractions(bench, jobs) -> dict[str, float | None]:
    """Per running job, the fraction of its current phase done (one small query per running job)."""
    out: dict[str, float | None] = {}
    for job in jobs:
        if job.status != "running" or not job.phase:
            continue
        try:
            started = [e["phase"] for e in bench.job_events(job.job_id) if e["event"] == "phase_start"]
        except Exception:  # the bar still shows the overall progress
            started = []
        out[job.job_id] = phase_fraction(job.phase, job.progress, PHASE_WEIGHTS,
                                         transcribed=transcribed(job.phase, started))
    return out


def _clear(bench, job_ids: list[str]) -> None:
    count = bench.clear_finished_jobs(job_ids)
    st.session_state["jobs_flash"] = ("success", f"Cleared {plural(count, 'finished job')} from the list "
                                                 "(their results stay).", time.time())


with page("Jobs") as bench:
    f1, f2, f3 = st.columns([3, 3, 2])
    statuses = f1.multiselect("Status", STATUSES, key="status", placeholder="Any status", bind="query-params")
    text = f2.text_input("Title or source contains", key="job_q", bind="query-params")
    show_finished = f3.select_slider("Finished jobs shown", options=[10, 20, 50, 100, 200], value=10,
                                     key="finished_shown")
    # Live each second while a job is queued or running; otherwise every 10 s (a job submitted
    # elsewhere still appears). Re-rendering 20 job cards each second kept the browser busy.
    busy = any(j.status in ACTIVE for j in bench.visible_jobs(limit=50))

    @st.fragment(run_every="1s" if busy else "10s")
    def live_jobs() -> None:
        flash = st.session_state.get("jobs_flash")
        if flash and time.time() - flash[2] < FLASH_S:  # stays a while, through the live refreshes
            getattr(st, flash[0])(md_escape(flash[1]))
        jobs = bench.visible_jobs(limit=500)
        labels = video_labels(bench)
        running = sum(j.status == "running" for j in jobs)
        queued = sum(j.status == "queued" for j in jobs)
        finished_all = [j for j in jobs if j.status not in ACTIVE]
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Running", running)
        m2.metric("Queued", queued)
        m3.metric("Inference queue", bench.health().get("queue_depth", 0),
                  help="Items waiting for the speech-recognition worker.")
        m4.metric("Finished (listed)", len(finished_all))
        st.text(f"Live: {running} running · {queued} queued · {len(finished_all)} finished · "
                f"updated {time.strftime('%H:%M:%S')}")
        if bool(running + queued) != busy:
            st.rerun()  # the last job finished, or one started: a full rerun sets the refresh rate again
        if not jobs:
            st.info("No jobs in the list. Submit sources on the Analyze page, or try the demo there.")
            return
        needle = (text or "").strip().lower()
        chosen = [j for j in jobs
                  if (not statuses or ("cached" if j.cached else j.status) in statuses or j.status in statuses)
                  and (not needle or needle in (labels.get(j.video_id or "", "") + " " + j.source).lower())]
        active = [j for j in chosen if j.status in ACTIVE]
        finished = [j for j in chosen if j.status not in ACTIVE]
        shown = active + finished[:show_finished]
        facts = bench.job_facts(shown)
        for job_id, inner in _phase_fractions(bench, shown).items():
            facts.setdefault(job_id, {})["phase_fraction"] = inner
        if finished:
            st.button(f"Clear {plural(len(finished), 'finished job')} from the list", key="clear_finished",
                      icon=":material/clear_all:", on_click=_clear, args=(bench, [j.job_id for j in finished]),
                      help="Hides them here; the videos, places and timings stay.")
        if not chosen:
            st.caption("No job matches the filter.")
        for job in shown:
            _job_card(bench, job, labels, facts.get(job.job_id, {}))
        if len(finished) > show_finished:
            st.caption(f"{len(finished) - show_finished} older finished jobs not shown.")

    live_jobs()

    with st.expander("Events of a job"):
        jobs = bench.visible_jobs(limit=500)
        labels = video_labels(bench)
        names = {j.job_id: f"{labels.get(j.video_id or '', '') or _source_label(j.source)} · "
                           f"{fmt_time(j.created_at)}" for j in jobs}
        chosen_job = st.selectbox("Job", list(names), key="events_job", index=None, format_func=names.get)
        if chosen_job:
            events = attempt(lambda: bench.job_events(chosen_job), "Reading the events")
            if events:
                st.dataframe([{"time": fmt_time(e["ts"]), "phase": e["phase"] or "", "event": e["event"],
                               "message": e["message"] or "",
                               "took": fmt_seconds(e["elapsed_ms"] / 1000) if e["elapsed_ms"] else ""}
                              for e in events], hide_index=True, width="stretch")

"""Jobs: live progress of every job (refreshed each second), with cancel and retry."""

from __future__ import annotations

import time

import streamlit as st

from pages._shared import attempt, fmt_seconds, md_escape, page, video_labels

ACTIVE = ("queued", "running")
BADGES = {  # status -> (colour, material icon)
    "queued": ("gray", ":material/schedule:"), "running": ("blue", ":material/autorenew:"),
    "done": ("green", ":material/check_circle:"), "partial": ("orange", ":material/warning:"),
    "failed": ("red", ":material/error:"), "canceled": ("gray", ":material/cancel:"),
}


def _job_card(bench, job, labels: dict[str, str]) -> None:
    job_id = job.job_id
    with st.container(border=True, key=f"job_{job_id}"):
        info, actions = st.columns([6, 2])
        title = labels.get(job.video_id or "", "") or job.source
        colour, icon = BADGES.get(job.status, ("gray", None))
        info.badge(job.status, color=colour, icon=icon)
        info.text(title)
        detail = [f"Job {job_id}", f"elapsed {fmt_seconds(job.elapsed_s)}"]
        if job.eta_s is not None:
            detail.append(f"ETA {fmt_seconds(job.eta_s)}")
        found = job.metrics.get("locations_found")
        if found is not None and job.finished:
            detail.append(f"{found} places")
        if job.cached:
            detail.append("cached")
        if job.parent_job_id:
            detail.append(f"part of playlist job {job.parent_job_id}")
        info.caption(" · ".join(detail))
        if title != job.source:
            info.text(f"Source: {job.source}")
        info.progress(min(max(job.progress, 0.0), 1.0),
                      text=f"{job.status} · {job.phase or 'waiting'} · {job.progress:.0%}")
        if job.status in ACTIVE:
            if actions.button("Cancel", key=f"cancel_{job_id}", icon=":material/stop:"):
                if attempt(lambda: bench.cancel(job_id), "Cancel") is not None:
                    st.toast("Cancel requested.")
        else:
            if actions.button("Retry", key=f"retry_{job_id}", icon=":material/replay:",
                              help="Analyse this source again (the stored result is recomputed)."):
                if attempt(lambda: bench.retry(job_id), "Retry") is not None:
                    st.toast("Queued again.")
            if job.status == "partial" and actions.button(
                    "Retry failed geocodes", key=f"regeo_{job_id}", icon=":material/travel_explore:",
                    help="Ask the geocoder again only for the places that failed."):
                if attempt(lambda: bench.retry_failed_geocodes(job_id), "Retrying geocodes") is not None:
                    st.toast("Geocodes retried.")
        if job.error:
            st.error(f"{md_escape(job.error.get('type', 'Error'))}: {md_escape(job.error.get('message', ''))}")


with page("Jobs") as bench:
    show_finished = st.select_slider("Finished jobs shown", options=[10, 20, 50, 100, 200], value=20,
                                     key="finished_shown")

    @st.fragment(run_every="1s")
    def live_jobs() -> None:
        jobs = bench.list_jobs(limit=500)
        health = bench.health()
        labels = video_labels(bench)
        active = [j for j in jobs if j.status in ACTIVE]
        finished = [j for j in jobs if j.status not in ACTIVE]
        running = sum(j.status == "running" for j in jobs)
        queued = sum(j.status == "queued" for j in jobs)
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Running", running)
        m2.metric("Queued", queued)
        m3.metric("Inference queue", health.get("queue_depth", 0),
                  help="Items waiting for the speech-recognition worker.")
        m4.metric("Jobs in total", health.get("jobs_total", len(jobs)))
        st.text(f"Live: {running} running · {queued} queued · {len(finished)} finished · "
                f"updated {time.strftime('%H:%M:%S')}")
        if not jobs:
            st.info("No jobs yet. Submit sources on the Analyze page, or try the demo there.")
            return
        for job in active + finished[:show_finished]:
            _job_card(bench, job, labels)
        if len(finished) > show_finished:
            st.caption(f"{len(finished) - show_finished} older finished jobs not shown.")

    live_jobs()

    with st.expander("Events of a job"):
        jobs = bench.list_jobs(limit=500)
        chosen = st.selectbox("Job", [j.job_id for j in jobs], key="events_job", index=None,
                              format_func=lambda jid: next((f"{jid} · {j.source}" for j in jobs if j.job_id == jid),
                                                           jid))
        if chosen:
            events = attempt(lambda: bench.job_events(chosen), "Reading the events")
            if events:
                st.dataframe(events, hide_index=True, width="stretch")

"""Health: the speech model and its device, queues, job counts, phase timings, geocoding, LLM cost."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._shared import attempt, fmt_bytes, fmt_seconds, page, render_stats
from pipeline.geo.basemap import package_info

with page("Health") as bench:
    health = attempt(lambda: bench.health(), "Reading the metrics") or {}
    if health.get("api_url"):
        st.markdown(f"HTTP API: `{health['api_url']}` · [docs]({health['api_url']}/docs) · "
                    f"[metrics]({health['api_url']}/metrics)")
    else:
        st.caption("This app serves no HTTP API (start it with scripts/run.sh for one).")

    @st.fragment(run_every="2s")
    def live_health() -> None:
        data = attempt(lambda: bench.health(), "Reading the metrics") or {}
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Jobs in total", data.get("jobs_total", 0))
        c2.metric("Running", data.get("jobs_running", 0))
        c3.metric("Queued", data.get("jobs_queued", 0))
        c4.metric("Inference queue depth", data.get("queue_depth", 0))
        ratio = data.get("geocode_success_ratio")
        c1.metric("Places found", data.get("places_total", 0))
        c2.metric("Geocoded", "–" if ratio is None else f"{ratio:.0%}")
        c3.metric("LLM tokens in / out", f"{data.get('tokens_in', 0)} / {data.get('tokens_out', 0)}")
        c4.metric("LLM cost", f"${data.get('cost', 0.0):.4f}")

        executor = data.get("executor") or {}
        if executor.get("dispatcher") == "celery":
            st.subheader("Workers (Celery)")
            if executor.get("broker_problem"):
                st.error(executor["broker_problem"])
            d1, d2, d3 = st.columns(3)
            d1.metric("Dead letters", executor.get("dead_letters", "–"),
                      help="Stages whose retries ran out: `python -m pipeline dlq list`, then `dlq replay ID`.")
            d2.metric("Stage tasks in flight", executor.get("in_flight", "–"))
            d3.metric("Broker", executor.get("broker", "–"))
            depths = executor.get("queue_depths") or {}
            if depths:
                st.dataframe([{"queue": q, "waiting": n} for q, n in depths.items()], hide_index=True)
        else:
            st.caption("Stages run in this process (dispatcher: threads).")

        st.subheader("Speech recognition")
        workers = data.get("inference") or []
        st.text(f"Configured model: {data.get('asr_model', '–')}")
        if workers:
            table = pd.DataFrame(workers)
            keep = [c for c in ("model", "device", "compute_type", "loaded", "load_seconds", "queue_depth",
                                "max_queue", "running", "processed", "succeeded", "failed", "canceled", "alive")
                    if c in table.columns]
            st.dataframe(table[keep], hide_index=True, width="stretch")
        else:
            st.caption("The model loads on the first transcription (subtitle sources need none).")

    live_health()

    st.subheader("Phase durations")
    phases = health.get("phase_durations_ms") or {}
    if phases:
        rows = [{"phase": name, "runs": v.get("n"), "mean": fmt_seconds((v.get("avg_ms") or 0) / 1000),
                 "median": fmt_seconds((v.get("p50_ms") or 0) / 1000),
                 "max": fmt_seconds((v.get("max_ms") or 0) / 1000)} for name, v in phases.items()]
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.caption("No finished phases yet.")

    st.subheader("Page render times (server, this process)")
    renders = render_stats()
    if renders:
        st.dataframe(renders, hide_index=True, width="stretch")
    else:
        st.caption("No page rendered yet.")

    by_status = health.get("jobs_by_status") or {}
    if by_status:
        st.subheader("Jobs by status")
        st.dataframe([{"status": k, "jobs": v} for k, v in sorted(by_status.items())], hide_index=True)

    st.subheader("Configuration")
    basemap = package_info()
    st.dataframe(
        [
            {"setting": "Place extractor (default)", "value": str(health.get("extractor_default", "–"))},
            {"setting": "Geocoder (default)", "value": str(health.get("geocoder_default", "–"))},
            {"setting": "LLM configured", "value": "yes" if health.get("llm_configured") else "no"},
            {"setting": "Offline mode", "value": "yes" if bench.settings.offline else "no"},
            {"setting": "Database", "value": str(health.get("db_path", bench.settings.db_path))},
            {"setting": "Database size", "value": fmt_bytes(health.get("db_size_bytes"))},
            {"setting": "Offline basemap", "value": f"{basemap['package']} {basemap['version'] or '(missing)'}"},
        ],
        hide_index=True, width="stretch",
    )

"""Prometheus metrics of the workbench service (one registry per app).

Job and place figures are read from the database at scrape time, so they are right after a
restart and whoever ran the jobs; HTTP request counts and durations are counted in-process.
Names follow Prometheus conventions: base units, ``_total`` on counters, no per-job labels.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from ..api import Workbench

logger = logging.getLogger(__name__)

PHASE_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
FINAL = ("done", "partial", "failed", "canceled")


class WorkbenchCollector(Collector):
    """Jobs, phases, geocoding and the inference queue, from the coordinator's own records."""

    def __init__(self, bench: Workbench) -> None:
        self.bench = bench

    def collect(self) -> Iterator:
        storage = self.bench.storage
        counts = storage.job_status_counts()
        jobs = CounterMetricFamily("videomap_jobs", "Jobs that reached a final status.", labels=["status"])
        for status in FINAL:
            jobs.add_metric([status], counts.get(status, 0))
        yield jobs
        yield GaugeMetricFamily("videomap_jobs_running", "Jobs running now.", value=counts.get("running", 0))
        yield GaugeMetricFamily("videomap_jobs_queued", "Jobs waiting to run.", value=counts.get("queued", 0))

        hist = HistogramMetricFamily("videomap_phase_duration_seconds", "Duration of finished job phases.",
                                     labels=["phase"])
        for row in storage.phase_duration_buckets(PHASE_BUCKETS_S):
            buckets = [(str(b), n) for b, n in zip(PHASE_BUCKETS_S, row["cumulative"], strict=True)]
            buckets.append(("+Inf", row["count"]))
            hist.add_metric([row["phase"]], buckets, sum_value=row["total_s"])
        yield hist

        ok, total = storage.geocode_counts()
        yield GaugeMetricFamily("videomap_geocode_success_ratio", "Share of extracted places that were geocoded.",
                                value=ok / total if total else 1.0)
        yield GaugeMetricFamily("videomap_inference_queue_depth", "Transcriptions waiting for the model.",
                                value=self.bench.queue_depth())
        yield GaugeMetricFamily("videomap_database_size_bytes", "Size of the DuckDB file.",
                                value=storage.size_bytes())
        executor = self.bench.jobs.executor_info()
        if executor.get("dispatcher") == "celery":
            yield GaugeMetricFamily("videomap_broker_up", "1 when the task broker (Redis) answers.",
                                    value=0 if executor.get("broker_problem") else 1)
            if "dead_letters" in executor:
                yield GaugeMetricFamily("videomap_dead_letters", "Stage tasks in the dead-letter queue.",
                                        value=executor["dead_letters"])
                depth = GaugeMetricFamily("videomap_task_queue_depth", "Stage tasks waiting per Celery queue.",
                                          labels=["queue"])
                for queue, n in executor.get("queue_depths", {}).items():
                    depth.add_metric([queue], n)
                yield depth


class HttpMetrics:
    """Request counts and durations by method, route template and status class."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter("videomap_http_requests", "HTTP requests answered.",
                                ["method", "route", "status"], registry=registry)
        self.duration = Histogram("videomap_http_request_duration_seconds", "Time to answer an HTTP request.",
                                  ["method", "route"], registry=registry,
                                  buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)


def build_registry(bench: Workbench) -> tuple[CollectorRegistry, HttpMetrics]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WorkbenchCollector(bench))
    return registry, HttpMetrics(registry)

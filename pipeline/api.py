"""The public face of the pipeline for notebooks, the CLI and the Streamlit pages.

``Workbench`` bundles the job manager with place reading, corrections and
exports, so pages never touch SQL, models or stage code.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import PROJECT_ROOT, Settings, get_settings
from .datatypes import Place
from .errors import ConfigurationError, NotFoundError
from .export import effective_places, export_bytes, map_visualizations
from .jobs import JobManager, JobView, SubmitOutcome
from .orchestrator import AnalysisOptions
from .storage import place_key

if TYPE_CHECKING:
    from .service.client import RemoteWorkbench

logger = logging.getLogger(__name__)

__version__ = "0.2.0"

DEMO_DIR = Path(__file__).resolve().parent / "demo"


def demo_sources() -> list[str]:
    """The bundled demo: a short narrated clip and a subtitle file, both naming places."""
    files = sorted(p for p in DEMO_DIR.iterdir() if p.suffix.lower() in (".ogg", ".opus", ".mp3", ".wav",
                                                                         ".m4a", ".srt", ".vtt"))
    try:
        return [str(p.relative_to(PROJECT_ROOT)) if p.is_relative_to(PROJECT_ROOT) else str(p) for p in files]
    except ValueError:  # pragma: no cover
        return [str(p) for p in files]


class Workbench:
    """The coordinator of one database: one per database, in the process that opened it.

    Thread-safe: pages from several browser tabs and the HTTP API share it. Other programs
    reach a running one with ``Workbench.connect(url)`` (same methods, over HTTP).
    """

    def __init__(self, settings: Settings | None = None, *, db_path: str | Path | None = None,
                 resume: bool = True) -> None:
        self.settings = settings or get_settings()
        if db_path is not None:
            self.settings = self.settings.model_copy(update={"db_path": Path(db_path)})
        self.jobs = JobManager(self.settings, resume=resume)
        self.storage = self.jobs.storage
        self.started_at = time.time()

    @staticmethod
    def connect(url: str, *, api_key: str | None = None, timeout: float = 30.0) -> RemoteWorkbench:
        """A client of the workbench service at ``url`` (``python -m pipeline serve`` or the app)."""
        from .service.client import RemoteWorkbench

        return RemoteWorkbench(url, api_key=api_key, timeout=timeout)

    @property
    def remote(self) -> bool:
        return False

    def check_options(self, options: AnalysisOptions) -> None:
        """Raise the configuration error these options would meet, before any source runs."""
        self.jobs.strategy(options)

    # --- jobs
    def options(self, **overrides: Any) -> AnalysisOptions:
        return self.jobs.default_options(**overrides)

    def submit(self, sources: Sequence[str], options: AnalysisOptions | None = None,
               *, priority: int = 10) -> list[SubmitOutcome]:
        return self.jobs.submit_many(sources, options, priority=priority)

    def submit_demo(self, **overrides: Any) -> list[SubmitOutcome]:
        overrides.setdefault("offline", True)
        return self.submit(demo_sources(), self.options(**overrides))

    def job(self, job_id: str) -> JobView:
        return self.jobs.get(job_id)

    def list_jobs(self, limit: int = 200, statuses: Sequence[str] | None = None) -> list[JobView]:
        return self.jobs.jobs(limit, statuses)

    def job_events(self, job_id: str) -> list[dict[str, Any]]:
        return self.jobs.events(job_id)

    def children(self, job_id: str) -> list[JobView]:
        """The per-video jobs of a playlist job (empty for a single video)."""
        return self.jobs.children(job_id)

    def has_job(self, job_id: str) -> bool:
        return self.storage.get_job(job_id) is not None

    def cancel(self, job_id: str) -> JobView:
        return self.jobs.cancel(job_id)

    def retry(self, job_id: str) -> JobView:
        return self.jobs.retry(job_id)

    def retry_failed_geocodes(self, job_id: str) -> JobView:
        return self.jobs.retry_failed_geocodes(job_id)

    def retry_video_geocodes(self, video_id: str) -> dict[str, Any]:
        """Re-geocode the failed places of a video's newest analysis: retried and still-failing counts."""
        rows = self.storage.latest_places([video_id])
        if not rows:
            if self.storage.get_video(video_id) is None:
                raise NotFoundError(f"No video {video_id!r} has been analysed.")
            return {"retried_count": 0, "still_failing": 0, "job_id": None}
        failed = sum(1 for r in rows if r["status"] != "ok")
        job_id = rows[0]["job_id"]
        if not failed:
            return {"retried_count": 0, "still_failing": 0, "job_id": job_id}
        view = self.jobs.retry_failed_geocodes(job_id)
        return {"retried_count": failed, "still_failing": int(view.metrics.get("geocode_failed") or 0),
                "job_id": job_id}

    def wait(self, job_ids: Sequence[str], timeout: float | None = None,
             on_update: Callable[[list[JobView]], None] | None = None) -> list[JobView]:
        return self.jobs.wait(job_ids, timeout=timeout, on_update=on_update)

    # --- places
    def videos(self) -> list[dict[str, Any]]:
        return self.storage.list_videos()

    def places(self, video_ids: Sequence[str] | None = None, *, include_rejected: bool = False,
               sources: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Newest analysis of each video, corrections applied, ordered by video and timecode."""
        rows = self.storage.latest_places(list(video_ids) if video_ids else None)
        return effective_places(rows, sources=sources, include_rejected=include_rejected)

    def map_data(self, video_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        return map_visualizations(self.places(video_ids))

    def correct_place(self, video_id: str, name_or_key: str, *, name: str | None = None,
                      latitude: float | None = None, longitude: float | None = None,
                      rejected: bool | None = None, visited: bool | None = None,
                      note: str | None = None) -> None:
        """Store an analyst's correction; it survives re-analysis and restarts."""
        if latitude is not None and not -90 <= latitude <= 90:
            raise ConfigurationError(f"Latitude {latitude} is outside -90..90.")
        if longitude is not None and not -180 <= longitude <= 180:
            raise ConfigurationError(f"Longitude {longitude} is outside -180..180.")
        if name is not None and not name.strip():
            raise ConfigurationError("A place name cannot be empty.")
        self.storage.save_correction(video_id, place_key(name_or_key), name=name, latitude=latitude,
                                     longitude=longitude, rejected=rejected, visited=visited, note=note)

    def clear_correction(self, video_id: str, name_or_key: str) -> None:
        self.storage.clear_correction(video_id, place_key(name_or_key))

    def export(self, fmt: str, video_ids: Sequence[str] | None = None,
               sources: dict[str, str] | None = None) -> bytes:
        return export_bytes(self.places(video_ids, sources=sources), fmt)

    def transcript(self, video_id: str) -> list[dict[str, Any]]:
        rows = self.storage.latest_places([video_id])
        if not rows:
            return []
        return [s.to_dict() for s in self.storage.segments(video_id, rows[0]["strategy_version"])]

    # --- health
    def queue_depth(self) -> int:
        return sum(int(w.get("queue_depth") or 0) for w in self.jobs.inference_info())

    def liveness(self) -> dict[str, Any]:
        """What /health reports; no database query, so it answers at once even under load."""
        models = self.jobs.inference_info()
        return {
            "version": __version__, "database": str(self.storage.path),
            "model_loaded": any(m.get("loaded") for m in models),
            "models": [{k: m.get(k) for k in ("model", "device", "compute_type", "loaded", "running")}
                       for m in models],
            "queue_depth": sum(int(m.get("queue_depth") or 0) for m in models),
            "queue_limit": int(self.settings.asr_queue_size),
            "jobs_running": len(self.jobs.running_jobs()),
            "uptime_s": round(time.time() - self.started_at, 3),
        }

    def health(self) -> dict[str, Any]:
        data = self.jobs.metrics()
        data["asr_model"] = self.settings.asr_model
        data["extractor_default"] = self.options().extractor_name()
        data["geocoder_default"] = self.options().geocoder_name()
        data["llm_configured"] = bool(self.settings.llm_model)
        return data

    def shutdown(self, wait: bool = True) -> None:
        self.jobs.shutdown(wait=wait)


__all__ = ["Workbench", "demo_sources", "Place", "__version__"]

"""The public face of the pipeline for notebooks, the CLI and the Streamlit pages.

``Workbench`` bundles the job manager with place reading, corrections and
exports, so pages never touch SQL, models or stage code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .config import PROJECT_ROOT, Settings, get_settings
from .datatypes import Place
from .errors import ConfigurationError
from .export import effective_places, export_bytes, map_visualizations
from .jobs import JobManager, JobView, SubmitOutcome
from .orchestrator import AnalysisOptions
from .storage import place_key

logger = logging.getLogger(__name__)

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
    """One per process. Thread-safe: pages from several browser tabs share it."""

    def __init__(self, settings: Settings | None = None, *, db_path: str | Path | None = None,
                 resume: bool = True) -> None:
        self.settings = settings or get_settings()
        self.jobs = JobManager(self.settings, db_path=db_path, resume=resume)
        self.storage = self.jobs.storage

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

    def list_jobs(self, limit: int = 200) -> list[JobView]:
        return self.jobs.jobs(limit)

    def job_events(self, job_id: str) -> list[dict[str, Any]]:
        return self.jobs.events(job_id)

    def cancel(self, job_id: str) -> JobView:
        return self.jobs.cancel(job_id)

    def retry(self, job_id: str) -> JobView:
        return self.jobs.retry(job_id)

    def retry_failed_geocodes(self, job_id: str) -> JobView:
        return self.jobs.retry_failed_geocodes(job_id)

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
    def health(self) -> dict[str, Any]:
        data = self.jobs.metrics()
        data["asr_model"] = self.settings.asr_model
        data["extractor_default"] = self.options().extractor_name()
        data["geocoder_default"] = self.options().geocoder_name()
        data["llm_configured"] = bool(self.settings.llm_model)
        return data

    def shutdown(self, wait: bool = True) -> None:
        self.jobs.shutdown(wait=wait)


__all__ = ["Workbench", "demo_sources", "Place"]

"""The public face of the pipeline for notebooks, the CLI and the Streamlit pages.

``Workbench`` bundles the job manager with place reading, corrections and
exports, so pages never touch SQL, models or stage code.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings, get_settings
from .datatypes import Place
from .errors import ConfigurationError, NotFoundError
from .runner.jobs import JobManager, JobView, SubmitOutcome
from .runner.options import AnalysisOptions
from .storage.db import place_key
from .storage.export import effective_places, export_bytes, map_visualizations

if TYPE_CHECKING:
    from .service.client import RemoteWorkbench

logger = logging.getLogger(__name__)

__version__ = "0.2.0"

from .demo import demo_sources  # noqa: E402  (re-exported)


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

    # --- scale-out: the dead-letter queue (Celery dispatcher)
    def dead_letters(self) -> list[dict[str, Any]]:
        return self.jobs.dead_letters()

    def replay_dead_letter(self, letter_id: str) -> JobView:
        return self.jobs.replay_dead_letter(letter_id)

    def purge_dead_letters(self) -> int:
        return self.jobs.purge_dead_letters()

    # --- places
    def videos(self) -> list[dict[str, Any]]:
        return self.storage.list_videos()

    def places(self, video_ids: Sequence[str] | None = None, *, include_rejected: bool = False,
               sources: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Newest analysis of each video plus the places the analyst added, corrections applied,
        ordered by video and timecode (what every export, the API and the CLI give)."""
        ids = list(video_ids) if video_ids else None
        rows = self.storage.latest_places(ids) + self.storage.added_places(ids)
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

    # --- review
    # The analyst's workbench: every page reads places through review_places (the analysis, the
    # analyst's added places and corrections); every change goes through review_* and leaves an
    # audit line (who, when, what was there before).
    def review_places(self, video_ids: Sequence[str] | None = None, *, include_rejected: bool = False,
                      query: str | None = None) -> list[dict[str, Any]]:
        """Like ``places`` plus the places the analyst added; ``query`` keeps the places whose
        name, evidence or description contains every word of it."""
        places = self.places(video_ids, include_rejected=include_rejected)
        for p in places:
            p["video_title"] = self.readable_title(p.get("video_title"), p["video_id"])
            p["added"] = "added" in p["tags"]
            p["approximate"] = bool(p.get("approximate")) or p["status"] not in ("ok", "corrected")
        words = self.search_words(query)
        if words:
            places = [p for p in places if all(
                w in " ".join((p["location"], p["original_name"], p["evidence"], p["description"])).lower()
                for w in words)]
        return places

    def review_export(self, fmt: str, video_ids: Sequence[str] | None = None, query: str | None = None) -> bytes:
        return export_bytes(self.review_places(video_ids, query=query), fmt)

    def video_titles(self) -> dict[str, str]:
        """video_id -> a readable title (never the internal id when there is any title)."""
        return {v["video_id"]: self.readable_title(v.get("title"), v["video_id"]) for v in self.storage.list_videos()}

    def video_info(self, video_id: str) -> dict[str, Any] | None:
        """What the per-video page shows: title, channel, duration, where to play it from."""
        video = self.storage.get_video(video_id)
        if video is None:
            return None
        meta = video.get("metadata") or {}
        source = next(iter(self.storage.video_sources(video_id)), None)
        media = None
        if source and not source.lower().startswith(("http://", "https://")):
            path = Path(source)
            if path.is_file() and path.suffix.lower().lstrip(".") in self.MEDIA_SUFFIXES:
                media = str(path)
        result = self.storage.latest_result(video_id) or {}
        return {
            "video_id": video_id, "title": self.readable_title(video.get("title"), video_id),
            "channel": meta.get("channel") or meta.get("uploader") or "", "duration": video.get("duration"),
            "platform": video.get("platform") or "", "url": video.get("url"), "source": source,
            "media_path": media, "media_kind": ("audio" if media and Path(media).suffix.lower().lstrip(".")
                                                in self.AUDIO_SUFFIXES else "video" if media else None),
            "summary": result.get("summary") or "", "transcript_origin": result.get("transcript_origin") or "",
        }

    def review_transcript(self, video_id: str) -> list[dict[str, Any]]:
        """The newest transcript, each segment with the names of the places said in it."""
        segments = self.transcript(video_id)
        places = self.review_places([video_id], include_rejected=False)
        for i, seg in enumerate(segments):
            nxt = segments[i + 1]["start"] if i + 1 < len(segments) else float("inf")
            text = seg["text"].lower()
            seg["index"] = i
            seg["places"] = [p["location"] for p in places
                             if seg["start"] - 0.01 <= p["start_seconds"] < nxt
                             or p["original_name"].lower() in text]
            seg["names"] = sorted({p["original_name"] for p in places if p["original_name"].lower() in text}
                                  | {p["location"] for p in places if p["location"].lower() in text},
                                  key=len, reverse=True)
        return segments

    def place_candidates(self, name: str, limit: int = 8) -> list[dict[str, Any]]:
        """The offline gazetteer's candidates for a name, most populous first (read-only lookup)."""
        from .geo.gazetteer import get_gazetteer

        if not (name or "").strip():
            return []
        gz = get_gazetteer()
        out = []
        for e in gz.candidates(name.strip())[:limit]:
            out.append({
                "name": e.name, "description": gz.describe(e), "region": gz.region_label(e),
                "country": gz.country_names.get(e.country_code, e.country_code), "country_code": e.country_code,
                "population": int(e.population or 0), "latitude": float(e.lat), "longitude": float(e.lon),
                "gazetteer_id": e.gazetteer_id, "marker": e.marker,
            })
        return out

    def _effective(self, video_id: str, key: str) -> dict[str, Any] | None:
        return next((p for p in self.review_places([video_id], include_rejected=True)
                     if place_key(p["place_key"] or p["original_name"]) == key), None)

    @staticmethod
    def _audit_view(place: dict[str, Any] | None) -> dict[str, Any] | None:
        if place is None:
            return None
        return {k: place.get(k) for k in ("location", "latitude", "longitude", "rejected", "gazetteer_id")}

    def review_correct(self, video_id: str, name_or_key: str, *, who: str, action: str = "correct",
                       candidate: dict[str, Any] | None = None, **fields: Any) -> None:
        """``correct_place`` with an audit line. ``candidate`` (a ``place_candidates`` row, or a
        point picked on the map) sets the name and coordinates at once."""
        key = place_key(name_or_key)
        before = self._audit_view(self._effective(video_id, key))
        if candidate is not None:
            fields.setdefault("name", candidate.get("name"))
            fields["latitude"] = float(candidate["latitude"])
            fields["longitude"] = float(candidate["longitude"])
        self.correct_place(video_id, key, **fields)
        after = self._audit_view(self._effective(video_id, key))
        if after is not None and candidate is not None:
            after["gazetteer_id"] = candidate.get("gazetteer_id")
        self.storage.log_correction(video_id, key, who=who, action=action, before=before, after=after)

    def review_undo(self, video_id: str, name_or_key: str, *, who: str) -> None:
        """Back to what the analysis found (the audit trail keeps what the correction was)."""
        key = place_key(name_or_key)
        before = self._audit_view(self._effective(video_id, key))
        self.clear_correction(video_id, key)
        self.storage.log_correction(video_id, key, who=who, action="undo", before=before,
                                    after=self._audit_view(self._effective(video_id, key)))

    def review_add_place(self, video_id: str, name: str, *, start_seconds: float, evidence: str, who: str,
                         candidate: dict[str, Any] | None = None) -> str:
        """Add a place the analysis missed (words of the transcript + a gazetteer candidate)."""
        name = " ".join((name or "").split())
        if not name:
            raise ConfigurationError("A place name cannot be empty.")
        key = place_key(name)
        existing = {place_key(p["original_name"]) for p in self.review_places([video_id], include_rejected=True)
                    if not p["added"]}
        if key in existing:
            raise ConfigurationError(f"{name} is already a place of this video; correct it instead.")
        self.storage.add_place(
            video_id, key, name=(candidate or {}).get("name") or name, start_seconds=float(start_seconds or 0.0),
            evidence=evidence or "", marker=self._stop_marker(candidate),
            latitude=(candidate or {}).get("latitude"), longitude=(candidate or {}).get("longitude"),
            gazetteer_id=(candidate or {}).get("gazetteer_id"), country_code=(candidate or {}).get("country_code"),
            who=who)
        self.storage.log_correction(video_id, key, who=who, action="add", before=None,
                                    after=self._audit_view(self._effective(video_id, key)))
        return key

    @staticmethod
    def _stop_marker(candidate: dict[str, Any] | None) -> str:
        """A district (ADM2/ADM3) is a stop like a town; other areas keep their marker."""
        marker = (candidate or {}).get("marker") or "city"
        if marker == "region" and str((candidate or {}).get("description", "")).startswith("District"):
            return "city"
        return marker

    def review_remove_added(self, video_id: str, name_or_key: str, *, who: str) -> None:
        key = place_key(name_or_key)
        before = self._audit_view(self._effective(video_id, key))
        self.storage.remove_added_place(video_id, key)
        self.storage.clear_correction(video_id, key)
        self.storage.log_correction(video_id, key, who=who, action="remove", before=before, after=None)

    def review_history(self, video_id: str | None = None) -> list[dict[str, Any]]:
        return self.storage.correction_history(video_id)

    def search(self, query: str, *, limit: int = 300) -> list[dict[str, Any]]:
        """Every moment where the words (or a place name) are said, across all analysed videos."""
        words = self.search_words(query)
        if not words:
            return []
        hits: dict[tuple[str, float], dict[str, Any]] = {}
        for row in self.storage.search_segments(words, limit=limit):
            hits[(row["video_id"], round(row["start_s"], 2))] = {
                "video_id": row["video_id"], "video_title": self.readable_title(row["video_title"], row["video_id"]),
                "start_seconds": float(row["start_s"]), "text": row["text"], "places": [],
                "url_at_time": self.link_at_time(row["video_url"], row["platform"] or "", row["start_s"]) or "",
            }
        for p in self.review_places(query=query):
            if not all(w in (p["location"] + " " + p["original_name"]).lower() for w in words):
                continue
            key = (p["video_id"], round(p["start_seconds"], 2))
            hit = hits.setdefault(key, {
                "video_id": p["video_id"], "video_title": p["video_title"], "start_seconds": p["start_seconds"],
                "text": p["evidence"], "places": [], "url_at_time": p["url_at_time"]})
            hit["places"].append(p["location"])
        return sorted(hits.values(), key=lambda h: (h["video_title"].lower(), h["start_seconds"]))[:limit]

    def delete_video(self, video_id: str) -> int:
        """Delete a video with its jobs, transcript, places and corrections. Returns the jobs removed."""
        active = [j for j in self.jobs.jobs(500) if j.video_id == video_id and not j.finished]
        if active:
            raise ConfigurationError("This video is being analysed; cancel its job first.")
        return self.storage.delete_video(video_id)

    def clear_finished_jobs(self, job_ids: Sequence[str]) -> int:
        """Hide finished jobs from the Jobs list (results stay; the metrics keep their timings)."""
        finished = {j.job_id for j in self.jobs.jobs(2000) if j.finished}
        chosen = [j for j in job_ids if j in finished]
        self.storage.clear_jobs(chosen)
        return len(chosen)

    def visible_jobs(self, limit: int = 500) -> list[JobView]:
        cleared = self.storage.cleared_job_ids()
        return [j for j in self.jobs.jobs(limit) if j.job_id not in cleared]

    def job_facts(self, jobs: Sequence[JobView]) -> dict[str, dict[str, Any]]:
        """Per job, for the Jobs page: cached or not, the real place count, time in the current phase
        and an ETA from the speeds measured on this machine (None when there is nothing to go on)."""
        facts = self.storage.job_review_facts([j.job_id for j in jobs])
        counts: dict[str, int] = {}
        for p in self.review_places([j.video_id for j in jobs if j.video_id] or None):
            if p["latitude"] is not None:
                counts[p["video_id"]] = counts.get(p["video_id"], 0) + 1
        speeds = self.storage.phase_speeds() if any(not j.finished for j in jobs) else {}
        durations = {v["video_id"]: v.get("duration") for v in self.storage.list_videos()}
        import time

        now = time.time()
        out = {}
        for job in jobs:
            fact = facts.get(job.job_id) or {}
            cached = job.cached or bool(fact.get("cache_hit"))
            places = counts.get(job.video_id or "", 0) if job.video_id else job.metrics.get("locations_found")
            phase_s = now - fact["phase_started"] if fact.get("phase_started") and not job.finished else None
            out[job.job_id] = {"cached": cached, "places": places, "phase_elapsed_s": phase_s,
                               "eta_s": None if job.finished else self._measured_eta(
                                   job, speeds, durations.get(job.video_id or ""), phase_s)}
        return out

    MEDIA_SUFFIXES = frozenset("mp4 m4v mkv webm mov avi mpg mpeg ogv m4a mp3 wav oga ogg opus flac aac".split())
    AUDIO_SUFFIXES = frozenset("m4a mp3 wav oga ogg opus flac aac".split())

    @staticmethod
    def readable_title(title: str | None, video_id: str) -> str:
        """A title for people: an upload's content-hash prefix dropped; the id only if nothing else."""
        import re

        text = re.sub(r"^[0-9a-f]{16}-", "", (title or "").strip())
        return text or video_id

    @staticmethod
    def search_words(query: str | None) -> list[str]:
        return [w for w in (query or "").lower().split() if w][:8]

    @staticmethod
    def link_at_time(url: str | None, platform: str, seconds: float) -> str | None:
        from .links import url_at_time

        return url_at_time(url, platform, seconds)

    @staticmethod
    def _measured_eta(job: JobView, speeds: dict[str, Any], duration: float | None,
                      phase_elapsed: float | None) -> float | None:
        """Remaining seconds: the median time of each phase still to come on this machine (the
        transcription scaled by the media's length), minus the time spent in the current one."""
        phase_s = dict(speeds.get("phase_s") or {})
        per_media_s = speeds.get("transcription_s_per_media_s")
        if per_media_s and duration:
            phase_s["transcription"] = per_media_s * duration
        if job.status == "queued" or not phase_s:
            return job.eta_s
        order = ["metadata", "transcription", "compression", "summary", "geocode"]
        current = job.phase if job.phase in order else None
        start = order.index(current) if current else 0
        remaining = 0.0
        for i, name in enumerate(order[start:]):
            if name == "transcription" and not (per_media_s and duration) and name != current:
                continue  # subtitles: no transcription (or nothing measured to go on)
            expected = phase_s.get(name)
            if expected is None:
                if name == current:
                    return job.eta_s
                continue
            remaining += max(expected - (phase_elapsed or 0.0), 1.0) if i == 0 else expected
        return remaining

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
        data["api_url"] = self.api_url()
        data["executor"] = self.jobs.executor_info()
        return data

    def api_url(self) -> str | None:
        """Where this coordinator's HTTP API answers (None when it serves none)."""
        from .storage.db import address_file

        try:
            info = json.loads(address_file(self.storage.path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return info.get("url") if info.get("pid") == os.getpid() else None

    def shutdown(self, wait: bool = True) -> None:
        self.jobs.shutdown(wait=wait)


__all__ = ["Workbench", "demo_sources", "Place", "__version__"]

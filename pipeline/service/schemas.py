"""The HTTP API's request and response models (pydantic), so /docs and generated clients are typed.

Field names follow the original design (job_id, status, phase, progress, metrics, error, ...).
Times are ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..runner.jobs import JobView


def iso(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, tz=UTC) if ts else None


class AnalyzeOptions(BaseModel):
    """What a client may choose per batch; everything else comes from the server's settings."""

    model_config = ConfigDict(extra="forbid")

    offline: bool | None = None
    extractor: Literal["auto", "offline", "llm"] | None = None
    geocoder: Literal["gazetteer", "nominatim"] | None = None
    languages: list[str] | None = Field(None, description="subtitle languages to prefer (yt-dlp patterns)")
    asr_language: str | None = Field(None, description="spoken language for speech recognition")
    llm_model: str | None = None
    force: bool | None = Field(None, description="analyse again even when a stored result exists")
    priority: int | None = Field(None, ge=0, le=100, description="lower runs first (default 10)")

    def overrides(self) -> dict[str, Any]:
        """Keyword overrides for ``Workbench.options`` (None = the server's default)."""
        return {"offline": self.offline, "extractor": self.extractor, "geocoder": self.geocoder,
                "subtitle_langs": self.languages, "asr_language": self.asr_language,
                "llm_model": self.llm_model, "force": self.force}


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(None, description="a URL, or a file path from POST /api/uploads")
    sources: list[str] | None = Field(None, max_length=500)
    options: AnalyzeOptions = Field(default_factory=AnalyzeOptions)

    @model_validator(mode="after")
    def _one_of(self) -> AnalyzeRequest:
        if not self.source and not self.sources:
            raise ValueError("give `source` or `sources`")
        return self

    def all_sources(self) -> list[str]:
        return ([self.source] if self.source else []) + list(self.sources or [])


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    error_type: str | None = None


class SubmitResult(BaseModel):
    source: str
    job_id: str | None = None
    status: str | None = None
    cached: bool = False
    location: str | None = Field(None, description="the job's status resource")
    error: Problem | None = None
    notice: str | None = Field(None, description="why an accepted job cannot start yet (e.g. the broker is down)")


class AnalyzeResponse(BaseModel):
    """One result per source; for a single source the top-level fields repeat it."""

    job_id: str | None = None
    status: str | None = None
    cached: bool = False
    results: list[SubmitResult]


class JobError(BaseModel):
    type: str
    message: str


class JobMetrics(BaseModel):
    model_config = ConfigDict(extra="allow")

    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    locations_found: int = 0


class JobEvent(BaseModel):
    ts: datetime | None
    phase: str | None = None
    event: str
    message: str | None = None
    elapsed_ms: float | None = None
    data: dict[str, Any] | list[Any] | None = None


class Job(BaseModel):
    job_id: str
    source: str
    video_id: str | None
    title: str | None = None
    status: str
    phase: str | None
    progress: float
    metrics: JobMetrics
    error: JobError | None = None
    cached: bool = False
    parent_job_id: str | None = None
    created_at: datetime | None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime | None
    strategy_version: str
    events: list[JobEvent] | None = None

    @classmethod
    def of(cls, view: JobView, *, updated_at: float | None = None,
           events: list[dict[str, Any]] | None = None) -> Job:
        return cls(
            job_id=view.job_id, source=view.source, video_id=view.video_id, title=view.title,
            status=view.status, phase=view.phase, progress=view.progress,
            metrics=JobMetrics(**(view.metrics or {})), error=JobError(**view.error) if view.error else None,
            cached=view.cached, parent_job_id=view.parent_job_id, created_at=iso(view.created_at),
            started_at=iso(view.started_at), finished_at=iso(view.finished_at),
            updated_at=iso(updated_at or view.finished_at or view.started_at or view.created_at),
            strategy_version=view.strategy_version,
            events=None if events is None else [JobEvent(
                ts=iso(e.get("ts")), phase=e.get("phase"), event=e["event"], message=e.get("message"),
                elapsed_ms=e.get("elapsed_ms"), data=e.get("data")) for e in events],
        )


class JobList(BaseModel):
    jobs: list[Job]


class RoutePoint(BaseModel):
    location: str
    coordinates: list[float] = Field(description="[longitude, latitude]")
    description: str | None = None
    timecode: str
    tags: list[str] = Field(default_factory=list)
    marker: str | None = None


class MapVisualization(BaseModel):
    video_id: str
    routes: list[RoutePoint]


class RetryResult(BaseModel):
    retried_count: int
    still_failing: int
    job_id: str | None = None


class Upload(BaseModel):
    source: str = Field(description="pass this as `source` to POST /api/videos/analyze")
    filename: str
    size_bytes: int


class Correction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    video_id: str
    name: str | None = None
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    rejected: bool | None = None
    note: str | None = Field(None, max_length=2000)


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    database: str
    model_loaded: bool
    models: list[dict[str, Any]]
    queue_depth: int
    queue_limit: int
    jobs_running: int
    uptime_s: float

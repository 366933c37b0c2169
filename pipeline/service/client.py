"""``RemoteWorkbench``: the ``Workbench`` interface over the HTTP API of a running workbench.

What the CLI uses when the database is held by a running app or ``python -m pipeline serve``,
and what a notebook gets from ``Workbench.connect(url)``. Local files are uploaded first (the
service reads no client paths); problem documents come back as the pipeline's own exceptions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from .. import errors
from ..errors import ConfigurationError, PipelineError, ServiceUnavailableError
from ..runner.jobs import JobView, SubmitOutcome, wait_for_jobs
from ..runner.options import AnalysisOptions
from ..stages.fetch import classify_source, expand_source_lists
from ..storage.export import map_visualizations

logger = logging.getLogger(__name__)

#: options a client may set per batch (the rest is the server's configuration)
REMOTE_OPTIONS = ("offline", "extractor", "geocoder", "subtitle_langs", "asr_language", "llm_model", "force")


def _ts(value: Any) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def job_view(data: dict[str, Any]) -> JobView:
    return JobView(
        job_id=data["job_id"], source=data["source"], video_id=data.get("video_id"), status=data["status"],
        phase=data.get("phase"), progress=float(data.get("progress") or 0.0),
        strategy_version=data.get("strategy_version") or "", error=data.get("error"),
        metrics=data.get("metrics") or {}, created_at=_ts(data.get("created_at")),
        started_at=_ts(data.get("started_at")), finished_at=_ts(data.get("finished_at")),
        parent_job_id=data.get("parent_job_id"), cached=bool(data.get("cached")), title=data.get("title"),
        updated_at=_ts(data.get("updated_at")),
    )


def error_from_problem(problem: dict[str, Any], status: int) -> PipelineError:
    """The pipeline exception a problem document stands for (by its error type)."""
    name = str(problem.get("error_type") or problem.get("title") or "")
    cls = getattr(errors, name, None)
    message = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
    if isinstance(cls, type) and issubclass(cls, PipelineError) and cls not in (errors.PartialError,
                                                                                 errors.GeocodePartialError):
        return cls(message)
    if status == 401:
        return ConfigurationError(f"{message} (set VIDEOMAP_API_KEY or pass api_key=...)")
    if status in (429, 503):
        return errors.RateLimitedError(message) if status == 429 else ServiceUnavailableError(message)
    return ConfigurationError(message)


class RemoteWorkbench:
    """Same methods as ``pipeline.Workbench``, served by the workbench at ``url``."""

    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    @property
    def remote(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"RemoteWorkbench({self.url!r})"

    def __enter__(self) -> RemoteWorkbench:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()

    # ------------------------------------------------------------------ http
    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kw)
        except httpx.TimeoutException:
            raise ServiceUnavailableError(f"The workbench at {self.url} did not answer in time.") from None
        except httpx.HTTPError as exc:
            raise ServiceUnavailableError(
                f"Cannot reach the workbench at {self.url} ({type(exc).__name__}). Is it running?") from None
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text[:200]}
            raise error_from_problem(problem if isinstance(problem, dict) else {}, response.status_code)
        return response

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        return self._request(method, path, **kw).json()

    # ------------------------------------------------------------------ jobs
    def options(self, **overrides: Any) -> dict[str, Any]:
        """The per-batch choices to send; ``asr_model`` etc. are the server's to set."""
        unknown = {k for k, v in overrides.items() if v is not None and k not in REMOTE_OPTIONS}
        if unknown:
            raise ConfigurationError(
                f"{', '.join(sorted(unknown))} cannot be chosen per batch on a running workbench "
                f"({self.url}); it uses its own configuration.")
        return {k: v for k, v in overrides.items() if v is not None}

    def check_options(self, options: dict[str, Any] | AnalysisOptions | None) -> None:
        """The server checks the options with the submission; nothing to do here."""

    @staticmethod
    def _wire_options(options: dict[str, Any] | AnalysisOptions | None, priority: int) -> dict[str, Any]:
        if isinstance(options, AnalysisOptions):
            options = {k: v for k, v in options.flat().items() if k in REMOTE_OPTIONS}
        wire = dict(options or {})
        if "subtitle_langs" in wire:
            wire["languages"] = wire.pop("subtitle_langs")
        wire["priority"] = priority
        return wire

    def upload(self, path: str | Path) -> str:
        """Send a local file to the service; returns the `source` it is known by there."""
        path = Path(path)
        with path.open("rb") as handle:
            data = self._json("POST", "/api/uploads", files={"file": (path.name, handle)})
        return str(data["source"])

    def submit(self, sources: Sequence[str], options: dict[str, Any] | AnalysisOptions | None = None,
               *, priority: int = 10) -> list[SubmitOutcome]:
        outcomes: list[SubmitOutcome | None] = []
        wire_sources: list[tuple[int, str, str]] = []  # (slot, original, as the server knows it)
        for source in expand_source_lists(sources):
            original, problem = source
            if problem is not None:
                outcomes.append(SubmitOutcome(original, error=problem.to_dict()))
                continue
            try:
                remote = self.upload(original) if classify_source(original) != "url" else original
            except PipelineError as exc:
                outcomes.append(SubmitOutcome(original, error=exc.to_dict()))
                continue
            outcomes.append(None)
            wire_sources.append((len(outcomes) - 1, original, remote))
        if wire_sources:
            body = {"sources": [w[2] for w in wire_sources], "options": self._wire_options(options, priority)}
            response = self._http_submit(body)
            for (slot, original, _), item in zip(wire_sources, response["results"], strict=True):
                if item.get("error"):
                    err = item["error"]
                    outcomes[slot] = SubmitOutcome(original, error={
                        "type": err.get("error_type") or err.get("title") or "Error", "kind": "error",
                        "message": err.get("detail") or ""})
                else:
                    outcomes[slot] = SubmitOutcome(original, job=self.job(item["job_id"]), notice=item.get("notice"))
        return [o for o in outcomes if o is not None]

    def _http_submit(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._http.post("/api/videos/analyze", json=body)
        except httpx.HTTPError as exc:
            raise ServiceUnavailableError(f"Cannot reach the workbench at {self.url} ({type(exc).__name__}).") from None
        data = response.json() if response.content else {}
        if response.status_code >= 400 and "results" not in data:
            raise error_from_problem(data, response.status_code)
        return data

    def submit_demo(self, **overrides: Any) -> list[SubmitOutcome]:
        from ..demo import demo_sources

        overrides.setdefault("offline", True)
        return self.submit(demo_sources(), self.options(**overrides))

    def job(self, job_id: str) -> JobView:
        return job_view(self._json("GET", f"/api/jobs/{job_id}"))

    def list_jobs(self, limit: int = 200, statuses: Sequence[str] | None = None) -> list[JobView]:
        params: list[tuple[str, Any]] = [("limit", limit)] + [("status", s) for s in statuses or ()]
        return [job_view(j) for j in self._json("GET", "/api/jobs", params=params)["jobs"]]

    def job_events(self, job_id: str) -> list[dict[str, Any]]:
        events = self._json("GET", f"/api/jobs/{job_id}").get("events") or []
        for event in events:
            event["ts"] = _ts(event.get("ts"))
        return events

    def children(self, job_id: str) -> list[JobView]:
        return [job_view(j) for j in self._json("GET", f"/api/jobs/{job_id}/children")["jobs"]]

    def has_job(self, job_id: str) -> bool:
        try:
            self.job(job_id)
        except errors.NotFoundError:
            return False
        return True

    def cancel(self, job_id: str) -> JobView:
        return job_view(self._json("POST", f"/api/jobs/{job_id}/cancel"))

    def retry_failed_geocodes(self, job_id: str) -> JobView:
        self._json("POST", f"/api/jobs/{job_id}/geocode/retry")
        return self.job(job_id)

    def retry_video_geocodes(self, video_id: str) -> dict[str, Any]:
        return self._json("POST", f"/api/videos/{video_id}/geocode/retry")

    def dead_letters(self) -> list[dict[str, Any]]:
        return self._json("GET", "/api/dead-letters")["dead_letters"]

    def replay_dead_letter(self, letter_id: str) -> JobView:
        return job_view(self._json("POST", f"/api/dead-letters/{letter_id}/replay"))

    def purge_dead_letters(self) -> int:
        return int(self._json("DELETE", "/api/dead-letters")["purged"])

    def wait(self, job_ids: Sequence[str], timeout: float | None = None,
             on_update: Callable[[list[JobView]], None] | None = None, *, poll: float = 0.3) -> list[JobView]:
        return wait_for_jobs(self.job, self.children, job_ids, timeout=timeout, poll=poll, on_update=on_update)

    # ---------------------------------------------------------------- places
    def videos(self) -> list[dict[str, Any]]:
        return self._json("GET", "/api/videos")

    def places(self, video_ids: Sequence[str] | None = None, *, include_rejected: bool = False,
               sources: dict[str, str] | None = None) -> list[dict[str, Any]]:
        params: list[tuple[str, Any]] = [("include_rejected", str(include_rejected).lower())]
        params += [("video_id", v) for v in video_ids or ()]
        rows = self._json("GET", "/api/places", params=params)
        if sources:
            for row in rows:
                row["source"] = sources.get(row["video_id"]) or row.get("source") or ""
        return rows

    def map_data(self, video_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        if video_ids:
            return [m for v in video_ids if (m := self._json("GET", f"/api/videos/{v}/locations"))["routes"]]
        return map_visualizations(self.places())

    def correct_place(self, video_id: str, name_or_key: str, *, name: str | None = None,
                      latitude: float | None = None, longitude: float | None = None,
                      rejected: bool | None = None, visited: bool | None = None, note: str | None = None) -> None:
        if visited is not None:
            raise ConfigurationError("`visited` is set in the app's Places page, not over the API.")
        body = {"video_id": video_id, "name": name, "latitude": latitude, "longitude": longitude,
                "rejected": rejected, "note": note}
        self._json("PATCH", f"/api/places/{quote(name_or_key, safe='')}",
                   json={k: v for k, v in body.items() if v is not None or k == "video_id"})

    def export(self, fmt: str, video_ids: Sequence[str] | None = None,
               sources: dict[str, str] | None = None) -> bytes:
        params: list[tuple[str, Any]] = [("format", fmt)] + [("video_id", v) for v in video_ids or ()]
        return self._request("GET", "/api/places", params=params).content

    # ---------------------------------------------------------------- health
    def health(self) -> dict[str, Any]:
        return self._json("GET", "/health")

    def liveness(self) -> dict[str, Any]:
        return self.health()

    def shutdown(self, wait: bool = True) -> None:
        self._http.close()

